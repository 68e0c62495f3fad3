import { readFileSync } from 'node:fs'

import test from 'ava'

import { CoRML, CormlError, Dataset, EASE, GFCF, evaluate, isCormlError } from '../src/index.js'
import { ERROR_CODES } from '../src/errors.js'
import * as native from '../src/native/index.cjs'
import { FAST, checkerboard } from './fixtures.js'

const board = checkerboard()
const corml = CoRML.fit(board.data, FAST)
const INVALID = { code: 'INVALID_ARGUMENT' } as const

/** A model whose methods take arguments of any type, as from plain JavaScript. */
type Loose = Record<
  'recommend' | 'recommendForHistory' | 'recommendBatch',
  (...args: unknown[]) => unknown
>
const loose = (value: object): Loose => value as Loose

test('empty data: fitting an empty dataset is EMPTY_DATA', async (t) => {
  const empty = Dataset.fromPairs([], [])
  t.is(empty.numInteractions, 0)
  await t.throwsAsync(CoRML.fit(empty), { code: 'EMPTY_DATA' })
  await t.throwsAsync(EASE.fit(empty), { code: 'EMPTY_DATA' })
  await t.throwsAsync(GFCF.fit(empty), { code: 'EMPTY_DATA' })
  t.throws(() => empty.split(), { code: 'EMPTY_DATA' })
})

test('unknown user is UNKNOWN_USER', async (t) => {
  const model = await corml
  t.throws(() => model.recommend('nobody'), { code: 'UNKNOWN_USER' })
  await t.throwsAsync(model.recommendBatch(['u0-0', 'nobody']), { code: 'UNKNOWN_USER' })
})

test('unknown items in exclude or include are ignored, or UNKNOWN_ITEM when strict', async (t) => {
  const model = await corml
  const plain = model.recommend('u0-0')
  t.deepEqual(model.recommend('u0-0', { exclude: ['no-such-item'] }), plain)
  t.deepEqual(
    model.recommend('u0-0', { exclude: ['i0-1', 'no-such-item'] }),
    model.recommend('u0-0', { exclude: ['i0-1'] }),
  )
  t.deepEqual(model.recommend('u0-0', { include: ['no-such-item'] }), [])
  const strict = { strict: true } as const
  t.throws(() => model.recommend('u0-0', { ...strict, exclude: ['i0-1', 'no-such-item'] }), {
    code: 'UNKNOWN_ITEM',
  })
  t.throws(() => model.recommend('u0-0', { ...strict, include: ['no-such-item'] }), {
    code: 'UNKNOWN_ITEM',
  })
  t.throws(() => model.recommendForHistory(['i0-1'], { ...strict, exclude: ['nope'] }), {
    code: 'UNKNOWN_ITEM',
  })
  t.throws(() => model.similarItems('i0-1', { ...strict, include: ['nope'] }), {
    code: 'UNKNOWN_ITEM',
  })
  await t.throwsAsync(model.recommendBatch(['u0-0'], { ...strict, include: ['nope'] }), {
    code: 'UNKNOWN_ITEM',
  })
})

const BAD_K: unknown[] = [0, -1, 1.5, NaN, Infinity, '5', null, true, 2 ** 60]

test('k = 0, -1, 1.5, NaN, Infinity, "5", null is INVALID_ARGUMENT everywhere', async (t) => {
  const model = await corml
  for (const k of BAD_K) {
    const options = { k } as unknown as { k: number }
    t.throws(() => model.recommend('u0-0', options), INVALID, `recommend k = ${String(k)}`)
    t.throws(
      () => model.recommendForHistory(['i0-1'], options),
      INVALID,
      `history k = ${String(k)}`,
    )
    await t.throwsAsync(model.recommendBatch(['u0-0'], options), INVALID, `batch k = ${String(k)}`)
    await t.throwsAsync(evaluate(model, board.data.split(), { ks: [k as number] }), INVALID)
  }
})

