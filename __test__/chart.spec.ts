/**
 * The charts (`src/cli/chart.ts`, `bench/scaling.ts`): honest y ranges, value labels that never
 * read as zero, and no label clipped by the edge or printed over another label, an axis, a bar or
 * a line. Text extents are estimated here from DejaVu Sans advance widths (the font the PNGs are
 * rendered in), independently of the charts' own estimate.
 */
import test from 'ava'

import type { Measurement } from '../src/cli/bench.js'
import {
  MIN_RELATIVE_SPAN,
  barChart,
  formatValue,
  lineChart,
  textWidth,
  valueRange,
  type Bar,
  type LineChartSpec,
} from '../src/cli/chart.js'
import { scalingSvg } from '../bench/scaling.js'

// DejaVu Sans advance widths in em (measured with resvg); other characters count 0.65 em.
const ADVANCE: Record<string, number> = {
  ...Object.fromEntries([...'0123456789'].map((c) => [c, 0.636])),
  ...Object.fromEntries(
    [...'abcdefghijklmnopqrstuvwxyz'].map((c, i) => [
      c,
      [
        0.613, 0.635, 0.55, 0.635, 0.615, 0.344, 0.635, 0.634, 0.278, 0.278, 0.579, 0.278, 0.974,
        0.634, 0.612, 0.635, 0.635, 0.395, 0.521, 0.392, 0.634, 0.592, 0.818, 0.592, 0.592, 0.525,
      ][i]!,
    ]),
  ),
  ...Object.fromEntries(
    [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'].map((c, i) => [
      c,
      [
        0.684, 0.686, 0.698, 0.77, 0.632, 0.575, 0.775, 0.752, 0.295, 0.295, 0.656, 0.557, 0.863,
        0.748, 0.787, 0.603, 0.787, 0.695, 0.635, 0.611, 0.732, 0.684, 0.989, 0.685, 0.611, 0.685,
      ][i]!,
    ]),
  ),
  ' ': 0.318,
  '.': 0.318,
  ',': 0.318,
  ':': 0.337,
  ';': 0.337,
  '-': 0.361,
  _: 0.5,
  '(': 0.39,
  ')': 0.39,
  '[': 0.39,
  ']': 0.39,
  '@': 1,
  '%': 0.95,
  '=': 0.838,
  '+': 0.838,
  '/': 0.337,
  '|': 0.337,
  '&': 0.78,
  '<': 0.838,
  '>': 0.838,
  "'": 0.275,
  '"': 0.46,
  '!': 0.401,
  '?': 0.531,
  '#': 0.838,
  '*': 0.5,
  '−': 0.838,
  '–': 0.5,
  '…': 1,
}

const width = (s: string, size: number): number =>
  [...s].reduce((sum, c) => sum + (ADVANCE[c] ?? 0.65), 0) * size

interface Box {
  x0: number
  y0: number
  x1: number
  y1: number
}

interface Label extends Box {
  text: string
}

const unescape = (s: string): string =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')

const attributes = (tag: string): Record<string, string> =>
  Object.fromEntries([...tag.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]))

/** What a chart draws, as boxes and segments. */
interface Drawing {
  view: Box
  labels: Label[]
  /** Bars, markers and legend swatches. */
  solids: Box[]
  /** Plot frames (outlined rectangles). */
  frames: Box[]
  /** Axis lines and the data lines, as segments. */
  segments: [number, number, number, number][]
}

