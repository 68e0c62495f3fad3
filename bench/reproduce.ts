/**
 * Reproduces a row of the CoRML paper's Table 2 on a dataset from `../shared/data` (or any
 * interaction file): CoRML, EASE and GF-CF trained on one seeded split, evaluated with the full
 * ranking protocol of the paper (docs/algorithm.md), with training times.
 *
 * ```sh
 * npm run reproduce -- gowalla [--models corml,ease,gfcf] [--seed 2026] [--json] [--defaults]
 *                      [--split-dir DIR] [--top-items N] [--novelty-sweep] [--data-dir DIR]
 * ```
 *
 * `--defaults` trains CoRML with the library's defaults (`CoRML.fit(train)`, no preset), as a
 * user who sets nothing gets it; EASE and GF-CF always run with theirs.
 *
 * `--split-dir DIR` reads `DIR/train.tsv`, `DIR/valid.tsv` and `DIR/test.tsv` (header
 * `user_id<TAB>item_id`, one id space) instead of splitting, so results can be compared with other
 * tools on exactly the same split. `--novelty-sweep` trains CoRML at itemDegreeNorm -0.2 … 0.2 on
 * the 4,000 most frequent items (or `--top-items N`) and checks that Novelty@10 strictly decreases
 * (the paper's Figure 2).
 */
import { existsSync } from 'node:fs'
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
  type EvaluationResult,
  type Progress,
  type Recommender,
} from '../src/index.js'
import { DATASETS, dataDirectory } from './datasets.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    models: { type: 'string', default: 'corml,ease,gfcf' },
    seed: { type: 'string', default: '2026' },
    json: { type: 'boolean', default: false },
    'split-dir': { type: 'string' },
    'top-items': { type: 'string' },
    'novelty-sweep': { type: 'boolean', default: false },
    defaults: { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
    'ease-regularization': { type: 'string', default: '250' },
    quiet: { type: 'boolean', default: false },
  },
})

function fail(message: string): never {
  console.error(`reproduce: ${message}`)
  process.exit(2)
}

const target =
  positionals[0] ?? fail('give a dataset name (gowalla, yelp2018, pinterest, ml-1m) or a file')
const dataDir = dataDirectory(values['data-dir'])
const known = DATASETS[target]
const file = known ? join(dataDir, known.file) : resolve(target)
const preset: CoRMLOptions = values.defaults ? {} : presets[known?.preset ?? 'gowalla']
const seed = Number(values.seed)
if (!Number.isInteger(seed) || seed < 0)
  fail(`--seed must be a non-negative integer, got ${values.seed}`)
const models = values.models.split(',').map((m) => m.trim().toLowerCase())
for (const m of models) if (!['corml', 'ease', 'gfcf'].includes(m)) fail(`unknown model ${m}`)

const log = (line: string): void => {
  if (!values.quiet) process.stderr.write(`${line}\n`)
}

/** Prints one line per stage change and every tenth ADMM iteration. */
function progressLogger(name: string): (p: Progress) => void {
  let last = ''
  const start = Date.now()
  return (p) => {
    const key = `${p.stage}:${p.part}`
    const everyTenth = p.stage === 'admm' && p.iteration % 10 === 0
    if (key !== last || everyTenth) {
      last = key
      const where = p.parts > 0 ? ` part ${p.part}/${p.parts}` : ''
      const iter = p.iterations > 0 ? ` ${p.iteration}/${p.iterations}` : ''
      const t = ((Date.now() - start) / 1000).toFixed(0)
      log(`  ${name}: ${p.stage}${where}${iter} (${(100 * p.fraction).toFixed(0)}%, ${t} s)`)
    }
  }
}

interface Row {
  model: string
  trainSeconds: number
  evalSeconds: number
  result: EvaluationResult
  info: Recommender['info']
}

async function trainAndEvaluate(
  name: string,
  split: { train: Dataset; valid: Dataset; test: Dataset },
  options: CoRMLOptions,
): Promise<Row> {
  const onProgress = progressLogger(name)
  let model: Recommender
  if (name === 'corml') model = await CoRML.fit(split.train, { ...options, seed, onProgress })
  else if (name === 'ease')
    model = await EASE.fit(split.train, {
      regularization: Number(values['ease-regularization']),
      onProgress,
    })
  else model = await GFCF.fit(split.train, { seed, onProgress })
  log(`  ${name}: trained in ${model.info.seconds.toFixed(1)} s; evaluating`)
  const result = await evaluate(model, split, { ks: [5, 10, 20] })
  return {
    model: name,
    trainSeconds: model.info.seconds,
    evalSeconds: result.seconds,
    result,
    info: model.info,
  }
}

