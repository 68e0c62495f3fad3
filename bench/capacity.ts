/**
 * Capacity: what a CoRML model of a given catalogue size costs to hold and to serve, on this
 * machine. For each size, a model trained on seeded synthetic interactions (power-law item
 * popularity; the paper's Gowalla settings with k = 256 eigenvectors, few ADMM iterations since
 * only the model's shape matters here) is saved, mapped, and timed:
 *
 * - the file size, and the memory the mapped model adds to a fresh process once scored: its
 *   mapping's resident pages (the page cache's, shared by every process serving the file) and
 *   the process's own growth outside the mapping (ids, score buffers), from `/proc/self/smaps`;
 * - one synchronous `recommend` (p50 / p99 of `--requests` calls, k = 20);
 * - a {@link ModelServer} with 64 requests always in flight: requests/s, mean, p50 and p99, and
 *   Little's law as the check (requests/s × mean latency must be the 64 in flight).
 *
 * Each model is measured in a process of its own, so that no model's memory is another's.
 *
 * Gowalla's real model (`--gowalla`, default `bench/results/gowalla-all.corml`) is measured beside
 * them. Models are cached in `bench/results/capacity-<items>.corml`.
 *
 * ```sh
 * npx tsx bench/capacity.ts [--sizes 10000,100000] [--requests 1000] [--json]
 * ```
 */
import { execFileSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

import { CoRML, Dataset, ModelServer, loadModel, presets } from '../src/index.js'
import { rng } from '../examples/random.js'
import { fileMemoryOf, summary } from '../examples/service/loadtest.js'

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000' },
    gowalla: { type: 'string', default: join('bench', 'results', 'gowalla-all.corml') },
    requests: { type: 'string', default: '1000' },
    json: { type: 'boolean', default: false },
    /** Internal: measure this one model file in this process and print its row as JSON. */
    measure: { type: 'string' },
    name: { type: 'string' },
  },
})
const log = (line: string) => process.stderr.write(`${line}\n`)
const requests = Number(values.requests)

/** Seeded interactions over `items` items: 0.75 users per item, 25 each, Zipf-like popularity. */
function synthetic(items: number): Dataset {
  const random = rng(items)
  const users = Math.round(items * 0.75)
  const us: number[] = []
  const is: number[] = []
  for (let u = 0; u < users; u++) {
    const seen = new Set<number>()
    while (seen.size < 25) seen.add(Math.floor(items * random() ** 2.5))
    for (const i of seen) {
      us.push(u)
      is.push(i)
    }
  }
  return Dataset.fromPairs(us, is)
}

const inFlight = 64

async function measure(name: string, path: string) {
  const before = fileMemoryOf(process.pid, path)
  const model = await loadModel(path, { mmap: true })
  const users = model.userIds()
  const pick = rng(7)
  const user = () => users[Math.floor(pick() * users.length)]!
  for (let i = 0; i < 50; i++) model.recommend(user(), { k: 20 })
  const single: number[] = []
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now()
    model.recommend(user(), { k: 20 })
    single.push(performance.now() - t0)
  }
  const server = ModelServer.of(model)
  const served: number[] = []
  const end = performance.now() + 5000
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now()
        await server.recommend(user(), { k: 20 })
        served.push(performance.now() - t0)
      }
    }),
  )
  const after = fileMemoryOf(process.pid, path)
  const alone = summary(single)
  const batched = summary(served)
  const perSecond = batched.count / 5
  const row = {
    model: name,
    items: model.numItems,
    users: model.numUsers,
    nnz: model.info.nnz,
    fileBytes: statSync(path).size,
    mappedBytes: after.mapping.rss - before.mapping.rss,
    // Private pages outside the mapping: a page of the file that only this process maps counts
    // as private in smaps, yet it is the page cache's, shared with the next process to map it.
    privateBytes: after.private - after.mapping.private - (before.private - before.mapping.private),
    single: { p50: alone.p50, p99: alone.p99 },
    server: {
      requestsPerSecond: perSecond,
      mean: batched.mean,
      littlesLaw: (perSecond * batched.mean) / 1000,
      p50: batched.p50,
      p99: batched.p99,
      meanBatch: server.stats().requests / server.stats().batches,
    },
  }
  log(
    `${name}: ${row.items} items, file ${mib(row.fileBytes)} MiB, mapped ${mib(row.mappedBytes)} MiB + ` +
      `private ${mib(row.privateBytes)} MiB; ` +
      `recommend p50 ${row.single.p50.toFixed(2)} ms p99 ${row.single.p99.toFixed(2)} ms; ` +
      `ModelServer ${perSecond.toFixed(0)}/s mean ${batched.mean.toFixed(2)} ms p50 ${row.server.p50.toFixed(1)} ms ` +
      `p99 ${row.server.p99.toFixed(1)} ms (Little: ${row.server.littlesLaw.toFixed(1)} in flight for ${inFlight})`,
  )
  return row
}

const mib = (b: number) => (b / 2 ** 20).toFixed(1)

if (values.measure !== undefined) {
  console.log(JSON.stringify(await measure(values.name ?? values.measure, resolve(values.measure))))
  process.exit(0)
}

/** Measures `path` in a fresh process of its own. */
function measured(name: string, path: string): Awaited<ReturnType<typeof measure>> {
  const script = fileURLToPath(import.meta.url)
  const args = ['--import', 'tsx', script, '--measure', path, '--name', name]
  args.push('--requests', String(requests))
  const out = execFileSync(process.execPath, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return JSON.parse(out.trim().split('\n').at(-1)!) as Awaited<ReturnType<typeof measure>>
}

const rows = []
for (const items of values.sizes.split(',').map(Number)) {
  const path = join('bench', 'results', `capacity-${items}.corml`)
  if (!existsSync(path)) {
    log(`training a ${items}-item model for ${path}…`)
    const t0 = performance.now()
    const model = await CoRML.fit(synthetic(items), {
      ...presets.gowalla,
      partitionRatio: Math.min(1, 15_000 / items),
      admmIterations: 5,
    })
    await model.save(path)
    log(`  trained in ${((performance.now() - t0) / 1000).toFixed(0)} s`)
  }
  rows.push(measured(`synthetic ${items}`, path))
}
if (existsSync(values.gowalla)) rows.push(measured('gowalla', values.gowalla))
rows.sort((a, b) => a.items - b.items)
if (values.json) console.log(JSON.stringify(rows, null, 2))