test('the binding itself rejects non-integer k (callers that bypass the facade)', async (t) => {
  const data = native.NativeDataset.fromPairs(['a', 'a', 'b'], ['x', 'y', 'x'])
  const model = await native.fitEase(data, {})
  for (const k of [0, -1, 1.5, NaN, Infinity, 2 ** 60]) {
    const options = { k, filterSeen: true }
    t.throws(() => model.recommend('a', options), INVALID, `k = ${k}`)
    t.throws(() => model.recommendForHistory(['x'], options), INVALID)
    t.throws(() => model.recommendBatch(['a'], options), INVALID)
    t.throws(() => model.popularItems(options), INVALID)
  }
  t.deepEqual(
    model.recommend('b', { k: 1, filterSeen: true }).map((r) => r.item),
    ['y'],
  )
  for (const options of [
    { admmIterations: 1.5 },
    { eigenvectors: NaN },
    { seed: -1 },
    { seed: 0.5 },
    { memoryBudget: -5 },
    { memoryBudget: NaN },
    { lambda: 1e300 },
  ]) {
    t.throws(() => native.fitCorml(data, options), INVALID, JSON.stringify(options))
  }
  t.throws(() => data.split([0.5, 0.5], 1), INVALID)
  t.throws(() => data.split([0.6, 0.2, 0.2], -1), INVALID)
  t.throws(() => native.readInteractions('x.tsv', { delimiter: '::' }), INVALID)
  t.throws(() => native.readInteractions('x.tsv', { header: 'yes' }), INVALID)
  t.throws(() => native.readInteractions('x.tsv', { userColumn: 1.5 }), INVALID)
})

const BAD_HYPERPARAMETERS: Record<string, unknown>[] = [
  { lambda: NaN },
  { lambda: 0 },
  { lambda: 1.5 },
  { lambda: '0.5' },
  { lambda: null },
  { partitionRatio: 0 },
  { partitionRatio: 1.5 },
  { partitionRatio: NaN },
  { admmIterations: 0 },
  { admmIterations: 2.5 },
  { admmIterations: '10' },
  { dualStepLength: -1 },
  { dualStepLength: Infinity },
  { l2Regularization: -0.1 },
  { itemDegreeNorm: 3 },
  { globalScaling: -11 },
  { userScaling: NaN },
  { eigenvectors: 0 },
  { eigenvectors: 1.5 },
  { eigenvectors: 5000 },
  { seed: -1 },
  { seed: 1.5 },
  { sparseApprox: 'yes' },
  { memoryBudget: 0 },
  { memoryBudget: '1e9' },
  { device: 42 },
  { lamda: 0.5 },
  { onProgress: 'not a function' },
  { signal: {} },
]

test('NaN, negative or out-of-range hyperparameters are INVALID_ARGUMENT', async (t) => {
  for (const bad of BAD_HYPERPARAMETERS) {
    await t.throwsAsync(
      CoRML.fit(board.data, { ...FAST, ...bad } as never),
      INVALID,
      `CoRML ${String(Object.keys(bad))}: ${String(Object.values(bad))}`,
    )
  }
  for (const bad of [{ regularization: 0 }, { regularization: NaN }, { regularization: '1' }]) {
    await t.throwsAsync(EASE.fit(board.data, bad as never), INVALID)
  }
  for (const bad of [{ alpha: -1 }, { alpha: NaN }, { eigenvectors: 0 }, { eigenvectors: 2.5 }]) {
    await t.throwsAsync(GFCF.fit(board.data, bad as never), INVALID)
  }
  await t.throwsAsync(CoRML.fit(board.data, null as never), INVALID)
  await t.throwsAsync(CoRML.fit(board.data, 5 as never), INVALID)
})

