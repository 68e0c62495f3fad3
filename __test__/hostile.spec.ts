/**
 * Hostile input to the public API: sparse arrays, array-like proxies, lone surrogates, broken
 * delimiters, detached and shared buffers, methods called on a foreign `this`, and progress
 * callbacks that return rejected promises. Each must end in a coded error from the README's
 * table (or work, where the input is legitimate), never in napi's own codes, an uncoded
 * `TypeError` or a merge of distinct ids.
 */
import test from 'ava'

import {
  BatchRecommendations,
  CoRML,
  CormlError,
  Dataset,
  EASE,
  Recommender,
  evaluate,
  isCormlError,
  modelFromBuffer,
} from '../src/index.js'
import { FAST, checkerboard, tempDir } from './fixtures.js'

const board = checkerboard()
const corml = CoRML.fit(board.data, FAST)
const INVALID = { code: 'INVALID_ARGUMENT' } as const

/** `['a', <hole>, 'b']`, typed as the API's string lists. */
function holey<T>(...values: T[]): T[] {
  const out: T[] = []
  values.forEach((v, i) => {
    if (i !== 1) out[i] = v
  })
  out.length = values.length
  return out
}

test('sparse arrays (holes) are INVALID_ARGUMENT wherever a list is accepted', async (t) => {
  const model = await corml
  const ids = holey('i0-1', 'i0-2', 'i0-3')
  t.is(ids.length, 3)
  t.false(1 in ids)
  const check = (fn: () => unknown, what: string) => {
    const error = t.throws(fn, INVALID, what)
    t.regex(error?.message ?? '', /\[1\] is missing: .* sparse array/, what)
  }
  check(() => Dataset.fromPairs(holey('a', 'b', 'c'), ['x', 'y', 'z']), 'fromPairs users')
  check(() => Dataset.fromPairs(['a', 'b', 'c'], holey('x', 'y', 'z')), 'fromPairs items')
  check(() => model.recommend('u0-0', { exclude: ids }), 'exclude')
  check(() => model.recommend('u0-0', { include: ids }), 'include')
  check(() => model.similarItems('i0-0', { exclude: ids }), 'similarItems exclude')
  check(() => model.score('u0-0', ids), 'score')
  check(() => model.explain(ids, 'i0-4'), 'explain')
  check(() => model.recommendForHistory(ids), 'recommendForHistory')
  check(() => board.data.split({ ratios: holey(0.6, 0.2, 0.2) as never }), 'split ratios')
  await t.throwsAsync(model.recommendBatch(holey('u0-0', 'u0-1', 'u0-2')), INVALID, 'batch')
  await t.throwsAsync(
    evaluate(model, board.data.split(), { ks: holey(5, 10, 20) }),
    INVALID,
    'evaluate ks',
  )
})

test('a Proxy around an array is read as the array, everywhere', async (t) => {
  const model = await corml
  const proxy = <T>(values: T[]): T[] => new Proxy(values, {})
  t.deepEqual(
    model.recommend('u0-0', { exclude: proxy(['i0-1']), include: proxy(['i0-0', 'i0-1']) }),
    model.recommend('u0-0', { exclude: ['i0-1'], include: ['i0-0', 'i0-1'] }),
  )
  t.deepEqual(model.score('u0-0', proxy(['i0-1'])), model.score('u0-0', ['i0-1']))
  t.deepEqual(
    model.recommendForHistory(proxy(['i0-1', 'i0-2'])),
    model.recommendForHistory(['i0-1', 'i0-2']),
  )
  t.deepEqual(
    model.explain(proxy(['i0-1']), 'i0-2', { k: 1 }),
    model.explain(['i0-1'], 'i0-2', { k: 1 }),
  )
  const batch = await model.recommendBatch(proxy(['u0-0', 'u1-0']))
  t.deepEqual(batch.toArray(), (await model.recommendBatch(['u0-0', 'u1-0'])).toArray())
  const pairs = Dataset.fromPairs(proxy(['a', 'a', 'b']), proxy(['x', 'y', 'x']))
  t.is(pairs.numInteractions, 3)
  const split = board.data.split({ ratios: proxy([0.6, 0.2, 0.2]) as never })
  t.is(split.train.numInteractions, board.data.split().train.numInteractions)
  const result = await evaluate(model, board.data.split(), { ks: proxy([5]) })
  t.is(result.metrics.length, 1)
})

