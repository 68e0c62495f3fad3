/**
 * The model options of `train`, `eval`, `tune` and `bench`: which algorithm, the preset, each
 * CoRML hyperparameter, the baselines' settings and the device; and fitting with progress.
 *
 * @packageDocumentation
 */

import { Option } from 'commander'
import type { Command } from 'commander'

import type { Dataset } from '../dataset.js'
import { CoRML, EASE, GFCF } from '../models.js'
import type { AnyModel, CoRMLHyperparameters, CoRMLOptions, Device } from '../models.js'
import { presets } from '../presets.js'
import type { CliIo } from './io.js'
import { UsageError } from './io.js'
import { finite, integerAtLeast } from './options.js'
import type { ProgressView } from './progress.js'

/** The algorithms the CLI trains. */
export const ALGORITHMS = ['corml', 'ease', 'gfcf'] as const
/** One of {@link ALGORITHMS}. */
export type AlgorithmName = (typeof ALGORITHMS)[number]
/** Display names. */
export const DISPLAY: Readonly<Record<AlgorithmName, string>> = {
  corml: 'CoRML',
  ease: 'EASE',
  gfcf: 'GF-CF',
}

/** CoRML hyperparameters that take a number, by option name, and whether each is an integer. */
export const NUMERIC_HYPERPARAMETERS = {
  lambda: false,
  dualStepLength: false,
  l2Regularization: false,
  itemDegreeNorm: false,
  globalScaling: false,
  userScaling: false,
  eigenvectors: true,
  admmIterations: true,
  partitionRatio: false,
} as const
/** A numeric CoRML hyperparameter. */
export type NumericHyperparameter = keyof typeof NUMERIC_HYPERPARAMETERS

/** `itemDegreeNorm` → `item-degree-norm`. */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
}

/** The parsed model options: CoRML's numeric hyperparameters by their API names, and the rest. */
export type ModelFlags = Partial<Pick<CoRMLHyperparameters, NumericHyperparameter>> & {
  preset?: keyof typeof presets
  sparseApprox?: boolean
  admmSolver?: 'auto' | 'dense' | 'iterative'
  svdSeed?: number
  device?: string
  easeRegularization?: number
  gfcfAlpha?: number
}

const HELP: Readonly<Record<NumericHyperparameter, string>> = {
  lambda: 'CoRML λ: weight between the metric part H and the graph part G, in (0, 1]',
  dualStepLength: 'CoRML ρ: ADMM penalty / step, > 0',
  l2Regularization: 'CoRML θ: l2 weight on H, ≥ 0',
  itemDegreeNorm: 'CoRML t: item degree normalization in [-2, 2]; lower favours novel items',
  globalScaling: 'CoRML log10 ε: global scale of the ranking weights',
  userScaling: 'CoRML t_u: user-degree scaling of the ranking weights',
  eigenvectors: 'CoRML k: rank of the SVD behind G',
  admmIterations: 'CoRML ADMM iterations',
  partitionRatio: 'CoRML: largest item part as a share of all items, in (0, 1]',
}

/** Adds the model options (all optional; the preset fills in CoRML's). */
export function addModelOptions(command: Command): Command {
  command.addOption(
    new Option(
      '--preset <name>',
      'CoRML settings of the paper’s Table 2 (default: the library defaults)',
    ).choices(Object.keys(presets)),
  )
  for (const [name, integer] of Object.entries(NUMERIC_HYPERPARAMETERS)) {
    command.option(
      `--${kebab(name)} <${integer ? 'n' : 'x'}>`,
      HELP[name as NumericHyperparameter],
      integer ? integerAtLeast(1) : finite,
    )
  }
  return command
    .option('--no-sparse-approx', 'CoRML: keep all of H (no pruning to the budget of a 64-dim MF)')
    .addOption(
      new Option('--admm-solver <solver>', 'CoRML ADMM solver').choices([
        'auto',
        'dense',
        'iterative',
      ]),
    )
    .option(
      '--svd-seed <n>',
      'seed of the randomized SVDs (CoRML, GF-CF; default 2026)',
      integerAtLeast(0),
    )
    .option('--device <device>', 'auto, cpu, cuda or cuda:N (CoRML and EASE; default auto)')
    .option('--ease-regularization <x>', 'EASE l2 regularization, > 0 (default 250)', finite)
    .option(
      '--gfcf-alpha <x>',
      'GF-CF weight of the ideal low-pass filter, ≥ 0 (default 0.3)',
      finite,
    )
}

/** Checks a `--device` value. */
export function device(text: string | undefined): Device | undefined {
  if (text === undefined) return undefined
  if (text === 'auto' || text === 'cpu' || text === 'cuda' || /^cuda:\d+$/.test(text)) {
    return text as Device
  }
  throw new UsageError(`--device must be auto, cpu, cuda or cuda:N, not ${JSON.stringify(text)}`)
}

/** CoRML's options for the flags: the preset, then each hyperparameter given, then `overrides`. */
export function cormlOptions(
  flags: ModelFlags,
  overrides: Partial<Record<NumericHyperparameter, number>> = {},
): CoRMLOptions {
  const options: CoRMLOptions = { ...(flags.preset ? presets[flags.preset] : {}) }
  for (const name of Object.keys(NUMERIC_HYPERPARAMETERS) as NumericHyperparameter[]) {
    const value = overrides[name] ?? flags[name]
    if (value !== undefined) options[name] = value
  }
  if (flags.sparseApprox === false) options.sparseApprox = false
  if (flags.admmSolver !== undefined) options.admmSolver = flags.admmSolver
  if (flags.svdSeed !== undefined) options.seed = flags.svdSeed
  const d = device(flags.device)
  if (d !== undefined) options.device = d
  return options
}

/** Trains one algorithm on `train`, showing progress; Ctrl-C aborts it. */
export async function fitModel(
  algorithm: AlgorithmName,
  train: Dataset,
  flags: ModelFlags,
  view: ProgressView,
  io: CliIo,
  overrides: Partial<Record<NumericHyperparameter, number>> = {},
): Promise<AnyModel> {
  const label = `training ${DISPLAY[algorithm]}`
  return view.task(label, (onProgress) => {
    const signal = io.signal
    if (algorithm === 'corml') {
      return CoRML.fit(train, { ...cormlOptions(flags, overrides), onProgress, signal })
    }
    if (algorithm === 'ease') {
      const d = device(flags.device)
      return EASE.fit(train, {
        ...(flags.easeRegularization === undefined
          ? {}
          : { regularization: flags.easeRegularization }),
        ...(d === undefined ? {} : { device: d }),
        onProgress,
        signal,
      })
    }
    return GFCF.fit(train, {
      ...(flags.gfcfAlpha === undefined ? {} : { alpha: flags.gfcfAlpha }),
      ...(flags.svdSeed === undefined ? {} : { seed: flags.svdSeed }),
      onProgress,
      signal,
    })
  })
}
