/**
 * The scaling study of `npm run bench -- --scaling`: how training time and memory grow with the
 * item count and with the interactions, with exponents fitted on a log-log scale.
 */
import type { Axis, Measurement } from '../src/cli/bench.js'
import {
  type LegendEntry,
  fitText,
  legend,
  spacedLabels,
  svgOpen,
  text,
  textWidth,
  wrapText,
} from '../src/cli/chart.js'

/** The slope of `log y` against `log x` by least squares: `y ∝ x^slope`. NaN under two points. */
export function fitExponent(points: readonly (readonly [number, number])[]): number {
  const usable = points.filter(([x, y]) => x > 0 && y > 0)
  if (new Set(usable.map(([x]) => x)).size < 2) return NaN
  const lx = usable.map(([x]) => Math.log(x))
  const ly = usable.map(([, y]) => Math.log(y))
  const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length
  const [mx, my] = [mean(lx), mean(ly)]
  let [sxy, sxx] = [0, 0]
  for (let i = 0; i < lx.length; i++) {
    sxy += (lx[i]! - mx) * (ly[i]! - my)
    sxx += (lx[i]! - mx) ** 2
  }
  return sxy / sxx
}

/** The x value of a row on its axis. */
const xOf = (axis: Axis, r: Measurement): number => (axis === 'items' ? r.items : r.interactions)

/** Seconds of one training stage, 0 when the model has none. */
const stage = (r: Measurement, name: string): number =>
  r.stages.find((s) => s.stage === name)?.seconds ?? 0

/** Memory training itself added on top of the loaded process. */
const trainingBytes = (r: Measurement): number => Math.max(r.peakRssBytes - r.baseRssBytes, 0)

/** What is fitted per axis and model. */
const FITS: readonly { label: string; value: (r: Measurement) => number }[] = [
  { label: 'training time', value: (r) => r.seconds },
  { label: 'ADMM loop', value: (r) => stage(r, 'admm') },
  { label: 'memory added by training', value: trainingBytes },
]

/** Rows of one axis, grouped by model, sorted by x. */
function series(rows: readonly Measurement[], axis: Axis): Map<string, Measurement[]> {
  const byModel = new Map<string, Measurement[]>()
  for (const r of rows.filter((row) => row.axes?.includes(axis))) {
    byModel.set(r.model, [...(byModel.get(r.model) ?? []), r])
  }
  for (const list of byModel.values()) list.sort((a, b) => xOf(axis, a) - xOf(axis, b))
  return byModel
}

const gib = (bytes: number): string => (bytes / 2 ** 30).toFixed(2)
const exponent = (k: number): string => (Number.isFinite(k) ? k.toFixed(2) : '–')

/** The scaling tables, one per axis, each followed by its fitted exponents. */
export function scalingMarkdown(rows: readonly Measurement[]): string {
  const lines: string[] = []
  for (const axis of ['items', 'interactions'] as const) {
    const groups = series(rows, axis)
    if (groups.size === 0) continue
    const title =
      axis === 'items'
        ? 'Against the item count (most frequent items, all their interactions)'
        : `Against interactions (${groups.values().next().value![0]!.items} items, each user keeping a share)`
    lines.push(
      `### ${title}`,
      '',
      '| model | items | users | interactions | train s | ADMM s | SVD s | peak RSS GiB | added by training GiB | ADMM solver |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    )
    for (const list of groups.values()) {
      for (const r of list) {
        lines.push(
          `| ${r.model} | ${r.items} | ${r.users} | ${r.interactions} | ${r.seconds.toFixed(1)} | ` +
            `${stage(r, 'admm').toFixed(1)} | ${stage(r, 'svd').toFixed(1)} | ${gib(r.peakRssBytes)} | ` +
            `${gib(trainingBytes(r))} | ${r.admmSolvers.join('; ')} |`,
        )
      }
    }
    lines.push('', `Fitted exponents (value ∝ ${axis}^k):`, '')
    for (const [model, list] of groups) {
      const fitted = FITS.map(
        (f) => `${f.label} ${exponent(fitExponent(list.map((r) => [xOf(axis, r), f.value(r)])))}`,
      )
      lines.push(`- ${model}: ${fitted.join(', ')}`)
    }
    lines.push('')
  }
  return `${lines.join('\n')}`
}

const escape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** Tick values of a log axis: powers of ten times each of `multiples` inside [lo, hi]. */
function logTicks(lo: number, hi: number, multiples: readonly number[] = [1, 2, 5]): number[] {
  const ticks: number[] = []
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of multiples) {
      const t = Number((m * 10 ** e).toPrecision(12))
      if (t >= lo * 0.999 && t <= hi * 1.001) ticks.push(t)
    }
  }
  return ticks
}

/**
 * The ticks of a log axis whose labels do not crowd each other: 1, 2 and 5 per decade when they
 * fit, else 1 and 3, else powers of ten only, thinned further when even those do not.
 */
function spacedLogTicks(
  lo: number,
  hi: number,
  at: (v: number) => number,
  size: (t: number) => number,
): number[] {
  for (const multiples of [[1, 2, 5], [1, 3], [1]]) {
    const t = logTicks(lo, hi, multiples)
    const order = t.map((v) => at(v)).map((p, i) => [p, i] as const)
    order.sort((a, b) => a[0] - b[0])
    const kept = spacedLabels(
      order.map(([p]) => p),
      order.map(([, i]) => size(t[i]!)),
      6,
    )
    if (kept.length === t.length || multiples.length === 1) {
      return kept.map((k) => t[order[k]![1]]!)
    }
  }
  return []
}

