/**
 * Argument checks for callers from plain JavaScript, where the types of the public API are not
 * enforced. Each failure is a {@link CormlError} with code `INVALID_ARGUMENT`.
 *
 * What reaches the binding has the right JavaScript type, because the binding's own conversion
 * would otherwise turn `null` into "use the default" or throw napi's codes; it is a copy (own
 * properties only, arrays read by index), so neither a polluted prototype nor a `Proxy` reaches
 * native code; and every string is well-formed UTF-16. CoRML's hyperparameter ranges come from
 * the native core's own list (`HYPERPARAMETERS`), so both layers check the same thing.
 *
 * @internal
 * @packageDocumentation
 */

import { CormlError } from './errors.js'
import type { AbortSignalLike } from './job.js'

/** An `INVALID_ARGUMENT` error. */
export function invalid(message: string): CormlError {
  return new CormlError('INVALID_ARGUMENT', message)
}

/**
 * `Array.isArray`, which throws a `TypeError` for a revoked `Proxy`: that is an
 * `INVALID_ARGUMENT` here, like any other value that cannot be read.
 */
export function isArray(value: unknown): value is unknown[] {
  try {
    return Array.isArray(value)
  } catch {
    throw invalid('a revoked Proxy was passed: it can no longer be read')
  }
}

/** A short rendering of a value for messages. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'function') return 'a function'
  if (value === null) return 'null'
  if (typeof value === 'object') {
    try {
      return Array.isArray(value) ? 'an array' : 'an object'
    } catch {
      return 'a revoked Proxy'
    }
  }
  return String(value)
}

/**
 * An options bag: `undefined` (all defaults) or an object whose own enumerable keys are all in
 * `allowed`. Returns a copy without a prototype holding only those own properties, read once: a
 * property inherited from `Object.prototype` (say, a polluted `k`) never counts, and neither do
 * later changes by the caller.
 */
export function optionsObject(
  value: unknown,
  name: string,
  allowed: readonly string[],
): Record<string, unknown> {
  const copy: Record<string, unknown> = Object.create(null) as Record<string, unknown>
  if (value === undefined) return copy
  if (typeof value !== 'object' || value === null || isArray(value)) {
    throw invalid(`${name} must be an object, not ${show(value)}`)
  }
  const record = value as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) {
      throw invalid(
        `${name} has an unknown option \`${key}\`; the options are: ${allowed.join(', ')}`,
      )
    }
    copy[key] = record[key]
  }
  return copy
}

/**
 * An empty object without a prototype, for options handed to the native layer: the binding reads
 * a missing option through the prototype chain, so a polluted `Object.prototype` must not be in
 * it.
 */
export function bag<T>(): T {
  return Object.create(null) as T
}

/** The own property `key` of an object (`undefined` when it is only inherited or absent). */
export function own(value: object, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined
}

/** A number option (`undefined` keeps the default). Its range is checked natively. */
export function optionalNumber(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number') throw invalid(`${name} must be a number, not ${show(value)}`)
  return value
}

/** An integer ≥ `min`, at most `Number.MAX_SAFE_INTEGER`. */
export function integer(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalid(`${name} must be an integer ≥ ${min}, not ${show(value)}`)
  }
  return value
}

/** An optional integer option. */
export function optionalInteger(value: unknown, name: string, min: number): number | undefined {
  return value === undefined ? undefined : integer(value, name, min)
}

/** A boolean option. */
export function optionalBoolean(value: unknown, name: string): boolean | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'boolean') throw invalid(`${name} must be a boolean, not ${show(value)}`)
  return value
}

const LONE_SURROGATE = /\p{Surrogate}/u
const isWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed

/** Whether `text` is well-formed UTF-16: no lone surrogate (which the native layer cannot keep). */
export function wellFormed(text: string): boolean {
  // The built-in (Node ≥ 20) is about twice as fast as the regular expression.
  return isWellFormed === undefined ? !LONE_SURROGATE.test(text) : isWellFormed.call(text)
}

