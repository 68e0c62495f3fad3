/**
 * Runs a hyperparameter grid for `corml tune` and `corml eval --sweep`: one CoRML fit and one
 * evaluation per point, each appended to a journal as it finishes, so that an interrupted run
 * resumes where it stopped; then the table, CSV / JSON and the accuracy-novelty chart.
 *
 * @packageDocumentation
 */

import {
  existsSync,
  readFileSync,
  rmSync,
  statSync,
  appendFileSync,
  openSync,
  fsyncSync,
  closeSync,
  mkdirSync,
} from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { isDeepStrictEqual } from 'node:util'

import type { DatasetSplit } from '../dataset.js'
import { CormlError, isCormlError } from '../errors.js'
import { evaluate } from '../evaluate.js'
import type { MetricsAtK } from '../evaluate.js'
import { lineChart, writeChart } from './chart.js'
import { DATA_VALUE_FLAGS, readData, splitData } from './data.js'
import type { DataFlags, SplitFlags } from './data.js'
import { onFile, writeFileAtomic } from './files.js'
import { gridPoints, pointKey } from './grid.js'
import type { GridAxis } from './grid.js'
import type { CliIo } from './io.js'
import { UsageError } from './io.js'
import { METRIC_LABEL, fixed4, targetLabel, valueOf } from './metrics.js'
import type { MetricName, Target } from './metrics.js'
import { NUMERIC_HYPERPARAMETERS, cormlOptions, fitModel, kebab } from './model-flags.js'
import type { ModelFlags, NumericHyperparameter } from './model-flags.js'
import { ProgressView, duration } from './progress.js'
import { csv, textTable } from './table.js'

/** What one grid run is; a journal resumes only a run with equal settings. */
export interface GridRunSpec {
  /** The data file (its size and modification time are part of the settings). */
  readonly dataFile: string
  /** Where the journal and results go. */
  readonly outputDir: string
  /** Start over even when the journal holds finished points. */
  readonly fresh: boolean
  /** Everything else that decides the results: read, filter, split and model options. */
  readonly settings: Readonly<Record<string, unknown>>
  /** The grid. */
  readonly axes: readonly GridAxis[]
  /** `valid` (tuning: the test part stays unseen) or `test` (a sweep in `eval`). */
  readonly part: 'valid' | 'test'
  /** Cut-offs evaluated. */
  readonly ks: readonly number[]
  /** What ranks the points. */
  readonly target: Target
}

/** The result of one point. */
export interface PointResult {
  readonly point: Readonly<Partial<Record<NumericHyperparameter, number>>>
  readonly metrics: readonly MetricsAtK[]
  /** Training seconds. */
  readonly seconds: number
  /** Fingerprint of the training data. */
  readonly fingerprint: string
  /** CoRML's ADMM solver per part (absent in journals written before it was recorded). */
  readonly admmSolvers?: readonly string[]
}

const JOURNAL = 'runs.jsonl'

/**
 * The settings that decide a grid's results: data, filter and split flags, and CoRML's options
 * except the device.
 */
export function gridSettings(flags: DataFlags & SplitFlags & ModelFlags): Record<string, unknown> {
  const data = Object.fromEntries(
    (['header', ...DATA_VALUE_FLAGS, 'split', 'ratios', 'seed'] as const)
      .filter((k) => flags[k] !== undefined)
      .map((k) => [k, flags[k]]),
  )
  // The device is left out: a run started on the CPU may go on on a GPU.
  const { device: _device, ...corml } = cormlOptions(flags)
  return { data, corml }
}

/**
 * The journal's first line: what identifies the run (as JSON would read it back). The grid is not
 * part of it: a journal serves any grid on the same settings, and a refined grid reuses the points
 * it shares with an earlier one.
 */
function header(spec: GridRunSpec): Record<string, unknown> {
  const file = resolve(spec.dataFile)
  const stat = statSync(file)
  return jsonCopy({
    kind: 'corml-grid',
    format: 1,
    data: { file, bytes: stat.size, modified: stat.mtimeMs },
    settings: spec.settings,
    part: spec.part,
    ks: spec.ks,
  })
}

function jsonCopy(value: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>
}

