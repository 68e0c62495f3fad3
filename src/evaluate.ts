/**
 * Offline evaluation: full-ranking NDCG, MRR, Recall and Novelty at K.
 *
 * @packageDocumentation
 */

import { nativeDataset } from './dataset.js'
import type { Dataset } from './dataset.js'
import { runLongWork } from './job.js'
import type { LongWorkOptions, ThreadOptions } from './job.js'
import { evaluate as nativeEvaluate } from './native/index.cjs'
import { nativeModel } from './recommender.js'
import type { Recommender } from './recommender.js'
import { native } from './errors.js'
import { arrayOf, integer, invalid, optionalInteger, optionsObject, own, show } from './validate.js'

/**
 * Options of {@link evaluate}.
 *
 * @example
 * ```ts
 * const options: EvaluateOptions = { ks: [10, 20], onProgress: (p) => console.log(p.iteration) }
 * ```
 */
export interface EvaluateOptions extends ThreadOptions, LongWorkOptions {
  /** Cut-offs K, integers ≥ 1. Default `[5, 10, 20]`. */
  ks?: readonly number[]
}

/**
 * Metrics at one cut-off K, averaged over the evaluated users.
 *
 * @example
 * ```ts
 * const at20: MetricsAtK | undefined = result.metrics.find((m) => m.k === 20)
 * ```
 */
export interface MetricsAtK {
  /** The cut-off K. */
  readonly k: number
  /** Normalized discounted cumulative gain, in [0, 1]. */
  readonly ndcg: number
  /** Reciprocal rank of the first hit in the top K (0 without one), in [0, 1]. */
  readonly mrr: number
  /** Share of the user's test items found in the top K, in [0, 1]. */
  readonly recall: number
  /** Mean `-log2(d_i / U) / log2(U)` of the top-K items (higher: less popular items). */
  readonly novelty: number
}

/**
 * The result of {@link evaluate}.
 *
 * @example
 * ```ts
 * const { users, seconds, metrics }: EvaluationResult = await evaluate(model, split)
 * ```
 */
export interface EvaluationResult {
  /** Users with at least one test item (the others are skipped). */
  readonly users: number
  /** Wall time in seconds. */
  readonly seconds: number
  /** One entry per requested K, in the order asked. */
  readonly metrics: readonly MetricsAtK[]
}

/**
 * Evaluates `model` by the CoRML paper's protocol: for each user with a test item, ranks every
 * item except the user's train and valid items, and averages the metrics at each K. Runs off
 * the main thread.
 *
 * `valid` and `test` must come from the split the model was trained on, or from the same split of
 * the same data read again (the same user and item ids in the same order, as for a model loaded
 * from a file), else `INVALID_ARGUMENT`. Without `valid`, only the training items are excluded:
 * pass `{ test: valid }` to score a validation run (for tuning, leaving the test part untouched).
 * Rejects with `EMPTY_DATA` when no user has a test item, `ABORTED` through `signal`.
 *
 * @example
 * ```ts
 * const { train, valid, test } = data.split()
 * const model = await CoRML.fit(train)
 * const { metrics } = await evaluate(model, { valid, test }, { ks: [5, 10, 20] })
 * for (const m of metrics) console.log(`NDCG@${m.k} ${m.ndcg.toFixed(4)}`)
 * const validation = await evaluate(model, { test: valid }) // while tuning
 * ```
 */
export async function evaluate(
  model: Recommender,
  data: { valid?: Dataset; test: Dataset },
  options?: EvaluateOptions,
): Promise<EvaluationResult> {
  const handle = nativeModel(model, 'model')
  if (typeof data !== 'object' || data === null) {
    throw invalid(`data must be an object { valid, test }, not ${show(data)}`)
  }
  // Own properties only: `{ test }` must not pick up a `valid` from a polluted prototype.
  const validPart = own(data, 'valid')
  const valid = validPart === undefined ? undefined : nativeDataset(validPart, 'data.valid')
  const test = nativeDataset(own(data, 'test'), 'data.test')
  const o = optionsObject(options, 'evaluate options', ['ks', 'onProgress', 'signal', 'threads'])
  const threads = optionalInteger(o.threads, 'threads', 1)
  let ks: number[] = [5, 10, 20]
  if (o.ks !== undefined) {
    ks = arrayOf(o.ks, 'ks', 'integers ≥ 1', (k, name) => integer(k, name, 1))
    if (ks.length === 0) throw invalid('ks must be a non-empty array of integers ≥ 1, not []')
  }
  return runLongWork(o, (progress, cancel) =>
    native(() => nativeEvaluate(handle, valid, test, ks, progress, cancel, threads)),
  )
}