function parse(svg: string): Drawing {
  const root = attributes(/<svg\b[^>]*>/.exec(svg)![0])
  const [vx, vy, vw, vh] = root.viewBox!.split(/\s+/).map(Number) as [
    number,
    number,
    number,
    number,
  ]
  const rootSize = Number(root['font-size'] ?? 16)
  const labels: Label[] = []
  for (const m of svg.matchAll(/<text\b([^>]*)>([^<]*)<\/text>/g)) {
    const a = attributes(m[1]!)
    const text = unescape(m[2]!)
    const size = Number(a['font-size'] ?? rootSize)
    const w = width(text, size)
    const anchor = a['text-anchor'] ?? 'start'
    const lx = anchor === 'middle' ? -w / 2 : anchor === 'end' ? -w : 0
    // Cap height 0.73 em and descent 0.24 em below the baseline; "middle" centres on 0.27 em.
    const [ly0, ly1] =
      a['dominant-baseline'] === 'middle'
        ? [-0.52 * size, 0.52 * size]
        : [-0.76 * size, 0.24 * size]
    let [ox, oy, angle] = [Number(a.x ?? 0), Number(a.y ?? 0), 0]
    if (a.transform) {
      const t = /translate\(([-\d.]+)[ ,]+([-\d.]+)\)(?:\s*rotate\(([-\d.]+)\))?/.exec(a.transform)!
      ;[ox, oy, angle] = [ox + Number(t[1]), oy + Number(t[2]), Number(t[3] ?? 0)]
    }
    const rad = (angle * Math.PI) / 180
    const corners = [
      [lx, ly0],
      [lx + w, ly0],
      [lx, ly1],
      [lx + w, ly1],
    ].map(([px, py]) => [
      ox + px! * Math.cos(rad) - py! * Math.sin(rad),
      oy + px! * Math.sin(rad) + py! * Math.cos(rad),
    ])
    labels.push({
      text,
      x0: Math.min(...corners.map((c) => c[0]!)),
      x1: Math.max(...corners.map((c) => c[0]!)),
      y0: Math.min(...corners.map((c) => c[1]!)),
      y1: Math.max(...corners.map((c) => c[1]!)),
    })
  }
  const solids: Box[] = []
  const frames: Box[] = []
  for (const m of svg.matchAll(/<rect\b([^>]*?)\/?>/g)) {
    const a = attributes(m[1]!)
    if (a.x === undefined) continue // the background
    const box = {
      x0: Number(a.x),
      y0: Number(a.y),
      x1: Number(a.x) + Number(a.width),
      y1: Number(a.y) + Number(a.height),
    }
    ;(a.fill === 'none' ? frames : solids).push(box)
  }
  for (const m of svg.matchAll(/<circle\b([^>]*?)\/?>/g)) {
    const a = attributes(m[1]!)
    const [cx, cy, r] = [Number(a.cx), Number(a.cy), Number(a.r)]
    solids.push({ x0: cx - r, y0: cy - r, x1: cx + r, y1: cy + r })
  }
  const segments: [number, number, number, number][] = []
  for (const m of svg.matchAll(/<line\b([^>]*?)\/?>/g)) {
    const a = attributes(m[1]!)
    if (a.stroke === '#333') {
      segments.push([Number(a.x1), Number(a.y1), Number(a.x2), Number(a.y2)])
    }
  }
  for (const m of svg.matchAll(/<polyline\b([^>]*?)\/?>/g)) {
    const points = attributes(m[1]!)
      .points!.trim()
      .split(/\s+/)
      .map((p) => p.split(',').map(Number) as [number, number])
    for (let i = 1; i < points.length; i++) {
      segments.push([...points[i - 1]!, ...points[i]!])
    }
  }
  for (const f of frames) {
    segments.push(
      [f.x0, f.y0, f.x1, f.y0],
      [f.x1, f.y0, f.x1, f.y1],
      [f.x1, f.y1, f.x0, f.y1],
      [f.x0, f.y1, f.x0, f.y0],
    )
  }
  return { view: { x0: vx, y0: vy, x1: vx + vw, y1: vy + vh }, labels, solids, frames, segments }
}

const overlap = (a: Box, b: Box): boolean =>
  a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1

const crosses = (box: Box, [x1, y1, x2, y2]: [number, number, number, number]): boolean => {
  const steps = Math.max(1, Math.ceil(Math.hypot(x2 - x1, y2 - y1) / 0.5))
  for (let i = 0; i <= steps; i++) {
    const [x, y] = [x1 + ((x2 - x1) * i) / steps, y1 + ((y2 - y1) * i) / steps]
    if (x > box.x0 && x < box.x1 && y > box.y0 && y < box.y1) return true
  }
  return false
}

const show = (b: Box & { text?: string }): string =>
  `${b.text === undefined ? '' : `"${b.text}" `}[${b.x0.toFixed(1)}, ${b.y0.toFixed(1)}]–[${b.x1.toFixed(1)}, ${b.y1.toFixed(1)}]`

/** Every way a label can collide in `svg`, as sentences; none for a clean chart. */
function collisions(svg: string): string[] {
  const d = parse(svg)
  const problems: string[] = []
  for (const [i, l] of d.labels.entries()) {
    if (l.x0 < d.view.x0 || l.y0 < d.view.y0 || l.x1 > d.view.x1 || l.y1 > d.view.y1) {
      problems.push(`${show(l)} is clipped by the edge ${show(d.view)}`)
    }
    for (const other of d.labels.slice(i + 1)) {
      if (overlap(l, other)) problems.push(`${show(l)} overlaps ${show(other)}`)
    }
    for (const s of d.solids) {
      if (overlap(l, s)) problems.push(`${show(l)} is printed over a bar or marker ${show(s)}`)
    }
    for (const s of d.segments) {
      if (crosses(l, s)) problems.push(`${show(l)} is printed over a line ${s.join(',')}`)
    }
  }
  return problems
}