test('ids that are not well-formed UTF-16 are INVALID_ARGUMENT, never merged', async (t) => {
  // Two lone surrogates would both become U+FFFD in the native layer: one user, not two.
  const lone = ['\uD800', '\uDC00', 'ok\uDBFF']
  for (const id of lone) {
    t.throws(() => Dataset.fromPairs([id, 'b'], ['x', 'y']), INVALID, JSON.stringify(id))
    t.throws(() => Dataset.fromPairs(['a', 'b'], [id, 'y']), INVALID, JSON.stringify(id))
  }
  // A real U+FFFD user is an ordinary id, and a lone surrogate must not reach it.
  const data = Dataset.fromPairs(['\uFFFD', '\uFFFD', 'b', 'b', 'c'], ['x', 'y', 'x', 'z', 'y'])
  const model = await EASE.fit(data, { regularization: 1, device: 'cpu' })
  t.true(model.recommend('\uFFFD', { k: 1 }).length > 0)
  const error = t.throws(() => model.recommend('\uD800'), INVALID)
  t.regex(error?.message ?? '', /lone surrogate/)
  t.throws(() => model.recommend('b', { exclude: ['\uDC00'] }), INVALID)
  t.throws(() => model.recommend('b', { include: ['x', '\uD800'] }), INVALID)
  t.throws(() => model.recommendForHistory(['x', '\uDFFF']), INVALID)
  t.throws(() => model.score('b', ['\uD800']), INVALID)
  t.throws(() => model.similarItems('\uD800'), INVALID)
  t.throws(() => model.explain('b', '\uD800'), INVALID)
  t.throws(() => model.explain(['\uD800'], 'x'), INVALID)
  await t.throwsAsync(model.recommendBatch(['b', '\uD800']), INVALID)
  await t.throwsAsync(model.save('model-\uD800.corml'), INVALID)
  await t.throwsAsync(Dataset.fromFile('data-\uD800.tsv'), INVALID)
  await t.throwsAsync(Dataset.fromFile('data.tsv', { userColumn: 'user\uD800' }), INVALID)
  // Surrogate pairs are fine.
  const emoji = Dataset.fromPairs(['😀', '😀', '😃'], ['x', 'y', 'x'])
  t.deepEqual([...emoji.userIds()].sort(), ['😀', '😃'])
})

test('a delimiter that cannot separate fields is INVALID_ARGUMENT', async (t) => {
  const dir = tempDir()
  t.teardown(dir.cleanup)
  const file = dir.write('data.tsv', 'user_id\titem_id\na\tx\nb\ty\n')
  for (const delimiter of ['\n', '\r', 'é', '', '\t\t']) {
    await t.throwsAsync(Dataset.fromFile(file, { delimiter }), INVALID, JSON.stringify(delimiter))
  }
  t.is((await Dataset.fromFile(file, { delimiter: '\t' })).numInteractions, 2)
})

test('detached and SharedArrayBuffer-backed bytes in modelFromBuffer', async (t) => {
  const model = await corml
  const bytes = new Uint8Array(await model.toBuffer())
  // Transferring the ArrayBuffer detaches every view of it.
  const detached = new Uint8Array(bytes)
  structuredClone(detached.buffer, { transfer: [detached.buffer] })
  t.is(detached.byteLength, 0)
  const error = await t.throwsAsync(modelFromBuffer(detached), INVALID)
  t.regex(error?.message ?? '', /detached/)
  // Memory shared with other threads is copied and read like any other.
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength))
  shared.set(bytes)
  const loaded = await modelFromBuffer(shared)
  t.deepEqual(loaded.recommend('u0-0'), model.recommend('u0-0'))
  const offset = new Uint8Array(new SharedArrayBuffer(bytes.byteLength + 16), 8, bytes.byteLength)
  offset.set(bytes)
  t.deepEqual((await modelFromBuffer(offset)).recommend('u1-1'), model.recommend('u1-1'))
})

