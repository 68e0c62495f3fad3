/**
 * `corml tune` and `corml eval --sweep`: results, the chart, and resuming after an interruption.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'

import { trainCommandLine } from '../src/cli/grid-run.js'
import { FAST, SAMPLE, corml, errorLine, tempDir } from './cli-harness.js'

const GRID = 'lambda=0.7|0.8,itemDegreeNorm=-0.1:0.1:0.1'

interface Results {
  part: string
  target: string
  best: { point: Record<string, number>; metrics: { k: number; ndcg: number }[] }
  results: {
    point: Record<string, number>
    metrics: { k: number; ndcg: number; novelty: number }[]
  }[]
}

test('tune runs the grid on the validation part and writes results and a chart', async (t) => {
  const dir = tempDir(t)
  const r = await corml([
    'tune',
    SAMPLE,
    '--grid',
    GRID,
    ...FAST,
    '--output-dir',
    dir,
    '--metric',
    'ndcg@10',
  ])
  t.is(r.code, 0, r.stderr)
  const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results
  t.is(results.part, 'valid')
  t.is(results.target, 'NDCG@10')
  t.is(results.results.length, 6)
  for (const x of results.results as { admmSolvers?: string[] }[]) {
    t.true((x.admmSolvers?.length ?? 0) >= 1)
  }
  const ndcg = (x: Results['results'][number]): number => x.metrics.find((m) => m.k === 10)!.ndcg
  const top = Math.max(...results.results.map(ndcg))
  t.is(results.best.metrics.find((m) => m.k === 10)!.ndcg, top)
  // The CSV: header and one line per point, the grid's order (last axis fastest).
  const csv = readFileSync(join(dir, 'results.csv'), 'utf8').trim().split('\n')
  t.is(csv.length, 7)
  t.regex(csv[0]!, /^lambda,itemDegreeNorm,NDCG@10,MRR@10,Recall@10,Novelty@10,train s$/)
  t.deepEqual(
    csv.slice(1).map((l) => l.split(',').slice(0, 2).join(',')),
    ['0.7,-0.1', '0.7,0', '0.7,0.1', '0.8,-0.1', '0.8,0', '0.8,0.1'],
  )
  // The table on stdout and the best point with the flags to train it.
  t.regex(
    r.stdout,
    /^lambda\s+itemDegreeNorm\s+NDCG@10\s+MRR@10\s+Recall@10\s+Novelty@10\s+train s/,
  )
  t.regex(r.stdout, /best NDCG@10 on valid: 0\.\d{4} at /)
  const hint =
    /train it on all the data with:\n {2}(corml train \S*sample\.tsv --lambda 0\.[78] --item-degree-norm -?0(\.1)? --eigenvectors 16 --admm-iterations 5 -o model\.corml)\n/.exec(
      r.stdout,
    )
  t.truthy(hint, r.stdout)
  // The suggested command runs as it is.
  const words = hint![1]!.split(' ').slice(1, -1)
  const trained = await corml([...words, join(dir, 'best.corml'), '--quiet'])
  t.is(trained.code, 0, trained.stderr)
  // The chart: an SVG with one line per metric, and its PNG.
  const svg = readFileSync(join(dir, 'chart.svg'), 'utf8')
  t.regex(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
  t.is((svg.match(/<polyline /g) ?? []).length, 4)
  t.regex(svg, /t \(itemDegreeNorm\)/)
  t.regex(svg, /Novelty@10 \(right axis\)/)
  t.true(svg.trim().endsWith('</svg>'))
  const png = readFileSync(join(dir, 'chart.png'))
  t.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  t.true(png.length > 10_000)
})

test('an interrupted tune resumes where it stopped; other settings are refused', async (t) => {
  const dir = tempDir(t)
  const withGrid = (grid: string): string[] => [
    'tune',
    SAMPLE,
    '--grid',
    grid,
    ...FAST,
    '--output-dir',
    dir,
    '--no-png',
  ]
  const args = withGrid(GRID)
  const controller = new AbortController()
  const first = await corml(args, {
    onStderr: (text) => {
      if (text.startsWith('[3/6]')) controller.abort()
    },
    signal: controller.signal,
  })
  t.is(first.code, 130)
  t.regex(
    errorLine(first),
    /^corml tune: ABORTED: interrupted with 2 of 6 points done, saved in .*runs\.jsonl; run the same command again to go on$/,
  )
  const journal = join(dir, 'runs.jsonl')
  t.is(readFileSync(journal, 'utf8').trim().split('\n').length, 1 + 2)
  t.false(existsSync(join(dir, 'results.csv')))
  // A crash in the middle of a write leaves half a line: that point runs again.
  writeFileSync(journal, `${readFileSync(journal, 'utf8')}{"point":{"lambda":0.7,"itemD`)
  const second = await corml(args)
  t.is(second.code, 0, second.stderr)
  t.regex(second.stderr, /resuming: 2 of 6 points already done/)
  t.false(second.stderr.includes('[1/6]'))
  t.regex(second.stderr, /\[3\/6\] itemDegreeNorm=0\.1, lambda=0\.7/)
  const lines = readFileSync(journal, 'utf8').trim().split('\n')
  t.is(lines.length, 1 + 6)
  lines.slice(1).forEach((l) => t.notThrows(() => JSON.parse(l)))
  // Resuming a finished run (on any device) trains nothing and reports the same results.
  const third = await corml([...args, '--device', 'cpu'])
  t.regex(third.stderr, /resuming: 6 of 6 points/)
  t.false(third.stderr.includes('training CoRML'))
  t.is(third.stdout, second.stdout)
  // A refined grid on the same settings reuses the points it shares.
  const refined = await corml(withGrid('lambda=0.7|0.8|0.9,itemDegreeNorm=-0.1:0.1:0.1'))
  t.is(refined.code, 0, refined.stderr)
  t.regex(refined.stderr, /resuming: 6 of 9 points/)
  t.is((refined.stderr.match(/training CoRML: done/g) ?? []).length, 3)
  // A coarser grid takes only its own points from the journal.
  const coarse = await corml(withGrid('lambda=0.9,itemDegreeNorm=-0.1|0.1'))
  t.is(coarse.code, 0, coarse.stderr)
  t.regex(coarse.stderr, /resuming: 2 of 2 points already done/)
  t.is(
    coarse.stdout
      .trim()
      .split('\n')
      .filter((l) => /^\s*0\.9\s/.test(l)).length,
    2,
  )
  const other = await corml([...args, '--seed', '7'])
  t.is(other.code, 2)
  t.regex(
    errorLine(other),
    /runs\.jsonl holds a run with other settings \(settings\.data\.seed differs\); use --fresh/,
  )
  const fresh = await corml([...withGrid('lambda=0.8'), '--fresh'])
  t.is(fresh.code, 0, fresh.stderr)
  t.is(readFileSync(journal, 'utf8').trim().split('\n').length, 1 + 1)
})

test('an output directory that cannot be made is an input error', async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'file'), 'not a directory')
  const r = await corml([
    'tune',
    SAMPLE,
    '--grid',
    'lambda=0.8',
    ...FAST,
    '--output-dir',
    join(dir, 'file', 'out'),
  ])
  t.is(r.code, 3)
  t.regex(errorLine(r), /^corml tune: IO_ERROR: cannot use .*file\/out: /)
})

test('eval --sweep chooses on the validation part, reports test beside it and charts test', async (t) => {
  const dir = tempDir(t)
  const common = [SAMPLE, '--preset', 'gowalla', '--ks', '20']
  const r = await corml([
    'eval',
    ...common,
    '--sweep',
    'itemDegreeNorm=-0.2:0.2:0.2',
    '--output-dir',
    dir,
  ])
  t.is(r.code, 0, r.stderr)
  type Metrics = { k: number; ndcg: number; novelty: number }[]
  interface Point {
    point: Record<string, number>
    metrics: Metrics
    testMetrics: Metrics
  }
  const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as {
    part: string
    selectedOn: string
    best: Point
    results: Point[]
  }
  t.is(results.part, 'valid+test')
  t.is(results.selectedOn, 'valid')
  t.deepEqual(
    results.results.map((x) => x.point.itemDegreeNorm),
    [-0.2, 0, 0.2],
  )
  // The best point is the best on valid (not necessarily on test).
  const valid = results.results.map((x) => x.metrics[0]!.ndcg)
  const top = valid.indexOf(Math.max(...valid))
  t.deepEqual(results.best.point, results.results[top]!.point)
  t.deepEqual(results.best.testMetrics, results.results[top]!.testMetrics)
  // Valid is ranked as tune ranks it (train items excluded only); test as eval ranks it.
  const best = results.best.point.itemDegreeNorm!
  const tuned = await corml([
    'tune',
    ...common,
    '--grid',
    `itemDegreeNorm=${best}`,
    '--output-dir',
    join(dir, 'tune'),
    '--no-png',
    '--json',
    '-q',
  ])
  t.is(tuned.code, 0, tuned.stderr)
  const tunedBest = (JSON.parse(tuned.stdout) as Results).best
  t.deepEqual(tunedBest.metrics, results.best.metrics)
  const evaluated = await corml(['eval', ...common, '--item-degree-norm', String(best), '--json'])
  t.is(evaluated.code, 0, evaluated.stderr)
  t.deepEqual(
    (JSON.parse(evaluated.stdout) as { metrics: unknown }[])[0]!.metrics,
    results.best.testMetrics,
  )
  // Lower t recommends less popular items (the paper's Figure 2), on test.
  const novelty = results.results.map((x) => x.testMetrics[0]!.novelty)
  t.true(novelty[0]! > novelty[2]!, String(novelty))
  // The table, the CSV and the best point show valid and test.
  t.regex(
    r.stdout,
    /^itemDegreeNorm\s+valid NDCG@20\s+test NDCG@20\s+test MRR@20\s+test Recall@20\s+test Novelty@20\s+train s\n/,
  )
  t.regex(
    r.stdout,
    new RegExp(
      `best NDCG@20 on valid: ${valid[top]!.toFixed(4)} at itemDegreeNorm=${best}\\n` +
        `  on test: NDCG@20 ${results.best.testMetrics[0]!.ndcg.toFixed(4)}, MRR@20 0\\.\\d{4}, ` +
        'Recall@20 0\\.\\d{4}, Novelty@20 0\\.\\d{4}\\n' +
        `train it on all the data with:\\n  corml train \\S+ --preset gowalla --item-degree-norm ${best} -o model\\.corml\\n`,
    ),
  )
  t.false(r.stdout.includes('on test:  '))
  const csv = readFileSync(join(dir, 'results.csv'), 'utf8').split('\n')
  t.is(
    csv[0],
    'itemDegreeNorm,valid NDCG@20,valid MRR@20,valid Recall@20,valid Novelty@20,' +
      'test NDCG@20,test MRR@20,test Recall@20,test Novelty@20,train s',
  )
  const svg = readFileSync(join(dir, 'chart.svg'), 'utf8')
  t.regex(svg, /accuracy and novelty against itemDegreeNorm/)
  t.regex(svg, /test split, best point chosen on validation/)
  t.regex(svg, /best on valid: NDCG@20 0\.\d{4} \(test 0\.\d{4}\)/)
  t.true(existsSync(join(dir, 'chart.png')))
})

test('a sweep journal from before validation choice is refused with a pointer to --fresh', async (t) => {
  const dir = tempDir(t)
  const args = [
    'eval',
    SAMPLE,
    ...FAST,
    '--sweep',
    'lambda=0.7|0.8',
    '--output-dir',
    dir,
    '--no-png',
    '-q',
  ]
  const first = await corml(args)
  t.is(first.code, 0, first.stderr)
  // Resuming a finished sweep reports the same.
  const again = await corml(args)
  t.is(again.code, 0, again.stderr)
  t.is(again.stdout, first.stdout)
  // The old format: the header said part "test" and the points held test metrics only.
  const journal = join(dir, 'runs.jsonl')
  const [head, ...points] = readFileSync(journal, 'utf8').trim().split('\n')
  const old = { ...(JSON.parse(head!) as Record<string, unknown>), part: 'test' }
  const oldPoints = points.map((l) => {
    const { testMetrics, ...rest } = JSON.parse(l) as Record<string, unknown>
    return JSON.stringify({ ...rest, metrics: testMetrics })
  })
  writeFileSync(journal, `${[JSON.stringify(old), ...oldPoints].join('\n')}\n`)
  const refused = await corml(args)
  t.is(refused.code, 2)
  t.regex(
    errorLine(refused),
    /runs\.jsonl is an older eval --sweep journal, ranked on the test part, with no validation results to choose by; use --fresh/,
  )
  const fresh = await corml([...args, '--fresh'])
  t.is(fresh.code, 0, fresh.stderr)
  t.regex(fresh.stdout, /best NDCG@20 on valid: 0\.\d{4} at lambda=0\.[78]\n {2}on test: /)
  t.is(
    (JSON.parse(readFileSync(journal, 'utf8').split('\n')[0]!) as { part: string }).part,
    'valid+test',
  )
})

test('tune and eval --sweep need a valid part to choose on', async (t) => {
  const dir = tempDir(t)
  for (const argv of [
    ['tune', SAMPLE, '--grid', 'lambda=0.7|0.8'],
    ['eval', SAMPLE, '--sweep', 'lambda=0.7|0.8'],
  ]) {
    const r = await corml([...argv, '--ratios', '0.8,0,0.2', '--output-dir', dir])
    t.is(r.code, 2, r.stderr)
    t.regex(errorLine(r), /ranked on the valid part, and it is empty: give it a share of --ratios/)
    t.false(r.stderr.includes('training'))
  }
})

test('the suggested train command carries the data, filter and model options, quoted', (t) => {
  const line = trainCommandLine(
    'my data.csv',
    {
      header: false,
      userCol: 'user id',
      itemCol: 2,
      minRating: 4,
      minUserInteractions: 5,
      preset: 'gowalla',
      lambda: 0.7,
      sparseApprox: false,
    },
    { itemDegreeNorm: 0.05 },
  )
  t.is(
    line,
    "corml train 'my data.csv' --no-header --user-col 'user id' --item-col 2 --min-rating 4 " +
      '--min-user-interactions 5 --preset gowalla --lambda 0.7 --item-degree-norm 0.05 --no-sparse-approx -o model.corml',
  )
})
