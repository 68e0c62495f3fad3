/**
 * The model options of `train`, `eval`, `tune` and `bench`: which algorithm, the preset, each
 * CoRML hyperparameter (flags, help and grid names from {@link HYPERPARAMETERS}), the baselines'
 * settings, the device and memory; which model uses which option; and fitting with progress.
 *
 * @packageDocumentation
 */

import { Option } from 'commander'
import type { Command } from 'commander'

import type { Dataset } from '../dataset.js'
import { HYPERPARAMETERS, describeRange } from '../hyperparameters.js'
import type { Hyperparameter } from '../hyperparameters.js'
import { CoRML, EASE, GFCF } from '../models.js'
import type { AnyModel, CoRMLHyperparameters, CoRMLOptions, Device, Precision } from '../models.js'
import { presets } from '../presets.js'
import type { CliIo } from './io.js'
import { UsageError } from './io.js'
import { bytes, finite, hyperparameterValue, integerAtLeast } from './options.js'
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

type NumberKeys<T> = {
  [K in keyof T]-?: number extends NonNullable<T[K]> ? K : never
}[keyof T]

/** A numeric CoRML hyperparameter a grid can vary (every one but the SVD seed). */
export type NumericHyperparameter = Exclude<NumberKeys<CoRMLHyperparameters>, 'seed'>

/** `itemDegreeNorm` → `item-degree-norm`. */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
}

/** `svd-seed` → `svdSeed` (commander's key for a flag). */
function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
}

/**
 * Flags named other than their hyperparameter: `--seed` is the split's seed, so the SVD's is
 * `--svd-seed`.
 */
const FLAG_NAMES: Readonly<Record<string, string>> = { seed: 'svd-seed' }

/** Hyperparameters that models other than CoRML use too (under the same flag). */
const SHARED: Readonly<Record<string, readonly AlgorithmName[]>> = { seed: ['corml', 'gfcf'] }

/** A CoRML hyperparameter's command-line flag. */
export interface HyperparameterFlag {
  readonly hyperparameter: Hyperparameter
  /**
   * The flag as typed: `--lambda`, `--item-degree-norm`, `--svd-seed`, and for a boolean whose
   * default is `true`, the flag that turns it off: `--no-sparse-approx`.
   */
  readonly flag: string
  /** Its key in the parsed flags: `lambda`, `itemDegreeNorm`, `svdSeed`, `sparseApprox`. */
  readonly key: string
  /** The models that use it. */
  readonly models: readonly AlgorithmName[]
}

/** One flag per CoRML hyperparameter, in the order of {@link HYPERPARAMETERS}. */
export const HYPERPARAMETER_FLAGS: readonly HyperparameterFlag[] = HYPERPARAMETERS.map((h) => {
  const name = FLAG_NAMES[h.name] ?? kebab(h.name)
  const off = h.kind === 'boolean' && h.default === true
  return {
    hyperparameter: h,
    flag: `--${off ? 'no-' : ''}${name}`,
    key: camel(name),
    models: SHARED[h.name] ?? ['corml'],
  }
})

/**
 * The hyperparameters a grid (`tune --grid`, `eval --sweep`) varies: the numeric ones, but not
 * the SVD seed (picking the seed with the best score would be fitting noise).
 */
export const GRID_HYPERPARAMETERS: readonly Hyperparameter[] = HYPERPARAMETERS.filter(
  (h) => h.kind !== 'boolean' && h.name !== 'seed',
)

/** The hyperparameter called `name` (`itemDegreeNorm`), if there is one. */
export function hyperparameterNamed(name: string): Hyperparameter | undefined {
  return HYPERPARAMETERS.find((h) => h.name === name)
}

/** The parsed model options: CoRML's numeric hyperparameters by their API names, and the rest. */
export type ModelFlags = Partial<Pick<CoRMLHyperparameters, NumericHyperparameter>> & {
  preset?: keyof typeof presets
  sparseApprox?: boolean
  admmSolver?: 'auto' | 'dense' | 'iterative'
  precision?: Precision
  svdSeed?: number
  device?: string
  memoryBudget?: number
  easeRegularization?: number
  gfcfAlpha?: number
  gfcfEigenvectors?: number
}

