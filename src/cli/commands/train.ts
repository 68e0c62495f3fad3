/**
 * `corml train <data> -o model.corml`: trains on all of a file's interactions and saves the model.
 *
 * @packageDocumentation
 */

import { statSync } from 'node:fs'

import { Command, Option } from 'commander'

import { addDataOptions, readData } from '../data.js'
import type { DataFlags } from '../data.js'
import type { CliIo } from '../io.js'
import { ALGORITHMS, DISPLAY, addModelOptions, checkModelFlags, fitModel } from '../model-flags.js'
import type { AlgorithmName, ModelFlags } from '../model-flags.js'
import { ProgressView, duration } from '../progress.js'
import { addCommonOptions } from '../common.js'
import type { CommonFlags } from '../common.js'

interface TrainFlags extends DataFlags, ModelFlags, CommonFlags {
  output: string
  model: AlgorithmName
  json?: boolean
}

/** The `train` command. */
export function trainCommand(io: CliIo): Command {
  const command = new Command('train')
    .summary('train a model on an interaction file and save it')
    .description(
      'Trains CoRML (or a baseline) on every interaction of <data> (after the filters) and saves ' +
        'the model to one file, for `corml recommend` or `loadModel()` in a service. To measure ' +
        'accuracy first, use `corml eval`.',
    )
    .argument('<data>', 'interaction file: TSV, CSV or RecBole .inter, plain or .gz')
    .requiredOption('-o, --output <file>', 'where to write the model (written atomically)')
    .addOption(
      new Option('--model <algorithm>', 'algorithm').choices([...ALGORITHMS]).default('corml'),
    )
    .option('--json', 'print the model information as JSON')
  addDataOptions(command)
  addModelOptions(command)
  addCommonOptions(command)
  return command.action(async (data: string, flags: TrainFlags) => {
    checkModelFlags(flags, [flags.model], `--model ${flags.model}`)
    const view = new ProgressView(io, ProgressView.modeFor(io, flags.quiet === true))
    const dataset = await readData(data, flags, view, io)
    const model = await fitModel(flags.model, dataset, flags, view, io)
    await view.task(`saving ${flags.output}`, () => model.save(flags.output))
    const info = model.info
    const bytes = statSync(flags.output).size
    if (flags.json) {
      io.stdout(
        `${JSON.stringify({ file: flags.output, bytes, users: model.userIds().length, items: model.itemIds().length, ...info }, null, 2)}\n`,
      )
      return
    }
    io.stdout(
      `${DISPLAY[flags.model]} trained on ${info.backend} in ${duration(info.seconds)} ` +
        `(${info.stages.map((s) => `${s.stage} ${s.seconds.toFixed(1)} s`).join(', ')})\n` +
        `saved ${flags.output} (${(bytes / 2 ** 20).toFixed(1)} MiB, fingerprint ${info.fingerprint})\n`,
    )
  })
}
