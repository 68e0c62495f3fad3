/**
 * Charts as SVG (and PNG through resvg): accuracy and novelty against a hyperparameter, like the
 * CoRML paper's Figure 2, and training time per model on a log scale, like its Figure 3.
 *
 * @packageDocumentation
 */

import { writeFileAtomic } from './files.js'

const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1', '#9c755f']

const escape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

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
  return value.toFixed(
    Math.min(digits + (step / 10 ** Math.floor(Math.log10(step)) === 2.5 ? 1 : 0), 6),
  )
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

/** Padded value range of some series. */
function range(series: readonly Series[]): [number, number] {
  const all = series.flatMap((s) => s.values).filter(Number.isFinite)
  let lo = Math.min(...all)
  let hi = Math.max(...all)
  if (!Number.isFinite(lo)) return [0, 1]
  if (hi - lo < 1e-12) {
    lo -= Math.abs(lo) * 0.05 + 1e-3
    hi += Math.abs(hi) * 0.05 + 1e-3
  }
  const pad = (hi - lo) * 0.08
  return [lo - pad, hi + pad]
}

/**
 * A line chart with one x axis and one or two y axes (left solid, right dashed), e.g. NDCG, MRR
 * and Recall on the left and Novelty on the right against t.
 */
export function lineChart(spec: LineChartSpec): string {
  const [width, height] = [820, 480]
  const [left, right, top, bottom] = [78, spec.right ? 78 : 24, spec.subtitle ? 66 : 50, 96]
  const plotW = width - left - right
  const plotH = height - top - bottom
  const xs = spec.x.values
  const [x0, x1] = xs.length > 1 ? [Math.min(...xs), Math.max(...xs)] : [xs[0]! - 1, xs[0]! + 1]
  const xPad = (x1 - x0) * 0.04
  const px = (x: number): number => left + ((x - (x0 - xPad)) / (x1 - x0 + 2 * xPad)) * plotW
  const axis = (series: readonly Series[]) => {
    const [lo, hi] = range(series)
    const py = (v: number): number => top + plotH * (1 - (v - lo) / (hi - lo))
    return { lo, hi, py, ticks: ticks(lo, hi).filter((t) => t >= lo && t <= hi) }
  }
  const l = axis(spec.left.series)
  const r = spec.right ? axis(spec.right.series) : undefined
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="26" text-anchor="middle" font-size="16">${escape(spec.title)}</text>`,
  ]
  if (spec.subtitle) {
    out.push(
      `<text x="${width / 2}" y="46" text-anchor="middle" font-size="12" fill="#555">${escape(spec.subtitle)}</text>`,
    )
  }
  const step = (t: number[]): number => (t.length > 1 ? t[1]! - t[0]! : 1)
  for (const t of l.ticks) {
    const y = l.py(t).toFixed(1)
    out.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${y}" y2="${y}" stroke="#e6e6e6"/>`,
      `<text x="${left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${label(t, step(l.ticks))}</text>`,
    )
  }
  if (r) {
    for (const t of r.ticks) {
      out.push(
        `<text x="${left + plotW + 8}" y="${r.py(t).toFixed(1)}" dominant-baseline="middle">${label(t, step(r.ticks))}</text>`,
      )
    }
  }
  const xTicks = xs.length <= 12 ? xs : ticks(x0, x1, 8)
  const xStep = xs.length > 1 ? Math.min(...xs.slice(1).map((x, i) => x - xs[i]!)) : 1
  for (const t of xTicks) {
    const x = px(t).toFixed(1)
    out.push(
      `<line x1="${x}" x2="${x}" y1="${top}" y2="${top + plotH}" stroke="#f0f0f0"/>`,
      `<text x="${x}" y="${top + plotH + 18}" text-anchor="middle">${label(t, xStep)}</text>`,
    )
  }
  if (spec.mark) {
    const x = px(spec.mark.x).toFixed(1)
    out.push(
      `<line x1="${x}" x2="${x}" y1="${top}" y2="${top + plotH}" stroke="#999" stroke-dasharray="2 3"/>`,
      `<text x="${(Number(x) + 5).toFixed(1)}" y="${top + 14}" font-size="11" fill="#555">${escape(spec.mark.caption)}</text>`,
    )
  }
  const draw = (
    series: readonly Series[],
    py: (v: number) => number,
    offset: number,
    dashed: boolean,
  ): void => {
    series.forEach((s, i) => {
      const color = COLORS[(offset + i) % COLORS.length]!
      const points = s.values
        .map((v, k) => (Number.isFinite(v) ? `${px(xs[k]!).toFixed(1)},${py(v).toFixed(1)}` : ''))
        .filter((p) => p !== '')
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2.2"${dashed ? ' stroke-dasharray="7 4"' : ''} points="${points.join(' ')}"/>`,
      )
      for (const p of points) {
        const [cx, cy] = p.split(',')
        out.push(
          dashed
            ? `<rect x="${Number(cx) - 4}" y="${Number(cy) - 4}" width="8" height="8" fill="white" stroke="${color}" stroke-width="2"/>`
            : `<circle cx="${cx}" cy="${cy}" r="4" fill="${color}"/>`,
        )
      }
    })
  }
  draw(spec.left.series, l.py, 0, false)
  if (spec.right && r) draw(spec.right.series, r.py, spec.left.series.length, true)
  out.push(
    `<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${left + plotW / 2}" y="${top + plotH + 42}" text-anchor="middle">${escape(spec.x.label)}</text>`,
    `<text transform="translate(20 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(spec.left.label)}</text>`,
  )
  if (spec.right) {
    out.push(
      `<text transform="translate(${width - 16} ${top + plotH / 2}) rotate(90)" text-anchor="middle">${escape(spec.right.label)}</text>`,
    )
  }
  const legend = [
    ...spec.left.series.map((s) => ({ name: s.name, dashed: false })),
    ...(spec.right?.series ?? []).map((s) => ({ name: `${s.name} (right axis)`, dashed: true })),
  ]
  const slot = plotW / Math.max(1, legend.length)
  legend.forEach((entry, i) => {
    const color = COLORS[i % COLORS.length]!
    const x = left + i * slot
    const y = height - 22
    out.push(
      `<line x1="${x}" x2="${x + 26}" y1="${y - 4}" y2="${y - 4}" stroke="${color}" stroke-width="2.2"${entry.dashed ? ' stroke-dasharray="7 4"' : ''}/>`,
      `<text x="${x + 32}" y="${y}">${escape(entry.name)}</text>`,
    )
  })
  out.push('</svg>')
  return `${out.join('\n')}\n`
}

