/**
 * Runs a hyperparameter grid for `corml tune` and `corml eval --sweep`: one CoRML fit per point,
 * evaluated on the validation part (and for a sweep on the test part too), each appended to a
 * journal as it finishes, so that an interrupted run resumes where it stopped; then the table,
 * CSV / JSON, the accuracy-novelty chart, and warnings for a best point on the grid's edge.
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
import {
  HYPERPARAMETER_FLAGS,
  cormlOptions,
  fitModel,
  hyperparameterNamed,
  kebab,
} from './model-flags.js'
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
  /**
   * What each point is evaluated on: `valid` (tuning: the test part stays unseen), or
   * `valid+test` (a sweep in `eval`: the best point is chosen on valid, and test is reported).
   */
  readonly part: GridPart
  /** Cut-offs evaluated. */
  readonly ks: readonly number[]
  /** What ranks the points. */
  readonly target: Target
}

/** What a grid's points are evaluated on: see {@link GridRunSpec.part}. */
export type GridPart = 'valid' | 'valid+test'

/** The result of one point. */
export interface PointResult {
  readonly point: Readonly<Partial<Record<NumericHyperparameter, number>>>
  /** On the validation part (excluding each user's train items): what ranks the points. */
  readonly metrics: readonly MetricsAtK[]
  /** On the test part (excluding train and valid items); `valid+test` runs only. */
  readonly testMetrics?: readonly MetricsAtK[]
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
 * except the device and the memory budget (the precision stays: tf32 changes results on a GPU).
 */
export function gridSettings(flags: DataFlags & SplitFlags & ModelFlags): Record<string, unknown> {
  const data = Object.fromEntries(
    (['header', ...DATA_VALUE_FLAGS, 'split', 'ratios', 'seed'] as const)
      .filter((k) => flags[k] !== undefined)
      .map((k) => [k, flags[k]]),
  )
  // The device and memory budget are left out: a run started on the CPU may go on on a GPU.
  const { device: _device, memoryBudget: _memoryBudget, ...corml } = cormlOptions(flags)
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
  if (saved.kind === 'corml-grid' && saved.part === 'test') {
    // Written by `eval --sweep` before it chose on the validation part: no validation results.
    throw new UsageError(
      `${path} is an older eval --sweep journal, ranked on the test part, with no validation ` +
        'results to choose by; use --fresh to start over, or another --output-dir',
    )
  }
  if (saved.kind === 'corml-grid' && saved.format !== head.format) {
    throw new UsageError(
      `${path} is a journal of format ${JSON.stringify(saved.format)}, this corml reads ` +
        `format ${JSON.stringify(head.format)}; use --fresh to start over, or another --output-dir`,
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
      const ks = [...spec.ks]
      // Valid excludes each user's train items only; test excludes train and valid items.
      const valid = await view.task('evaluating on valid', (onProgress) =>
        evaluate(model, { test: split.valid }, { ks, onProgress, signal: io.signal }),
      )
      const test =
        spec.part === 'valid+test'
          ? await view.task('evaluating on test', (onProgress) =>
              evaluate(
                model,
                { valid: split.valid, test: split.test },
                { ks, onProgress, signal: io.signal },
              ),
            )
          : undefined
      const entry: PointResult = {
        point,
        metrics: valid.metrics,
        ...(test === undefined ? {} : { testMetrics: test.metrics }),
        seconds: model.info.seconds,
        fingerprint: model.info.fingerprint,
        admmSolvers: model.info.admmSolvers,
      }
      onFile(journal, () => record(journal, entry))
      done.set(key, entry)
      ran++
      const label = targetLabel(spec.target)
      view.note(
        entry.testMetrics === undefined
          ? `  ${label} ${fixed4(valueOf(entry.metrics, spec.target))}`
          : `  ${label} valid ${fixed4(valueOf(entry.metrics, spec.target))}, ` +
              `test ${fixed4(valueOf(entry.testMetrics, spec.target))}`,
      )
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

/**
 * The best result by the target on the validation part (the highest value; ties keep the first in
 * grid order).
 */
export function best(results: readonly PointResult[], target: Target): PointResult | undefined {
  let top: PointResult | undefined
  for (const r of results) {
    if (top === undefined || valueOf(r.metrics, target) > valueOf(top.metrics, target)) top = r
  }
  return top
}

/**
 * Warnings for a best point on the edge of the grid: for each axis with at least two values whose
 * best value is the smallest or largest tried, where the hyperparameter's range goes on beyond it.
 *
 * @example
 * ```ts
 * edgeWarnings([{ name: 'lambda', values: [0.7, 0.8, 0.9] }], { lambda: 0.9 })
 * // ['the best lambda (0.9) is the largest value tried; extend the grid above 0.9']
 * ```
 */
export function edgeWarnings(
  axes: readonly GridAxis[],
  point: Readonly<Partial<Record<NumericHyperparameter, number>>>,
): string[] {
  const out: string[] = []
  for (const axis of axes) {
    const value = point[axis.name]
    if (axis.values.length < 2 || value === undefined) continue
    const h = hyperparameterNamed(axis.name)
    if (value === Math.max(...axis.values) && (h === undefined || value < h.max)) {
      out.push(
        `the best ${axis.name} (${value}) is the largest value tried; extend the grid above ${value}`,
      )
    } else if (value === Math.min(...axis.values) && (h === undefined || value > h.min)) {
      out.push(
        `the best ${axis.name} (${value}) is the smallest value tried; extend the grid below ${value}`,
      )
    }
  }
  return out
}

const METRICS: readonly MetricName[] = ['ndcg', 'mrr', 'recall', 'novelty']

/** The axis a chart runs along: `itemDegreeNorm` when it varies, else the first that does. */
function chartAxis(axes: readonly GridAxis[]): GridAxis | undefined {
  const varying = axes.filter((a) => a.values.length > 1)
  return varying.find((a) => a.name === 'itemDegreeNorm') ?? varying[0]
}

/**
 * Prints the results table and the best point (chosen on the validation part; for a sweep with
 * its test metrics beside it) and warns when it lies on the grid's edge; writes `results.csv`,
 * `results.json` and (when a hyperparameter varies) `chart.svg` / `chart.png` to the output
 * directory. A sweep's chart shows the test part, as the paper's Figure 2, and marks the point
 * chosen on valid.
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
  const both = spec.part === 'valid+test'
  const test = (r: PointResult): readonly MetricsAtK[] => r.testMetrics ?? []
  const targets = (ks: readonly number[]): Target[] =>
    ks.flatMap((k) => METRICS.map((metric) => ({ metric, k })))
  const all = targets(spec.ks)
  const headers = [
    ...names,
    ...all.map((t) => (both ? `valid ${targetLabel(t)}` : targetLabel(t))),
    ...(both ? all.map((t) => `test ${targetLabel(t)}`) : []),
    'train s',
  ]
  const rows = results.map((r) => [
    ...names.map((n) => r.point[n] ?? ''),
    ...all.map((t) => valueOf(r.metrics, t)),
    ...(both ? all.map((t) => valueOf(test(r), t)) : []),
    Number(r.seconds.toFixed(2)),
  ])
  const warnings = top ? edgeWarnings(spec.axes, top.point) : []
  const summary = {
    part: spec.part,
    selectedOn: 'valid',
    target: targetLabel(spec.target),
  }
  writeFileAtomic(join(spec.outputDir, 'results.csv'), csv(headers, rows))
  writeFileAtomic(
    join(spec.outputDir, 'results.json'),
    `${JSON.stringify({ ...summary, settings: spec.settings, axes: spec.axes, best: top, warnings, results }, null, 2)}\n`,
  )
  const written = [join(spec.outputDir, 'results.csv'), join(spec.outputDir, 'results.json')]
  const axis = chartAxis(spec.axes)
  if (axis && top) {
    // Along the axis, with every other hyperparameter at its best value.
    const along = results
      .filter((r) => names.every((n) => n === axis.name || r.point[n] === top.point[n]))
      .sort((a, b) => a.point[axis.name]! - b.point[axis.name]!)
    const k = spec.target.k
    const shown = (r: PointResult): readonly MetricsAtK[] => (both ? test(r) : r.metrics)
    const series = (m: MetricName) => ({
      name: `${METRIC_LABEL[m]}@${k}`,
      values: along.map((r) => valueOf(shown(r), { metric: m, k })),
    })
    const fixed = names.filter((n) => n !== axis.name).map((n) => `${n} = ${top.point[n]}`)
    const data = basename(spec.dataFile)
    const label = targetLabel(spec.target)
    const svg = lineChart({
      title: options.title,
      subtitle: `${data}, ${both ? 'test split, best point chosen on validation' : 'validation split'}${fixed.length ? `; ${fixed.join(', ')}` : ''}`,
      x: {
        label: axis.name === 'itemDegreeNorm' ? 't (itemDegreeNorm)' : axis.name,
        values: along.map((r) => r.point[axis.name]!),
      },
      left: { label: `accuracy@${k}`, series: [series('ndcg'), series('mrr'), series('recall')] },
      right: { label: `novelty@${k}`, series: [series('novelty')] },
      mark: {
        x: top.point[axis.name]!,
        caption: both
          ? `best on valid: ${label} ${fixed4(valueOf(top.metrics, spec.target))} (test ${fixed4(valueOf(test(top), spec.target))})`
          : `best ${label} ${fixed4(valueOf(top.metrics, spec.target))}`,
      },
    })
    const chart = await writeChart(join(spec.outputDir, 'chart.svg'), svg, options.png)
    if (chart.warning) view.note(`warning: ${chart.warning}`)
    written.push(...chart.written)
  }
  if (options.json) {
    io.stdout(`${JSON.stringify({ ...summary, best: top, warnings, results }, null, 2)}\n`)
  } else {
    const shownKs = spec.ks.includes(spec.target.k) ? [spec.target.k] : [...spec.ks]
    const cells = (metrics: readonly MetricsAtK[], ts: readonly Target[]): string[] =>
      ts.map((t) => fixed4(valueOf(metrics, t)))
    io.stdout(
      textTable(
        [
          ...names,
          ...(both
            ? [
                `valid ${targetLabel(spec.target)}`,
                ...targets(shownKs).map((t) => `test ${targetLabel(t)}`),
              ]
            : targets(shownKs).map(targetLabel)),
          'train s',
        ],
        results.map((r) => [
          ...names.map((n) => String(r.point[n] ?? '')),
          ...(both
            ? [...cells(r.metrics, [spec.target]), ...cells(test(r), targets(shownKs))]
            : cells(r.metrics, targets(shownKs))),
          r.seconds.toFixed(1),
        ]),
      ),
    )
    if (top) {
      const onTest = both
        ? `  on test: ${targets([spec.target.k])
            .map((t) => `${targetLabel(t)} ${fixed4(valueOf(test(top), t))}`)
            .join(', ')}\n`
        : ''
      io.stdout(
        `\nbest ${targetLabel(spec.target)} on valid: ${fixed4(valueOf(top.metrics, spec.target))} at ${pointKey(top.point).replace(/,/g, ', ')}\n` +
          onTest +
          `train it on all the data with:\n  ${trainCommandLine(spec.dataFile, options.flags, top.point)}\n`,
      )
    }
  }
  for (const w of warnings) view.warn(w)
  view.note(`wrote ${written.join(', ')}`)
  return top
}

/** What `tune` and `eval --sweep` pass to {@link gridCommand}. */
export interface GridCommand {
  readonly part: GridPart
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
  // The best point is chosen on the valid part: it must have interactions.
  const noValid = 'the grid’s points are ranked on the valid part, and it is empty'
  if (flags.ratios?.[1] === 0) {
    throw new UsageError(`${noValid}: give it a share of --ratios above 0`)
  }
  const load = async (): Promise<DatasetSplit> => {
    const split = splitData(await readData(data, flags, view, io, flags), flags, view)
    if (split.valid.numInteractions === 0) throw new UsageError(noValid)
    return split
  }
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
 * the CoRML options given (the device and memory budget aside), and the point's values.
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
  const values = flags as Record<string, unknown>
  for (const f of HYPERPARAMETER_FLAGS) {
    const h = f.hyperparameter
    const value = (point as Record<string, number | undefined>)[h.name] ?? values[f.key]
    if (value === undefined) continue
    if (h.kind !== 'boolean') words.push(f.flag, String(value))
    else if (value !== h.default) words.push(f.flag)
  }
  if (flags.admmSolver !== undefined) words.push('--admm-solver', flags.admmSolver)
  if (flags.precision !== undefined) words.push('--precision', flags.precision)
  words.push('-o', 'model.corml')
  return words.map(shellWord).join(' ')
}
