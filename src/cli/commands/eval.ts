/**
 * `corml eval <data>`: the paper's protocol on a file (split, train, full-ranking evaluation) as a
 * Table-2-style table; with `--sweep`, one CoRML hyperparameter varied and charted (Figure 2).
 *
 * @packageDocumentation
 */

import { Command, Option } from 'commander'

import { evaluate } from '../../evaluate.js'
import type { EvaluationResult } from '../../evaluate.js'
import { addCommonOptions } from '../common.js'
import type { CommonFlags } from '../common.js'
import { addDataOptions, addSplitOptions, readData, splitData } from '../data.js'
import type { DataFlags, SplitFlags } from '../data.js'
import { parseGrid } from '../grid.js'
import { gridCommand } from '../grid-run.js'
import type { CliIo } from '../io.js'
import { UsageError } from '../io.js'
import { fixed4, parseTarget } from '../metrics.js'
import {
  ALGORITHMS,
  DISPLAY,
  addModelOptions,
  checkModelFlags,
  fitModel,
  modelsOf,
} from '../model-flags.js'
import type { AlgorithmName, ModelFlags } from '../model-flags.js'
import { integerAtLeast, listOf } from '../options.js'
import { ProgressView } from '../progress.js'
import { textTable } from '../table.js'

interface EvalFlags extends DataFlags, SplitFlags, ModelFlags, CommonFlags {
  model: AlgorithmName | 'all'
  ks: number[]
  sweep?: string
  metric: string
  outputDir?: string
  fresh?: boolean
  png: boolean
  json?: boolean
}

/** The `eval` command. */
export function evalCommand(io: CliIo): Command {
  const command = new Command('eval')
    .summary('split a file, train, and evaluate by the paper’s protocol')
    .description(
      'Splits <data> (by default per user, shuffled, 60/20/20 with seed 2026, as the CoRML paper), ' +
        'trains on the train part and ranks every item except each user’s train and valid items ' +
        'for the test part: NDCG, MRR, Recall and Novelty at each K. With --sweep, trains CoRML ' +
        'once per value of one hyperparameter, evaluates each on the valid part (excluding train ' +
        'items) and on the test part, chooses the best by --metric on valid, and writes a table, ' +
        'CSV, JSON and a chart of test accuracy and novelty against it (the paper’s Figure 2 for ' +
        'itemDegreeNorm).',
    )
    .argument('<data>', 'interaction file: TSV, CSV or RecBole .inter, plain or .gz')
    .addOption(
      new Option('--model <algorithm>', 'algorithm, or all three')
        .choices([...ALGORITHMS, 'all'])
        .default('corml'),
    )
    .option('--ks <list>', 'cut-offs K', listOf(integerAtLeast(1)), [5, 10, 20])
    .option(
      '--sweep <name=values>',
      'vary one CoRML hyperparameter: start:stop:step or a|b|c (e.g. itemDegreeNorm=-0.2:0.2:0.05)',
    )
    .option('--metric <metric@K>', 'chooses the best sweep point, on the valid part', 'ndcg@20')
    .option('--output-dir <dir>', 'sweep results and journal (default corml-sweep-<name>)')
    .option('--fresh', 'start the sweep over instead of resuming its journal')
    .option('--no-png', 'write the sweep chart as SVG only')
    .option('--json', 'print results as JSON')
  addDataOptions(command)
  addSplitOptions(command)
  addModelOptions(command)
  addCommonOptions(command)
  return command.action(async (data: string, flags: EvalFlags) => {
    const view = new ProgressView(io, ProgressView.modeFor(io, flags.quiet === true))
    const target = parseTarget(flags.metric)
    if (flags.sweep !== undefined) {
      if (flags.model !== 'corml')
        throw new UsageError('--sweep varies a CoRML hyperparameter: use --model corml')
      checkModelFlags(flags, ['corml'], 'eval --sweep (it sweeps CoRML)')
      const axes = parseGrid(flags.sweep)
      if (axes.length !== 1)
        throw new UsageError('--sweep takes one hyperparameter; `corml tune` takes a grid')
      const ks = flags.ks.includes(target.k) ? flags.ks : [...flags.ks, target.k]
      await gridCommand(
        data,
        flags,
        {
          part: 'valid+test',
          outputDir: flags.outputDir ?? `corml-sweep-${axes[0]!.name}`,
          axes,
          ks,
          target,
          title: `CoRML: accuracy and novelty against ${axes[0]!.name}`,
        },
        view,
        io,
      )
      return
    }
    const algorithms = modelsOf(flags.model)
    checkModelFlags(flags, algorithms, `--model ${flags.model}`)
    const dataset = await readData(data, flags, view, io, flags)
    const split = splitData(dataset, flags, view)
    const rows: {
      algorithm: AlgorithmName
      seconds: number
      result: EvaluationResult
      settings: object
    }[] = []
    for (const algorithm of algorithms) {
      const model = await fitModel(algorithm, split.train, flags, view, io)
      const result = await view.task(`evaluating ${DISPLAY[algorithm]}`, (onProgress) =>
        evaluate(model, split, { ks: flags.ks, onProgress, signal: io.signal }),
      )
      rows.push({ algorithm, seconds: model.info.seconds, result, settings: model.info.settings })
    }
    if (flags.json) {
      io.stdout(
        `${JSON.stringify(
          rows.map((r) => ({
            model: r.algorithm,
            trainSeconds: r.seconds,
            users: r.result.users,
            metrics: r.result.metrics,
            settings: r.settings,
          })),
          null,
          2,
        )}\n`,
      )
      return
    }
    io.stdout(
      textTable(
        ['model', 'K', 'NDCG', 'MRR', 'Recall', 'Novelty', 'train s'],
        rows.flatMap((r) =>
          r.result.metrics.map((m, i) => [
            i === 0 ? DISPLAY[r.algorithm] : '',
            String(m.k),
            fixed4(m.ndcg),
            fixed4(m.mrr),
            fixed4(m.recall),
            fixed4(m.novelty),
            i === 0 ? r.seconds.toFixed(1) : '',
          ]),
        ),
      ),
    )
    view.note(`${rows[0]?.result.users.toLocaleString('en-US')} test users`)
  })
}
