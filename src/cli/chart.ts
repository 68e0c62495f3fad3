/**
 * Charts as SVG (and PNG through resvg): accuracy and novelty against a hyperparameter, like the
 * CoRML paper's Figure 2, and training time per model on a log scale, like its Figure 3.
 *
 * Layout is measured, not guessed: every label's width is estimated with {@link textWidth}
 * (DejaVu Sans advance widths, rounded up, so narrower fallback fonts only leave more room), and
 * margins grow, long text wraps or is shortened with "…" and crowded tick labels are thinned so
 * that no text is clipped by the edge or printed over another label, an axis, a bar or a line.
 *
 * @packageDocumentation
 */

import { writeFileAtomic } from './files.js'

const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1', '#9c755f']

/** The font stack of every chart; widths are estimated for its first (and widest) font. */
export const FONT_FAMILY = 'DejaVu Sans, Helvetica, Arial, sans-serif'

const escape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** Em width of one character in DejaVu Sans, rounded up to a few classes. */
function charEm(c: string): number {
  if ("ijlI'|.,:;".includes(c)) return 0.34
  if ('frt()[]{}/\\-! `'.includes(c)) return 0.42
  if ('mwMW@%…'.includes(c)) return 1
  if ('=+<>#−&~^'.includes(c)) return 0.84
  if (c >= 'A' && c <= 'Z') return 0.8
  return 0.66
}

/**
 * A conservative estimate of how wide `text` is in pixels at `fontSize`: DejaVu Sans advance
 * widths (digits 0.64 em, lower case up to 0.64 em except m and w, capitals up to 0.8 em),
 * rounded up per character class.
 */
export function textWidth(text: string, fontSize: number): number {
  let em = 0
  for (const c of text) em += charEm(c)
  return em * fontSize
}

/** `text` as it is when it fits in `maxWidth`, else cut and ended with "…". */
export function fitText(text: string, maxWidth: number, fontSize: number): string {
  if (textWidth(text, fontSize) <= maxWidth) return text
  const chars = [...text]
  while (chars.length > 0 && textWidth(`${chars.join('').trimEnd()}…`, fontSize) > maxWidth) {
    chars.pop()
  }
  return `${chars.join('').trimEnd()}…`
}

/**
 * `text` broken at spaces into lines no wider than `maxWidth` (a word too wide for a line also
 * after its `-`, `_`, `/` or `.`), at most `maxLines` of them, the last one shortened with "…"
 * when the text does not fit.
 */
export function wrapText(text: string, maxWidth: number, fontSize: number, maxLines = 2): string[] {
  // Pieces, each with the separator to put before it when it continues a line.
  const pieces = text
    .split(/\s+/)
    .filter((w) => w !== '')
    .flatMap((word) =>
      textWidth(word, fontSize) <= maxWidth
        ? [{ piece: word, glue: ' ' }]
        : word.split(/(?<=[-_/.])/).map((piece, i) => ({ piece, glue: i === 0 ? ' ' : '' })),
    )
  const lines: string[] = []
  let line = ''
  for (const { piece, glue } of pieces) {
    const next = line === '' ? piece : `${line}${glue}${piece}`
    if (line !== '' && textWidth(next, fontSize) > maxWidth) {
      lines.push(line)
      line = piece
    } else {
      line = next
    }
  }
  if (line !== '' || lines.length === 0) lines.push(line)
  const kept = lines.slice(0, maxLines)
  if (lines.length > maxLines) kept[maxLines - 1] = `${kept[maxLines - 1]!} ${lines[maxLines]!}`
  return kept.map((l) => fitText(l, maxWidth, fontSize))
}

/**
 * A value label with three significant digits and thousands separators: 0.04 → "0.04", 0.0412 →
 * "0.0412", 23.44 → "23.4", 397.2 → "397", 1404.6 → "1,405". A non-zero value never reads as 0.
 */
