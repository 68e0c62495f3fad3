import { gzipSync } from 'node:zlib'

import test, { type ExecutionContext } from 'ava'

import { Dataset, EASE, type DatasetSplit } from '../src/index.js'
import { checkerboard, tempDir } from './fixtures.js'

const files = tempDir()
test.after.always(() => files.cleanup())

const PAIRS = [
  ['alice', 'book'],
  ['alice', 'film'],
  ['bob', 'book'],
  ['carol', 'game'],
  ['carol', 'book'],
] as const

/** The (user, item) pairs of a dataset, read back through what a model filters as seen. */
async function pairsOf(data: Dataset): Promise<string[]> {
  const model = await EASE.fit(data)
  return data.userIds().flatMap((u) => {
    const unseen = new Set(model.recommend(u, { k: data.numItems }).map((r) => r.item))
    return data
      .itemIds()
      .filter((i) => !unseen.has(i))
      .map((i) => `${u}:${i}`)
  })
}

const EXPECTED = PAIRS.map(([u, i]) => `${u}:${i}`).sort()

async function expectPairs(t: ExecutionContext, data: Dataset): Promise<void> {
  t.deepEqual(data.userIds(), ['alice', 'bob', 'carol'])
  t.deepEqual(data.itemIds(), ['book', 'film', 'game'])
  t.is(data.numInteractions, PAIRS.length)
  t.deepEqual((await pairsOf(data)).sort(), EXPECTED)
}

test('fromFile reads a TSV with a header', async (t) => {
  const body = PAIRS.map(([u, i]) => `${u}\t${i}\t5`).join('\n')
  const path = files.write('ratings.tsv', `user_id\titem_id\trating\n${body}\n`)
  await expectPairs(t, await Dataset.fromFile(path))
  await expectPairs(t, await Dataset.fromFile(path, { header: true }))
  await expectPairs(
    t,
    await Dataset.fromFile(path, { header: 'auto', userColumn: 'user_id', itemColumn: 1 }),
  )
})

test('fromFile reads a CSV without a header, columns by index', async (t) => {
  // item first, then a timestamp, then the user.
  const body = PAIRS.map(([u, i], n) => `${i},${1000 + n},${u}`).join('\n')
  const path = files.write('log.csv', `${body}\n`)
  await expectPairs(
    t,
    await Dataset.fromFile(path, { header: false, userColumn: 2, itemColumn: 0 }),
  )
  const semicolons = files.write('log.txt', body.replaceAll(',', ';'))
  await expectPairs(
    t,
    await Dataset.fromFile(semicolons, {
      delimiter: ';',
      header: false,
      userColumn: 2,
      itemColumn: 0,
    }),
  )
})

test('fromFile reads a RecBole .inter file with a typed header', async (t) => {
  const body = PAIRS.map(([u, i], n) => `${u}\t${i}\t4.0\t${1_600_000_000 + n}`).join('\n')
  const path = files.write(
    'data.inter',
    `user_id:token\titem_id:token\trating:float\ttimestamp:float\n${body}\n`,
  )
  await expectPairs(t, await Dataset.fromFile(path))
})

test('fromFile reads a gzip-compressed file', async (t) => {
  const body = PAIRS.map(([u, i]) => `${u}\t${i}`).join('\n')
  const path = files.write('pairs.tsv.gz', gzipSync(`user_id\titem_id\n${body}\n`))
  await expectPairs(t, await Dataset.fromFile(path))
  const csv = files.write('pairs.csv.gz', gzipSync(body.replaceAll('\t', ',')))
  await expectPairs(t, await Dataset.fromFile(csv, { header: false }))
})

test('a malformed line is PARSE_ERROR and the message names file:line', async (t) => {
  const path = files.write('broken.tsv', 'user_id\titem_id\nalice\tbook\nbob\ncarol\tgame\n')
  const err = await t.throwsAsync(Dataset.fromFile(path), { code: 'PARSE_ERROR' })
  t.true(err?.message.includes(`${path}:3`), err?.message)
  const noColumn = files.write('cols.tsv', 'user\titem\nalice\tbook\n')
  await t.throwsAsync(Dataset.fromFile(noColumn, { header: true, userColumn: 'customer' }), {
    code: 'PARSE_ERROR',
  })
})

test('a missing file is IO_ERROR; an empty one is EMPTY_DATA', async (t) => {
  await t.throwsAsync(Dataset.fromFile(`${files.dir}/missing.tsv`), { code: 'IO_ERROR' })
  await t.throwsAsync(Dataset.fromFile(files.dir), { code: 'IO_ERROR' })
  await t.throwsAsync(Dataset.fromFile(files.write('empty.tsv', '')), { code: 'EMPTY_DATA' })
  await t.throwsAsync(Dataset.fromFile(files.write('header-only.tsv', 'user_id\titem_id\n')), {
    code: 'EMPTY_DATA',
  })
})

