/**
 * Parsers of option values for commander: each turns the text into a checked value or throws
 * `InvalidArgumentError`, which the CLI prints as a usage error (exit code 2).
 *
 * @packageDocumentation
 */

import { InvalidArgumentError } from 'commander'

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
