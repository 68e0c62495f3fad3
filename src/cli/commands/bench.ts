/**
 * `corml bench [data...]`: the training benchmark (the paper's Figure 3) on this machine.
 *
 * @packageDocumentation
 */

import { basename } from 'node:path'

import { Command, Option } from 'commander'

import { presets } from '../../presets.js'
import {
  BENCH_MODELS,
  benchChart,
  benchChild,
  benchMarkdown,
  runBenchJobs,
  writeBenchResults,
} from '../bench.js'
import type { BenchJob, BenchModel } from '../bench.js'
import { addCommonOptions } from '../common.js'
import type { CommonFlags } from '../common.js'
import type { CliIo } from '../io.js'
import { UsageError } from '../io.js'
import { finite, integerAtLeast, listOf } from '../options.js'
import { ProgressView } from '../progress.js'
import { device } from '../model-flags.js'

interface BenchFlags extends CommonFlags {
  models: string[]
  literal?: boolean
  preset?: keyof typeof presets
  scale: number
  device: string
  iters?: number
  evaluate: boolean
  outputDir: string
  png: boolean
  child?: string
}

/** The `bench` command. */
export function benchCommand(io: CliIo): Command {
  const command = new Command('bench')
    .summary('time GF-CF, EASE and CoRML training side by side (the paper’s Figure 3)')
    .description(
      'Trains each model on each dataset in its own process and reports training time, peak ' +
        'memory, the ADMM loop’s GFLOP/s next to a plain gemm of the same size, and NDCG@20 / ' +
        'MRR@20 on the seeded 60/20/20 split of a file. `ml20m` is a seeded synthetic dataset ' +
        'shaped like ML-20M (136,674 users, 13,680 items, 10M interactions; --scale shrinks it), ' +
        'trained whole with the paper’s ML-20M settings. Writes training.{json,md,svg,png}.',
    )
    .argument('[data...]', 'interaction files, or ml20m', ['ml20m'])
    .option(
      '--models <list>',
      'models to train',
      listOf((m) => m),
      ['gfcf', 'ease', 'corml'],
    )
    .option(
      '--literal',
      'also train corml-literal: CoRML with --admm-solver dense (the ADMM as written: a Cholesky inverse and one dense product per iteration)',
    )
    .addOption(
      new Option('--preset <name>', 'CoRML preset for files (default: library defaults)').choices(
        Object.keys(presets),
      ),
    )
    .option('--scale <s>', 'ml20m: users and items times s, in (0, 1]', finite, 1)
    .option('--device <device>', 'auto, cpu, cuda or cuda:N', 'auto')
    .option('--iters <n>', 'ADMM iterations instead of the preset’s', integerAtLeast(1))
    .option('--no-evaluate', 'skip NDCG / MRR on the held-out parts')
    .option('--output-dir <dir>', 'where the results go', 'corml-bench')
    .option('--no-png', 'write the chart as SVG only')
    .addOption(new Option('--child <job>').hideHelp())
  addCommonOptions(command)
  return command.action(async (data: string[], flags: BenchFlags, self: Command) => {
    if (flags.child !== undefined) {
      // A benchmark child: one measurement back to the parent over IPC.
      const result = await benchChild(JSON.parse(flags.child) as BenchJob)
      await new Promise<void>((done) => process.send?.(result, () => done()) ?? done())
      return
    }
    if (!(flags.scale > 0 && flags.scale <= 1))
      throw new UsageError(`--scale must be in (0, 1], not ${flags.scale}`)
    const models = [...flags.models]
    if (flags.literal && !models.includes('corml-literal')) models.push('corml-literal')
    for (const m of models) {
      if (!(BENCH_MODELS as readonly string[]).includes(m)) {
        throw new UsageError(`unknown model ${JSON.stringify(m)}: use ${BENCH_MODELS.join(', ')}`)
      }
    }
    // An option none of the models uses is refused, as in train and eval.
    const corml = models.some((m) => m === 'corml' || m === 'corml-literal')
    const unused = (flag: string, who: string): UsageError =>
      new UsageError(`${flag} is ${who}, not used by --models ${models.join(',')}`)
    if (flags.preset !== undefined && !corml) throw unused('--preset', 'a CoRML option')
    if (flags.iters !== undefined && !corml) throw unused('--iters', 'a CoRML option')
    if (self.getOptionValueSource('device') === 'cli' && !corml && !models.includes('ease')) {
      throw unused('--device', 'an option of CoRML and EASE')
    }
    const view = new ProgressView(io, ProgressView.modeFor(io, flags.quiet === true))
    const jobs: BenchJob[] = data.flatMap((d) =>
      models.map((model) => ({
        data: d,
        label:
          d === 'ml20m'
            ? flags.scale < 1
              ? `ml20m-shaped ×${flags.scale}`
              : 'ml20m-shaped'
            : basename(d),
        ...(flags.preset ? { preset: flags.preset } : {}),
        scale: flags.scale,
        model: model as BenchModel,
        device: device(flags.device) ?? 'auto',
        ...(flags.iters === undefined ? {} : { iterations: flags.iters }),
        evaluate: flags.evaluate,
      })),
    )
    const rows = await runBenchJobs(jobs, (line) => view.note(line), io.signal)
    const table = benchMarkdown(rows)
    const meta = {
      date: new Date().toISOString(),
      scale: flags.scale,
      device: flags.device,
      node: process.version,
    }
    const out = await writeBenchResults(
      flags.outputDir,
      'training',
      rows,
      meta,
      table,
      benchChart(rows),
      flags.png,
    )
    io.stdout(table)
    if (out.warning) view.note(`warning: ${out.warning}`)
    view.note(`wrote ${out.written.join(', ')}`)
  })
}
