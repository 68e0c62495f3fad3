/**
 * The training benchmark (the CoRML paper's Figure 3): each model trained on each dataset in its
 * own child process, so that its peak memory is its own; times, memory, the ADMM loop's rate next
 * to a plain gemm, and (with a held-out split) NDCG@20 / MRR@20. Used by `corml bench` and by the
 * repository's `npm run bench`.
 *
 * @packageDocumentation
 */

import { fork } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

import { Dataset } from '../dataset.js'
import { evaluate } from '../evaluate.js'
import type { Progress } from '../job.js'
import { CoRML, EASE, GFCF } from '../models.js'
import type { CoRMLOptions, Device } from '../models.js'
import { measureGemm } from '../native/index.cjs'
import { presets } from '../presets.js'
import type { Recommender } from '../recommender.js'
import { barChart, writeChart } from './chart.js'
import { writeFileAtomic } from './files.js'

/** The models a benchmark trains: `corml-literal` is the dense algorithm as written (`admmSolver: 'dense'`). */
export const BENCH_MODELS = ['gfcf', 'ease', 'corml', 'corml-literal'] as const
/** One of {@link BENCH_MODELS}. */
export type BenchModel = (typeof BENCH_MODELS)[number]

/** The two axes of the scaling study: item count, and interactions at a fixed item count. */
export type Axis = 'items' | 'interactions'

/** One training run, done in its own child process. */
export interface BenchJob {
  /** An interaction file, or `ml20m` for the seeded ML-20M-shaped generator. */
  readonly data: string
  /** The name in tables and charts. */
  readonly label: string
  /** CoRML's preset (`ml20m` data always uses `ml20m`); none: the library defaults. */
  readonly preset?: keyof typeof presets
  /** `ml20m` only: users and items times this. */
  readonly scale?: number
  readonly model: BenchModel
  readonly device: Device
  /** ADMM iterations instead of the preset's. */
  readonly iterations?: number
  /** Evaluate on the held-out parts of the seeded 60/20/20 split (files only). */
  readonly evaluate: boolean
  /** Scaling points only: the dataset cut to its `items` most frequent items… */
  readonly items?: number
  /** …and each user keeping this share of their interactions. */
  readonly fraction?: number
  readonly axes?: Axis[]
}

/** What one child reports. */
export interface Measurement {
  dataset: string
  /** For a scaling point: the axes it lies on (the full-data point lies on both). */
  axes?: Axis[]
  model: string
  users: number
  items: number
  interactions: number
  backend: string
  seconds: number
  stages: { stage: string; seconds: number }[]
  /** Resident memory when training starts (the process with its data loaded). */
  baseRssBytes: number
  /** Peak resident memory while training (Linux: the peak is reset when training starts). */
  peakRssBytes: number
  admmSolvers: string[]
  admmGflops?: number
  gemmGflops?: number
  gemmN?: number
  ndcg20?: number
  mrr20?: number
}

/** The training data, its held-out parts when it has them, and CoRML's settings for it. */
async function load(
  job: BenchJob,
): Promise<{ train: Dataset; heldOut?: { valid: Dataset; test: Dataset }; preset: CoRMLOptions }> {
  const synthetic = job.data === 'ml20m'
  const preset: CoRMLOptions = synthetic ? presets.ml20m : job.preset ? presets[job.preset] : {}
  const whole = synthetic
    ? await Dataset.synthetic({ shape: 'ml20m', scale: job.scale ?? 1 })
    : await Dataset.fromFile(job.data)
  if (job.items !== undefined) {
    const cut = whole.topItems(job.items)
    const fraction = job.fraction ?? 1
    const train =
      fraction < 1 ? cut.split({ ratios: [fraction, 0, 1 - fraction], seed: 2026 }).train : cut
    return { train, preset: { ...preset, partitionRatio: 1 } }
  }
  if (synthetic) return { train: whole, preset }
  const { train, valid, test } = whole.split({ ratios: [0.6, 0.2, 0.2], seed: 2026 })
  return { train, heldOut: { valid, test }, preset }
}

/**
 * Resets the process's peak resident memory to its current value where the OS allows it (Linux
 * `clear_refs`), so that the peak measured after training is training's own and not that of
 * reading the data. Returns the current resident memory.
 */
function resetPeakRss(): number {
  try {
    writeFileSync('/proc/self/clear_refs', '5')
  } catch {
    // Not Linux, or not allowed: the peak then covers the whole child process.
  }
  return process.memoryUsage().rss
}