/** A short label for a tick: 2k, 500, 0.5. */
function tickLabel(t: number): string {
  if (t >= 1e6) return `${Number((t / 1e6).toPrecision(6))}M`
  if (t >= 1e3) return `${Number((t / 1e3).toPrecision(6))}k`
  return `${Number(t.toPrecision(6))}`
}

/**
 * Training time against each axis, log-log, one panel per axis and one line per model with its
 * fitted exponent. Margins are sized by the labels ({@link textWidth}), crowded tick labels are
 * thinned and the legend wraps inside its panel, so no text is clipped or overlaps.
 */
export function scalingSvg(rows: readonly Measurement[]): string {
  const axes = (['items', 'interactions'] as const).filter((a) => series(rows, a).size > 0)
  const colors = ['#4e79a7', '#e15759', '#59a14f', '#f28e2b']
  const models = [...new Set(rows.map((r) => r.model))]
  const [panelW, plotH, pad, size, titleSize] = [400, 262, 12, 12, 14]
  const width = panelW * Math.max(axes.length, 1)
  const secs = rows.map((r) => r.seconds).filter((s) => s > 0)
  const ylo = secs.length ? 10 ** Math.floor(Math.log10(Math.min(...secs))) : 1
  const yhi = secs.length ? Math.max(10 ** Math.ceil(Math.log10(Math.max(...secs))), ylo * 10) : 10
  const titles = axes.map((axis) =>
    wrapText(`Training time against ${axis}`, panelW - 2 * pad, titleSize, 2),
  )
  const top = pad + Math.max(1, ...titles.map((t) => t.length)) * titleSize * 1.25 + 14
  const bottomY = top + plotH
  const y = (v: number): number => top + plotH * (1 - Math.log(v / ylo) / Math.log(yhi / ylo))
  const yTicks = spacedLogTicks(ylo, yhi, y, () => size * 1.1)
  const yLabel = (t: number): string => `${tickLabel(t)} s`
  const left = pad + Math.max(...yTicks.map((t) => textWidth(yLabel(t), size))) + 6
  const right = 24
  const parts: string[] = []
  let height = bottomY
  axes.forEach((axis, p) => {
    const x0 = p * panelW + left
    const plotW = panelW - left - right
    const groups = series(rows, axis)
    const xs = [...groups.values()].flat().map((r) => xOf(axis, r))
    const [xlo, xhi] = [Math.min(...xs) / 1.3, Math.max(...xs) * 1.3]
    const x = (v: number): number => x0 + (plotW * Math.log(v / xlo)) / Math.log(xhi / xlo)
    titles[p]!.forEach((line, i) =>
      parts.push(
        text(x0 + plotW / 2, pad + titleSize * (0.95 + 1.25 * i), line, {
          anchor: 'middle',
          size: titleSize,
        }),
      ),
    )
    for (const t of logTicks(ylo, yhi)) {
      parts.push(
        `<line x1="${x0}" x2="${x0 + plotW}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e4e4e4"/>`,
      )
    }
    for (const t of yTicks)
      parts.push(text(x0 - 6, y(t), yLabel(t), { anchor: 'end', middle: true }))
    for (const t of logTicks(xlo, xhi)) {
      parts.push(
        `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${top}" y2="${bottomY}" stroke="#eee"/>`,
      )
    }
    for (const t of spacedLogTicks(xlo, xhi, x, (v) => textWidth(tickLabel(v), size))) {
      parts.push(text(x(t), bottomY + 18, tickLabel(t), { anchor: 'middle' }))
    }
    parts.push(
      `<rect x="${x0}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
      text(
        x0 + plotW / 2,
        bottomY + 38,
        fitText(axis === 'items' ? 'items (one part)' : 'interactions', plotW, size),
        { anchor: 'middle' },
      ),
    )
    const entries: LegendEntry[] = []
    for (const [model, list] of groups) {
      const color = colors[models.indexOf(model) % colors.length]!
      const k = fitExponent(list.map((r) => [xOf(axis, r), r.seconds]))
      const points = list.map((r) => `${x(xOf(axis, r)).toFixed(1)},${y(r.seconds).toFixed(1)}`)
      parts.push(
        `<polyline points="${points.join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`,
        ...list.map(
          (r) =>
            `<circle cx="${x(xOf(axis, r)).toFixed(1)}" cy="${y(r.seconds).toFixed(1)}" r="3.5" fill="${color}"><title>${escape(`${model}: ${xOf(axis, r)} ${axis}, ${r.seconds.toFixed(1)} s`)}</title></circle>`,
        ),
      )
      entries.push({
        name: `${model} (k = ${exponent(k)})`,
        swatch: (sx, cy) =>
          `<rect x="${sx}" y="${(cy - 6).toFixed(1)}" width="12" height="12" fill="${color}"/>`,
      })
    }
    const key = legend(entries, x0, (p + 1) * panelW - pad, bottomY + 50, size, 12)
    parts.push(...key.svg)
    height = Math.max(height, key.bottom)
  })
  return `${[...svgOpen(width, height + pad, size), ...parts, '</svg>'].join('\n')}\n`
}