/** The flags that are not hyperparameters: their flag as typed and the models that use them. */
const OTHER_FLAGS: Readonly<
  Record<string, { readonly flag: string; readonly models: readonly AlgorithmName[] }>
> = {
  preset: { flag: '--preset', models: ['corml'] },
  admmSolver: { flag: '--admm-solver', models: ['corml'] },
  precision: { flag: '--precision', models: ['corml'] },
  device: { flag: '--device', models: ['corml', 'ease'] },
  memoryBudget: { flag: '--memory-budget', models: ['corml', 'ease'] },
  easeRegularization: { flag: '--ease-regularization', models: ['ease'] },
  gfcfAlpha: { flag: '--gfcf-alpha', models: ['gfcf'] },
  gfcfEigenvectors: { flag: '--gfcf-eigenvectors', models: ['gfcf'] },
}

/** `CoRML`, `CoRML and EASE`. */
function displayList(models: readonly AlgorithmName[]): string {
  const names = models.map((m) => DISPLAY[m])
  return names.length <= 1
    ? (names[0] ?? '')
    : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`
}

/** The help line of a hyperparameter's flag: who uses it, symbol, doc, range and default. */
function hyperparameterHelp(f: HyperparameterFlag): string {
  const h = f.hyperparameter
  const who = displayList(f.models)
  const symbol = h.symbol === '' ? '' : ` ${h.symbol}`
  if (h.kind === 'boolean') {
    const value = f.flag.startsWith('--no-') ? false : true
    return `${who} ${h.name} = ${value} (default ${h.default}: ${h.doc})`
  }
  return `${who}${symbol}: ${h.doc}; ${describeRange(h)} (default ${h.default})`
}

/** Adds the model options (all optional; the preset fills in CoRML's). */
export function addModelOptions(command: Command): Command {
  command.addOption(
    new Option(
      '--preset <name>',
      'CoRML settings of the paper’s Table 2 (default: the library defaults)',
    ).choices(Object.keys(presets)),
  )
  for (const f of HYPERPARAMETER_FLAGS) {
    const h = f.hyperparameter
    if (h.kind === 'boolean') {
      command.option(f.flag, hyperparameterHelp(f))
    } else {
      command.option(
        `${f.flag} <${h.kind === 'integer' ? 'n' : 'x'}>`,
        hyperparameterHelp(f),
        hyperparameterValue(h),
      )
    }
  }
  return command
    .addOption(
      new Option('--admm-solver <solver>', 'CoRML ADMM solver on the CPU (default auto)').choices([
        'auto',
        'dense',
        'iterative',
      ]),
    )
    .addOption(
      new Option(
        '--precision <precision>',
        'CoRML: arithmetic of the large products on a GPU, fp32 or tf32 (tensor cores: faster, ' +
          'less accurate; the CPU always computes fp32) (default fp32)',
      ).choices(['fp32', 'tf32']),
    )
    .option('--device <device>', 'CoRML and EASE: auto, cpu, cuda or cuda:N (default auto)')
    .option(
      '--memory-budget <bytes>',
      'CoRML and EASE: bytes the dense work may use, e.g. 8GiB, 512MiB, 8GB, 4g ' +
        '(default: the memory free on the device)',
      bytes,
    )
    .option('--ease-regularization <x>', 'EASE: l2 regularization, > 0 (default 250)', finite)
    .option(
      '--gfcf-alpha <x>',
      'GF-CF: weight of the ideal low-pass filter, ≥ 0 (default 0.3)',
      finite,
    )
    .option(
      '--gfcf-eigenvectors <n>',
      'GF-CF: rank of the low-pass filter; an integer ≥ 1 (default 256)',
      integerAtLeast(1),
    )
}

/** Hints for an option given to a model that has its own option for the same thing. */
const INSTEAD: Readonly<Record<string, Partial<Record<AlgorithmName, string>>>> = {
  eigenvectors: { gfcf: 'GF-CF’s rank is --gfcf-eigenvectors' },
  gfcfEigenvectors: { corml: 'CoRML’s rank is --eigenvectors' },
}

/**
 * Refuses a model option that none of `models` uses (a `UsageError` saying which models use it),
 * instead of ignoring it. `by` names what was asked for: `--model gfcf`, `corml tune`.
 */
export function checkModelFlags(
  flags: ModelFlags,
  models: readonly AlgorithmName[],
  by: string,
): void {
  const values = flags as Record<string, unknown>
  const given: { key: string; flag: string; models: readonly AlgorithmName[] }[] = [
    ...Object.entries(OTHER_FLAGS)
      .filter(([key]) => values[key] !== undefined)
      .map(([key, o]) => ({ key, ...o })),
    ...HYPERPARAMETER_FLAGS.filter((f) =>
      f.hyperparameter.kind === 'boolean'
        ? values[f.key] !== undefined && values[f.key] !== f.hyperparameter.default
        : values[f.key] !== undefined,
    ),
  ]
  for (const option of given) {
    if (option.models.some((m) => models.includes(m))) continue
    const instead = models.map((m) => INSTEAD[option.key]?.[m]).find((x) => x !== undefined)
    const users = displayList(option.models)
    const what =
      option.models.length > 1
        ? `an option of ${users}`
        : `${/^[AEIOU]/.test(users) ? 'an' : 'a'} ${users} option`
    throw new UsageError(
      `${option.flag} is ${what}, not used by ${by}${instead ? `; ${instead}` : ''}`,
    )
  }
}

/** The models `--model` names (`all`: every one). */
export function modelsOf(model: AlgorithmName | 'all'): AlgorithmName[] {
  return model === 'all' ? ['gfcf', 'ease', 'corml'] : [model]
}

/** Checks a `--device` value. */
export function device(text: string | undefined): Device | undefined {
  if (text === undefined) return undefined
  if (text === 'auto' || text === 'cpu' || text === 'cuda' || /^cuda:\d+$/.test(text)) {
    return text as Device
  }
  throw new UsageError(`--device must be auto, cpu, cuda or cuda:N, not ${JSON.stringify(text)}`)
}

/**
 * CoRML's options for the flags: the preset, then each hyperparameter given, then `overrides`;
 * and the solver, precision, device and memory budget.
 */
export function cormlOptions(
  flags: ModelFlags,
  overrides: Partial<Record<NumericHyperparameter, number>> = {},
): CoRMLOptions {
  const options: Record<string, unknown> = { ...(flags.preset ? presets[flags.preset] : {}) }
  const values = flags as Record<string, unknown>
  for (const f of HYPERPARAMETER_FLAGS) {
    const h = f.hyperparameter
    const value = (overrides as Record<string, number | undefined>)[h.name] ?? values[f.key]
    // A boolean flag is given when it differs from the default (commander sets `--no-x` to true).
    if (value !== undefined && !(h.kind === 'boolean' && value === h.default)) {
      options[h.name] = value
    }
  }
  if (flags.admmSolver !== undefined) options.admmSolver = flags.admmSolver
  if (flags.precision !== undefined) options.precision = flags.precision
  const d = device(flags.device)
  if (d !== undefined) options.device = d
  if (flags.memoryBudget !== undefined) options.memoryBudget = flags.memoryBudget
  return options as CoRMLOptions
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
        ...(flags.memoryBudget === undefined ? {} : { memoryBudget: flags.memoryBudget }),
        onProgress,
        signal,
      })
    }
    return GFCF.fit(train, {
      ...(flags.gfcfAlpha === undefined ? {} : { alpha: flags.gfcfAlpha }),
      ...(flags.gfcfEigenvectors === undefined ? {} : { eigenvectors: flags.gfcfEigenvectors }),
      ...(flags.svdSeed === undefined ? {} : { seed: flags.svdSeed }),
      onProgress,
      signal,
    })
  })
}