function checkedString(value: string, name: string): string {
  if (!wellFormed(value)) {
    throw invalid(
      `${name} is not well-formed UTF-16: ${JSON.stringify(value)} holds a lone surrogate ` +
        '(half of a character, e.g. from a string cut in the middle of an emoji)',
    )
  }
  return value
}

/** A string option (well-formed UTF-16). */
export function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw invalid(`${name} must be a string, not ${show(value)}`)
  return checkedString(value, name)
}

/** A non-empty, well-formed string (an id or a path). */
export function nonEmptyString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw invalid(`${name} must be a non-empty string, not ${show(value)}`)
  }
  return checkedString(value, name)
}

/**
 * A copy of an array (or of an array-like `Proxy` of one, as reactive frameworks pass them),
 * read by index, each element checked by `element`. A hole of a sparse array is an error, not an
 * `undefined` to pass on.
 */
export function arrayOf<T>(
  value: unknown,
  name: string,
  what: string,
  element: (item: unknown, name: string) => T,
): T[] {
  if (!Array.isArray(value))
    throw invalid(`${name} must be an array of ${what}, not ${show(value)}`)
  const array = value as readonly unknown[]
  const length = array.length
  const out: T[] = new Array<T>(length)
  for (let i = 0; i < length; i++) {
    if (!Object.prototype.hasOwnProperty.call(array, i)) {
      throw invalid(`${name}[${i}] is missing: ${name} is a sparse array with a hole there`)
    }
    out[i] = element(array[i], `${name}[${i}]`)
  }
  return out
}

/**
 * An id in a list: a well-formed string (an empty one is simply an id no model knows), or a
 * finite number, read as the string JavaScript writes for it (`42` → `'42'`).
 */
function idString(id: unknown, name: string): string {
  if (typeof id === 'number' && Number.isFinite(id)) return String(id)
  if (typeof id !== 'string') {
    throw invalid(`${name} must be an id (a string or a finite number), not ${show(id)}`)
  }
  return checkedString(id, name)
}

/** A single id: a non-empty, well-formed string or a finite number (as a string). */
export function id(value: unknown, name: string): string {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  if (typeof value !== 'string' || value.length === 0) {
    throw invalid(`${name} must be a non-empty id string or a finite number, not ${show(value)}`)
  }
  return checkedString(value, name)
}

/** An array of ids, as strings (a copy, so later changes by the caller do not matter). */
export function idList(value: unknown, name: string): string[] {
  return arrayOf(value, name, 'ids', idString)
}

/** An optional array of id strings. */
export function optionalIdList(value: unknown, name: string): string[] | undefined {
  return value === undefined ? undefined : idList(value, name)
}

/** An array of finite numbers (a copy). */
export function numberList(value: unknown, name: string): number[] {
  return arrayOf(value, name, 'numbers', (x, n) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      throw invalid(`${n} must be a finite number, not ${show(x)}`)
    }
    return x
  })
}

/** An optional callback. */
export function optionalFunction<F extends (...args: never[]) => unknown>(
  value: unknown,
  name: string,
): F | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'function') throw invalid(`${name} must be a function, not ${show(value)}`)
  return value as F
}

/**
 * An optional `AbortSignal`: checked by its shape, so that one of a polyfill or another realm
 * works as well as Node's own.
 */
export function optionalSignal(value: unknown, name: string): AbortSignalLike | undefined {
  if (value === undefined) return undefined
  const signal = value as Partial<Record<keyof AbortSignalLike, unknown>> | null
  if (
    typeof signal !== 'object' ||
    signal === null ||
    typeof signal.aborted !== 'boolean' ||
    typeof signal.addEventListener !== 'function' ||
    typeof signal.removeEventListener !== 'function'
  ) {
    throw invalid(`${name} must be an AbortSignal, not ${show(value)}`)
  }
  return value as AbortSignalLike
}
