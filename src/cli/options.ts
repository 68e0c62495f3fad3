/**
 * Parsers of option values for commander: each turns the text into a checked value or throws
 * `InvalidArgumentError`, which the CLI prints as a usage error (exit code 2).
 *
 * @packageDocumentation
 */

import { InvalidArgumentError } from 'commander'

import { describeRange, inRange } from '../hyperparameters.js'
import type { Hyperparameter } from '../hyperparameters.js'

/** A finite number. */
export function finite(text: string): number {
  const x = Number(text)
  if (text.trim() === '' || !Number.isFinite(x)) {
    throw new InvalidArgumentError('it must be a finite number.')
  }
  return x
}

/** A parser of integers ≥ `min`. */
export function integerAtLeast(min: number): (text: string) => number {
  return (text: string) => {
    const x = Number(text)
    if (!/^\s*[+-]?\d+\s*$/.test(text) || !Number.isSafeInteger(x) || x < min) {
      throw new InvalidArgumentError(`it must be an integer ≥ ${min}.`)
    }
    return x
  }
}

/**
 * A parser of a numeric hyperparameter's values: a finite number (an integer for an integer
 * hyperparameter) in its range, as {@link describeRange} writes it, or `auto` where the
 * hyperparameter takes it.
 */
export function hyperparameterValue(h: Hyperparameter): (text: string) => number | 'auto' {
  const allowed = `it must be ${describeRange(h)}.`
  return (text: string) => {
    if (h.auto && text.trim() === 'auto') return 'auto'
    const x = Number(text)
    if (text.trim() === '' || !Number.isFinite(x)) {
      throw new InvalidArgumentError(h.kind === 'integer' ? allowed : 'it must be a finite number.')
    }
    if (h.kind === 'integer' && !/^\s*[+-]?\d+\s*$/.test(text)) {
      throw new InvalidArgumentError(allowed)
    }
    if (!inRange(h, x)) throw new InvalidArgumentError(allowed)
    return x
  }
}

/** Bytes per unit of {@link bytes}: `k` to `t` and `KiB` to `TiB` are powers of 1024. */
const BYTE_UNITS: Readonly<Record<string, bigint>> = {
  '': 1n,
  b: 1n,
  k: 1n << 10n,
  kib: 1n << 10n,
  kb: 10n ** 3n,
  m: 1n << 20n,
  mib: 1n << 20n,
  mb: 10n ** 6n,
  g: 1n << 30n,
  gib: 1n << 30n,
  gb: 10n ** 9n,
  t: 1n << 40n,
  tib: 1n << 40n,
  tb: 10n ** 12n,
}

/**
 * A size in bytes: a plain number (`1073741824`), or a number and a unit, case-insensitive:
 * `512MiB`, `8GiB`, `1.5g` (powers of 1024: `k`, `m`, `g`, `t`, `KiB` … `TiB`) or `8GB`,
 * `500MB` (powers of 1000: `kB` … `TB`). It must come to a whole number of bytes ≥ 1.
 */
export function bytes(text: string): number {
  const m = /^\s*(\d+)(?:\.(\d+))?\s*([a-z]*)\s*$/i.exec(text)
  const unit = m ? BYTE_UNITS[m[3]!.toLowerCase()] : undefined
  if (!m || unit === undefined) {
    throw new InvalidArgumentError(
      'it must be a number of bytes, with or without a unit: 1073741824, 512MiB, 8GiB, 8GB, 4g.',
    )
  }
  const fraction = m[2] ?? ''
  const scaled = BigInt(`${m[1]}${fraction}`) * unit
  const denominator = 10n ** BigInt(fraction.length)
  const n = Number(scaled / denominator)
  if (scaled % denominator !== 0n || n < 1 || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(
      `it must come to a whole number of bytes from 1 to ${Number.MAX_SAFE_INTEGER}.`,
    )
  }
  return n
}

/** A comma-separated list of at least one value, each parsed by `item`. */
export function listOf<T>(item: (text: string) => T): (text: string) => T[] {
  return (text: string) => {
    const parts = text.split(',').map((x) => x.trim())
    if (parts.length === 0 || parts.some((x) => x === '')) {
      throw new InvalidArgumentError('it must be a comma-separated list with no empty entries.')
    }
    return parts.map(item)
  }
}

/** A column: a 0-based index (digits only) or a header name. */
export function column(text: string): string | number {
  if (text.trim() === '') throw new InvalidArgumentError('it must be a column name or index.')
  return /^\d+$/.test(text) ? Number(text) : text
}

/** One ASCII character (a field separator); `\t` and `tab` mean a tab. */
export function delimiter(text: string): string {
  const d = text === '\\t' || text.toLowerCase() === 'tab' ? '\t' : text
  if (d.length !== 1 || d.charCodeAt(0) > 127) {
    throw new InvalidArgumentError('it must be one ASCII character (or `tab`).')
  }
  return d
}

/** Adds `value` to the list (for options given more than once). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}
