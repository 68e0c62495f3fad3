/**
 * The serving benchmark: model file size and load time, single-request latency of every scoring
 * method, and batch throughput, on a model trained on a real dataset.
 *
 * ```sh
 * npm run bench:serve -- [--dataset gowalla] [--model FILE] [--requests 2000] [--out DIR]
 * ```
 *
 * Without `--model` it trains CoRML on the dataset's seeded 60/20/20 training split with its
 * preset and saves it as `<out>/<dataset>.corml` (reused by later runs when present). It then
 * loads that file, checks that the loaded model evaluates exactly like the saved one, and times:
 * `save`, `loadModel`, `toBuffer` / `modelFromBuffer`; `recommend`, `recommendForHistory`,
 * `similarItems`, `score` and `explain` one request at a time on the main thread (p50 / p99 /
 * max over `--requests` random users or items, after a warm-up); and `recommendBatch` of every
 * user at k = 20. Writes `serving.json` and `serving.md` to `--out` (default `bench/results`).
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

import {
  CoRML,
  Dataset,
  evaluate,
  loadModel,
  modelFromBuffer,
  presets,
  type AnyModel,
} from '../src/index.js'
import { DATASETS, dataDirectory } from './datasets.js'
import { rng } from '../examples/random.js'

const { values } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'gowalla' },
    model: { type: 'string' },
    requests: { type: 'string', default: '2000' },
    out: { type: 'string', default: 'bench/results' },
    'data-dir': { type: 'string' },
  },
})
const requests = Number(values.requests)
const out = resolve(values.out)
mkdirSync(out, { recursive: true })

/** Latency quantiles of a synchronous call, in milliseconds, after 100 warm-up calls. */
function latency(count: number, call: (i: number) => unknown): Record<string, number> {
  for (let i = 0; i < 100; i++) call(i)
  const times = new Float64Array(count)
  for (let i = 0; i < count; i++) {
    const start = performance.now()
    call(i)
    times[i] = performance.now() - start
  }
  times.sort()
  const q = (p: number): number => times[Math.min(count - 1, Math.floor(p * count))]!
  return { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: times[count - 1]! }
}

async function seconds<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now()
  const value = await work()
  return [value, (performance.now() - start) / 1000]
}

async function main(): Promise<void> {
  const known = DATASETS[values.dataset]
  if (known === undefined) throw new Error(`unknown dataset ${values.dataset}`)
  const file = join(dataDirectory(values['data-dir']), known.file)
  const split = (await Dataset.fromFile(file)).split({ ratios: [0.6, 0.2, 0.2], seed: 2026 })
  const path = resolve(values.model ?? join(out, `${values.dataset}.corml`))
  const report: Record<string, unknown> = {
    date: new Date().toISOString(),
    dataset: values.dataset,
  }

  let trained: AnyModel | undefined
  if (!existsSync(path)) {
    process.stderr.write(`training CoRML on ${values.dataset} (preset ${known.preset})…\n`)
    trained = await CoRML.fit(split.train, presets[known.preset])
    const [, saveS] = await seconds(() => trained!.save(path))
    report.saveSeconds = saveS
  }
  const [model, loadS] = await seconds(() => loadModel(path))
  const loads = [loadS]
  for (let i = 0; i < 4; i++) loads.push((await seconds(() => loadModel(path)))[1])
  loads.sort()
  report.modelFile = { path, bytes: statSync(path).size }
  report.loadSeconds = { first: loadS, median: loads[2]! }
  const [bytes, toBufferS] = await seconds(() => model.toBuffer())
  const [, fromBufferS] = await seconds(() => modelFromBuffer(bytes))
  Object.assign(report, { toBufferSeconds: toBufferS, fromBufferSeconds: fromBufferS })
  report.model = {
    algorithm: model.info.algorithm,
    users: model.numUsers,
    items: model.numItems,
    nnz: model.info.nnz,
    fingerprint: model.info.fingerprint,
  }

  const [metrics, evalS] = await seconds(() => evaluate(model, split, { ks: [20] }))
  report.loadedModel = { ...metrics.metrics[0], evaluateSeconds: evalS }
  if (trained !== undefined) {
    const before = (await evaluate(trained, split, { ks: [20] })).metrics[0]!
    report.savedModel = before
    if (before.ndcg !== metrics.metrics[0]!.ndcg)
      throw new Error('the loaded model evaluates differently')
  }

  const random = rng(20)
  const users = model.userIds()
  const items = model.itemIds()
  const pickUser = (): string => users[Math.floor(random() * users.length)]!
  const pickItem = (): string => items[Math.floor(random() * items.length)]!
  const someUsers = Array.from({ length: requests + 100 }, pickUser)
  const someItems = Array.from({ length: requests + 100 }, pickItem)
  const histories = Array.from({ length: requests + 100 }, () =>
    Array.from({ length: 5 + Math.floor(random() * 40) }, pickItem),
  )
  report.latencyMs = {
    recommend: latency(requests, (i) => model.recommend(someUsers[i]!, { k: 20 })),
    recommendForHistory: latency(requests, (i) =>
      model.recommendForHistory(histories[i]!, { k: 20 }),
    ),
    similarItems: latency(requests, (i) => model.similarItems(someItems[i]!, { k: 20 })),
    score: latency(requests, (i) => model.score(someUsers[i]!, histories[i]!)),
    explain: latency(requests, (i) => model.explain(someUsers[i]!, someItems[i]!)),
  }
  const [batch, batchS] = await seconds(() => model.recommendBatch(users, { k: 20 }))
  report.batch = {
    users: batch.length,
    k: 20,
    seconds: batchS,
    usersPerSecond: batch.length / batchS,
  }
  report.rssBytes = process.memoryUsage().rss

  writeFileSync(join(out, 'serving.json'), `${JSON.stringify(report, null, 2)}\n`)
  const l = report.latencyMs as Record<string, Record<string, number>>
  const ms = (x: number): string => x.toFixed(2)
  const md = [
    `| | value |`,
    `| --- | --- |`,
    `| model file | ${(statSync(path).size / 2 ** 20).toFixed(1)} MiB |`,
    `| loadModel (first / median of 5) | ${(loadS * 1000).toFixed(0)} ms / ${(loads[2]! * 1000).toFixed(0)} ms |`,
    `| toBuffer / modelFromBuffer | ${(toBufferS * 1000).toFixed(0)} ms / ${(fromBufferS * 1000).toFixed(0)} ms |`,
    ...Object.entries(l).map(
      ([name, q]) =>
        `| ${name} p50 / p90 / p99 / max | ${ms(q.p50!)} / ${ms(q.p90!)} / ${ms(q.p99!)} / ${ms(q.max!)} ms |`,
    ),
    `| recommendBatch, all ${batch.length} users, k = 20 | ${batchS.toFixed(2)} s |`,
    `| NDCG@20 / MRR@20 of the loaded model | ${metrics.metrics[0]!.ndcg.toFixed(4)} / ${metrics.metrics[0]!.mrr.toFixed(4)} |`,
  ].join('\n')
  writeFileSync(join(out, 'serving.md'), `${md}\n`)
  process.stdout.write(`${md}\n`)
}

await main()
