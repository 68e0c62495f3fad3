/**
 * Every input format, through the CLI (what `corml` reports it read) and the library (what the
 * data holds).
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

import test from 'ava'

import { Dataset, EASE } from '../src/index.js'
import { rng } from '../examples/random.js'
import { FAST, corml, errorLine, tempDir } from './cli-harness.js'

/** Seeded ratings: 120 users × 12 distinct items of 60, ratings 1–5, timestamps 1000 + k. */
function ratings(): { user: string; item: string; rating: number; time: number }[] {
  const random = rng(11)
  const rows: { user: string; item: string; rating: number; time: number }[] = []
  for (let u = 0; u < 120; u++) {
    const items = new Set<number>()
    while (items.size < 12) items.add(Math.floor(random() ** 2 * 60))
    for (const i of items) {
      rows.push({
        user: `u${u}`,
        item: `m${i}`,
        rating: 1 + Math.floor(random() * 5),
        time: 1000 + rows.length,
      })
    }
  }
  return rows
}

const ROWS = ratings()
const distinct = (xs: readonly string[]): number => new Set(xs).size
const users = distinct(ROWS.map((r) => r.user))
const items = distinct(ROWS.map((r) => r.item))

/** Writes the rows in a format and returns its path. */
function write(dir: string, name: string, text: string, gzip = false): string {
  const path = join(dir, name)
  writeFileSync(path, gzip ? gzipSync(text) : text)
  return path
}

const tsv = (header: boolean): string =>
  (header ? 'user_id\titem_id\n' : '') + ROWS.map((r) => `${r.user}\t${r.item}\n`).join('')
const csvText = (): string =>
  'userId,movieId,rating,timestamp\n' +
  ROWS.map((r) => `${r.user},${r.item},${r.rating},${r.time}\n`).join('')
const inter = (): string =>
  'item_id:token\tuser_id:token\trating:float\ttimestamp:float\n' +
  ROWS.map((r) => `${r.item}\t${r.user}\t${r.rating}\t${r.time}\n`).join('')

/** The items of `user` in a part of a split: the history a model trained on it explains. */
async function itemsOf(part: Dataset, user: string): Promise<string[]> {
  const model = await EASE.fit(part)
  const any = model.itemIds()[0]!
  return model
    .explain(user, any)
    .contributions.map((c) => c.item)
    .sort()
}