/** The first key whose value differs between two objects (for the mismatch message). */
function firstDifference(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
  path = '',
): string {
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const [x, y] = [a[key], b[key]]
    if (isDeepStrictEqual(x, y)) continue
    if (
      typeof x === 'object' &&
      typeof y === 'object' &&
      x !== null &&
      y !== null &&
      !Array.isArray(x)
    ) {
      return firstDifference(
        x as Record<string, unknown>,
        y as Record<string, unknown>,
        `${path}${key}.`,
      )
    }
    return `${path}${key}`
  }
  return '?'
}

/** Reads the finished points of a journal with this header; an unfinished last line is dropped. */
function resume(path: string, head: Record<string, unknown>, fresh: boolean): PointResult[] {
  if (fresh) rmSync(path, { force: true })
  if (!existsSync(path)) {
    writeFileAtomic(path, `${JSON.stringify(head)}\n`)
    return []
  }
  const lines = readFileSync(path, 'utf8').split('\n')
  let saved: Record<string, unknown>
  try {
    saved = JSON.parse(lines[0] ?? '') as Record<string, unknown>
  } catch {
    throw new UsageError(
      `${path} is not a corml journal; remove it or use --fresh or another --output-dir`,
    )
  }
  if (!isDeepStrictEqual(saved, head)) {
    throw new UsageError(
      `${path} holds a run with other settings (${firstDifference(saved, head)} differs); ` +
        'use --fresh to start over, or another --output-dir',
    )
  }
  const done: PointResult[] = []
  const good: string[] = [lines[0]!]
  for (const line of lines.slice(1)) {
    if (line.trim() === '') continue
    try {
      done.push(JSON.parse(line) as PointResult)
      good.push(line)
    } catch {
      break // a line cut short by a crash: that point runs again
    }
  }
  if (good.length !== lines.filter((l) => l.trim() !== '').length) {
    writeFileAtomic(path, `${good.join('\n')}\n`)
  }
  return done
}