function at(result: EvaluationResult, k: number): EvaluationResult['metrics'][number] {
  return result.metrics.find((m) => m.k === k) ?? fail(`no metrics at ${k}`)
}

function table(rows: Row[]): string {
  const head =
    '| model | NDCG@5 | NDCG@10 | NDCG@20 | MRR@5 | MRR@10 | MRR@20 | Recall@20 | Novelty@20 | train s | eval s |'
  const lines = [head, '|' + ' --- |'.repeat(11)]
  for (const r of rows) {
    const m = (k: number) => at(r.result, k)
    const f = (x: number) => x.toFixed(4)
    lines.push(
      `| ${r.model} | ${f(m(5).ndcg)} | ${f(m(10).ndcg)} | ${f(m(20).ndcg)} | ${f(m(5).mrr)} | ` +
        `${f(m(10).mrr)} | ${f(m(20).mrr)} | ${f(m(20).recall)} | ${f(m(20).novelty)} | ` +
        `${r.trainSeconds.toFixed(1)} | ${r.evalSeconds.toFixed(1)} |`,
    )
  }
  return lines.join('\n')
}

async function loadSplit(): Promise<{
  train: Dataset
  valid: Dataset
  test: Dataset
  source: string
}> {
  const splitDir = values['split-dir']
  if (splitDir !== undefined) {
    const paths = {
      train: join(splitDir, 'train.tsv'),
      valid: join(splitDir, 'valid.tsv'),
      test: join(splitDir, 'test.tsv'),
    }
    return { ...(await Dataset.fromSplitFiles(paths)), source: `split files in ${splitDir}` }
  }
  if (!existsSync(file)) fail(`${file} does not exist (set --data-dir or CORML_DATA_DIR)`)
  let data = await Dataset.fromFile(file)
  const top = values['top-items'] ?? (values['novelty-sweep'] ? '4000' : undefined)
  if (top !== undefined) data = data.topItems(Number(top))
  log(
    `${file}: ${data.numUsers} users, ${data.numItems} items, ${data.numInteractions} interactions`,
  )
  return { ...data.split({ ratios: [0.6, 0.2, 0.2], seed }), source: file }
}

const split = await loadSplit()
const { train, valid, test } = split
const stats = {
  users: train.numUsers,
  items: train.numItems,
  train: train.numInteractions,
  valid: valid.numInteractions,
  test: test.numInteractions,
}
log(
  `split (seed ${seed}): ${stats.train} train, ${stats.valid} valid, ${stats.test} test interactions`,
)

if (values['novelty-sweep']) {
  const sweep: {
    itemDegreeNorm: number
    ndcg10: number
    novelty10: number
    trainSeconds: number
  }[] = []
  for (const t of [-0.2, -0.1, 0, 0.1, 0.2]) {
    const row = await trainAndEvaluate('corml', split, {
      ...preset,
      partitionRatio: 1,
      itemDegreeNorm: t,
    })
    sweep.push({
      itemDegreeNorm: t,
      ndcg10: at(row.result, 10).ndcg,
      novelty10: at(row.result, 10).novelty,
      trainSeconds: row.trainSeconds,
    })
  }
  const decreasing = sweep.every((s, i) => i === 0 || s.novelty10 < sweep[i - 1]!.novelty10)
  if (values.json) {
    console.log(
      JSON.stringify(
        {
          dataset: target,
          source: split.source,
          seed,
          stats,
          sweep,
          strictlyDecreasing: decreasing,
        },
        null,
        2,
      ),
    )
  } else {
    console.log(
      `\nNovelty@10 against itemDegreeNorm t (CoRML, ${target}, ${stats.items} items, partitionRatio 1)\n`,
    )
    console.log('| t | NDCG@10 | Novelty@10 | train s |\n| --- | --- | --- | --- |')
    for (const s of sweep)
      console.log(
        `| ${s.itemDegreeNorm} | ${s.ndcg10.toFixed(4)} | ${s.novelty10.toFixed(4)} | ${s.trainSeconds.toFixed(1)} |`,
      )
    console.log(`\nNovelty@10 strictly decreasing in t: ${decreasing ? 'yes' : 'NO'}`)
  }
  process.exitCode = decreasing ? 0 : 1
} else {
  const rows: Row[] = []
  for (const name of models) rows.push(await trainAndEvaluate(name, split, preset))
  if (values.json) {
    console.log(
      JSON.stringify(
        {
          dataset: target,
          source: split.source,
          seed,
          stats,
          preset,
          defaults: values.defaults,
          rows,
        },
        null,
        2,
      ),
    )
  } else {
    console.log(`\n${target} (seed ${seed}, ${stats.users} users, ${stats.items} items)\n`)
    console.log(table(rows))
  }
}