// A sweep of itemDegreeNorm -0.2..0.2 step 0.05, NDCG@20 around 0.22–0.23 and novelty
// 0.47–0.4745.
const T = [-0.2, -0.15, -0.1, -0.05, 0, 0.05, 0.1, 0.15, 0.2]
const NOVELTY = [0.4745, 0.4731, 0.4718, 0.4706, 0.47, 0.4703, 0.4712, 0.4725, 0.4739]
const SWEEP: LineChartSpec = {
  title: 'CoRML: accuracy and novelty against itemDegreeNorm',
  subtitle: 'gowalla.inter.tsv.gz, test split',
  x: { label: 't (itemDegreeNorm)', values: T },
  left: {
    label: 'accuracy@20',
    series: [
      {
        name: 'NDCG@20',
        values: [0.2201, 0.2222, 0.2245, 0.2268, 0.2281, 0.2293, 0.2288, 0.2274, 0.2259],
      },
      {
        name: 'MRR@20',
        values: [0.3012, 0.3051, 0.3088, 0.3115, 0.3131, 0.3142, 0.3139, 0.3121, 0.3104],
      },
      {
        name: 'Recall@20',
        values: [0.2502, 0.2531, 0.2562, 0.2588, 0.2603, 0.2611, 0.2606, 0.2594, 0.2579],
      },
    ],
  },
  right: { label: 'novelty@20', series: [{ name: 'Novelty@20', values: NOVELTY }] },
  mark: { x: 0.05, caption: 'best NDCG@20 0.2293' },
}

// A tune grid over lambda and itemDegreeNorm, charted along itemDegreeNorm at the best lambda,
// the best point at the right edge and every other setting in the subtitle.
const TUNE: LineChartSpec = {
  title: 'CoRML tuning: accuracy and novelty',
  subtitle:
    'sample.tsv, validation split; lambda = 0.75, dualStepLength = 500, l2Regularization = 0.003, globalScaling = -2.5, userScaling = 0.4, eigenvectors = 256, admmIterations = 50',
  x: { label: 't (itemDegreeNorm)', values: [-0.2, -0.1, 0, 0.1, 0.2] },
  left: {
    label: 'accuracy@10',
    series: [
      { name: 'NDCG@10', values: [0.2201, 0.2245, 0.2281, 0.2288, 0.2299] },
      { name: 'MRR@10', values: [0.3012, 0.3088, 0.3131, 0.3139, 0.3144] },
      { name: 'Recall@10', values: [0.2502, 0.2562, 0.2603, 0.2606, 0.2611] },
    ],
  },
  right: {
    label: 'novelty@10',
    series: [{ name: 'Novelty@10', values: [0.4745, 0.4718, 0.47, 0.4712, 0.4739] }],
  },
  mark: { x: 0.2, caption: 'best NDCG@10 0.2299' },
}

// Long names everywhere, and log-spaced x values.
const LONG: LineChartSpec = {
  title:
    'CoRML tuning: accuracy and novelty against a hyperparameter with an unusually long descriptive name',
  x: {
    label:
      'l2RegularizationOfTheMetricPartWithAVeryLongHyperparameterNameThatGoesOnAndOnAndOnAndOn',
    values: [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5],
  },
  left: {
    label:
      'accuracy@20 (NDCG, MRR and Recall at twenty, higher is better, on the validation split)',
    series: [
      {
        name: 'NDCG@20 of a model with a long name',
        values: [0.2, 0.21, 0.215, 0.22, 0.224, 0.226, 0.227, 0.226, 0.22, 0.21, 0.19, 0.15],
      },
      {
        name: 'MRR@20 of a model with an even longer name than the other one',
        values: [0.3, 0.31, 0.315, 0.32, 0.324, 0.326, 0.327, 0.326, 0.32, 0.31, 0.29, 0.25],
      },
    ],
  },
  right: {
    label: 'novelty@20',
    series: [
      {
        name: 'Novelty@20',
        values: [
          0.47, 0.471, 0.472, 0.473, 0.4745, 0.474, 0.473, 0.472, 0.471, 0.47, 0.4705, 0.471,
        ],
      },
    ],
  },
  mark: {
    x: 0.01,
    caption:
      'best NDCG@20 0.2270 at l2RegularizationOfTheMetricPartWithAVeryLongHyperparameterName = 0.01',
  },
}