test('fromSplitFiles reads three files into one id space', async (t) => {
  const header = 'user_id\titem_id\n'
  const split: DatasetSplit = await Dataset.fromSplitFiles({
    train: files.write('train.tsv', `${header}alice\tbook\nbob\tbook\nbob\tfilm\n`),
    valid: files.write('valid.tsv', `${header}alice\tfilm\n`),
    test: files.write('test.tsv', `${header}alice\tgame\ncarol\tbook\n`),
  })
  t.true(split.train.sharesIdSpace(split.valid))
  t.true(split.train.sharesIdSpace(split.test))
  for (const part of [split.train, split.valid, split.test]) {
    t.deepEqual(part.userIds(), ['alice', 'bob', 'carol'])
    t.deepEqual(part.itemIds(), ['book', 'film', 'game'])
  }
  t.deepEqual(
    [split.train, split.valid, split.test].map((d) => d.numInteractions),
    [3, 1, 2],
  )
  t.true(Object.isFrozen(split))
  await t.throwsAsync(
    Dataset.fromSplitFiles({ train: `${files.dir}/none.tsv`, valid: 'x', test: 'y' }),
    { code: 'IO_ERROR' },
  )
})

test('fromPairs: numbers become strings, duplicates collapse', (t) => {
  const data = Dataset.fromPairs([1, 1, 2, 2, '1'], [10, 11, 10, 10, '10'])
  t.deepEqual(data.userIds(), ['1', '2'])
  t.deepEqual(data.itemIds(), ['10', '11'])
  t.is(data.numInteractions, 3)
})

test('split: per-user shares, one id space, deterministic per seed', (t) => {
  const { data } = checkerboard()
  const split = data.split()
  const { train, valid, test: testPart } = split
  t.true(train.sharesIdSpace(valid) && valid.sharesIdSpace(testPart) && data.sharesIdSpace(train))
  t.is(
    train.numInteractions + valid.numInteractions + testPart.numInteractions,
    data.numInteractions,
  )
  t.is(train.numUsers, data.numUsers)
  // Every user of the checkerboard has ≥ 5 items: 60 / 20 / 20 per user, rounded down.
  t.true(valid.numInteractions >= data.numUsers && testPart.numInteractions >= data.numUsers)
  const again = data.split({ ratios: [0.6, 0.2, 0.2], seed: 2026 })
  t.is(again.valid.numInteractions, valid.numInteractions)
  const trainOnly = data.split({ ratios: [1, 0, 0], seed: 3 })
  t.is(trainOnly.train.numInteractions, data.numInteractions)
  t.is(trainOnly.test.numInteractions, 0)
})

test('topItems keeps the most frequent items in a new id space', (t) => {
  const data = Dataset.fromPairs(['a', 'b', 'c', 'a', 'b', 'd'], ['x', 'x', 'x', 'y', 'y', 'z'])
  const top = data.topItems(2)
  t.deepEqual(top.itemIds(), ['x', 'y'])
  t.deepEqual(top.userIds(), ['a', 'b', 'c'])
  t.is(top.numInteractions, 5)
  t.false(top.sharesIdSpace(data))
})

test('Dataset.synthetic gives the ML-20M shape at a scale, the same for a seed', async (t) => {
  const a = await Dataset.synthetic({ shape: 'ml20m', scale: 0.05 })
  t.is(a.numUsers, Math.round(136_674 * 0.05))
  t.is(a.numItems, Math.round(13_680 * 0.05))
  const target = 9_977_451 * 0.05 ** 2
  t.true(Math.abs(a.numInteractions / target - 1) < 0.05, `${a.numInteractions} vs ${target}`)
  const b = await Dataset.synthetic({ shape: 'ml20m', scale: 0.05 })
  t.is(b.numInteractions, a.numInteractions)
  const c = await Dataset.synthetic({ shape: 'ml20m', scale: 0.05, seed: 3 })
  t.not(c.numInteractions, 0)
  for (const bad of [
    { shape: 'ml25m' },
    { shape: 'ml20m', scale: 0 },
    { shape: 'ml20m', scale: 2 },
    { shape: 'ml20m', scale: Number.NaN },
    { shape: 'ml20m', seed: -1 },
    { shape: 'ml20m', size: 3 },
  ]) {
    await t.throwsAsync(Dataset.synthetic(bad as never), { code: 'INVALID_ARGUMENT' })
  }
})