/** In the child process: trains one model on one dataset and measures it. */
export async function benchChild(job: BenchJob): Promise<Measurement> {
  const { model, device } = job
  const { train, heldOut, preset } = await load(job)
  const label =
    job.items === undefined ? job.label : `${job.label} ${job.items} items ×${job.fraction ?? 1}`
  let last = 0
  const onProgress = (p: Progress): void => {
    const now = Date.now()
    if (now - last < 2000 && p.stage !== 'done') return
    last = now
    const where = p.parts > 0 ? ` part ${p.part}/${p.parts}` : ''
    const iteration = p.iterations > 0 ? ` iteration ${p.iteration}/${p.iterations}` : ''
    process.stderr.write(
      `  ${label} ${model}: ${p.stage}${where}${iteration} (${(100 * p.fraction).toFixed(0)}%)\n`,
    )
  }
  const baseRssBytes = resetPeakRss()
  let trained: Recommender
  if (model === 'gfcf') trained = await GFCF.fit(train, { onProgress })
  else if (model === 'ease') trained = await EASE.fit(train, { device, onProgress })
  else {
    trained = await CoRML.fit(train, {
      ...preset,
      device,
      admmSolver: model === 'corml-literal' ? 'dense' : 'auto',
      ...(job.iterations === undefined ? {} : { admmIterations: job.iterations }),
      onProgress,
    })
  }
  const info = trained.info
  const peakRssBytes = process.resourceUsage().maxRSS * 1024
  const out: Measurement = {
    dataset: job.label,
    ...(job.axes === undefined ? {} : { axes: job.axes }),
    model,
    users: train.numUsers,
    items: train.numItems,
    interactions: train.numInteractions,
    backend: info.backend,
    seconds: info.seconds,
    stages: info.stages.map((s) => ({ stage: s.stage, seconds: s.seconds })),
    baseRssBytes,
    peakRssBytes,
    admmSolvers: [...info.admmSolvers],
  }
  if (info.admmFlops > 0) {
    const admm = info.stages.find((s) => s.stage === 'admm')?.seconds ?? NaN
    out.admmGflops = info.admmFlops / admm / 1e9
    out.gemmN = Math.max(...info.partSizes)
    out.gemmGflops = (await measureGemm(out.gemmN, device)) / 1e9
  }
  if (heldOut && job.evaluate) {
    const result = await evaluate(trained, heldOut, { ks: [20] })
    out.ndcg20 = result.metrics[0]!.ndcg
    out.mrr20 = result.metrics[0]!.mrr
  }
  return out
}

/** The CLI entry the children run (`main.ts` from sources, `main.js` when built). */
function cliEntry(): string {
  const here = fileURLToPath(import.meta.url)
  return join(here, '..', `main${here.endsWith('.ts') ? '.ts' : '.js'}`)
}

/** Runs one job in a child process (`corml bench --child <job>`) and waits for its measurement. */
export function runBenchChild(job: BenchJob, signal?: AbortSignal): Promise<Measurement> {
  return new Promise((done, reject) => {
    const proc = fork(cliEntry(), ['bench', '--child', JSON.stringify(job)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      ...(signal ? { signal } : {}),
    })
    let result: Measurement | undefined
    proc.on('message', (m) => (result = m as Measurement))
    proc.on('error', reject)
    proc.on('exit', (code) =>
      result
        ? done(result)
        : reject(new Error(`${job.label} ${job.model}: the benchmark process exited with ${code}`)),
    )
  })
}

/** Runs the jobs one after another, each in its own process, noting each result on stderr. */
export async function runBenchJobs(
  jobs: readonly BenchJob[],
  note: (line: string) => void,
  signal?: AbortSignal,
): Promise<Measurement[]> {
  const rows: Measurement[] = []
  for (const [index, job] of jobs.entries()) {
    const what = `${job.label} ${job.model}${job.items === undefined ? '' : ` ${job.items} items ×${job.fraction ?? 1}`}`
    note(`[${index + 1}/${jobs.length}] ${what}: training…`)
    const r = await runBenchChild(job, signal)
    note(`${what}: ${r.seconds.toFixed(1)} s on ${r.backend}, peak ${gib(r.peakRssBytes)} GiB`)
    rows.push(r)
  }
  return rows
}

/** Bytes as GiB with two decimals. */
export const gib = (bytes: number): string => (bytes / 2 ** 30).toFixed(2)

/** The Markdown table of the training benchmark. */
export function benchMarkdown(rows: readonly Measurement[]): string {
  const lines = [
    '| dataset | model | items | interactions | train s | peak RSS GiB | ADMM GFLOP/s | gemm GFLOP/s | NDCG@20 | MRR@20 | stages (s) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ]
  for (const r of rows) {
    const stages = r.stages.map((s) => `${s.stage} ${s.seconds.toFixed(1)}`).join(', ')
    const f = (x: number | undefined, d: number): string => (x === undefined ? '' : x.toFixed(d))
    lines.push(
      `| ${r.dataset} | ${r.model} | ${r.items} | ${r.interactions} | ${r.seconds.toFixed(1)} | ` +
        `${gib(r.peakRssBytes)} | ${f(r.admmGflops, 0)} | ${f(r.gemmGflops, 0)} | ` +
        `${f(r.ndcg20, 4)} | ${f(r.mrr20, 4)} | ${stages} |`,
    )
  }
  const solvers = rows.filter((r) => r.admmSolvers.length > 0)
  if (solvers.length > 0) {
    lines.push('', 'ADMM solvers per part:', '')
    for (const r of solvers) lines.push(`- ${r.dataset} ${r.model}: ${r.admmSolvers.join('; ')}`)
  }
  return `${lines.join('\n')}\n`
}

/**
 * Writes `<name>.json`, `<name>.md` and the chart (`<name>.svg`, and `.png` with `png`) to `dir`.
 * Returns the paths written and a warning when no PNG could be made.
 */
export async function writeBenchResults(
  dir: string,
  name: string,
  rows: readonly Measurement[],
  meta: Record<string, unknown>,
  table: string,
  svg: string,
  png: boolean,
): Promise<{ written: string[]; warning?: string }> {
  const out = resolve(dir)
  writeFileAtomic(join(out, `${name}.json`), `${JSON.stringify({ ...meta, rows }, null, 2)}\n`)
  writeFileAtomic(join(out, `${name}.md`), table)
  const chart = await writeChart(join(out, `${name}.svg`), svg, png)
  return {
    ...chart,
    written: [join(out, `${name}.json`), join(out, `${name}.md`), ...chart.written],
  }
}

/** The Figure-3-style chart of the training benchmark. */
export function benchChart(rows: readonly Measurement[]): string {
  return barChart(
    'Training time (log scale)',
    rows.map((r) => ({ group: r.dataset, name: r.model, seconds: r.seconds })),
  )
}
