/**
 * The plumbing of long native work: `AbortSignal` → `CancelToken`, and progress delivery.
 *
 * @internal
 * @packageDocumentation
 */

import { setImmediate } from 'node:timers'

import { CormlError, coded } from './errors.js'
import { CancelToken } from './native/index.cjs'
import type { ProgressReport } from './native/index.cjs'
import { optionalFunction, optionalSignal } from './validate.js'

/**
 * One progress report of a fit or an evaluation.
 *
 * @example
 * ```ts
 * const onProgress = (p: Progress) => {
 *   if (p.stage === 'admm') console.log(`part ${p.part}/${p.parts}: iteration ${p.iteration}/${p.iterations}`)
 *   console.log(`${Math.round(p.fraction * 100)}%`)
 * }
 * ```
 */
export interface Progress {
  /**
   * The stage: `svd`, `partition`, then per part `gram`, `graph`, `factorize`, `admm`,
   * `extract`, then `sparsify`, `done` (CoRML),
   * `gram`, `inverse`, `done` (EASE), `svd`, `done` (GF-CF), `score` (evaluation) or `read`
   * (reading a file).
   */
  readonly stage: string
  /** 1-based index of the current part (0 when the stage is not per part). */
  readonly part: number
  /** Number of parts (0 when the stage is not per part). */
  readonly parts: number
  /** 1-based ADMM iteration or evaluation batch (0 when not iterating). */
  readonly iteration: number
  /** Number of iterations or batches (0 when not iterating). */
  readonly iterations: number
  /** Fraction of the whole job done, in `[0, 1]`; never decreases within one job. */
  readonly fraction: number
}

/**
 * What corml-native needs of an `AbortSignal`: any `AbortSignal` (from an `AbortController`,
 * `AbortSignal.timeout()`, or a polyfill) is one. Declared here so that the package's types need
 * neither the DOM library nor `@types/node`.
 *
 * @example
 * ```ts
 * const signal: AbortSignalLike = AbortSignal.timeout(60_000)
 * ```
 */
export interface AbortSignalLike {
  /** Whether the signal has fired. */
  readonly aborted: boolean
  /** Why it fired (kept as the `cause` of the `ABORTED` error). */
  readonly reason?: unknown
  /** Adds the listener called when it fires. */
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void
  /** Removes a listener added by `addEventListener`. */
  removeEventListener(type: 'abort', listener: () => void): void
}

/**
 * How many threads CPU work may use: training and evaluation run in a pool of their own, whose
 * threads run below the priority of scoring (on Linux), so that `recommend` calls in the same
 * process are not queued behind them.
 *
 * @example
 * ```ts
 * await CoRML.fit(train, { ...presets.gowalla, threads: 4 })
 * ```
 */
export interface ThreadOptions {
  /**
   * Threads of the CPU work, an integer in `[1, 1024]`. Default: {@link setThreads}'s setting,
   * else the `CORML_THREADS` environment variable, else every core. Scoring is not affected.
   */
  threads?: number
}

/**
 * Options shared by every long operation (reading, fitting, evaluation).
 *
 * @example
 * ```ts
 * const controller = new AbortController()
 * setTimeout(() => controller.abort(), 60_000)
 * await CoRML.fit(train, { signal: controller.signal, onProgress: (p) => console.log(p.fraction) })
 * ```
 */
export interface LongWorkOptions {
  /**
   * Called with each progress report, on the main thread, never after the promise settles.
   * If it throws, or returns a promise that rejects before the work ends, the work is cancelled
   * and the promise rejects with that error (a rejection after the work ended is ignored, never
   * left unhandled).
   */
  onProgress?: (progress: Progress) => void
  /**
   * Cancels the work: the promise rejects with code `ABORTED` (immediately if the signal is
   * already aborted, else within one step of the work, e.g. one ADMM iteration).
   */
  signal?: AbortSignalLike
}

/** Whether `value` is a promise (or any thenable) whose rejection must be handled. */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

/** Lets progress reports queued by the worker before it finished reach JavaScript. */
function drainProgress(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

function abortedError(signal: AbortSignalLike): CormlError {
  return new CormlError('ABORTED', 'aborted: the operation was cancelled through its AbortSignal', {
    cause: signal.reason,
  })
}

/**
 * Runs native work with cancellation and progress.
 *
 * `start` receives the progress callback to hand to the binding (or `undefined`) and the cancel
 * token; it may throw synchronously (argument errors), which becomes a rejection.
 */
export async function runLongWork<T>(
  options: { onProgress?: unknown; signal?: unknown },
  start: (
    progress: ((report: ProgressReport) => void) | undefined,
    cancel: CancelToken,
  ) => Promise<T>,
): Promise<T> {
  const onProgress = optionalFunction<(progress: Progress) => void>(
    options.onProgress,
    'onProgress',
  )
  const signal = optionalSignal(options.signal, 'signal')
  if (signal?.aborted) throw abortedError(signal)

  const cancel = new CancelToken()
  let settled = false
  let aborted = false
  let thrown: { error: unknown } | undefined
  const fail = (error: unknown) => {
    if (settled || thrown !== undefined) return
    thrown = { error }
    cancel.cancel()
  }
  const progress =
    onProgress &&
    ((report: ProgressReport) => {
      if (settled || thrown !== undefined) return
      try {
        const returned: unknown = onProgress(Object.freeze({ ...report }))
        if (isThenable(returned)) returned.then(undefined, fail)
      } catch (error) {
        fail(error)
      }
    })
  const onAbort = () => {
    aborted = true
    cancel.cancel()
  }
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    let result: T
    try {
      result = await start(progress, cancel)
    } finally {
      if (progress) await drainProgress()
    }
    if (thrown !== undefined) throw thrown.error
    // Aborted after the last check of the work: the caller asked to cancel, so honour it.
    if (aborted && signal) throw abortedError(signal)
    return result
  } catch (error) {
    if (thrown !== undefined) throw thrown.error
    throw coded(error)
  } finally {
    settled = true
    signal?.removeEventListener('abort', onAbort)
  }
}
