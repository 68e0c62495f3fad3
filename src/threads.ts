/**
 * The process-wide thread setting of long CPU work (training and evaluation).
 *
 * @packageDocumentation
 */

import { native } from './errors.js'
import { defaultThreads as nativeDefault, setDefaultThreads } from './native/index.cjs'
import { integer } from './validate.js'

/**
 * Sets how many threads training and evaluation use when their options give no `threads`, for
 * the whole process; `0` restores the default (the `CORML_THREADS` environment variable, else
 * every core). Their threads run below the priority of scoring (on Linux), so a service that
 * trains and serves in one process keeps its request latency; lowering the count leaves whole
 * cores to the requests. Scoring itself (`recommend`, `recommendBatch`) is not affected.
 *
 * @example
 * ```ts
 * import { setThreads } from 'corml-native'
 * setThreads(3) // on an 8-core host: training gets 3, requests keep the rest
 * ```
 */
export function setThreads(threads: number): void {
  const n = integer(threads, 'threads', 0)
  native(() => setDefaultThreads(n))
}

/**
 * How many threads training and evaluation use when their options give no `threads`.
 *
 * @example
 * ```ts
 * console.log(`training runs on ${threads()} threads`)
 * ```
 */
export function threads(): number {
  return native(() => nativeDefault())
}
