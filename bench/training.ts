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
 * - `--literal` adds `corml-literal`: the algorithm as written (`admmSolver: 'dense'`, a
 *   Cholesky inverse and one dense product per ADMM iteration), beside `corml` (`'auto'`).
 * - For CoRML it reports the ADMM loop's achieved GFLOP/s next to a plain gemm of the largest
 *   part's size measured in the same process.
 *
 * Writes `training.json`, `training.md`, `training.svg` and `training.png` (log-scale bars, as in
 * Figure 3) to `--out` (default `bench/results`). Progress goes to stderr.
 *
 * The runner (one child process per model and dataset, through `corml bench --child`) is the
 * package's own (`src/cli/bench.ts`): this script adds the named datasets of `../shared/data`
 * and the scaling study.
 *
 * `--scaling` measures how CoRML's training time and peak memory grow instead: on the whole
 * dataset (first `--dataset`, default Gowalla) cut to its `--items` most frequent items, then at
 * `--fraction-items` items with each user keeping a share (`--fractions`) of their interactions.
 * Every point is one part (`partitionRatio: 1`), so `n` is the item count; the preset's other
 * settings stay. It fits the exponent of time and memory on a log-log scale and writes
 * `scaling.json`, `scaling.md`, `scaling.svg` and `scaling.png`.
 */
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

import type { Device } from '../src/index.js'
import {
  BENCH_MODELS,
  benchChart,
  benchMarkdown,
  runBenchJobs,
  writeBenchResults,
} from '../src/cli/bench.js'
import type { Axis, BenchJob, BenchModel } from '../src/cli/bench.js'
import { DATASETS, dataDirectory } from './datasets.js'
import { scalingMarkdown, scalingSvg } from './scaling.js'

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
const device = values.device as Device
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

/** A job for a dataset name (`ml20m`, a name of `../shared/data`, or a file) and a model. */
function job(name: string, model: BenchModel, extra: Partial<BenchJob> = {}): BenchJob {
  const known = DATASETS[name]
  return {
    data: name === 'ml20m' ? 'ml20m' : known ? join(dataDir, known.file) : resolve(name),
    label: name === 'ml20m' && scale < 1 ? `ml20m-shaped ×${scale}` : name,
    preset: name === 'ml20m' ? 'ml20m' : (known?.preset ?? 'gowalla'),
    scale,
    model,
    device,
    ...(iters === undefined ? {} : { iterations: iters }),
    evaluate: !values['no-evaluate'],
    ...extra,
  }
}

/** The jobs of `--scaling`: CoRML (and with `--literal` its dense path) along both axes. */
function scalingJobs(): BenchJob[] {
  const dataset = values.dataset?.[0] ?? 'gowalla'
  const items = numberList('items', (x) => Number.isInteger(x) && x >= 2)
  const fractions = numberList('fractions', (x) => x > 0 && x <= 1)
  const [fractionItems] = numberList('fraction-items', (x) => Number.isInteger(x) && x >= 2)
  const [literalMax] = numberList('literal-max-items', (x) => Number.isInteger(x) && x >= 0)
  const models: BenchModel[] = values.literal ? ['corml', 'corml-literal'] : ['corml']
  const jobs: BenchJob[] = []
  /** Adds a point to an axis, training it once when it lies on both. */
  const add = (model: BenchModel, n: number, fraction: number, axis: Axis): void => {
    const same = jobs.find((j) => j.model === model && j.items === n && j.fraction === fraction)
    if (same) same.axes!.push(axis)
    else jobs.push(job(dataset, model, { items: n, fraction, axes: [axis] }))
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
function trainingJobs(): BenchJob[] {
  const datasets = values.dataset ?? ['gowalla', 'ml20m']
  const models = values.models.split(',').map((m) => m.trim()) as BenchModel[]
  if (values.literal && !models.includes('corml-literal')) models.push('corml-literal')
  for (const m of models) if (!BENCH_MODELS.includes(m)) fail(`unknown model ${m}`)
  return datasets.flatMap((dataset) => models.map((model) => job(dataset, model)))
}

const jobs = values.scaling ? scalingJobs() : trainingJobs()
const rows = await runBenchJobs(jobs, (line) => process.stderr.write(`${line}\n`))
const name = values.scaling ? 'scaling' : 'training'
const meta = { date: new Date().toISOString(), scale, device, node: process.version }
const table = values.scaling ? scalingMarkdown(rows) : benchMarkdown(rows)
const svg = values.scaling ? scalingSvg(rows) : benchChart(rows)
const out = await writeBenchResults(values.out, name, rows, meta, table, svg, true)
process.stdout.write(table)
if (out.warning) process.stderr.write(`warning: ${out.warning}\n`)
process.stderr.write(`wrote ${out.written.join(', ')}\n`)
