/**
 * The model options of `corml`: flags and help from the hyperparameter list, options a model does
 * not use, the memory budget and precision, GF-CF's rank, and did-you-mean in grids.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'
import type { ExecutionContext } from 'ava'

import { HYPERPARAMETERS, describeRange } from '../src/hyperparameters.js'
import { parseGrid } from '../src/cli/grid.js'
import { edgeWarnings, gridSettings } from '../src/cli/grid-run.js'
import { GRID_HYPERPARAMETERS, HYPERPARAMETER_FLAGS, kebab } from '../src/cli/model-flags.js'
import { bytes } from '../src/cli/options.js'
import { closest, editDistance } from '../src/cli/suggest.js'
import { FAST, SAMPLE, corml, errorLine, tempDir } from './cli-harness.js'

/** A usage error before any work: exit 2, a `USAGE` line matching `pattern`, nothing on stdout. */
async function usage(t: ExecutionContext, argv: string[], pattern: RegExp): Promise<void> {
  const r = await corml(argv)
  t.is(r.code, 2, `${argv.join(' ')}: ${r.stderr}`)
  t.regex(errorLine(r), /: USAGE: /)
  t.regex(errorLine(r), pattern, argv.join(' '))
  t.is(r.stdout, '')
  t.false(r.stderr.includes('training'), 'refused before training')
}

/** The help of one option (`--lambda`), its line wrapping undone; `''` when it has none. */
function helpEntry(help: string, flag: string): string {
  const lines = help.split('\n')
  const start = lines.findIndex((l) => l.startsWith(`  ${flag} `))
  if (start < 0) return ''
  const end = lines.findIndex((l, i) => i > start && !/^ {4,}\S/.test(l))
  return lines
    .slice(start, end < 0 ? undefined : end)
    .join(' ')
    .replace(/\s+/g, ' ')
}

test('the hyperparameter flags, their help and the grid names come from HYPERPARAMETERS', async (t) => {
  t.is(HYPERPARAMETER_FLAGS.length, HYPERPARAMETERS.length)
  for (const command of ['train', 'eval', 'tune']) {
    const r = await corml([command, '--help'])
    t.is(r.code, 0)
    for (const f of HYPERPARAMETER_FLAGS) {
      const h = f.hyperparameter
      const entry = helpEntry(r.stdout, f.flag)
      t.not(entry, '', `${command}: ${f.flag}`)
      t.true(entry.includes(h.doc), `${command} ${f.flag}: doc in ${entry}`)
      t.true(entry.includes(`default ${h.default}`), `${command} ${f.flag}: default in ${entry}`)
      if (h.symbol !== '') t.true(entry.includes(`CoRML ${h.symbol}:`), `${f.flag}: symbol`)
      if (h.kind !== 'boolean') t.true(entry.includes(describeRange(h)), `${f.flag}: range`)
    }
  }
  // The existing flag names keep working, and seed and sparseApprox keep theirs.
  const flags = HYPERPARAMETER_FLAGS.map((f) => f.flag)
  for (const flag of [
    '--lambda',
    '--dual-step-length',
    '--l2-regularization',
    '--item-degree-norm',
    '--global-scaling',
    '--user-scaling',
    '--eigenvectors',
    '--admm-iterations',
    '--partition-ratio',
    '--no-sparse-approx',
    '--svd-seed',
  ]) {
    t.true(flags.includes(flag), flag)
  }
  // Every numeric hyperparameter but the seed is a grid name, in the API's and kebab case.
  t.deepEqual(
    GRID_HYPERPARAMETERS.map((h) => h.name),
    HYPERPARAMETERS.filter((h) => h.kind !== 'boolean' && h.name !== 'seed').map((h) => h.name),
  )
  for (const h of GRID_HYPERPARAMETERS) {
    // Grids are numbers: 'auto' is a default, not a grid point.
    const value = h.default === 'auto' ? h.max : h.default
    t.deepEqual(parseGrid(`${h.name}=${value}`), [{ name: h.name, values: [value] }])
    t.deepEqual(parseGrid(`${kebab(h.name)}=${value}`)[0]!.name, h.name)
  }
  // Ranges are the list's, on the command line and in grids.
  const dir = tempDir(t)
  await usage(
    t,
    ['eval', SAMPLE, '--partition-ratio', '0'],
    /'0' is invalid\. it must be in \(0, 1\]/,
  )
  await usage(t, ['eval', SAMPLE, '--item-degree-norm', '2.5'], /it must be in \[-2, 2\]/)
  await usage(t, ['eval', SAMPLE, '--svd-seed', '-1'], /it must be an integer ≥ 0/)
  await usage(
    t,
    ['tune', SAMPLE, '--grid', 'lambda=0.5|1.5', '--output-dir', dir],
    /lambda must be in \(0, 1\], not 1\.5/,
  )
  await usage(
    t,
    ['tune', SAMPLE, '--grid', 'seed=1|2', '--output-dir', dir],
    /seed \(--svd-seed\) cannot vary in a grid/,
  )
})

