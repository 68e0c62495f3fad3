/**
 * CoRML's hyperparameters as one list: name, kind, range, default and a one-line description.
 * The list is the native core's (which checks every value against it); the facade's argument
 * checks and the `corml` command's flags and help are derived from it.
 *
 * @packageDocumentation
 */

import { cormlHyperparameters } from './native/index.cjs'

/**
 * One CoRML hyperparameter.
 *
 * @example
 * ```ts
 * import { HYPERPARAMETERS } from 'corml-native'
 *
 * for (const h of HYPERPARAMETERS) console.log(`${h.name}: ${h.range}, default ${h.default}`)
 * ```
 */
export interface Hyperparameter {
  /** The option name, as in `CoRML.fit(train, { lambda: 0.8 })`. */
  readonly name: string
  /** The paper's symbol (`λ`), or `''` when it has none. */
  readonly symbol: string
  /** `'real'` (a finite number), `'integer'` or `'boolean'`. */
  readonly kind: 'real' | 'integer' | 'boolean'
  /** The lower bound (`-Infinity` when there is none; unused for booleans). */
  readonly min: number
  /** Whether `min` itself is allowed. */
  readonly minInclusive: boolean
  /** The upper bound (`Infinity` when there is none; unused for booleans). */
  readonly max: number
  /** Whether `max` itself is allowed. */
  readonly maxInclusive: boolean
  /** Whether it also takes `'auto'` (chosen from the data and the machine at fit time). */
  readonly auto: boolean
  /** The default value: `'auto'` where {@link Hyperparameter.auto}. */
  readonly default: number | boolean | 'auto'
  /** The allowed values in words: `in (0, 1]`, `> 0`, `an integer in [1, 4096]`. */
  readonly range: string
  /** What it does, in one line. */
  readonly doc: string
}

const KINDS = ['real', 'integer', 'boolean'] as const

/** CoRML's hyperparameters, in the order of the documentation (frozen). */
export const HYPERPARAMETERS: readonly Hyperparameter[] = Object.freeze(
  cormlHyperparameters().map((h): Hyperparameter => {
    const kind = KINDS.find((k) => k === h.kind)
    if (kind === undefined) throw new Error(`corml-native: unknown hyperparameter kind ${h.kind}`)
    return Object.freeze({
      name: h.name,
      symbol: h.symbol,
      kind,
      min: h.min,
      minInclusive: h.minInclusive,
      max: h.max,
      maxInclusive: h.maxInclusive,
      auto: h.auto,
      default: h.auto ? 'auto' : kind === 'boolean' ? h.defaultValue !== 0 : h.defaultValue,
      range: h.range,
      doc: h.doc,
    })
  }),
)

/** `in (0, 1]`, `≥ 0`, `> 0`, `an integer in [1, 4096]`: the allowed values of `h`, for messages. */
export function describeRange(h: Hyperparameter): string {
  return h.range
}

/** Whether `value` is allowed for `h`: its kind and its range. */
export function inRange(h: Hyperparameter, value: unknown): boolean {
  if (h.auto && value === 'auto') return true
  if (h.kind === 'boolean') return typeof value === 'boolean'
  if (typeof value !== 'number' || !Number.isFinite(value)) return false
  if (h.kind === 'integer' && !Number.isSafeInteger(value)) return false
  const above = h.minInclusive ? value >= h.min : value > h.min
  const below = h.maxInclusive ? value <= h.max : value < h.max
  return above && below
}