/** Every getter and method of a class's prototype, called on `self`. */
function callAll(prototype: object, self: unknown, args: Record<string, unknown[]>): unknown[] {
  const outcomes: unknown[] = []
  for (const key of Reflect.ownKeys(prototype)) {
    if (key === 'constructor') continue
    const descriptor = Object.getOwnPropertyDescriptor(prototype, key)!
    const name = String(key)
    try {
      if (descriptor.get) outcomes.push([name, descriptor.get.call(self)])
      else if (typeof descriptor.value === 'function') {
        const result: unknown = descriptor.value.apply(self, args[name] ?? [])
        outcomes.push([name, result instanceof Promise ? result.catch((e: unknown) => e) : result])
      }
    } catch (error) {
      outcomes.push([name, error])
    }
  }
  return outcomes
}

test('getters and methods called on a foreign `this` are INVALID_ARGUMENT', async (t) => {
  const args: Record<string, unknown[]> = {
    recommend: ['u0-0'],
    recommendBatch: [['u0-0']],
    recommendForHistory: [['i0-1']],
    score: ['u0-0', ['i0-1']],
    similarItems: ['i0-1'],
    explain: ['u0-0', 'i0-1'],
    save: ['never-written.corml'],
    at: [0],
    sharesIdSpace: [board.data],
    filter: [{}],
    topItems: [1],
    split: [],
  }
  const model = await corml
  const batch = await model.recommendBatch(['u0-0'])
  const foreign = [{}, 42, null]
  for (const [prototype, name, other] of [
    [Recommender.prototype, 'Recommender', board.data],
    [Recommender.prototype, 'Recommender', batch],
    [Dataset.prototype, 'Dataset', model],
    [BatchRecommendations.prototype, 'BatchRecommendations', model],
  ] as const) {
    for (const self of [...foreign, Object.create(prototype), other]) {
      const outcomes = callAll(prototype, self, args)
      t.true(outcomes.length > 0)
      for (const [method, outcome] of outcomes as [string, unknown][]) {
        const error = await outcome
        t.true(
          error instanceof CormlError && error.code === 'INVALID_ARGUMENT',
          `${name}.${method} on a foreign this: ${String(error)}`,
        )
      }
    }
  }
})

test('an onProgress that returns a rejected promise fails the work, with no unhandled rejection', async (t) => {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => unhandled.push(reason)
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => process.off('unhandledRejection', onUnhandled))
  const boom = new Error('progress store is down')
  const error = await t.throwsAsync(
    CoRML.fit(board.data, { ...FAST, onProgress: () => Promise.reject(boom) }),
  )
  t.is(error, boom)
  await t.throwsAsync(
    CoRML.fit(board.data, {
      ...FAST,
      onProgress: async () => {
        throw boom
      },
    }),
    { is: boom },
  )
  // Rejections that arrive after the work ended are dropped, not left unhandled.
  const pending: ((reason: unknown) => void)[] = []
  const model = await CoRML.fit(board.data, {
    ...FAST,
    onProgress: () => new Promise((_, reject) => pending.push(reject)),
  })
  t.true(model instanceof CoRML)
  t.true(pending.length > 0)
  for (const reject of pending) reject(boom)
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.deepEqual(unhandled, [])
})

test('errors of the native layer are CormlErrors as well', async (t) => {
  const model = await corml
  for (const error of [
    t.throws(() => model.recommend('nobody')),
    t.throws(() => model.recommend('u0-0', { include: ['nope'], strict: true })),
    await t.throwsAsync(model.recommendBatch(['nobody'])),
    await t.throwsAsync(Dataset.fromFile('/no/such/file.tsv')),
    await t.throwsAsync(modelFromBuffer(new Uint8Array(64))),
  ]) {
    t.true(error instanceof CormlError, String(error))
    t.true(isCormlError(error))
    t.is(error?.name, 'CormlError')
    t.regex(error?.stack ?? '', /CormlError/)
  }
})
