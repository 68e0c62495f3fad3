/**
 * Argument checks for callers from plain JavaScript, where the types of the public API are not
 * enforced. Each failure is a {@link CormlError} with code `INVALID_ARGUMENT`.
 *
 * Range checks of hyperparameters stay in the native core (one source of truth); here we only
 * make sure that what reaches the binding has the right JavaScript type, because the binding's
 * own conversion would otherwise turn `null` into "use the default" or throw napi's codes.
 *
 * @internal
 * @packageDocumentation
 */

import { CormlError } from './errors.js'

/** An `INVALID_ARGUMENT` error. */
export function invalid(message: string): CormlError {
  return new CormlError('INVALID_ARGUMENT', message)
}

/** A short rendering of a value for messages. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'function') return 'a function'
  if (Array.isArray(value)) return 'an array'
  if (value === null) return 'null'
  if (typeof value === 'object') return 'an object'
  return String(value)
}

/** An options bag: `undefined` (all defaults) or a plain object whose keys are all in `allowed`. */
export function optionsObject(
  value: unknown,
  name: string,
  allowed: readonly string[],
): Record<string, unknown> {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`${name} must be an object, not ${show(value)}`)
  }
  const record = value as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) {
      throw invalid(
        `${name} has an unknown option \`${key}\`; the options are: ${allowed.join(', ')}`,
      )
    }
  }
  return record
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

/** A string option. */
export function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw invalid(`${name} must be a string, not ${show(value)}`)
  return value
}

/** A non-empty string (an id or a path). */
export function nonEmptyString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw invalid(`${name} must be a non-empty string, not ${show(value)}`)
  }
  return value
}

/** An array of id strings (a copy, so later changes by the caller do not matter). */
export function idList(value: unknown, name: string): string[] {
  if (!Array.isArray(value))
    throw invalid(`${name} must be an array of id strings, not ${show(value)}`)
  return value.map((id: unknown, i) => {
    if (typeof id !== 'string') {
      throw invalid(`${name}[${i}] must be an id string, not ${show(id)} (ids are strings)`)
    }
    return id
  })
}

/** An optional array of id strings. */
export function optionalIdList(value: unknown, name: string): string[] | undefined {
  return value === undefined ? undefined : idList(value, name)
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

/** An optional `AbortSignal`. */
export function optionalSignal(value: unknown, name: string): AbortSignal | undefined {
  if (value === undefined) return undefined
  if (!(value instanceof AbortSignal)) {
    throw invalid(`${name} must be an AbortSignal, not ${show(value)}`)
  }
  return value
}