export function formatValue(value: number): string {
  if (value === 0 || !Number.isFinite(value)) return String(value)
  const rounded = Number(value.toPrecision(3))
  if (Math.abs(rounded) >= 1000) return Math.round(value).toLocaleString('en-US')
  return String(rounded)
}

/** About five round tick values covering `[lo, hi]`. */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo]
  const raw = (hi - lo) / count
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw
  const out: number[] = []
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) {
    out.push(Number(v.toPrecision(12)))
  }
  return out
}

/** A tick label with no more digits than the step needs. */
function label(value: number, step: number): string {
  const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9))
  const extra = Math.abs(step / 10 ** Math.floor(Math.log10(step) + 1e-9) - 2.5) < 1e-9 ? 1 : 0
  const text = value.toFixed(Math.min(digits + extra, 6))
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text
}

/**
 * The smallest share of a value axis's span in its largest |value|: a series that changes by
 * 0.0045 around 0.47 is drawn on an axis at least 0.095 tall, so the change looks as small as
 * it is.
 */
export const MIN_RELATIVE_SPAN = 0.2

/**
 * The y range of a linear value axis and its ticks. The rule: with `lo` and `hi` the smallest
 * and largest finite value and `m = max(|lo|, |hi|)`,
 *
 * 1. the span is `max(hi − lo, MIN_RELATIVE_SPAN · m)`, centred on the data, so a change that
 *    is small against the values' magnitude stays small on the chart (all values 0: 0 to 1);
 * 2. 6 % of the span is added on each side, so no point sits on the frame;
 * 3. when every value is ≥ 0 and the range would reach below zero, or its bottom is within half
 *    a span of zero, the axis starts at zero (and mirrored for values ≤ 0: it ends at zero), so
 *    a quantity that cannot be negative is never drawn below zero and a small gap to zero is
 *    not hidden;
 * 4. the ticks are the round values of {@link ticks} inside the range.
 */
export function valueRange(values: readonly number[]): {
  lo: number
  hi: number
  ticks: number[]
} {
  const all = values.filter(Number.isFinite)
  if (all.length === 0 || all.every((v) => v === 0)) return { lo: 0, hi: 1, ticks: ticks(0, 1) }
  const [dataLo, dataHi] = [Math.min(...all), Math.max(...all)]
  const magnitude = Math.max(Math.abs(dataLo), Math.abs(dataHi))
  const span = Math.max(dataHi - dataLo, MIN_RELATIVE_SPAN * magnitude) || 1
  const mid = (dataLo + dataHi) / 2
  let lo = mid - span * 0.56
  let hi = mid + span * 0.56
  if (dataLo >= 0 && lo < span / 2) lo = 0
  else if (dataHi <= 0 && hi > -span / 2) hi = 0
  return { lo, hi, ticks: ticks(lo, hi).filter((t) => t >= lo - 1e-12 && t <= hi + 1e-12) }
}

/** Powers of ten times 1, 2 and 5 inside `[lo, hi]` (both > 0). */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = []
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const t = Number((m * 10 ** e).toPrecision(12))
      if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) out.push(t)
    }
  }
  return out
}

/**
 * Which of some labels to print so that none overlaps its neighbour: every `stride`-th one, for
 * the smallest stride that leaves `gap` between them. `centers` ascending, `sizes` their extents
 * along the axis.
 */
export function spacedLabels(
  centers: readonly number[],
  sizes: readonly number[],
  gap: number,
): number[] {
  for (let stride = 1; stride <= Math.max(1, centers.length); stride++) {
    const kept: number[] = []
    for (let i = 0; i < centers.length; i += stride) kept.push(i)
    const clear = kept.every(
      (k, j) =>
        j === 0 ||
        Math.abs(centers[k]! - centers[kept[j - 1]!]!) >=
          (sizes[k]! + sizes[kept[j - 1]!]!) / 2 + gap,
    )
    if (clear) return kept
  }
  return centers.length > 0 ? [0] : []
}