// Many x values (ticks chosen by the chart) and a single axis.
const DENSE: LineChartSpec = {
  title: 'CoRML: accuracy against eigenvectors',
  x: { label: 'eigenvectors', values: Array.from({ length: 40 }, (_, i) => 100 + i * 25) },
  left: {
    label: 'NDCG@20',
    series: [{ name: 'NDCG@20', values: Array.from({ length: 40 }, (_, i) => 0.2 + i * 0.001) }],
  },
}

// Training times from 0.04 s to 1,500 s, long model names and a dataset given by its path.
const BARS: Bar[] = [
  ['gowalla', [23.4, 397.2, 256.1, 1404.6]],
  ['sample.tsv', [0.04, 0.0412, 0.31, 0.92]],
  ['ml20m-shaped ×0.1', [83.2, 17.1, 995, 1500]],
  ['/data/recbole/gowalla-merged/gowalla.inter.tsv.gz', [2.5, 45.2, 12.8, 130.4]],
].flatMap(([group, seconds]) =>
  (seconds as number[]).map((s, i) => ({
    group: group as string,
    name: ['gfcf', 'ease', 'corml', 'corml-literal'][i]!,
    seconds: s,
  })),
)
const MANY_BARS: Bar[] = [
  'gowalla',
  'yelp2018',
  'pinterest',
  'ml20m',
  'amazon-book-with-a-long-name',
].flatMap((group, g) =>
  ['gfcf', 'ease', 'corml', 'corml-literal', 'corml-iterative-solver-on-cuda', 'ease-float64'].map(
    (name, m) => ({ group, name, seconds: 0.04 * 3.3 ** (g + m) }),
  ),
)

/** Scaling rows like docs/figures/scaling.svg's. */
function scalingRows(): Measurement[] {
  const row = (
    model: string,
    items: number,
    interactions: number,
    seconds: number,
    axes: ('items' | 'interactions')[],
  ): Measurement => ({
    dataset: 'gowalla',
    axes,
    model,
    users: 29858,
    items,
    interactions,
    backend: 'cpu',
    seconds,
    stages: [{ stage: 'admm', seconds: seconds * 0.7 }],
    baseRssBytes: 1e9,
    peakRssBytes: 3e9,
    admmSolvers: ['dense'],
  })
  return [
    row('corml', 2000, 300000, 6.8, ['items']),
    row('corml-literal', 2000, 300000, 7.3, ['items']),
    row('corml', 4000, 300000, 25, ['items']),
    row('corml-literal', 4000, 300000, 24, ['items']),
    row('corml', 16000, 530000, 430, ['items']),
    row('corml', 8000, 75000, 38, ['interactions']),
    row('corml-literal', 8000, 75000, 165, ['interactions']),
    row('corml', 8000, 280000, 62, ['interactions']),
    row('corml-literal', 8000, 280000, 155, ['interactions']),
    row('corml', 8000, 530000, 180, ['interactions', 'items']),
    row('corml-literal', 8000, 530000, 182, ['interactions', 'items']),
  ]
}

const CHARTS: [string, () => string][] = [
  ['the itemDegreeNorm sweep', () => lineChart(SWEEP)],
  ['the lambda × itemDegreeNorm tune grid', () => lineChart(TUNE)],
  ['a line chart with long names and log-spaced x', () => lineChart(LONG)],
  ['a line chart with 40 x values and one axis', () => lineChart(DENSE)],
  ['the training benchmark', () => barChart('Training time (log scale)', BARS)],
  [
    'a benchmark of 30 bars',
    () => barChart('Training time (log scale) of every model on every dataset at once', MANY_BARS),
  ],
  ['the scaling study', () => scalingSvg(scalingRows())],
]

for (const [name, chart] of CHARTS) {
  test(`${name}: every label lies inside the viewBox, clear of other labels, axes, bars and lines`, (t) => {
    const problems = collisions(chart())
    t.deepEqual(problems, [], problems.join('\n'))
  })
}

test('tick labels of a crowded axis are thinned, not printed over each other', (t) => {
  const svg = lineChart(DENSE)
  const d = parse(svg)
  const frame = d.frames[0]!
  const xLabels = d.labels.filter((l) => l.y0 > frame.y1 && l.y1 < frame.y1 + 30)
  t.true(xLabels.length >= 4, String(xLabels.length))
  xLabels.sort((a, b) => a.x0 - b.x0)
  for (let i = 1; i < xLabels.length; i++) {
    t.true(xLabels[i]!.x0 >= xLabels[i - 1]!.x1, `${show(xLabels[i - 1]!)} / ${show(xLabels[i]!)}`)
  }
})