test('an option the chosen model does not use is a usage error naming the models that use it', async (t) => {
  const dir = tempDir(t)
  const cases: [string[], RegExp][] = [
    [
      ['eval', SAMPLE, '--model', 'gfcf', '--eigenvectors', '8'],
      /--eigenvectors is a CoRML option, not used by --model gfcf; GF-CF’s rank is --gfcf-eigenvectors/,
    ],
    [
      ['eval', SAMPLE, '--model', 'ease', '--lambda', '0.5'],
      /--lambda is a CoRML option, not used by --model ease$/,
    ],
    [
      ['train', SAMPLE, '-o', join(dir, 'm'), '--model', 'ease', '--item-degree-norm', '0'],
      /--item-degree-norm is a CoRML option/,
    ],
    [
      ['eval', SAMPLE, '--model', 'gfcf', '--preset', 'gowalla'],
      /--preset is a CoRML option, not used by --model gfcf/,
    ],
    [
      ['eval', SAMPLE, '--model', 'ease', '--admm-solver', 'dense'],
      /--admm-solver is a CoRML option/,
    ],
    [
      ['eval', SAMPLE, '--model', 'gfcf', '--no-sparse-approx'],
      /--no-sparse-approx is a CoRML option/,
    ],
    [['eval', SAMPLE, '--model', 'ease', '--precision', 'tf32'], /--precision is a CoRML option/],
    [
      ['eval', SAMPLE, '--model', 'corml', '--ease-regularization', '100'],
      /--ease-regularization is an EASE option, not used by --model corml/,
    ],
    [
      ['eval', SAMPLE, '--model', 'ease', '--gfcf-alpha', '0.2'],
      /--gfcf-alpha is a GF-CF option, not used by --model ease/,
    ],
    [
      ['eval', SAMPLE, '--gfcf-eigenvectors', '8'],
      /--gfcf-eigenvectors is a GF-CF option, not used by --model corml; CoRML’s rank is --eigenvectors/,
    ],
    [
      ['eval', SAMPLE, '--model', 'gfcf', '--device', 'cpu'],
      /--device is an option of CoRML and EASE, not used by --model gfcf/,
    ],
    [
      ['eval', SAMPLE, '--model', 'gfcf', '--memory-budget', '1GiB'],
      /--memory-budget is an option of CoRML and EASE/,
    ],
    [
      ['eval', SAMPLE, '--model', 'ease', '--svd-seed', '1'],
      /--svd-seed is an option of CoRML and GF-CF, not used by --model ease/,
    ],
    [
      ['train', SAMPLE, '-o', join(dir, 'm'), '--model', 'gfcf', '--lambda', '0.5'],
      /--lambda is a CoRML option, not used by --model gfcf/,
    ],
    [
      ['tune', SAMPLE, '--grid', 'lambda=0.8', '--output-dir', dir, '--gfcf-alpha', '0.1'],
      /--gfcf-alpha is a GF-CF option, not used by corml tune/,
    ],
    [
      [
        'eval',
        SAMPLE,
        '--sweep',
        'lambda=0.7|0.8',
        '--output-dir',
        dir,
        '--ease-regularization',
        '9',
      ],
      /--ease-regularization is an EASE option, not used by eval --sweep/,
    ],
    [
      ['bench', '--models', 'gfcf,ease', '--preset', 'gowalla'],
      /--preset is a CoRML option, not used by --models gfcf,ease/,
    ],
    [['bench', '--models', 'gfcf', '--device', 'cpu'], /--device is an option of CoRML and EASE/],
  ]
  for (const [argv, pattern] of cases) await usage(t, argv, pattern)
  // With --model all every model option is used by some model.
  const all = await corml([
    'eval',
    SAMPLE,
    '--model',
    'all',
    ...FAST,
    '--lambda',
    '0.8',
    '--ease-regularization',
    '100',
    '--gfcf-alpha',
    '0.2',
    '--gfcf-eigenvectors',
    '8',
    '--svd-seed',
    '3',
    '--device',
    'cpu',
    '--ks',
    '20',
    '--json',
    '-q',
  ])
  t.is(all.code, 0, all.stderr)
  const rows = JSON.parse(all.stdout) as { model: string; settings: Record<string, unknown> }[]
  const settings = Object.fromEntries(rows.map((r) => [r.model, r.settings]))
  t.like(settings.gfcf, { alpha: 0.2, eigenvectors: 8, seed: 3 })
  t.like(settings.ease, { regularization: 100 })
  t.like(settings.corml, { lambda: 0.8, eigenvectors: 16, seed: 3 })
})

