/**
 * A live service's figures, measured in one run on this machine (docs/serving.md):
 *
 * 1. **During a fit.** A model is served by synchronous `recommend` calls at a steady rate while
 *    CoRML trains on ML-1M (the Gowalla preset, `partitionRatio` 1) in the same process: the
 *    calls' latency (p50, p99, max) and the event loop's longest stall
 *    (`monitorEventLoopDelay`), beside the same figures with no fit running.
 * 2. **Under load, with hot swaps.** The example cluster service on the model, `--seconds` at
 *    `--connections` with a swap every `--swap-every` seconds (`examples/service/loadtest.ts`,
 *    whose figures check themselves against Little's law and the server's own metrics), and
 *    the service's memory before the first swap and after the third.
 * 3. **Shared memory.** The service with two workers, the model mapped and read into each
 *    worker's heap, and the same for a tiny model: each worker's private memory and its mapping
 *    of the model file (`/proc/<pid>/smaps`), and so what each further worker adds for the model.
 * 4. **Load time.** `loadModel` with and without `mmap` for models of several sizes.
 *
 * ```sh
 * npm run bench:live -- [--model gowalla.corml] [--rate 200] [--seconds 60] [--connections 100]
 *   [--swap-every 10] [--data-dir ../shared/data] [--json]
 * ```
 *
 * The model defaults to `bench/results/gowalla-all.corml`, trained first if it is missing (the
 * Gowalla preset on all of Gowalla, a few minutes).
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

import { CoRML, Dataset, loadModel, presets, threads, type AnyModel } from 'corml-native'

import { dataDirectory } from './datasets.js'
import {
  describe,
  fileMemoryOf,
  startService,
  type FileMemory,
  type LoadReport,
} from '../examples/service/loadtest.js'

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    rate: { type: 'string', default: '200' },
    'baseline-seconds': { type: 'string', default: '10' },
    seconds: { type: 'string', default: '60' },
    connections: { type: 'string', default: '100' },
    'swap-every': { type: 'string', default: '10' },
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

const modelPath = resolve(values.model ?? join('bench', 'results', 'gowalla-all.corml'))

async function servedModel(): Promise<AnyModel> {
  const path = modelPath
  if (!existsSync(path)) {
    log(`training the Gowalla model for ${path} (the Gowalla preset, all interactions)…`)
    const data = await Dataset.fromFile(join(dataDir, 'gowalla', 'gowalla.inter.tsv.gz'))
    const model = await CoRML.fit(data, presets.gowalla)
    mkdirSync(join(path, '..'), { recursive: true })
    await model.save(path)
  }
  return loadModel(path)
}

// 2. Under load, with a swap every few seconds: the load test in a process of its own, so that
// the load generator shares the cores with nothing but the service.
async function runLoad(): Promise<LoadReport> {
  log(
    `load: ${values.seconds} s at ${values.connections} connections, a swap every ${values['swap-every']} s…`,
  )
  const script = fileURLToPath(new URL('../examples/service/loadtest.ts', import.meta.url))
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      script,
      '--model',
      modelPath,
      '--duration',
      values.seconds!,
      '--connections',
      values.connections!,
      '--swap-every',
      values['swap-every']!,
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let out = ''
  child.stdout.on('data', (b: Buffer) => (out += b))
  await new Promise((r) => child.on('exit', r))
  const report = JSON.parse(out.slice(0, out.lastIndexOf('}') + 1)) as LoadReport
  log(describe(report))
  return report
}
const model = await servedModel()
const load = await runLoad()
const good = load.swaps.filter((w) => w.ok && w.status === 200)
const afterThird = good[2]?.memory
const rssChange = afterThird === undefined ? NaN : afterThird.rss / load.memory.before.rss - 1
const pssChange = afterThird === undefined ? NaN : afterThird.pss / load.memory.before.pss - 1

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
const scratch = mkdtempSync(join(tmpdir(), 'corml-live-'))
const ml1mPath = join(scratch, 'ml-1m.corml')
await fitted.save(ml1mPath)
const fitSeconds = (performance.now() - fitStart) / 1000
log(
  `during a fit (${fitSeconds.toFixed(1)} s, ${fitted.info.backend}): p50 ${during.p50.toFixed(2)} ms, ` +
    `p99 ${during.p99.toFixed(2)} ms, max ${during.max.toFixed(1)} ms, loop max ${during.loopMaxMs.toFixed(1)} ms`,
)

// 3. Shared memory: two workers serve the model; each one's private memory, and its mapping of the
// model file, read from /proc/<pid>/smaps after a burst of requests has been scored by both.
interface WorkerMemory {
  model: string
  mmap: boolean
  workers: FileMemory[]
}
async function workerMemory(path: string, mmap: boolean): Promise<WorkerMemory> {
  const file = resolve(path)
  const service = await startService(file, { workers: 2, mmap })
  try {
    const ids = (await loadModel(file, { mmap: true })).userIds()
    // Requests on connections of their own, which the primary hands to the workers in turn.
    for (let round = 0; round < 4; round++)
      await Promise.all(
        Array.from({ length: 64 }, (_, i) =>
          fetch(
            `${service.url}/users/${encodeURIComponent(ids[(round * 64 + i * 31) % ids.length]!)}/recommendations`,
            { headers: { connection: 'close' } },
          ).then((r) => r.arrayBuffer()),
        ),
      )
    await new Promise((r) => setTimeout(r, 500))
    return { model: file, mmap, workers: service.workerPids.map((pid) => fileMemoryOf(pid, file)) }
  } finally {
    await service.stop()
  }
}
const sampleDir = mkdtempSync(join(tmpdir(), 'corml-live-sample-'))
const samplePath = join(sampleDir, 'sample.corml')
await (await CoRML.fit(await Dataset.sample(), { device: 'cpu' })).save(samplePath)
const shared = {
  mapped: await workerMemory(modelPath, true),
  heap: await workerMemory(modelPath, false),
  sample: await workerMemory(samplePath, true),
}
const modelBytes = statSync(modelPath).size
const meanPrivate = (m: WorkerMemory) =>
  m.workers.reduce((sum, w) => sum + w.private, 0) / m.workers.length
// A worker's own cost (runtime, service, connections) is what it holds serving the tiny sample
// model; what it holds beyond that serving Gowalla is what the model costs each further worker.
// The mapped pages themselves are the page cache's, held once whatever the number of workers.
const addedMapped = meanPrivate(shared.mapped) - meanPrivate(shared.sample)
const addedHeap = meanPrivate(shared.heap) - meanPrivate(shared.sample)
const mib = (b: number) => (b / 2 ** 20).toFixed(1)
for (const [name, m] of Object.entries(shared))
  log(
    `two workers, ${name}: private ${m.workers.map((w) => mib(w.private)).join(' / ')} MiB; ` +
      `model mapping resident ${m.workers.map((w) => mib(w.mapping.rss)).join(' / ')} MiB, ` +
      `of it private ${m.workers.map((w) => mib(w.mapping.private)).join(' / ')} MiB`,
  )
log(
  `shared memory: each further worker adds ${mib(addedMapped)} MiB for a ${mib(modelBytes)} MiB ` +
    `model mapped (${((100 * addedMapped) / modelBytes).toFixed(1)}%), ${mib(addedHeap)} MiB read into its heap ` +
    `(heap less mapped: ${mib(addedHeap - addedMapped)} MiB, against the file's ${mib(modelBytes)} MiB)`,
)

// 4. Load time, mapped and into the heap (the page cache warm: what a restart or a swap sees).
const loadTimes: { model: string; bytes: number; heapMs: number; mmapMs: number }[] = []
for (const [name, path] of [
  ['sample', samplePath],
  ['ml-1m', ml1mPath],
  ['gowalla', modelPath],
] as const) {
  const time = async (mmap: boolean) => {
    let best = Infinity
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now()
      await loadModel(path, { mmap })
      best = Math.min(best, performance.now() - t0)
    }
    return best
  }
  loadTimes.push({
    model: name,
    bytes: statSync(path).size,
    heapMs: await time(false),
    mmapMs: await time(true),
  })
}
for (const l of loadTimes)
  log(
    `load ${l.model} (${mib(l.bytes)} MiB): heap ${l.heapMs.toFixed(1)} ms, mapped ${l.mmapMs.toFixed(1)} ms`,
  )
rmSync(scratch, { recursive: true, force: true })
rmSync(sampleDir, { recursive: true, force: true })

const result = {
  machine: { cores: (await import('node:os')).availableParallelism(), trainingThreads: threads() },
  model: { items: model.numItems, users: model.numUsers, bytes: modelBytes },
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
  load: { ...load, rssChangeAfterThreeSwaps: rssChange, pssChangeAfterThreeSwaps: pssChange },
  sharedMemory: {
    runs: shared,
    furtherWorkerAddsForTheModel: { mapped: addedMapped, heap: addedHeap, modelBytes },
  },
  loadTimes,
}
if (values.json) console.log(JSON.stringify(result, null, 2))
else
  console.log(
    JSON.stringify(
      {
        duringFit: result.duringFit,
        load: { ...result.load, memory: undefined },
        sharedMemory: result.sharedMemory.furtherWorkerAddsForTheModel,
        loadTimes,
      },
      null,
      2,
    ),
  )
process.exitCode = load.failures.length === 0 ? 0 : 1