/** How a {@link text} element is placed. */
interface TextOptions {
  readonly anchor?: 'start' | 'middle' | 'end'
  readonly size?: number
  readonly fill?: string
  /** Vertically centred on `y` (`dominant-baseline="middle"`) rather than standing on it. */
  readonly middle?: boolean
  /** Rotated about (x, y). */
  readonly rotate?: 90 | -90
  /** A white outline under the glyphs, to stay legible over grid lines. */
  readonly halo?: boolean
}

/** A `<text>` element. */
export function text(x: number, y: number, content: string, o: TextOptions = {}): string {
  const [fx, fy] = [x.toFixed(1), y.toFixed(1)]
  const attrs = [
    o.rotate ? `transform="translate(${fx} ${fy}) rotate(${o.rotate})"` : `x="${fx}" y="${fy}"`,
    o.anchor && o.anchor !== 'start' ? `text-anchor="${o.anchor}"` : '',
    o.middle ? 'dominant-baseline="middle"' : '',
    o.size ? `font-size="${o.size}"` : '',
    o.fill ? `fill="${o.fill}"` : '',
    o.halo ? 'stroke="white" stroke-width="3" stroke-linejoin="round" paint-order="stroke"' : '',
  ].filter((a) => a !== '')
  return `<text ${attrs.join(' ')}>${escape(content)}</text>`
}

/** Lines of text centred on `cx`, the first line's top at `y`; returns them and the next free y. */
function centredLines(
  lines: readonly string[],
  cx: number,
  y: number,
  size: number,
  fill?: string,
): { svg: string[]; bottom: number } {
  const svg = lines.map((line, i) =>
    text(cx, y + size * 0.95 + i * size * 1.25, line, { anchor: 'middle', size, fill }),
  )
  return { svg, bottom: y + lines.length * size * 1.25 }
}

/** One entry of a {@link legend}: its text and its swatch. */
export interface LegendEntry {
  readonly name: string
  /** The swatch's SVG, given its box's left x and the line's vertical centre. */
  readonly swatch: (x: number, cy: number) => string
}

/**
 * Legend entries flowed left to right in `[x0, x1]`, wrapping to new lines, the first line's top
 * at `y`, each swatch `swatch` wide; returns the SVG and the next free y.
 */
export function legend(
  entries: readonly LegendEntry[],
  x0: number,
  x1: number,
  y: number,
  size: number,
  swatch = 26,
): { svg: string[]; bottom: number } {
  const lineHeight = size * 1.6
  const svg: string[] = []
  let [x, line] = [x0, 0]
  for (const entry of entries) {
    const name = fitText(entry.name, x1 - x0 - swatch - 6, size)
    const w = swatch + 6 + textWidth(name, size)
    if (x > x0 && x + w > x1) [x, line] = [x0, line + 1]
    const cy = y + line * lineHeight + lineHeight / 2
    svg.push(entry.swatch(x, cy), text(x + swatch + 6, cy, name, { middle: true, size }))
    x += w + 22
  }
  return { svg, bottom: y + (entries.length > 0 ? (line + 1) * lineHeight : 0) }
}

/** The opening of a chart's SVG, its white background included. */
export function svgOpen(width: number, height: number, fontSize: number): string[] {
  const [w, h] = [Math.ceil(width), Math.ceil(height)]
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="${FONT_FAMILY}" font-size="${fontSize}">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
  ]
}

/** One line of a line chart. */
export interface Series {
  /** Legend text. */
  readonly name: string
  /** One value per x. */
  readonly values: readonly number[]
}

/** What {@link lineChart} draws. */
export interface LineChartSpec {
  readonly title: string
  readonly subtitle?: string
  /** The x axis: its label and the x of each point (ascending). */
  readonly x: { readonly label: string; readonly values: readonly number[] }
  /** Series on the left axis (solid lines). */
  readonly left: { readonly label: string; readonly series: readonly Series[] }
  /** Series on the right axis (dashed lines), if any. */
  readonly right?: { readonly label: string; readonly series: readonly Series[] }
  /** An x to mark with a vertical line (the best setting), and its caption. */
  readonly mark?: { readonly x: number; readonly caption: string }
}

