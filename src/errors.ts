/**
 * The errors corml-native throws: every one carries a string `code`.
 *
 * @packageDocumentation
 */

/**
 * The `code` carried by every error corml-native throws or rejects with.
 *
 * | code | meaning |
 * | --- | --- |
 * | `INVALID_ARGUMENT` | an argument or option is of the wrong type or out of range |
 * | `EMPTY_DATA` | there is nothing to train or evaluate on |
 * | `PARSE_ERROR` | a data file could not be parsed (the message names `file:line`) |
 * | `IO_ERROR` | a file could not be opened or read |
 * | `UNKNOWN_USER` | a user id is not in the training data |
 * | `UNKNOWN_ITEM` | an item id is not in the training data |
 * | `ABORTED` | the work was cancelled through its `AbortSignal` |
 * | `OUT_OF_MEMORY` | a step does not fit the host's memory (the message says what would) |
 * | `OUT_OF_DEVICE_MEMORY` | a step does not fit the GPU's memory (the message says what would) |
 * | `CUDA_UNAVAILABLE` | CUDA was requested explicitly but cannot be used (the message says why) |
 * | `CUDA_ERROR` | a CUDA library call failed while the work ran on the GPU |
 * | `NUMERICAL_ERROR` | a numerical step failed, e.g. a matrix that should be positive definite is not |
 * | `INVALID_MODEL_FILE` | a model file or buffer is not a model, or is truncated or corrupted |
 * | `UNSUPPORTED_MODEL_VERSION` | a model file is in another version's format (the message says whether to upgrade or to train again) |
 * | `OVERLOADED` | a {@link ModelServer}'s queue is full: retry later, or add capacity |
 * | `NATIVE_BINDING_UNAVAILABLE` | no native binary loads on this platform (thrown when the package is imported) |
 * | `INTERNAL` | a bug: please report it |
 *
 * @example
 * ```ts
 * function explain(code: CormlErrorCode): string {
 *   return code === 'OUT_OF_MEMORY' ? 'try a smaller partitionRatio' : code
 * }
 * ```
 */
export type CormlErrorCode = (typeof ERROR_CODES)[number]

/**
 * Every {@link CormlErrorCode}, in the order of the README's table: the one list of codes (a test
 * checks it against the native core's and the README's).
 *
 * @example
 * ```ts
 * import { ERROR_CODES } from 'corml-native'
 * const known = new Set<string>(ERROR_CODES)
 * ```
 */
export const ERROR_CODES = Object.freeze([
  'INVALID_ARGUMENT',
  'EMPTY_DATA',
  'PARSE_ERROR',
  'IO_ERROR',
  'UNKNOWN_USER',
  'UNKNOWN_ITEM',
  'ABORTED',
  'OUT_OF_MEMORY',
  'OUT_OF_DEVICE_MEMORY',
  'CUDA_UNAVAILABLE',
  'CUDA_ERROR',
  'NUMERICAL_ERROR',
  'INVALID_MODEL_FILE',
  'UNSUPPORTED_MODEL_VERSION',
  'OVERLOADED',
  'NATIVE_BINDING_UNAVAILABLE',
  'INTERNAL',
] as const)

const CODES: ReadonlySet<string> = new Set<string>(ERROR_CODES)

/**
 * Every error corml-native throws or rejects with, from the TypeScript layer (argument checks,
 * aborts before the work starts) or from the native core: match on `code` (or use
 * {@link isCormlError}, which also recognises errors of another copy of the package).
 *
 * @example
 * ```ts
 * try {
 *   model.recommend('user-42', { k: 0 })
 * } catch (e) {
 *   if (e instanceof CormlError && e.code === 'INVALID_ARGUMENT') console.error(e.message)
 * }
 * ```
 */
export class CormlError extends Error {
  /** What went wrong, as a stable string. */
  readonly code: CormlErrorCode

  /**
   * @param code - the error's code
   * @param message - what went wrong, with the values involved
   * @param options - `cause`, as for `Error`
   */
  constructor(code: CormlErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}
// On the prototype, so that native errors given this prototype (see `coded`) are named too.
Object.defineProperty(CormlError.prototype, 'name', {
  value: 'CormlError',
  writable: true,
  configurable: true,
})

/**
 * `error` as a {@link CormlError} when it carries one of our codes (errors of the native layer
 * are plain `Error`s: they get the class's prototype, keeping their message and stack);
 * anything else unchanged.
 *
 * @internal
 */
export function coded(error: unknown): unknown {
  if (error instanceof Error && !(error instanceof CormlError) && isCormlError(error)) {
    Object.setPrototypeOf(error, CormlError.prototype)
  }
  return error
}

/**
 * Runs a native call, turning the errors it throws into {@link CormlError}s.
 *
 * @internal
 */
export function native<T>(call: () => T): T {
  try {
    return call()
  } catch (error) {
    throw coded(error)
  }
}

/**
 * Awaits a native promise, turning its rejection into a {@link CormlError}.
 *
 * @internal
 */
export async function nativeAsync<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise
  } catch (error) {
    throw coded(error)
  }
}

/**
 * True when `e` is an `Error` thrown by corml-native (native or TypeScript layer), narrowing
 * its `code`.
 *
 * @example
 * ```ts
 * try {
 *   await CoRML.fit(train, { device: 'cuda' })
 * } catch (e) {
 *   if (isCormlError(e) && e.code === 'CUDA_UNAVAILABLE') {
 *     // fall back to the CPU
 *   }
 * }
 * ```
 */
export function isCormlError(e: unknown): e is Error & { code: CormlErrorCode } {
  if (!(e instanceof Error)) return false
  const code: unknown = (e as Error & { code?: unknown }).code
  return typeof code === 'string' && CODES.has(code)
}
