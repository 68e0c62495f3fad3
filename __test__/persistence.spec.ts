import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import test from 'ava'

import {
  CoRML,
  EASE,
  GFCF,
  evaluate,
  loadModel,
  modelFromBuffer,
  type AnyModel,
  type Recommender,
} from '../src/index.js'
import { FAST, randomDataset } from './fixtures.js'

const data = randomDataset(90, 40, 6, 7)
const models: Record<string, Promise<AnyModel>> = {
  CoRML: CoRML.fit(data, { ...FAST, device: 'cpu' }),
  EASE: EASE.fit(data, { regularization: 10, device: 'cpu' }),
  GFCF: GFCF.fit(data, { eigenvectors: 4 }),
}

const dir = mkdtempSync(join(tmpdir(), 'corml-persistence-'))
test.after.always(() => rmSync(dir, { recursive: true, force: true }))

/** Every user's top 10 with scores, for an exact comparison of two models. */
async function everything(model: Recommender): Promise<unknown> {
  return (await model.recommendBatch(data.userIds(), { k: 10 })).toArray()
}

for (const [name, fitted] of Object.entries(models)) {
  test(`${name}: save → load gives identical recommendations for every user`, async (t) => {
    const model = await fitted
    const path = join(dir, `${name}.corml`)
    await model.save(path)
    const loaded = await loadModel(path)
    t.false(loaded.mapped)
    t.is(loaded.constructor, model.constructor)
    t.deepEqual(loaded.info, model.info)
    t.regex(loaded.info.fingerprint, /^[0-9a-f]{16}$/)
    t.deepEqual(await everything(loaded), await everything(model))
    t.deepEqual(
      loaded.recommendForHistory(data.itemIds().slice(0, 3), { k: 5 }),
      model.recommendForHistory(data.itemIds().slice(0, 3), { k: 5 }),
    )
  })

  test(`${name}: a memory-mapped load gives identical recommendations`, async (t) => {
    const model = await fitted
    const path = join(dir, `${name}-mapped.corml`)
    await model.save(path)
    const mapped = await loadModel(path, { mmap: true })
    t.true(mapped.mapped)
    t.false(model.mapped)
    t.deepEqual(mapped.info, model.info)
    t.deepEqual(await everything(mapped), await everything(model))
    t.deepEqual(
      mapped.similarItems(data.itemIds()[0]!, { k: 5 }),
      model.similarItems(data.itemIds()[0]!, { k: 5 }),
    )
    t.true(Buffer.from(await mapped.toBuffer()).equals(readFileSync(path)))
  })

  test(`${name}: toBuffer → fromBuffer round trip, and the buffer is the file`, async (t) => {
    const model = await fitted
    const bytes = await model.toBuffer()
    t.true(Buffer.isBuffer(bytes))
    const path = join(dir, `${name}-buffer.corml`)
    await model.save(path)
    t.true(Buffer.from(bytes).equals(readFileSync(path)))
    const again = await modelFromBuffer(new Uint8Array(bytes))
    t.deepEqual(await everything(again), await everything(model))
  })
}

test('each class loads its own models and names the algorithm of another', async (t) => {
  const corml = await models.CoRML!
  const path = join(dir, 'class-check.corml')
  await corml.save(path)
  t.true((await CoRML.load(path)) instanceof CoRML)
  const err = await t.throwsAsync(EASE.load(path))
  t.is((err as { code?: string }).code, 'INVALID_ARGUMENT')
  t.regex(err!.message, /corml model, not EASE/)
  const fromBytes = await GFCF.fromBuffer(await (await models.GFCF!).toBuffer())
  t.true(fromBytes instanceof GFCF)
})