/** Appends one finished point to the journal and flushes it to disk. */
function record(path: string, result: PointResult): void {
  appendFileSync(path, `${JSON.stringify(result)}\n`)
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/**
 * Runs every point of the grid not yet in the journal, calling `load` for the data only when one
 * is left (after the journal is checked). Resolves with all results (resumed and new, in grid
 * order); Ctrl-C rejects with `ABORTED` after the finished points are saved.
 */
export async function runGrid(
  spec: GridRunSpec,
  load: () => Promise<DatasetSplit>,
  flags: ModelFlags,
  view: ProgressView,
  io: CliIo,
): Promise<PointResult[]> {
  onFile(spec.outputDir, () => mkdirSync(spec.outputDir, { recursive: true }))
  const journal = join(spec.outputDir, JOURNAL)
  const points = gridPoints(spec.axes)
  // Points of the journal outside this grid stay in it, unused.
  const wanted = new Set(points.map(pointKey))
  const done = new Map(
    onFile(journal, () => resume(journal, header(spec), spec.fresh))
      .filter((r) => wanted.has(pointKey(r.point)))
      .map((r) => [pointKey(r.point), r]),
  )
  if (done.size > 0)
    view.note(`resuming: ${done.size} of ${points.length} points already done (${journal})`)
  if (done.size === points.length) return points.map((p) => done.get(pointKey(p))!)
  // The journal is checked before the data is read, and the data is read only when needed.
  const split = await load()
  const started = performance.now()
  let ran = 0
  try {
    for (const [index, point] of points.entries()) {
      const key = pointKey(point)
      if (done.has(key)) continue
      const todo = points.length - done.size
      const left =
        ran > 0
          ? `, about ${duration(((performance.now() - started) / 1000 / ran) * todo)} left`
          : ''
      view.note(`[${index + 1}/${points.length}] ${key.replace(/,/g, ', ')}${left}`)
      const model = await fitModel('corml', split.train, flags, view, io, point)
      const data =
        spec.part === 'valid' ? { test: split.valid } : { valid: split.valid, test: split.test }
      const result = await view.task(`evaluating on ${spec.part}`, (onProgress) =>
        evaluate(model, data, { ks: [...spec.ks], onProgress, signal: io.signal }),
      )
      const entry: PointResult = {
        point,
        metrics: result.metrics,
        seconds: model.info.seconds,
        fingerprint: model.info.fingerprint,
        admmSolvers: model.info.admmSolvers,
      }
      onFile(journal, () => record(journal, entry))
      done.set(key, entry)
      ran++
      view.note(`  ${targetLabel(spec.target)} ${fixed4(valueOf(entry.metrics, spec.target))}`)
    }
  } catch (error) {
    if (isCormlError(error) && error.code === 'ABORTED') {
      throw new CormlError(
        'ABORTED',
        `interrupted with ${done.size} of ${points.length} points done, saved in ${journal}; ` +
          'run the same command again to go on',
        { cause: error },
      )
    }
    throw error
  }
  return points.map((p) => done.get(pointKey(p))!)
}

/** The best result by the target (the highest value; ties keep the first in grid order). */
export function best(results: readonly PointResult[], target: Target): PointResult | undefined {
  let top: PointResult | undefined
  for (const r of results) {
    if (top === undefined || valueOf(r.metrics, target) > valueOf(top.metrics, target)) top = r
  }
  return top
}

const METRICS: readonly MetricName[] = ['ndcg', 'mrr', 'recall', 'novelty']

/** The axis a chart runs along: `itemDegreeNorm` when it varies, else the first that does. */
function chartAxis(axes: readonly GridAxis[]): GridAxis | undefined {
  const varying = axes.filter((a) => a.values.length > 1)
  return varying.find((a) => a.name === 'itemDegreeNorm') ?? varying[0]
}

/**
 * Prints the results table and the best point, writes `results.csv`, `results.json` and (when a
 * hyperparameter varies) `chart.svg` / `chart.png` to the output directory.
 */
export async function reportGrid(
  spec: GridRunSpec,
  results: readonly PointResult[],
  options: { title: string; png: boolean; json: boolean; flags: DataFlags & ModelFlags },
  view: ProgressView,
  io: CliIo,
): Promise<PointResult | undefined> {
  const names = spec.axes.map((a) => a.name)
  const top = best(results, spec.target)
  const headers = [
    ...names,
    ...spec.ks.flatMap((k) => METRICS.map((m) => `${METRIC_LABEL[m]}@${k}`)),
    'train s',
  ]
  const rows = results.map((r) => [
    ...names.map((n) => r.point[n] ?? ''),
    ...spec.ks.flatMap((k) => METRICS.map((m) => valueOf(r.metrics, { metric: m, k }))),
    Number(r.seconds.toFixed(2)),
  ])
  writeFileAtomic(join(spec.outputDir, 'results.csv'), csv(headers, rows))
  writeFileAtomic(
    join(spec.outputDir, 'results.json'),
    `${JSON.stringify({ part: spec.part, target: targetLabel(spec.target), settings: spec.settings, axes: spec.axes, best: top, results }, null, 2)}\n`,
  )
  const written = [join(spec.outputDir, 'results.csv'), join(spec.outputDir, 'results.json')]
  const axis = chartAxis(spec.axes)
  if (axis && top) {
    // Along the axis, with every other hyperparameter at its best value.
    const along = results
      .filter((r) => names.every((n) => n === axis.name || r.point[n] === top.point[n]))
      .sort((a, b) => a.point[axis.name]! - b.point[axis.name]!)
    const k = spec.target.k
    const series = (m: MetricName) => ({
      name: `${METRIC_LABEL[m]}@${k}`,
      values: along.map((r) => valueOf(r.metrics, { metric: m, k })),
    })
    const fixed = names.filter((n) => n !== axis.name).map((n) => `${n} = ${top.point[n]}`)
    const data = basename(spec.dataFile)
    const svg = lineChart({
      title: options.title,
      subtitle: `${data}, ${spec.part === 'valid' ? 'validation' : 'test'} split${fixed.length ? `; ${fixed.join(', ')}` : ''}`,
      x: {
        label: axis.name === 'itemDegreeNorm' ? 't (itemDegreeNorm)' : axis.name,
        values: along.map((r) => r.point[axis.name]!),
      },
      left: { label: `accuracy@${k}`, series: [series('ndcg'), series('mrr'), series('recall')] },
      right: { label: `novelty@${k}`, series: [series('novelty')] },
      mark: {
        x: top.point[axis.name]!,
        caption: `best ${targetLabel(spec.target)} ${fixed4(valueOf(top.metrics, spec.target))}`,
      },
    })
    const chart = await writeChart(join(spec.outputDir, 'chart.svg'), svg, options.png)
    if (chart.warning) view.note(`warning: ${chart.warning}`)
    written.push(...chart.written)
  }
  if (options.json) {
    io.stdout(
      `${JSON.stringify({ part: spec.part, target: targetLabel(spec.target), best: top, results }, null, 2)}\n`,
    )
  } else {
    const shown = spec.ks.includes(spec.target.k) ? [spec.target.k] : [...spec.ks]
    io.stdout(
      textTable(
        [
          ...names,
          ...shown.flatMap((k) => METRICS.map((m) => `${METRIC_LABEL[m]}@${k}`)),
          'train s',
        ],
        results.map((r) => [
          ...names.map((n) => String(r.point[n] ?? '')),
          ...shown.flatMap((k) => METRICS.map((m) => fixed4(valueOf(r.metrics, { metric: m, k })))),
          r.seconds.toFixed(1),
        ]),
      ),
    )
    if (top) {
      io.stdout(
        `\nbest ${targetLabel(spec.target)} on ${spec.part}: ${fixed4(valueOf(top.metrics, spec.target))} at ${pointKey(top.point).replace(/,/g, ', ')}\n` +
          `train it on all the data with:\n  ${trainCommandLine(spec.dataFile, options.flags, top.point)}\n`,
      )
    }
  }
  view.note(`wrote ${written.join(', ')}`)
  return top
}

/** What `tune` and `eval --sweep` pass to {@link gridCommand}. */
export interface GridCommand {
  readonly part: 'valid' | 'test'
  readonly outputDir: string
  readonly axes: readonly GridAxis[]
  readonly ks: readonly number[]
  readonly target: Target
  readonly title: string
}

/** The body of `tune` and `eval --sweep`: read, split, run the grid, report. */
export async function gridCommand(
  data: string,
  flags: DataFlags & SplitFlags & ModelFlags & { fresh?: boolean; png: boolean; json?: boolean },
  command: GridCommand,
  view: ProgressView,
  io: CliIo,
): Promise<void> {
  const spec: GridRunSpec = {
    dataFile: data,
    outputDir: command.outputDir,
    fresh: flags.fresh === true,
    settings: gridSettings(flags),
    axes: command.axes,
    part: command.part,
    ks: command.ks,
    target: command.target,
  }
  const load = async (): Promise<DatasetSplit> =>
    splitData(await readData(data, flags, view, io, flags), flags, view)
  const results = await runGrid(spec, load, flags, view, io)
  await reportGrid(
    spec,
    results,
    { title: command.title, png: flags.png, json: flags.json === true, flags },
    view,
    io,
  )
}

/** A word of a command line, quoted for a POSIX shell when it needs to be. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`
}

/**
 * The `corml train` command line for a grid point: the same data and filter options, the preset,
 * the CoRML options given, and the point's values.
 */
export function trainCommandLine(
  dataFile: string,
  flags: DataFlags & ModelFlags,
  point: Readonly<Partial<Record<NumericHyperparameter, number>>>,
): string {
  const words = ['corml', 'train', dataFile]
  if (flags.header !== undefined) words.push(flags.header ? '--header' : '--no-header')
  for (const key of DATA_VALUE_FLAGS) {
    const value = flags[key]
    if (value !== undefined) words.push(`--${kebab(key)}`, String(value))
  }
  if (flags.preset !== undefined) words.push('--preset', flags.preset)
  for (const name of Object.keys(NUMERIC_HYPERPARAMETERS) as NumericHyperparameter[]) {
    const value = point[name] ?? flags[name]
    if (value !== undefined) words.push(`--${kebab(name)}`, String(value))
  }
  if (flags.sparseApprox === false) words.push('--no-sparse-approx')
  if (flags.admmSolver !== undefined) words.push('--admm-solver', flags.admmSolver)
  if (flags.svdSeed !== undefined) words.push('--svd-seed', String(flags.svdSeed))
  words.push('-o', 'model.corml')
  return words.map(shellWord).join(' ')
}
