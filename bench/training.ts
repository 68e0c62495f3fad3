/**
 * The training benchmark (the paper's Figure 3): GF-CF, EASE and CoRML trained on the same data in
 * one run, each in its own child process so that its peak memory is its own.
 *
 * ```sh
 * npm run bench -- [--dataset gowalla|ml20m|NAME|FILE]... [--scale S] [--models gfcf,ease,corml]
 *                  [--literal] [--device auto|cpu|cuda] [--iters N] [--no-evaluate]
 *                  [--out DIR] [--data-dir DIR]
 * npm run bench -- --scaling [--dataset gowalla] [--items 2000,4000,8000,16000]
 *                  [--fractions 0.125,0.25,0.5,1] [--fraction-items 8000]
 *                  [--literal [--literal-max-items 8000]] [--iters N] [--out DIR]
 * ```
 *
 * - `ml20m` is the seeded ML-20M-shaped generator (`Dataset.synthetic`), trained whole with the
 *   paper's ML-20M settings; `--scale` shrinks it for quick runs. Named datasets (`gowalla`, …)
 *   come from `../shared/data`; any other argument is an interaction file. Both are trained on
 *   the seeded 60/20/20 split with their preset, and evaluated (NDCG@20, MRR@20) on its test part.
 * - `--literal` adds `corml-literal`: SPEC.md's algorithm as written (`admmSolver: 'dense'`, a
 *   Cholesky inverse and one dense product per ADMM iteration), beside `corml` (`'auto'`).
 * - For CoRML it reports the ADMM loop's achieved GFLOP/s next to a plain gemm of the largest
 *   part's size measured in the same process.
 *
 * Writes `training.json`, `training.md` and `training.svg` (log-scale bars, as in Figure 3) to
 * `--out` (default `bench/results`). Progress goes to stderr.
 *
 * `--scaling` measures how CoRML's training time and peak memory grow instead: on the whole
 * dataset (first `--dataset`, default Gowalla) cut to its `--items` most frequent items, then at
 * `--fraction-items` items with each user keeping a share (`--fractions`) of their interactions.
 * Every point is one part (`partitionRatio: 1`), so `n` is the item count; the preset's other
 * settings stay. It fits the exponent of time and memory on a log-log scale and writes
 * `scaling.json`, `scaling.md` and `scaling.svg`.
 */
import { fork } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

import {
  CoRML,
  Dataset,
  EASE,
  GFCF,
  evaluate,
  presets,
  type CoRMLOptions,
  type Progress,
  type Recommender,
} from '../src/index.js'
import { measureGemm } from '../src/native/index.cjs'
import { DATASETS, dataDirectory } from './datasets.js'
import type { Axis, Measurement } from './measurement.js'
import { scalingMarkdown, scalingSvg } from './scaling.js'

const MODELS = ['gfcf', 'ease', 'corml', 'corml-literal'] as const
type ModelName = (typeof MODELS)[number]

/** One training run, done in its own child process. */
interface Job {
  dataset: string
  model: ModelName
  /** Scaling points only: the dataset is cut to its `items` most frequent items… */
  items?: number
  /** …and each user keeps this share of their interactions. */
  fraction?: number
  axes?: Axis[]
}