test('wrong argument types from plain JavaScript are INVALID_ARGUMENT', async (t) => {
  const model = loose(await corml)
  t.throws(() => model.recommend(NaN), INVALID)
  t.throws(() => model.recommend(''), INVALID)
  t.throws(() => model.recommend(undefined), INVALID)
  t.throws(() => model.recommend('u0-0', { exclude: [Infinity] }), INVALID)
  t.throws(() => model.recommend('u0-0', { exclude: 'i0-1' }), INVALID)
  t.throws(() => model.recommend('u0-0', { filterSeen: 'no' }), INVALID)
  t.throws(() => model.recommend('u0-0', { count: 5 }), INVALID)
  t.throws(() => model.recommend('u0-0', null), INVALID)
  t.throws(() => model.recommendForHistory('i0-1'), INVALID)
  t.throws(() => model.recommendForHistory([null]), INVALID)
  await t.throwsAsync(model.recommendBatch('u0-0') as Promise<unknown>, INVALID)
  await t.throwsAsync(model.recommendBatch([true]) as Promise<unknown>, INVALID)

  await t.throwsAsync(CoRML.fit({} as never), INVALID)
  await t.throwsAsync(EASE.fit(undefined as never), INVALID)
  t.throws(() => Dataset.fromPairs(['a', 'b'], ['x']), INVALID)
  t.throws(() => Dataset.fromPairs(['a'], [{}] as never), INVALID)
  t.throws(() => Dataset.fromPairs(['a'], [NaN]), INVALID)
  t.throws(() => Dataset.fromPairs('ab' as never, ['x', 'y']), INVALID)
  t.throws(() => Dataset.fromPairs([''], ['x']), INVALID)
  t.throws(() => board.data.split({ ratios: [0.5, 0.5] } as never), INVALID)
  t.throws(() => board.data.split({ ratios: [0.5, 0.4, 0.4] }), INVALID)
  t.throws(() => board.data.split({ ratios: [0, 0.5, 0.5] }), INVALID)
  t.throws(() => board.data.split({ seed: -1 }), INVALID)
  t.throws(() => board.data.split({ seed: '1' } as never), INVALID)
  t.throws(() => board.data.topItems(0), INVALID)
  await t.throwsAsync(Dataset.fromFile(42 as never), INVALID)
  await t.throwsAsync(Dataset.fromFile('x.tsv', { header: 'yes' } as never), INVALID)
  await t.throwsAsync(Dataset.fromFile('x.tsv', { delimiter: '||' }), INVALID)
  await t.throwsAsync(Dataset.fromFile('x.tsv', { userColumn: -1 }), INVALID)
  await t.throwsAsync(Dataset.fromSplitFiles({ train: 'a', valid: 'b' } as never), INVALID)
  await t.throwsAsync(evaluate({} as never, board.data.split()), INVALID)
  await t.throwsAsync(evaluate(await corml, {} as never), INVALID)
  await t.throwsAsync(evaluate(await corml, board.data.split(), { ks: [] }), INVALID)
})

test('evaluating on datasets from another id space is INVALID_ARGUMENT', async (t) => {
  const { train } = board.data.split({ seed: 1 })
  const model = await CoRML.fit(train, FAST)
  // Other ids, or the same ids in another order: another id space.
  const other = Dataset.fromPairs(['a', 'a', 'b', 'b', 'c'], ['x', 'y', 'x', 'z', 'y']).split()
  await t.throwsAsync(evaluate(model, other), INVALID)
  const own = board.data.split({ seed: 1 })
  await t.throwsAsync(evaluate(model, { valid: own.valid, test: other.test }), INVALID)
  const reversed = checkerboard()
  const pairs = { users: [] as string[], items: [] as string[] }
  for (const u of [...train.userIds()].reverse()) {
    pairs.users.push(u)
    pairs.items.push(reversed.withheld.get(u)!)
  }
  const shuffled = Dataset.fromPairs(pairs.users, pairs.items)
  await t.throwsAsync(evaluate(model, { valid: shuffled, test: shuffled }), INVALID)
  // The same ids in the same order are the same space: the same pairs loaded again (as when a
  // model is loaded from a file and evaluated on a fresh read of its data).
  const twin = checkerboard().data.split({ seed: 1 })
  t.false(twin.train.sharesIdSpace(train))
  const result = await evaluate(model, own)
  t.true(result.users > 0)
  const again = await evaluate(model, twin)
  t.deepEqual([again.users, again.metrics], [result.users, result.metrics])
})

test('every error is recognised by isCormlError, native or not', async (t) => {
  const model = await corml
  const nativeError = t.throws(() => model.recommend('nobody'))
  t.true(isCormlError(nativeError))
  t.true(nativeError instanceof CormlError, 'native errors are CormlErrors too')
  t.is(nativeError?.name, 'CormlError')
  const facadeError = t.throws(() => model.recommend('u0-0', { k: 0 }))
  t.true(isCormlError(facadeError))
  t.true(facadeError instanceof CormlError)
  t.is(facadeError?.name, 'CormlError')
  const aborted = await t.throwsAsync(CoRML.fit(board.data, { signal: AbortSignal.abort() }))
  t.true(isCormlError(aborted))
  const parse = await t.throwsAsync(Dataset.fromFile('/definitely/not/here.tsv'))
  t.true(isCormlError(parse))
  t.is((parse as Error & { code: string }).code, 'IO_ERROR')
})

test('one list of error codes: the facade, the native core and the README agree', (t) => {
  const nativeCodes = native.errorCodes()
  // The facade adds only the code of the loader, which fails before any native call.
  t.deepEqual(
    [...ERROR_CODES].filter((c) => c !== 'NATIVE_BINDING_UNAVAILABLE'),
    nativeCodes.filter((c) => c !== 'INTERNAL').concat('INTERNAL'),
  )
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const table = [...readme.matchAll(/^\| `([A-Z_]+)` +\|/gm)].map((m) => m[1])
  t.deepEqual(table, [...ERROR_CODES])
})