/** `corml eval` on a file with EASE (fast; CoRML's flags would be refused); its `data:` line. */
async function dataLine(argv: string[]): Promise<string> {
  const r = await corml(['eval', ...argv, '--model', 'ease'])
  if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`)
  return /data: (.*)/.exec(r.stderr)?.[1] ?? ''
}

/** The CSV's user and item columns, by name. */
const NAMED = ['--user-col', 'userId', '--item-col', 'movieId']

const expected = `${users} users, ${items} items, ${ROWS.length.toLocaleString('en-US')} interactions`

test('TSV with and without a header, plain and gzip', async (t) => {
  const dir = tempDir(t)
  t.true((await dataLine([write(dir, 'a.tsv', tsv(true))])).startsWith(expected))
  t.true((await dataLine([write(dir, 'b.tsv', tsv(false))])).startsWith(expected))
  t.true((await dataLine([write(dir, 'b2.tsv', tsv(false)), '--no-header'])).startsWith(expected))
  t.true((await dataLine([write(dir, 'c.tsv.gz', tsv(true), true)])).startsWith(expected))
  // A header line read as data would add a user and an item.
  t.true(
    (await dataLine([write(dir, 'd.tsv', tsv(true)), '--no-header'])).startsWith(
      `${users + 1} users, ${items + 1} items`,
    ),
  )
})

test('CSV columns by name and by index, any delimiter', async (t) => {
  const dir = tempDir(t)
  const csv = write(dir, 'r.csv', csvText())
  t.true((await dataLine([csv, ...NAMED])).startsWith(expected))
  t.true(
    (await dataLine([csv, '--header', '--user-col', '0', '--item-col', '1'])).startsWith(expected),
  )
  const noHeader = write(dir, 'r2.csv', csvText().split('\n').slice(1).join('\n'))
  t.true((await dataLine([noHeader, '--user-col', '0', '--item-col', '1'])).startsWith(expected))
  // Swapped columns: items become users.
  t.true(
    (await dataLine([noHeader, '--user-col', '1', '--item-col', '0'])).startsWith(
      `${items} users, ${users} items`,
    ),
  )
  const semicolon = write(dir, 'r.txt', csvText().replace(/,/g, ';'))
  t.true((await dataLine([semicolon, '--delimiter', ';', ...NAMED])).startsWith(expected))
  const gz = write(dir, 'r.csv.gz', csvText(), true)
  t.true((await dataLine([gz, ...NAMED])).startsWith(expected))
  const wrong = await corml(['eval', csv, '--user-col', 'user', '--item-col', 'movieId'])
  t.is(wrong.code, 3)
  t.regex(
    errorLine(wrong),
    /PARSE_ERROR: .*r\.csv:1: the user column is given by name \(`user`\), but the first line \(userId, movieId, rating, timestamp\)/,
  )
  const missing = await corml(['eval', csv, '--header', '--user-col', 'userId', '--item-col', '7'])
  t.is(missing.code, 3)
  t.regex(errorLine(missing), /column 7 does not exist: the header has 4 columns/)
})

test('RecBole .inter atomic files, by their typed header', async (t) => {
  const dir = tempDir(t)
  t.true((await dataLine([write(dir, 'x.inter', inter())])).startsWith(expected))
  t.true((await dataLine([write(dir, 'x.inter.gz', inter(), true)])).startsWith(expected))
})

test('a rating threshold keeps the lines rated at or above it', async (t) => {
  const dir = tempDir(t)
  const csv = write(dir, 'r.csv', csvText())
  for (const min of [3, 4, 5]) {
    const kept = ROWS.filter((r) => r.rating >= min)
    const line = await dataLine([csv, ...NAMED, '--min-rating', String(min)])
    t.true(
      line.startsWith(
        `${distinct(kept.map((r) => r.user))} users, ${distinct(kept.map((r) => r.item))} items, ${kept.length.toLocaleString('en-US')} interactions`,
      ),
      line,
    )
  }
  const inter4 = await dataLine([
    write(dir, 'x.inter', inter()),
    '--min-rating',
    '4',
    '--rating-col',
    'rating',
  ])
  t.regex(
    inter4,
    new RegExp(`${ROWS.filter((r) => r.rating >= 4).length.toLocaleString('en-US')} interactions`),
  )
  const none = await corml(['eval', csv, ...NAMED, '--min-rating', '6'])
  t.is(none.code, 3)
  t.regex(errorLine(none), /EMPTY_DATA: .*holds no interactions rated at least 6/)
  const data = await Dataset.fromFile(csv, {
    userColumn: 'userId',
    itemColumn: 'movieId',
    minRating: 4,
  })
  t.is(data.numInteractions, ROWS.filter((r) => r.rating >= 4).length)
})

test('timestamps give a leave-last-out split: last to test, the one before to valid', async (t) => {
  const dir = tempDir(t)
  const csv = write(dir, 'r.csv', csvText())
  const data = await Dataset.fromFile(csv, {
    userColumn: 'userId',
    itemColumn: 'movieId',
    timestampColumn: 'timestamp',
  })
  t.true(data.hasTimestamps)
  const { train, valid, test: testPart } = data.split({ strategy: 'leave-last-out' })
  t.is(testPart.numInteractions, users)
  t.is(valid.numInteractions, users)
  t.is(train.numInteractions, ROWS.length - 2 * users)
  // The latest row of each user is its test item, the one before its valid item.
  const byUser = new Map<string, string[]>()
  for (const r of ROWS) byUser.set(r.user, [...(byUser.get(r.user) ?? []), r.item])
  for (const [user, list] of [...byUser].slice(0, 20)) {
    t.deepEqual(await itemsOf(testPart, user), [list.at(-1)!])
    t.deepEqual(await itemsOf(valid, user), [list.at(-2)!])
    t.deepEqual(await itemsOf(train, user), list.slice(0, -2).sort())
  }

  const r = await corml(['eval', csv, ...NAMED, '--split', 'leave-last-out', ...FAST])
  t.is(r.code, 0, r.stderr)
  t.regex(
    r.stderr,
    new RegExp(
      `split \\(leave-last-out by time\\): train ${(ROWS.length - 2 * users).toLocaleString('en-US')}, valid ${users}, test ${users}`,
    ),
  )
  // Without a timestamp column the split has nothing to order by.
  const plain = write(dir, 'p.tsv', tsv(true))
  const no = await corml(['eval', plain, '--split', 'leave-last-out'])
  t.is(no.code, 3)
  t.regex(
    errorLine(no),
    /PARSE_ERROR: .*no column named `timestamp`.*name its column with --timestamp-col$/,
  )
  const noTimes = await Dataset.fromFile(plain)
  t.false(noTimes.hasTimestamps)
  t.throws(() => noTimes.split({ strategy: 'leave-last-out' }), {
    code: 'INVALID_ARGUMENT',
    message: /timestamp column/,
  })
  t.throws(() => data.split({ strategy: 'leave-last-out', seed: 1 }), { code: 'INVALID_ARGUMENT' })
  t.throws(() => data.split({ strategy: 'by-time' as 'random' }), { code: 'INVALID_ARGUMENT' })
})

test('dates order like numbers; a bad timestamp names its line', async (t) => {
  const dir = tempDir(t)
  const text =
    'user_id,item_id,when\n' +
    'a,x,2010-10-19T23:55:27Z\na,y,2010-10-19 23:55:28\na,z,2009-01-01\n' +
    'b,x,2011-01-01\nb,z,2011-01-02\nb,y,2011-01-03\n'
  const data = await Dataset.fromFile(write(dir, 'd.csv', text), { timestampColumn: 'when' })
  const { valid, test: last } = data.split({ strategy: 'leave-last-out' })
  // a: z (2009) < x (…:27) < y (…:28); b: x < z < y.
  t.deepEqual(await itemsOf(last, 'a'), ['y'])
  t.deepEqual(await itemsOf(valid, 'a'), ['x'])
  t.deepEqual(await itemsOf(last, 'b'), ['y'])
  t.deepEqual(await itemsOf(valid, 'b'), ['z'])
  const bad = await corml([
    'eval',
    write(dir, 'bad.csv', 'user_id,item_id,when\na,x,1\na,y,soon\n'),
    '--timestamp-col',
    'when',
    '--split',
    'leave-last-out',
  ])
  t.is(bad.code, 3)
  t.regex(errorLine(bad), /bad\.csv:3: timestamp `soon` in column 2 is neither a number nor a date/)
})

test('minimum-interaction filters repeat until every user and item meets them', async (t) => {
  const dir = tempDir(t)
  const path = write(dir, 'a.tsv', tsv(true))
  // Reference k-core in TypeScript.
  const core = (minUser: number, minItem: number): { u: number; i: number; n: number } => {
    let rows = ROWS.map((r) => [r.user, r.item] as const)
    for (;;) {
      const uc = new Map<string, number>()
      const ic = new Map<string, number>()
      for (const [u, i] of rows) {
        uc.set(u, (uc.get(u) ?? 0) + 1)
        ic.set(i, (ic.get(i) ?? 0) + 1)
      }
      const next = rows.filter(([u, i]) => uc.get(u)! >= minUser && ic.get(i)! >= minItem)
      if (next.length === rows.length) break
      rows = next
    }
    return {
      u: distinct(rows.map((r) => r[0])),
      i: distinct(rows.map((r) => r[1])),
      n: rows.length,
    }
  }
  for (const [mu, mi] of [
    [1, 20],
    [5, 20],
    [10, 15],
  ] as const) {
    const want = core(mu, mi)
    t.true(want.n > 0 && want.n < ROWS.length, `${mu}, ${mi}: ${want.n}`)
    const r = await corml([
      'eval',
      path,
      '--model',
      'ease',
      '--min-user-interactions',
      String(mu),
      '--min-item-interactions',
      String(mi),
    ])
    t.is(r.code, 0, r.stderr)
    t.regex(
      r.stderr,
      new RegExp(
        `kept users with ≥ ${mu} and items with ≥ ${mi} interactions: ${want.u} users, ${want.i} items, ${want.n.toLocaleString('en-US')} interactions`,
      ),
    )
    const data = (await Dataset.fromFile(path)).filter({
      minUserInteractions: mu,
      minItemInteractions: mi,
    })
    t.deepEqual([data.numUsers, data.numItems, data.numInteractions], [want.u, want.i, want.n])
  }
  const all = await corml(['eval', path, '--min-item-interactions', '1000'])
  t.is(all.code, 3)
  t.regex(errorLine(all), /EMPTY_DATA: no interactions are left .* lower the minimums/)
  const data = await Dataset.fromFile(path)
  t.throws(() => data.filter({ minUserInteractions: -1 }), { code: 'INVALID_ARGUMENT' })
  t.throws(() => data.filter({ minItems: 2 } as never), { code: 'INVALID_ARGUMENT' })
})

test('reading reports progress and honours an AbortSignal', async (t) => {
  const dir = tempDir(t)
  const big = write(
    dir,
    'big.tsv',
    'user_id\titem_id\n' +
      Array.from({ length: 200_000 }, (_, k) => `u${k % 997}\ti${k % 1013}\n`).join(''),
  )
  const fractions: number[] = []
  await Dataset.fromFile(big, { onProgress: (p) => fractions.push(p.fraction) })
  t.true(fractions.length >= 3, String(fractions))
  t.is(fractions.at(-1), 1)
  const controller = new AbortController()
  controller.abort()
  await t.throwsAsync(Dataset.fromFile(big, { signal: controller.signal }), { code: 'ABORTED' })
  await t.throwsAsync(Dataset.fromFile(big, { ratingColumn: 2 }), {
    code: 'INVALID_ARGUMENT',
    message: /needs minRating/,
  })
  await t.throwsAsync(Dataset.fromFile(big, { minRating: Number.NaN }), {
    code: 'INVALID_ARGUMENT',
  })
})
