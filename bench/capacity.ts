/**
 * Capacity: what a CoRML model of a given catalogue size costs to hold and to serve, on this
 * machine. For each size, a model trained on seeded synthetic interactions (power-law item
 * popularity; the paper's Gowalla settings with k = 256 eigenvectors, few ADMM iterations since
 * only the model's shape matters here) is saved, mapped, and timed:
 *
 * - the file size, and the resident memory the mapped model adds to a process once scored;
 * - one synchronous `recommend` (p50 / p99 of `--requests` calls, k = 20);
 * - a {@link ModelServer} with 64 requests always in flight: requests/s and p50 / p99.
 *
 * Gowalla's real model (`--gowalla`, default `bench/results/gowalla-all.corml`) is measured beside
 * them. Models are cached in `bench/results/capacity-<items>.corml`.
 *
 * ```sh
 * npx tsx bench/capacity.ts [--sizes 10000,100000] [--requests 1000] [--json]
 * ```
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import { CoRML, Dataset, ModelServer, loadModel, presets } from '../src/index.js'
import { rng } from '../examples/random.js'

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000' },
    gowalla: { type: 'string', default: join('bench', 'results', 'gowalla-all.corml') },
    requests: { type: 'string', default: '1000' },
    json: { type: 'boolean', default: false },
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

function rssBytes(): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) * 1024
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!

async function measure(name: string, path: string) {
  const before = rssBytes()
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
  single.sort((a, b) => a - b)
  const server = ModelServer.of(model)
  const served: number[] = []
  const end = performance.now() + 5000
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now()
        await server.recommend(user(), { k: 20 })
        served.push(performance.now() - t0)
      }
    }),
  )
  served.sort((a, b) => a - b)
  const row = {
    model: name,
    items: model.numItems,
    users: model.numUsers,
    nnz: model.info.nnz,
    fileBytes: statSync(path).size,
    addedRssBytes: rssBytes() - before,
    single: { p50: percentile(single, 0.5), p99: percentile(single, 0.99) },
    server: {
      requestsPerSecond: served.length / 5,
      p50: percentile(served, 0.5),
      p99: percentile(served, 0.99),
      meanBatch: server.stats().requests / server.stats().batches,
    },
  }
  log(
    `${name}: ${row.items} items, file ${(row.fileBytes / 2 ** 20).toFixed(1)} MiB, +${(row.addedRssBytes / 2 ** 20).toFixed(1)} MiB RSS; ` +
      `recommend p50 ${row.single.p50.toFixed(2)} ms p99 ${row.single.p99.toFixed(2)} ms; ` +
      `ModelServer ${row.server.requestsPerSecond.toFixed(0)}/s p50 ${row.server.p50.toFixed(1)} ms p99 ${row.server.p99.toFixed(1)} ms`,
  )
  return row
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
  rows.push(await measure(`synthetic ${items}`, path))
}
if (existsSync(values.gowalla)) rows.push(await measure('gowalla', values.gowalla))
rows.sort((a, b) => a.items - b.items)
if (values.json) console.log(JSON.stringify(rows, null, 2))