/**
 * A line chart with one x axis and one or two y axes (left solid, right dashed), e.g. NDCG, MRR
 * and Recall on the left and Novelty on the right against t. Each y axis follows the rule of
 * {@link valueRange}.
 */
export function lineChart(spec: LineChartSpec): string {
  const [width, pad, size, plotH] = [820, 12, 13, 330]
  const lineHeight = size * 1.25
  const step = (t: readonly number[]): number => (t.length > 1 ? t[1]! - t[0]! : 1)
  const l = valueRange(spec.left.series.flatMap((s) => s.values))
  const r = spec.right ? valueRange(spec.right.series.flatMap((s) => s.values)) : undefined
  const leftLabels = l.ticks.map((t) => label(t, step(l.ticks)))
  const rightLabels = r ? r.ticks.map((t) => label(t, step(r.ticks))) : []
  const widest = (labels: readonly string[]): number =>
    Math.max(0, ...labels.map((s) => textWidth(s, size)))
  // Axis titles run along the plot's height, wrapped to it.
  const leftTitle = wrapText(spec.left.label, plotH, size, 2)
  const rightTitle = spec.right ? wrapText(spec.right.label, plotH, size, 2) : []
  // The x ticks and their labels, to size the side margins by the outermost labels. Positive x
  // spanning 20 times or more (0.001, 0.01, 0.1, …) go on a log scale.
  const xs = spec.x.values
  const [x0, x1] =
    xs.length > 1 ? [Math.min(...xs), Math.max(...xs)] : [(xs[0] ?? 0) - 1, (xs[0] ?? 0) + 1]
  const logX = xs.length > 2 && x0 > 0 && x1 / x0 >= 20
  const xTicks =
    xs.length > 0 && xs.length <= 12 ? [...xs] : logX ? logTicks(x0, x1) : ticks(x0, x1, 8)
  const xStep =
    xs.length <= 12
      ? xs.length > 1
        ? Math.min(...xs.slice(1).map((x, i) => x - xs[i]!))
        : 1
      : step(xTicks)
  const xLabels = xTicks.map((t) => (logX ? formatValue(t) : label(t, xStep > 0 ? xStep : 1)))
  const xWidths = xLabels.map((s) => textWidth(s, size))
  const inset = 20
  const left = Math.max(
    pad + leftTitle.length * lineHeight + 8 + widest(leftLabels) + 8,
    pad + (xWidths[0] ?? 0) / 2 - inset,
  )
  const right = Math.max(
    r ? 8 + widest(rightLabels) + 8 + rightTitle.length * lineHeight + pad : pad + 12,
    pad + (xWidths[xWidths.length - 1] ?? 0) / 2 - inset,
  )
  const plotW = width - left - right
  const fx = (x: number): number => (logX ? Math.log10(x) : x)
  const px = (x: number): number =>
    left + inset + ((fx(x) - fx(x0)) / (fx(x1) - fx(x0) || 1)) * (plotW - 2 * inset)

  // Title, subtitle and the mark's caption above the plot.
  const out: string[] = []
  const title = centredLines(wrapText(spec.title, width - 2 * pad, 16, 2), width / 2, pad, 16)
  out.push(...title.svg)
  let y = title.bottom
  if (spec.subtitle) {
    const sub = centredLines(
      wrapText(spec.subtitle, width - 2 * pad, 12, 3),
      width / 2,
      y + 2,
      12,
      '#555',
    )
    out.push(...sub.svg)
    y = sub.bottom
  }
  const captionSize = 11
  const top = y + (spec.mark ? captionSize * 1.25 + 10 : 12)
  const bottomY = top + plotH
  const ly = (v: number): number => top + plotH * (1 - (v - l.lo) / (l.hi - l.lo))
  const ry = (v: number): number => (r ? top + plotH * (1 - (v - r.lo) / (r.hi - r.lo)) : 0)

  l.ticks.forEach((t, i) => {
    const yy = ly(t).toFixed(1)
    out.push(
      `<line x1="${left.toFixed(1)}" x2="${(left + plotW).toFixed(1)}" y1="${yy}" y2="${yy}" stroke="#e6e6e6"/>`,
      text(left - 8, ly(t), leftLabels[i]!, { anchor: 'end', middle: true }),
    )
  })
  if (r) {
    r.ticks.forEach((t, i) => {
      const yy = ry(t).toFixed(1)
      out.push(
        `<line x1="${(left + plotW).toFixed(1)}" x2="${(left + plotW + 4).toFixed(1)}" y1="${yy}" y2="${yy}" stroke="#333"/>`,
        text(left + plotW + 8, ry(t), rightLabels[i]!, { middle: true }),
      )
    })
  }
  const shown = new Set(
    spacedLabels(
      xTicks.map((t) => px(t)),
      xWidths,
      8,
    ),
  )
  xTicks.forEach((t, i) => {
    const x = px(t).toFixed(1)
    out.push(
      `<line x1="${x}" x2="${x}" y1="${top.toFixed(1)}" y2="${bottomY.toFixed(1)}" stroke="#f0f0f0"/>`,
    )
    if (shown.has(i)) out.push(text(px(t), bottomY + 20, xLabels[i]!, { anchor: 'middle' }))
  })
  if (spec.mark) {
    const x = px(spec.mark.x)
    const caption = fitText(spec.mark.caption, plotW, captionSize)
    const half = textWidth(caption, captionSize) / 2
    const cx = Math.min(Math.max(x, left + half), left + plotW - half)
    out.push(
      `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${top.toFixed(1)}" y2="${bottomY.toFixed(1)}" stroke="#999" stroke-dasharray="2 3"/>`,
      text(cx, top - 6, caption, { anchor: 'middle', size: captionSize, fill: '#555' }),
    )
  }
  const marker = (cx: number, cy: number, color: string, dashed: boolean): string =>
    dashed
      ? `<rect x="${(cx - 4).toFixed(1)}" y="${(cy - 4).toFixed(1)}" width="8" height="8" fill="white" stroke="${color}" stroke-width="2"/>`
      : `<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="4" fill="${color}"/>`
  const draw = (
    series: readonly Series[],
    py: (v: number) => number,
    offset: number,
    dashed: boolean,
  ): void => {
    series.forEach((s, i) => {
      const color = COLORS[(offset + i) % COLORS.length]!
      const points = s.values.flatMap((v, k) =>
        Number.isFinite(v) && xs[k] !== undefined ? [[px(xs[k]!), py(v)] as const] : [],
      )
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2.2"${dashed ? ' stroke-dasharray="7 4"' : ''} points="${points.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ')}"/>`,
        ...points.map(([a, b]) => marker(a, b, color, dashed)),
      )
    })
  }
  draw(spec.left.series, ly, 0, false)
  if (spec.right) draw(spec.right.series, ry, spec.left.series.length, true)
  out.push(
    `<rect x="${left.toFixed(1)}" y="${top.toFixed(1)}" width="${plotW.toFixed(1)}" height="${plotH}" fill="none" stroke="#333"/>`,
  )
  // Axis titles: the x title under the tick labels, the y titles outside their tick labels.
  const xTitle = wrapText(logX ? `${spec.x.label} (log scale)` : spec.x.label, plotW, size, 2)
  xTitle.forEach((line, i) =>
    out.push(text(left + plotW / 2, bottomY + 46 + i * lineHeight, line, { anchor: 'middle' })),
  )
  leftTitle.forEach((line, i) =>
    out.push(
      text(pad + (i + 0.5) * lineHeight, top + plotH / 2, line, {
        anchor: 'middle',
        middle: true,
        rotate: -90,
      }),
    ),
  )
  rightTitle.forEach((line, i) =>
    out.push(
      text(width - pad - (i + 0.5) * lineHeight, top + plotH / 2, line, {
        anchor: 'middle',
        middle: true,
        rotate: 90,
      }),
    ),
  )
  const entries: LegendEntry[] = [
    ...spec.left.series.map((s) => ({ name: s.name, dashed: false })),
    ...(spec.right?.series ?? []).map((s) => ({ name: `${s.name} (right axis)`, dashed: true })),
  ].map((entry, i) => {
    const color = COLORS[i % COLORS.length]!
    return {
      name: entry.name,
      swatch: (x: number, cy: number) =>
        `<line x1="${x.toFixed(1)}" x2="${(x + 26).toFixed(1)}" y1="${cy.toFixed(1)}" y2="${cy.toFixed(1)}" stroke="${color}" stroke-width="2.2"${entry.dashed ? ' stroke-dasharray="7 4"' : ''}/>` +
        marker(x + 13, cy, color, entry.dashed),
    }
  })
  const key = legend(
    entries,
    left,
    width - pad,
    bottomY + 46 + (xTitle.length - 1) * lineHeight + 14,
    size,
  )
  out.push(...key.svg, '</svg>')
  return `${[...svgOpen(width, key.bottom + pad, size), ...out].join('\n')}\n`
}