test('--gfcf-eigenvectors sets GF-CF’s rank', async (t) => {
  const r = await corml([
    'eval',
    SAMPLE,
    '--model',
    'gfcf',
    '--gfcf-eigenvectors',
    '8',
    '--json',
    '-q',
  ])
  t.is(r.code, 0, r.stderr)
  const [gfcf] = JSON.parse(r.stdout) as { settings: { eigenvectors: number } }[]
  t.is(gfcf!.settings.eigenvectors, 8)
  await usage(t, ['eval', SAMPLE, '--model', 'gfcf', '--gfcf-eigenvectors', '0'], /integer ≥ 1/)
})

test('--memory-budget takes bytes with a unit and reaches the fit', async (t) => {
  t.is(bytes('1073741824'), 2 ** 30)
  t.is(bytes('512MiB'), 512 * 2 ** 20)
  t.is(bytes('8GiB'), 8 * 2 ** 30)
  t.is(bytes('8GB'), 8e9)
  t.is(bytes('4g'), 4 * 2 ** 30)
  t.is(bytes('4G'), 4 * 2 ** 30)
  t.is(bytes('1.5GiB'), 1.5 * 2 ** 30)
  t.is(bytes('1.1MB'), 1_100_000)
  t.is(bytes(' 2 KiB '), 2048)
  t.is(bytes('1'), 1)
  for (const bad of [
    '',
    '0',
    '0.5',
    '1.3k',
    '-1',
    '8XB',
    '8 GiB extra',
    'GiB',
    '1e9',
    '99999999999TiB',
  ]) {
    t.throws(() => bytes(bad), undefined, bad)
  }
  await usage(
    t,
    ['eval', SAMPLE, '--memory-budget', '8XB'],
    /--memory-budget <bytes>.*'8XB' is invalid.*512MiB/,
  )
  await usage(t, ['eval', SAMPLE, '--memory-budget', '0'], /whole number of bytes from 1/)
  // One byte is too little for anything: CoRML and EASE refuse before they start.
  for (const model of ['corml', 'ease']) {
    const r = await corml(['eval', SAMPLE, '--model', model, '--memory-budget', '1', '-q'])
    t.is(r.code, 1, r.stderr)
    t.regex(
      errorLine(r),
      model === 'corml'
        ? /: OUT_OF_MEMORY: partitionRatio 'auto' found no part .* half of the 0\.0 kB available/
        : /: OUT_OF_MEMORY: .*needs .* but only 0\.0 kB is available/,
    )
  }
  const enough = await corml([
    'eval',
    SAMPLE,
    ...FAST,
    '--memory-budget',
    '1GiB',
    '-q',
    '--ks',
    '20',
  ])
  t.is(enough.code, 0, enough.stderr)
})

test('--precision reaches CoRML; it is part of a grid journal’s settings, the memory budget is not', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'm.corml')
  const r = await corml([
    'train',
    SAMPLE,
    '-o',
    file,
    ...FAST,
    '--precision',
    'tf32',
    '--json',
    '-q',
  ])
  t.is(r.code, 0, r.stderr)
  t.is((JSON.parse(r.stdout) as { settings: { precision: string } }).settings.precision, 'tf32')
  await usage(t, ['eval', SAMPLE, '--precision', 'fp16'], /Allowed choices are fp32, tf32/)
  t.deepEqual(
    gridSettings({ split: 'random', precision: 'tf32', memoryBudget: 2 ** 30, device: 'cpu' }),
    { data: { split: 'random' }, corml: { precision: 'tf32' } },
  )
  const tune = ['tune', SAMPLE, '--grid', 'lambda=0.8', ...FAST, '--output-dir', dir, '--no-png']
  t.is((await corml(tune)).code, 0)
  const budget = await corml([...tune, '--memory-budget', '8GiB', '--device', 'cpu'])
  t.is(budget.code, 0, budget.stderr)
  t.regex(budget.stderr, /resuming: 1 of 1 points already done/)
  const tf32 = await corml([...tune, '--precision', 'tf32'])
  t.is(tf32.code, 2)
  t.regex(errorLine(tf32), /holds a run with other settings \(settings\.corml\.precision differs\)/)
  const header = JSON.parse(readFileSync(join(dir, 'runs.jsonl'), 'utf8').split('\n')[0]!) as {
    settings: { corml: Record<string, unknown> }
  }
  t.false('memoryBudget' in header.settings.corml)
})