test('damaged, foreign and newer files reject with codes and leave nothing loaded', async (t) => {
  const model = await models.GFCF!
  const good = Buffer.from(await model.toBuffer())
  const cases: [string, Buffer, string][] = [
    ['empty', Buffer.alloc(0), 'INVALID_MODEL_FILE'],
    ['text', Buffer.from('user\titem\n1\t2\n'), 'INVALID_MODEL_FILE'],
    ['truncated', good.subarray(0, good.length - 10), 'INVALID_MODEL_FILE'],
    ['flipped', Buffer.from(good).fill(0x5a, 100, 101), 'INVALID_MODEL_FILE'],
  ]
  const newer = Buffer.from(good)
  newer.writeUInt32LE(99, 8)
  cases.push(['newer', newer, 'UNSUPPORTED_MODEL_VERSION'])
  // A header that declares 1 GB of model data.
  const huge = Buffer.from(good.subarray(0, 64))
  huge.writeBigUInt64LE(1n << 30n, 16)
  cases.push(['1 GB declared', huge, 'INVALID_MODEL_FILE'])
  for (const [what, bytes, code] of cases) {
    const path = join(dir, `bad-${what}.corml`)
    writeFileSync(path, bytes)
    for (const load of [
      () => loadModel(path),
      () => loadModel(path, { mmap: true }),
      () => modelFromBuffer(bytes),
    ]) {
      const err = await t.throwsAsync(load(), undefined, what)
      t.is((err as { code?: string }).code, code, what)
    }
  }
  // The model the bad bytes came from still works.
  t.is(model.recommend(data.userIds()[0]!, { k: 3 }).length, 3)
})

test('a model file cut short on disk is refused', async (t) => {
  const path = join(dir, 'cut.corml')
  await (await models.CoRML!).save(path)
  truncateSync(path, 100)
  for (const mmap of [false, true]) {
    const err = await t.throwsAsync(loadModel(path, { mmap }))
    t.is((err as { code?: string }).code, 'INVALID_MODEL_FILE')
    t.regex(err!.message, /truncated/)
  }
})

test('a mapped model keeps serving its file after a save replaces it', async (t) => {
  const [corml, ease] = [await models.CoRML!, await models.EASE!]
  const path = join(dir, 'replaced.corml')
  await corml.save(path)
  const mapped = await loadModel(path, { mmap: true })
  const before = await everything(mapped)
  await ease.save(path)
  t.deepEqual(await everything(mapped), before)
  t.is(mapped.info.algorithm, 'corml')
  t.is((await loadModel(path, { mmap: true })).info.algorithm, 'ease')
})

test('bad paths and arguments reject with codes; a failed save leaves nothing behind', async (t) => {
  const model = await models.EASE!
  const sub = mkdtempSync(join(dir, 'save-'))
  for (const [what, run, code] of [
    ['missing file', () => loadModel(join(sub, 'nope.corml')), 'IO_ERROR'],
    ['directory target', () => model.save(sub), 'INVALID_ARGUMENT'],
    ['missing directory', () => model.save(join(sub, 'no/such/dir.corml')), 'IO_ERROR'],
    ['empty path', () => model.save(''), 'INVALID_ARGUMENT'],
    ['number path', () => loadModel(42 as unknown as string), 'INVALID_ARGUMENT'],
    [
      'mmap not boolean',
      () => loadModel('m.corml', { mmap: 1 as unknown as boolean }),
      'INVALID_ARGUMENT',
    ],
    [
      'unknown load option',
      () => loadModel('m.corml', { map: true } as object),
      'INVALID_ARGUMENT',
    ],
    ['string buffer', () => modelFromBuffer('abc' as unknown as Uint8Array), 'INVALID_ARGUMENT'],
    ['null buffer', () => modelFromBuffer(null as unknown as Uint8Array), 'INVALID_ARGUMENT'],
  ] as const) {
    const err = await t.throwsAsync(run(), undefined, what)
    t.is((err as { code?: string }).code, code, what)
  }
  t.deepEqual(readdirSync(sub), [])
})

test('a loaded model evaluates on a fresh read of its split exactly like the saved one', async (t) => {
  const split = randomDataset(90, 40, 6, 7).split({ seed: 3 })
  const model = await GFCF.fit(split.train, { eigenvectors: 4 })
  const path = join(dir, 'evaluate.corml')
  await model.save(path)
  const fresh = randomDataset(90, 40, 6, 7).split({ seed: 3 })
  const [again, before] = [
    await evaluate(await loadModel(path), fresh),
    await evaluate(model, split),
  ]
  t.deepEqual([again.users, again.metrics], [before.users, before.metrics])
})
