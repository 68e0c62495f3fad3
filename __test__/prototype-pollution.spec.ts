/**
 * A polluted `Object.prototype` must not change any call: options count only as the caller's own
 * properties, and the option objects handed to the native layer have no prototype to read through.
 * (Its own file: the pollution would leak into other specs running in the same process.)
 */
import { statSync } from 'node:fs'

import test from 'ava'

import { CoRML, Dataset, EASE, evaluate } from '../src/index.js'
import { FAST, checkerboard, tempDir } from './fixtures.js'

const board = checkerboard()
const split = board.data.split({ seed: 3 })

const POLLUTION: Record<string, unknown> = {
  // recommend / similarItems / explain
  k: 1,
  filterSeen: false,
  include: ['i0-0'],
  exclude: ['i0-1'],
  // fit: invalid values, so that reading one fails loudly
  lambda: 0,
  eigenvectors: 0,
  admmIterations: 0,
  device: 'cuda:7',
  memoryBudget: 1,
  regularization: -1,
  precision: 'fp8',
  // reading and splitting
  delimiter: '\n',
  header: 'maybe',
  userColumn: 'nope',
  ratios: [1, 0, 0],
  strategy: 'leave-last-out',
  seed: 99,
  // evaluate and save
  valid: split.test,
  ks: [1],
  mode: 0o777,
  onProgress: 'not a function',
  signal: 'not a signal',
}

/**
 * Runs `fn` with `Object.prototype` polluted by {@link POLLUTION} as an attack does it (plain
 * assignment: enumerable properties, as a `__proto__` merge leaves them), cleaning up after.
 */
async function polluted<T>(fn: () => Promise<T>): Promise<T> {
  const proto = Object.prototype as Record<string, unknown>
  for (const [key, value] of Object.entries(POLLUTION)) proto[key] = value
  try {
    return await fn()
  } finally {
    for (const key of Object.keys(POLLUTION)) delete proto[key]
  }
}

/** Everything the calls below return, to compare with and without pollution. */
async function everything(dir: ReturnType<typeof tempDir>) {
  {
    const file = dir.write('data.tsv', 'user_id\titem_id\na\tx\na\ty\nb\tx\nb\tz\nc\ty\n')
    const read = await Dataset.fromFile(file, {})
    const model = await CoRML.fit(split.train, { ...FAST })
    const ease = await EASE.fit(split.train, { device: 'cpu' })
    const path = dir.write('model.corml', '')
    await model.save(path, {})
    const { mode } = statSync(path)
    return {
      read: [read.numUsers, read.numItems, read.numInteractions],
      split: board.data.split({}).train.numInteractions,
      settings: model.info.settings,
      recommend: model.recommend('u0-0', {}),
      history: model.recommendForHistory(['i0-2', 'i0-3'], {}),
      similar: model.similarItems('i0-2', {}),
      explain: model.explain('u0-0', 'i0-1', {}).contributions.length,
      batch: (await model.recommendBatch(['u0-0', 'u1-1'], {})).toArray(),
      ease: ease.recommend('u1-0', {}),
      evaluation: (await evaluate(model, { test: split.test }, {})).metrics,
      filtered: board.data.filter({}).numInteractions,
      mode: mode & 0o777,
    }
  }
}

test.serial('a polluted Object.prototype changes no call', async (t) => {
  // Node's own APIs (fs, timers) read options through the prototype too: the directories are
  // made and removed outside the pollution.
  const dirs = [tempDir(), tempDir()]
  t.teardown(() => dirs.forEach((d) => d.cleanup()))
  const clean = await everything(dirs[0]!)
  t.is(clean.recommend.length, 10)
  const dirty = await polluted(() => everything(dirs[1]!))
  t.deepEqual(dirty, clean)
})