test('a typo in a grid name gets a did-you-mean suggestion', async (t) => {
  const dir = tempDir(t)
  const grid = (spec: string): string[] => ['tune', SAMPLE, '--grid', spec, '--output-dir', dir]
  await usage(
    t,
    grid('lamda=0.5:0.9:0.1'),
    /USAGE: unknown hyperparameter "lamda" in the grid; did you mean lambda\?$/,
  )
  await usage(
    t,
    grid('itemDegreeNrom=0'),
    /"itemDegreeNrom" in the grid; did you mean itemDegreeNorm\?/,
  )
  await usage(t, grid('item-degre-norm=0'), /did you mean item-degree-norm\?/)
  await usage(t, grid('Eigenvectors=16'), /did you mean eigenvectors\?/)
  await usage(
    t,
    ['eval', SAMPLE, '--sweep', 'partitionratio=0.5|1', '--output-dir', dir],
    /did you mean partitionRatio\?/,
  )
  // Nothing close: the list of names.
  await usage(
    t,
    grid('alpha=0.1'),
    /unknown hyperparameter "alpha" in the grid; use one of lambda, /,
  )
  await usage(
    t,
    grid('sparseApprox=0'),
    /sparseApprox \(--no-sparse-approx\) cannot vary in a grid/,
  )
  t.is(editDistance('lamda', 'lambda'), 1)
  t.is(editDistance('itemDegreeNrom', 'itemDegreeNorm'), 1)
  t.is(editDistance('', 'abc'), 3)
  t.is(closest('lamda', ['lambda', 'eigenvectors']), 'lambda')
  t.is(closest('alpha', ['lambda', 'eigenvectors']), undefined)
})

test('the edge warning names each axis of two or more values whose best value is at an end', (t) => {
  const axes = [
    { name: 'lambda', values: [0.7, 0.8, 0.9] },
    { name: 'itemDegreeNorm', values: [-0.1, 0, 0.1] },
    { name: 'eigenvectors', values: [16] },
  ] as const
  t.deepEqual(edgeWarnings(axes, { lambda: 0.9, itemDegreeNorm: -0.1, eigenvectors: 16 }), [
    'the best lambda (0.9) is the largest value tried; extend the grid above 0.9',
    'the best itemDegreeNorm (-0.1) is the smallest value tried; extend the grid below -0.1',
  ])
  t.deepEqual(edgeWarnings(axes, { lambda: 0.8, itemDegreeNorm: 0, eigenvectors: 16 }), [])
  // At the end of the hyperparameter's range there is nothing further to try.
  t.deepEqual(edgeWarnings([{ name: 'lambda', values: [0.8, 1] }], { lambda: 1 }), [])
})

test('tune warns on stderr when the best point is on the edge of the grid', async (t) => {
  const dir = tempDir(t)
  // Two values: the best is always at an end. One value: never a warning.
  const r = await corml([
    'tune',
    SAMPLE,
    '--grid',
    'lambda=0.8,eigenvectors=4|16',
    '--admm-iterations',
    '5',
    '--output-dir',
    dir,
    '--no-png',
  ])
  t.is(r.code, 0, r.stderr)
  const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as {
    best: { point: { eigenvectors: number } }
    warnings: string[]
  }
  const k = results.best.point.eigenvectors
  const expected =
    k === 16
      ? 'warning: the best eigenvectors (16) is the largest value tried; extend the grid above 16'
      : 'warning: the best eigenvectors (4) is the smallest value tried; extend the grid below 4'
  t.true(r.stderr.includes(`${expected}\n`), r.stderr)
  t.false(r.stderr.includes('the best lambda'))
  t.is((r.stderr.match(/^warning: the best/gm) ?? []).length, 1)
  t.deepEqual(results.warnings, [expected.replace(/^warning: /, '')])
  t.false(r.stdout.includes('warning'))
  // --quiet silences progress, not the warning: it changes what to try next.
  const quiet = await corml([
    'tune',
    SAMPLE,
    '--grid',
    'lambda=0.8,eigenvectors=4|16',
    '--admm-iterations',
    '5',
    '--output-dir',
    dir,
    '--no-png',
    '--quiet',
  ])
  t.is(quiet.code, 0, quiet.stderr)
  t.is(quiet.stderr, `${expected}\n`)
})
