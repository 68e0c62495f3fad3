/**
 * `corml tune <data> --grid ...`: a CoRML grid search on the validation part, resumable, with
 * the best settings, the full grid as CSV / JSON, and a chart of accuracy and novelty.
 *
 * @packageDocumentation
 */

import { Command } from 'commander'

import { addCommonOptions } from '../common.js'
import type { CommonFlags } from '../common.js'
import { addDataOptions, addSplitOptions } from '../data.js'
import type { DataFlags, SplitFlags } from '../data.js'
import { parseGrid } from '../grid.js'
import { gridCommand } from '../grid-run.js'
import type { CliIo } from '../io.js'
import { parseTarget } from '../metrics.js'
import { addModelOptions, checkModelFlags } from '../model-flags.js'
import type { ModelFlags } from '../model-flags.js'
import { integerAtLeast, listOf } from '../options.js'
import { ProgressView } from '../progress.js'

interface TuneFlags extends DataFlags, SplitFlags, ModelFlags, CommonFlags {
  grid: string
  metric: string
  ks?: number[]
  outputDir: string
  fresh?: boolean
  png: boolean
  json?: boolean
}

/** The `tune` command. */
export function tuneCommand(io: CliIo): Command {
  const command = new Command('tune')
    .summary('grid-search CoRML’s hyperparameters on the validation split (resumable)')
    .description(
      'Splits <data> like `corml eval`, then trains CoRML on the train part for every point of ' +
        'the grid and ranks the valid part (excluding train items only; the test part is never ' +
        'used). Each finished point is saved to <output-dir>/runs.jsonl at once: run the same ' +
        'command again after an interruption and it goes on where it stopped. Writes ' +
        'results.csv, results.json (with the best point) and chart.svg / chart.png, and warns ' +
        'when the best point lies on the edge of the grid. Names are CoRML’s hyperparameters, ' +
        'as in the API (itemDegreeNorm) or kebab case (item-degree-norm).',
    )
    .argument('<data>', 'interaction file: TSV, CSV or RecBole .inter, plain or .gz')
    .requiredOption(
      '--grid <spec>',
      'name=start:stop:step, name=a|b|c or name=value, comma-separated (e.g. lambda=0.6:0.9:0.05,itemDegreeNorm=-0.2:0.2:0.05)',
    )
    .option(
      '--metric <metric@K>',
      'what to maximize: ndcg@K, mrr@K, recall@K or novelty@K',
      'ndcg@20',
    )
    .option(
      '--ks <list>',
      'cut-offs to report (default: the metric’s K)',
      listOf(integerAtLeast(1)),
    )
    .option('--output-dir <dir>', 'journal and results', 'corml-tune')
    .option('--fresh', 'start over instead of resuming the journal')
    .option('--no-png', 'write the chart as SVG only')
    .option('--json', 'print results as JSON')
  addDataOptions(command)
  addSplitOptions(command)
  addModelOptions(command)
  addCommonOptions(command)
  return command.action(async (data: string, flags: TuneFlags) => {
    checkModelFlags(flags, ['corml'], 'corml tune (it tunes CoRML)')
    const view = new ProgressView(io, ProgressView.modeFor(io, flags.quiet === true))
    const target = parseTarget(flags.metric)
    const axes = parseGrid(flags.grid)
    const ks = [...new Set([...(flags.ks ?? []), target.k])].sort((a, b) => a - b)
    await gridCommand(
      data,
      flags,
      {
        part: 'valid',
        outputDir: flags.outputDir,
        axes,
        ks,
        target,
        title: 'CoRML tuning: accuracy and novelty',
      },
      view,
      io,
    )
  })
}
