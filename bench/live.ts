/**
 * A live service's figures, measured in one run on this machine (docs/serving.md):
 *
 * 1. **During a fit.** A model is served by synchronous `recommend` calls at a steady rate while
 *    CoRML trains on ML-1M (the Gowalla preset, `partitionRatio` 1) in the same process: the
 *    calls' latency (p50, p99, max) and the event loop's longest stall
 *    (`monitorEventLoopDelay`), beside the same figures with no fit running.
 *
 * ```sh
 * npm run bench:live -- --model gowalla.corml [--rate 200] [--data-dir ../shared/data] [--json]
 * ```
 *
 * The model defaults to `bench/results/gowalla.corml`, trained first if it is missing (the
 * Gowalla preset on all of Gowalla, a few minutes).
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'

import { CoRML, Dataset, loadModel, presets, threads, type AnyModel } from 'corml-native'

import { dataDirectory } from './datasets.js'

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    rate: { type: 'string', default: '200' },
    'baseline-seconds': { type: 'string', default: '10' },
    'data-dir': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
})
const dataDir = dataDirectory(values['data-dir'])
const rate = Number(values.rate)
const log = (line: string) => process.stderr.write(`${line}\n`)

/** Latency figures of a run of calls, in milliseconds. */
interface Latency {
  calls: number
  p50: number
  p99: number
  max: number
  /** The event loop's longest delay while the calls ran. */
  loopMaxMs: number
  /** Calls per second, measured: the requested rate unless the calls fell behind it. */
  rate: number
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!
}

/**
 * Calls `recommend` for `users` at `rate` per second until `until` resolves (or for `seconds`),
 * timing each call and watching the event loop.
 */
async function serve(
  model: AnyModel,
  users: readonly string[],
  until: Promise<unknown> | number,
): Promise<Latency> {
  const times: number[] = []
  const loop = monitorEventLoopDelay({ resolution: 1 })
  loop.enable()
  const start = performance.now()
  let done = false
  const finished =
    typeof until === 'number'
      ? new Promise<void>((r) => setTimeout(r, until * 1000))
      : until.then(() => undefined)
  void finished.then(() => {
    done = true
  })
  let next = start
  let i = 0
  while (!done) {
    const t0 = performance.now()
    model.recommend(users[i++ % users.length]!, { k: 20 })
    times.push(performance.now() - t0)
    next += 1000 / rate
    const wait = Math.max(0, next - performance.now())
    await new Promise((r) => setTimeout(r, wait))
  }
  await finished
  loop.disable()
  const seconds = (performance.now() - start) / 1000
  const sorted = [...times].sort((a, b) => a - b)
  return {
    calls: times.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
    loopMaxMs: loop.max / 1e6,
    rate: times.length / seconds,
  }
}

async function servedModel(): Promise<AnyModel> {
  const path = resolve(values.model ?? join('bench', 'results', 'gowalla.corml'))
  if (!existsSync(path)) {
    log(`training the Gowalla model for ${path} (the Gowalla preset, all interactions)…`)
    const data = await Dataset.fromFile(join(dataDir, 'gowalla', 'gowalla.inter.tsv.gz'))
    const model = await CoRML.fit(data, presets.gowalla)
    mkdirSync(join(path, '..'), { recursive: true })
    await model.save(path)
  }
  return loadModel(path)
}

const model = await servedModel()
const users = model.userIds()
// A spread of users, seeded by their order: every 97th.
const sample = users.filter((_, i) => i % 97 === 0)
log(`serving ${model.numItems} items, ${sample.length} users in rotation, ${rate} calls/s`)
for (const u of sample.slice(0, 50)) model.recommend(u, { k: 20 }) // warm-up

const baseline = await serve(model, sample, Number(values['baseline-seconds']))
log(
  `no fit: p50 ${baseline.p50.toFixed(2)} ms, p99 ${baseline.p99.toFixed(2)} ms, loop max ${baseline.loopMaxMs.toFixed(1)} ms`,
)

const ml1m = await Dataset.fromFile(join(dataDir, 'ml-1m', 'ml-1m.inter.tsv.gz'))
const fitStart = performance.now()
const fit = CoRML.fit(ml1m, { ...presets.gowalla, partitionRatio: 1 })
const during = await serve(model, sample, fit)
const fitted = await fit
const fitSeconds = (performance.now() - fitStart) / 1000
log(
  `during a fit (${fitSeconds.toFixed(1)} s, ${fitted.info.backend}): p50 ${during.p50.toFixed(2)} ms, ` +
    `p99 ${during.p99.toFixed(2)} ms, max ${during.max.toFixed(1)} ms, loop max ${during.loopMaxMs.toFixed(1)} ms`,
)

const result = {
  machine: { cores: (await import('node:os')).availableParallelism(), trainingThreads: threads() },
  model: { items: model.numItems, users: model.numUsers },
  duringFit: {
    fit: {
      data: 'ml-1m',
      settings: 'presets.gowalla, partitionRatio 1',
      seconds: fitSeconds,
      backend: fitted.info.backend,
      stages: fitted.info.stages,
    },
    baseline,
    during,
  },
}
if (values.json) console.log(JSON.stringify(result, null, 2))
else console.log(JSON.stringify(result.duringFit, null, 2))
