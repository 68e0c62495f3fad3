/**
 * Streaming a large interaction file: generates a seeded MovieLens-style ratings CSV
 * (`userId,movieId,rating,timestamp`) of about `--size-mb` MB, then reads it with
 * `Dataset.fromFile` in a fresh process per case, reporting time, throughput and peak resident
 * memory next to the file's size: the reader streams records and keeps index pairs, never the
 * text.
 *
 * ```sh
 * npm run bench:read -- [--size-mb 1024] [--file PATH] [--keep]
 * ```
 *
 * The file goes to the system's temporary directory (removed afterwards unless `--keep`; an
 * existing file at `--file` of about the right size is reused).
 */
import { fork } from 'node:child_process'
import { createWriteStream, existsSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import { Dataset, type ReadOptions } from '../src/index.js'
import { rng } from '../examples/random.js'

const { values } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '1024' },
    file: { type: 'string', default: join(tmpdir(), 'corml-read-bench.csv') },
    keep: { type: 'boolean', default: false },
    child: { type: 'string' },
  },
})

interface Case {
  name: string
  options: ReadOptions
}

const CASES: Case[] = [
  { name: 'user and item columns', options: { userColumn: 'userId', itemColumn: 'movieId' } },
  {
    name: 'rating ≥ 4 and timestamps',
    options: {
      userColumn: 'userId',
      itemColumn: 'movieId',
      minRating: 4,
      timestampColumn: 'timestamp',
    },
  },
]

/** Writes about `bytes` of ratings: 140k users, 27k movies (Zipf-like), ratings 0.5–5. */
async function generate(path: string, bytes: number): Promise<void> {
  const random = rng(20)
  const out = createWriteStream(path)
  let written = 0
  const write = (text: string): Promise<void> | undefined => {
    written += text.length
    if (!out.write(text)) return new Promise((r) => out.once('drain', r))
    return undefined
  }
  await write('userId,movieId,rating,timestamp\n')
  let time = 789_652_009
  while (written < bytes) {
    let chunk = ''
    for (let k = 0; k < 20_000; k++) {
      const user = 1 + Math.floor(random() * 138_493)
      const movie = 1 + Math.floor(random() ** 3 * 27_278)
      const rating = (1 + Math.floor(random() * 10)) / 2
      time += Math.floor(random() * 20)
      chunk += `${user},${movie},${rating.toFixed(1)},${time}\n`
    }
    await write(chunk)
  }
  await new Promise<void>((r) => out.end(r))
}

async function child(c: Case): Promise<void> {
  const started = performance.now()
  const data = await Dataset.fromFile(values.file, c.options)
  const seconds = (performance.now() - started) / 1000
  process.send?.({
    seconds,
    peak: process.resourceUsage().maxRSS * 1024,
    users: data.numUsers,
    items: data.numItems,
    interactions: data.numInteractions,
  })
}

function runChild(
  c: Case,
): Promise<{ seconds: number; peak: number; users: number; items: number; interactions: number }> {
  return new Promise((done, reject) => {
    const proc = fork(process.argv[1]!, ['--file', values.file, '--child', c.name], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    let result: Awaited<ReturnType<typeof runChild>> | undefined
    proc.on('message', (m) => (result = m as typeof result))
    proc.on('exit', (code) => (result ? done(result) : reject(new Error(`child exited ${code}`))))
  })
}

if (values.child !== undefined) {
  await child(CASES.find((c) => c.name === values.child)!)
} else {
  const target = Number(values['size-mb']) * 1e6
  const path = values.file
  if (!(existsSync(path) && Math.abs(statSync(path).size - target) < 2e6)) {
    const started = performance.now()
    await generate(path, target)
    console.error(`generated ${path} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  }
  const size = statSync(path).size
  const mb = size / 1e6
  console.log(`file: ${(size / 2 ** 20).toFixed(0)} MiB (${size.toLocaleString('en-US')} bytes)\n`)
  console.log(
    '| read | interactions | users | items | seconds | MB/s | peak RSS MiB | peak / file |',
  )
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |')
  for (const c of CASES) {
    const r = await runChild(c)
    console.log(
      `| ${c.name} | ${r.interactions.toLocaleString('en-US')} | ${r.users.toLocaleString('en-US')} | ` +
        `${r.items.toLocaleString('en-US')} | ${r.seconds.toFixed(1)} | ${(mb / r.seconds).toFixed(0)} | ` +
        `${(r.peak / 2 ** 20).toFixed(0)} | ${(r.peak / size).toFixed(2)} |`,
    )
  }
  if (!values.keep) rmSync(path, { force: true })
}