/** One bar of {@link barChart}: a group (dataset), a bar within it (model) and its seconds. */
export interface Bar {
  readonly group: string
  readonly name: string
  readonly seconds: number
}

/** Training time as grouped bars on a log scale, one group per dataset (the paper's Figure 3). */
export function barChart(title: string, bars: readonly Bar[]): string {
  const groups = [...new Set(bars.map((b) => b.group))]
  const names = [...new Set(bars.map((b) => b.name))]
  const [width, height, left, right, top, bottom] = [760, 420, 70, 20, 40, 70]
  const plotW = width - left - right
  const plotH = height - top - bottom
  const secs = bars.map((b) => Math.max(b.seconds, 1e-3))
  const lo = Math.floor(Math.log10(Math.min(...secs)))
  const hi = Math.ceil(Math.log10(Math.max(...secs)))
  const span = Math.max(hi - lo, 1)
  const y = (s: number): number => top + plotH * (1 - (Math.log10(Math.max(s, 1e-3)) - lo) / span)
  const group = plotW / groups.length
  const bar = (group * 0.8) / names.length
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escape(title)}</text>`,
  ]
  for (let e = lo; e <= hi; e++) {
    const yy = y(10 ** e).toFixed(1)
    out.push(
      `<line x1="${left}" x2="${width - right}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`,
      `<text x="${left - 8}" y="${yy}" text-anchor="end" dominant-baseline="middle">${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(-e)} s</text>`,
    )
  }
  groups.forEach((g, i) => {
    const x0 = left + i * group + group * 0.1
    names.forEach((m, j) => {
      const b = bars.find((row) => row.group === g && row.name === m)
      if (!b) return
      const x = x0 + j * bar
      const yy = y(b.seconds)
      out.push(
        `<rect x="${x.toFixed(1)}" y="${yy.toFixed(1)}" width="${(bar * 0.9).toFixed(1)}" height="${(top + plotH - yy).toFixed(1)}" fill="${COLORS[j % COLORS.length]}"><title>${escape(`${g} ${m}: ${b.seconds.toFixed(1)} s`)}</title></rect>`,
        `<text x="${(x + bar * 0.45).toFixed(1)}" y="${(yy - 4).toFixed(1)}" text-anchor="middle" font-size="10">${b.seconds < 10 ? b.seconds.toFixed(1) : b.seconds.toFixed(0)}</text>`,
      )
    })
    out.push(
      `<text x="${(left + (i + 0.5) * group).toFixed(1)}" y="${top + plotH + 18}" text-anchor="middle">${escape(g)}</text>`,
    )
  })
  out.push(
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#333"/>`,
    `<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`,
  )
  names.forEach((m, j) => {
    const x = left + j * 140
    const yy = height - 22
    out.push(
      `<rect x="${x}" y="${yy - 10}" width="12" height="12" fill="${COLORS[j % COLORS.length]}"/>`,
      `<text x="${x + 18}" y="${yy}">${escape(m)}</text>`,
    )
  })
  out.push('</svg>')
  return `${out.join('\n')}\n`
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