/** One bar of {@link barChart}: a group (dataset), a bar within it (model) and its seconds. */
export interface Bar {
  readonly group: string
  readonly name: string
  readonly seconds: number
}

/**
 * Training time as grouped bars on a log scale, one group per dataset (the paper's Figure 3),
 * each bar labelled with its seconds ({@link formatValue}); the scale runs from a power of ten at
 * least 0.15 decades under the shortest bar, so every bar shows, up to the next power of ten
 * over the longest one and further when its label needs the room.
 */
export function barChart(title: string, bars: readonly Bar[]): string {
  const groups = [...new Set(bars.map((b) => b.group))]
  const names = [...new Set(bars.map((b) => b.name))]
  const [pad, size, valueSize, plotH] = [12, 12, 10, 300]
  const positive = bars.map((b) => b.seconds).filter((s) => s > 0 && Number.isFinite(s))
  const [minS, maxS] = positive.length ? [Math.min(...positive), Math.max(...positive)] : [1, 1]
  let lo = Math.floor(Math.log10(minS))
  if (Math.log10(minS) - lo < 0.15) lo -= 1
  const hiE = Math.max(Math.ceil(Math.log10(maxS)), lo + 1)
  const exponents = Array.from({ length: hiE - lo + 1 }, (_, i) => lo + i)
  const tickLabel = (e: number): string => `${formatValue(10 ** e)} s`
  const left = pad + Math.max(...exponents.map((e) => textWidth(tickLabel(e), size))) + 8
  const right = pad + 8
  // Wide enough for every value label to sit level over its bar, up to 1100 px; past that the
  // labels stand upright, and each bar still gets 16 px.
  const values = bars.map((b) => formatValue(b.seconds))
  const widestValue = Math.max(0, ...values.map((v) => textWidth(v, valueSize)))
  const count = groups.length * names.length
  const level = left + right + (count * (widestValue + 3)) / 0.8
  const width = Math.max(760, level <= 1100 ? level : left + right + (count * 16) / 0.8)
  const plotW = width - left - right
  const group = plotW / Math.max(groups.length, 1)
  const slot = (group * 0.8) / Math.max(names.length, 1)
  const upright = widestValue > slot - 3
  const headroom = (upright ? widestValue : valueSize * 1.05) + 8
  // Decades shown: enough that the label over the longest bar stays inside the plot.
  const span = Math.max(hiE - lo, (Math.log10(maxS) - lo) / (1 - headroom / plotH))

  const out: string[] = []
  const head = centredLines(wrapText(title, width - 2 * pad, 15, 2), width / 2, pad, 15)
  out.push(...head.svg)
  const top = head.bottom + 12
  const bottomY = top + plotH
  const y = (s: number): number =>
    top + plotH * (1 - (Math.log10(Math.max(s, 10 ** lo)) - lo) / span)
  for (const e of exponents.filter((e) => e <= lo + span + 1e-9)) {
    const yy = y(10 ** e).toFixed(1)
    out.push(
      `<line x1="${left.toFixed(1)}" x2="${(width - right).toFixed(1)}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`,
      text(left - 8, y(10 ** e), tickLabel(e), { anchor: 'end', middle: true }),
    )
  }
  let labelLines = 1
  groups.forEach((g, i) => {
    const x0 = left + i * group + group * 0.1
    names.forEach((m, j) => {
      const b = bars.find((row) => row.group === g && row.name === m)
      if (!b) return
      const x = x0 + j * slot
      const cx = x + slot * 0.45
      const value = formatValue(b.seconds)
      const yy = b.seconds > 0 ? y(b.seconds) : bottomY
      out.push(
        `<rect x="${x.toFixed(1)}" y="${yy.toFixed(1)}" width="${(slot * 0.9).toFixed(1)}" height="${(bottomY - yy).toFixed(1)}" fill="${COLORS[j % COLORS.length]}"><title>${escape(`${g} ${m}: ${value} s`)}</title></rect>`,
        upright
          ? text(cx, yy - 4, value, { middle: true, size: valueSize, rotate: -90, halo: true })
          : text(cx, yy - 4, value, { anchor: 'middle', size: valueSize, halo: true }),
      )
    })
    const lines = wrapText(g, group - 8, size, 2)
    labelLines = Math.max(labelLines, lines.length)
    lines.forEach((line, k) =>
      out.push(
        text(left + (i + 0.5) * group, bottomY + 18 + k * size * 1.25, line, { anchor: 'middle' }),
      ),
    )
  })
  out.push(
    `<line x1="${left.toFixed(1)}" x2="${left.toFixed(1)}" y1="${top.toFixed(1)}" y2="${bottomY.toFixed(1)}" stroke="#333"/>`,
    `<line x1="${left.toFixed(1)}" x2="${(width - right).toFixed(1)}" y1="${bottomY.toFixed(1)}" y2="${bottomY.toFixed(1)}" stroke="#333"/>`,
  )
  const key = legend(
    names.map((m, j) => ({
      name: m,
      swatch: (x: number, cy: number) =>
        `<rect x="${x.toFixed(1)}" y="${(cy - 6).toFixed(1)}" width="12" height="12" fill="${COLORS[j % COLORS.length]}"/>`,
    })),
    left,
    width - pad,
    bottomY + 18 + (labelLines - 1) * size * 1.25 + 12,
    size,
    12,
  )
  out.push(...key.svg, '</svg>')
  return `${[...svgOpen(width, key.bottom + pad, size), ...out].join('\n')}\n`
}

/**
 * Renders an SVG to PNG at twice its size with resvg (text in the system's sans-serif font).
 * Rejects when the renderer's binary is not available on this platform.
 */
export async function renderPng(svg: string): Promise<Uint8Array> {
  const { Resvg } = await import('@resvg/resvg-js')
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: 2 },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  })
  return resvg.render().asPng()
}

/**
 * Writes `svg` to `path` (`.svg`) and, with `png`, the PNG beside it (`.png`). Returns the paths
 * written and a warning when the PNG could not be made.
 */
export async function writeChart(
  path: string,
  svg: string,
  png: boolean,
): Promise<{ written: string[]; warning?: string }> {
  const svgPath = path.endsWith('.svg') ? path : `${path}.svg`
  writeFileAtomic(svgPath, svg)
  if (!png) return { written: [svgPath] }
  const pngPath = `${svgPath.slice(0, -4)}.png`
  try {
    writeFileAtomic(pngPath, await renderPng(svg))
    return { written: [svgPath, pngPath] }
  } catch (error) {
    return {
      written: [svgPath],
      warning: `no PNG (${(error as Error).message}); the SVG opens in any browser`,
    }
  }
}