const { values } = parseArgs({
  options: {
    dataset: { type: 'string', multiple: true },
    scale: { type: 'string', default: '1' },
    models: { type: 'string', default: 'gfcf,ease,corml' },
    literal: { type: 'boolean', default: false },
    device: { type: 'string', default: 'auto' },
    iters: { type: 'string' },
    'no-evaluate': { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results' },
    'data-dir': { type: 'string' },
    scaling: { type: 'boolean', default: false },
    items: { type: 'string', default: '2000,4000,8000,16000' },
    fractions: { type: 'string', default: '0.125,0.25,0.5,1' },
    'fraction-items': { type: 'string', default: '8000' },
    'literal-max-items': { type: 'string', default: '8000' },
    child: { type: 'string' },
  },
})

function fail(message: string): never {
  console.error(`bench: ${message}`)
  process.exit(2)
}

const scale = Number(values.scale)
if (!(scale > 0 && scale <= 1)) fail(`--scale must be in (0, 1], got ${values.scale}`)
const iters = values.iters === undefined ? undefined : Number(values.iters)
if (iters !== undefined && !(Number.isInteger(iters) && iters >= 1)) {
  fail(`--iters must be an integer ≥ 1, got ${values.iters}`)
}
const device = values.device as CoRMLOptions['device'] & string
const dataDir = dataDirectory(values['data-dir'])

/** A comma-separated list of numbers, each checked by `ok`. */
function numberList(name: string, ok: (x: number) => boolean): number[] {
  const raw = values[name as keyof typeof values] as string
  const list = raw
    .split(',')
    .filter((x) => x.trim() !== '')
    .map(Number)
  if (!list.every(ok)) fail(`--${name} has a value out of range: ${raw}`)
  return list
}

/** The training data, its held-out parts when it has them, and CoRML's settings for it. */
async function load(
  job: Job,
): Promise<{ train: Dataset; heldOut?: { valid: Dataset; test: Dataset }; preset: CoRMLOptions }> {
  const name = job.dataset
  const known = DATASETS[name]
  const preset = presets[name === 'ml20m' ? 'ml20m' : (known?.preset ?? 'gowalla')]
  const whole =
    name === 'ml20m'
      ? await Dataset.synthetic({ shape: 'ml20m', scale })
      : await Dataset.fromFile(known ? join(dataDir, known.file) : resolve(name))
  if (job.items !== undefined) {
    const cut = whole.topItems(job.items)
    const fraction = job.fraction ?? 1
    const train =
      fraction < 1 ? cut.split({ ratios: [fraction, 0, 1 - fraction], seed: 2026 }).train : cut
    return { train, preset: { ...preset, partitionRatio: 1 } }
  }
  if (name === 'ml20m') return { train: whole, preset }
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

/** Child process: trains one model on one dataset and sends its measurement to the parent. */
async function child(job: Job): Promise<Measurement> {
  const { dataset, model } = job
  const { train, heldOut, preset } = await load(job)
  const label =
    job.items === undefined ? dataset : `${dataset} ${job.items} items ×${job.fraction ?? 1}`
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
      ...(iters === undefined ? {} : { admmIterations: iters }),
      onProgress,
    })
  }
  const info = trained.info
  const peakRssBytes = process.resourceUsage().maxRSS * 1024
  const out: Measurement = {
    dataset: dataset === 'ml20m' && scale < 1 ? `ml20m-shaped ×${scale}` : dataset,
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
  if (heldOut && !values['no-evaluate']) {
    const result = await evaluate(trained, heldOut, { ks: [20] })
    out.ndcg20 = result.metrics[0]!.ndcg
    out.mrr20 = result.metrics[0]!.mrr
  }
  return out
}

/** Runs one child and waits for its measurement. */
function runChild(job: Job): Promise<Measurement> {
  return new Promise((done, reject) => {
    const args = [...process.argv.slice(2), '--child', JSON.stringify(job)]
    const proc = fork(process.argv[1]!, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    let result: Measurement | undefined
    proc.on('message', (m) => (result = m as Measurement))
    proc.on('error', reject)
    proc.on('exit', (code) =>
      result
        ? done(result)
        : reject(new Error(`${job.dataset} ${job.model}: child exited with ${code}`)),
    )
  })
}

const gib = (bytes: number): string => (bytes / 2 ** 30).toFixed(2)

/** The Markdown table of all measurements. */
function markdown(rows: Measurement[]): string {
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

const escape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** Training time as grouped bars on a log scale, one group per dataset (the paper's Figure 3). */
function svg(rows: Measurement[]): string {
  const datasets = [...new Set(rows.map((r) => r.dataset))]
  const models = [...new Set(rows.map((r) => r.model))]
  const colors = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1']
  const [width, height, left, right, top, bottom] = [760, 420, 70, 20, 40, 70]
  const plotW = width - left - right
  const plotH = height - top - bottom
  const secs = rows.map((r) => Math.max(r.seconds, 1e-3))
  const lo = Math.floor(Math.log10(Math.min(...secs)))
  const hi = Math.ceil(Math.log10(Math.max(...secs)))
  const span = Math.max(hi - lo, 1)
  const y = (s: number): number => top + plotH * (1 - (Math.log10(Math.max(s, 1e-3)) - lo) / span)
  const group = plotW / datasets.length
  const bar = (group * 0.8) / models.length
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">Training time (log scale)</text>`,
  ]
  for (let e = lo; e <= hi; e++) {
    const yy = y(10 ** e).toFixed(1)
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`,
      `<text x="${left - 8}" y="${yy}" text-anchor="end" dominant-baseline="middle">${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(-e)} s</text>`,
    )
  }
  datasets.forEach((d, i) => {
    const x0 = left + i * group + group * 0.1
    models.forEach((m, j) => {
      const r = rows.find((row) => row.dataset === d && row.model === m)
      if (!r) return
      const x = x0 + j * bar
      const yy = y(r.seconds)
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${yy.toFixed(1)}" width="${(bar * 0.9).toFixed(1)}" height="${(top + plotH - yy).toFixed(1)}" fill="${colors[j % colors.length]}"><title>${escape(`${d} ${m}: ${r.seconds.toFixed(1)} s`)}</title></rect>`,
        `<text x="${(x + bar * 0.45).toFixed(1)}" y="${(yy - 4).toFixed(1)}" text-anchor="middle" font-size="10">${r.seconds < 10 ? r.seconds.toFixed(1) : r.seconds.toFixed(0)}</text>`,
      )
    })
    parts.push(
      `<text x="${(left + (i + 0.5) * group).toFixed(1)}" y="${top + plotH + 18}" text-anchor="middle">${escape(d)}</text>`,
    )
  })
  parts.push(
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#333"/>`,
    `<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`,
  )
  models.forEach((m, j) => {
    const x = left + j * 140
    const yy = height - 22
    parts.push(
      `<rect x="${x}" y="${yy - 10}" width="12" height="12" fill="${colors[j % colors.length]}"/>`,
      `<text x="${x + 18}" y="${yy}">${escape(m)}</text>`,
    )
  })
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}