test('valueRange: the span is at least MIN_RELATIVE_SPAN of the largest |value|, ticks inside', (t) => {
  const r = valueRange(NOVELTY)
  t.true(r.hi - r.lo >= MIN_RELATIVE_SPAN * 0.4745, `${r.lo}..${r.hi}`)
  t.true(r.lo <= 0.47 && r.hi >= 0.4745)
  t.true(r.ticks.length >= 3)
  t.true(r.ticks.every((v) => v >= r.lo && v <= r.hi))
  // A large change keeps its own range (padded), not the whole way to zero.
  const wide = valueRange([0.14, 0.26])
  t.true(
    wide.lo > 0.1 && wide.lo < 0.14 && wide.hi > 0.26 && wide.hi < 0.3,
    `${wide.lo}..${wide.hi}`,
  )
  // Non-negative values close to zero start at zero; non-positive ones end there.
  t.is(valueRange([0.01, 0.05]).lo, 0)
  t.is(valueRange([-0.05, -0.01]).hi, 0)
  // A constant still gets a range around it, zeros a unit one.
  const flat = valueRange([0.2, 0.2])
  t.true(flat.lo < 0.2 && flat.hi > 0.2 && flat.hi - flat.lo >= 0.04)
  t.deepEqual([valueRange([0, 0]).lo, valueRange([0, 0]).hi], [0, 1])
})

test('the novelty axis of a sweep is not zoomed into its 0.0045 change', (t) => {
  const d = parse(lineChart(SWEEP))
  const frame = d.frames[0]!
  // The right axis: numeric labels right of the plot, centred on their tick.
  const ticks = d.labels
    .filter((l) => l.x0 > frame.x1 && /^-?\d+(\.\d+)?$/.test(l.text))
    .map((l) => ({ value: Number(l.text), y: (l.y0 + l.y1) / 2 }))
  t.true(ticks.length >= 2, JSON.stringify(ticks))
  const [a, b] = [ticks[0]!, ticks[ticks.length - 1]!]
  const perPixel = (b.value - a.value) / (a.y - b.y)
  const span = perPixel * (frame.y1 - frame.y0)
  t.true(span >= MIN_RELATIVE_SPAN * 0.4745, `the axis spans ${span}`)
  // The whole swing of 0.0045 takes under a twentieth of the plot's height.
  t.true((0.4745 - 0.47) / span < 0.05, `${(0.4745 - 0.47) / span}`)
})

test('formatValue gives enough significant digits and never a misleading zero', (t) => {
  t.is(formatValue(0.04), '0.04')
  t.is(formatValue(0.0412), '0.0412')
  t.is(formatValue(0.004), '0.004')
  t.is(formatValue(23.44), '23.4')
  t.is(formatValue(397.2), '397')
  t.is(formatValue(1404.6), '1,405')
  t.is(formatValue(999.7), '1,000')
  t.is(formatValue(0), '0')
  for (const v of [1e-7, 0.00049, 0.04, 0.049, 0.5, 9.96])
    t.true(Number(formatValue(v)) > 0, String(v))
})

test('no bar value label reads as zero for a non-zero time', (t) => {
  const bars: Bar[] = [
    { group: 'sample', name: 'gfcf', seconds: 0.04 },
    { group: 'sample', name: 'ease', seconds: 0.004 },
    { group: 'sample', name: 'corml', seconds: 0.049 },
    { group: 'gowalla', name: 'corml-literal', seconds: 1404.6 },
  ]
  const d = parse(barChart('Training time (log scale)', bars))
  // Value labels are the numbers without the tick labels' unit.
  const values = d.labels.filter((l) => /^[\d.,]+$/.test(l.text)).map((l) => l.text)
  t.deepEqual(values.sort(), ['0.004', '0.04', '0.049', '1,405'])
  for (const v of values) t.true(Number(v.replace(/,/g, '')) > 0, v)
  // Every bar is visible: the log scale starts under the shortest one.
  const tall = d.solids.filter((s) => s.x1 - s.x0 > 12 && s.y1 - s.y0 >= 1)
  t.true(tall.length >= 4, String(tall.length))
})

test('textWidth is never narrower than DejaVu Sans, so measured layouts are conservative', (t) => {
  for (const [c, em] of Object.entries(ADVANCE)) {
    t.true(
      textWidth(c, 100) >= em * 100,
      `${JSON.stringify(c)}: ${textWidth(c, 100)} < ${em * 100}`,
    )
  }
  t.true(textWidth('corml-literal (k = 0.03)', 12) >= width('corml-literal (k = 0.03)', 12))
})