/** The jobs of `--scaling`: CoRML (and with `--literal` its dense path) along both axes. */
function scalingJobs(): Job[] {
  const dataset = values.dataset?.[0] ?? 'gowalla'
  const items = numberList('items', (x) => Number.isInteger(x) && x >= 2)
  const fractions = numberList('fractions', (x) => x > 0 && x <= 1)
  const [fractionItems] = numberList('fraction-items', (x) => Number.isInteger(x) && x >= 2)
  const [literalMax] = numberList('literal-max-items', (x) => Number.isInteger(x) && x >= 0)
  const models: ModelName[] = values.literal ? ['corml', 'corml-literal'] : ['corml']
  const jobs: Job[] = []
  /** Adds a point to an axis, training it once when it lies on both. */
  const add = (model: ModelName, n: number, fraction: number, axis: Axis): void => {
    const same = jobs.find((j) => j.model === model && j.items === n && j.fraction === fraction)
    if (same) same.axes!.push(axis)
    else jobs.push({ dataset, model, items: n, fraction, axes: [axis] })
  }
  for (const model of models) {
    const fits = (n: number): boolean => model === 'corml' || n <= literalMax!
    for (const n of items.filter(fits)) add(model, n, 1, 'items')
    if (fits(fractionItems!))
      for (const f of fractions) add(model, fractionItems!, f, 'interactions')
  }
  return jobs
}

/** The jobs of the training benchmark: every model on every dataset. */
function trainingJobs(): Job[] {
  const datasets = values.dataset ?? ['gowalla', 'ml20m']
  const models = values.models.split(',').map((m) => m.trim()) as ModelName[]
  if (values.literal && !models.includes('corml-literal')) models.push('corml-literal')
  for (const m of models) if (!MODELS.includes(m)) fail(`unknown model ${m}`)
  return datasets.flatMap((dataset) => models.map((model) => ({ dataset, model })))
}

async function main(): Promise<void> {
  if (values.child !== undefined) {
    const result = await child(JSON.parse(values.child) as Job)
    process.send?.(result)
    return
  }
  const jobs = values.scaling ? scalingJobs() : trainingJobs()
  const rows: Measurement[] = []
  for (const [index, job] of jobs.entries()) {
    const what = `${job.dataset} ${job.model}${job.items === undefined ? '' : ` ${job.items} items ×${job.fraction ?? 1}`}`
    process.stderr.write(`[${index + 1}/${jobs.length}] ${what}: training…\n`)
    const r = await runChild(job)
    process.stderr.write(
      `${what}: ${r.seconds.toFixed(1)} s on ${r.backend}, peak ${gib(r.peakRssBytes)} GiB\n`,
    )
    rows.push(r)
  }
  const out = resolve(values.out)
  mkdirSync(out, { recursive: true })
  const name = values.scaling ? 'scaling' : 'training'
  const meta = { date: new Date().toISOString(), scale, device, node: process.version }
  writeFileSync(join(out, `${name}.json`), `${JSON.stringify({ ...meta, rows }, null, 2)}\n`)
  const table = values.scaling ? scalingMarkdown(rows) : markdown(rows)
  writeFileSync(join(out, `${name}.md`), table)
  writeFileSync(join(out, `${name}.svg`), values.scaling ? scalingSvg(rows) : svg(rows))
  process.stdout.write(table)
  process.stderr.write(`wrote ${join(out, `${name}.{json,md,svg}`)}\n`)
}

await main()
