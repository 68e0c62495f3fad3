/**
 * The interface every trained model shares: recommendation and training statistics.
 *
 * @packageDocumentation
 */

import type { NativeModel } from './native/index.cjs'
import {
  idList,
  integer,
  invalid,
  nonEmptyString,
  optionalBoolean,
  optionalIdList,
  optionsObject,
  show,
} from './validate.js'

/**
 * One recommended item.
 *
 * @example
 * ```ts
 * const [best]: Recommendation[] = model.recommend('user-42', { k: 1 })
 * console.log(best?.item, best?.score)
 * ```
 */
export interface Recommendation {
  /** The item id. */
  readonly item: string
  /** The model's score; higher is better, comparable only within one model. */
  readonly score: number
}

/**
 * Recommendations for a history of items (a user the model was not trained on).
 *
 * @example
 * ```ts
 * const { items, ignored }: HistoryRecommendations = model.recommendForHistory(['a', 'b'])
 * ```
 */
export interface HistoryRecommendations {
  /** The recommended items, best first. */
  readonly items: Recommendation[]
  /** How many history entries were ignored because the model does not know their item id. */
  readonly ignored: number
}

/**
 * Options of the `recommend*` methods.
 *
 * @example
 * ```ts
 * model.recommend('user-42', { k: 20, filterSeen: true, exclude: ['out-of-stock'] })
 * ```
 */
export interface RecommendOptions {
  /**
   * How many items, an integer ≥ 1. Default 10. Fewer come back when fewer items are eligible
   * (for instance when `k` exceeds the item count).
   */
  k?: number
  /**
   * Leave out the items the user already has: their training items (for a known user) or
   * the history (for {@link Recommender.recommendForHistory}). Default `true`.
   */
  filterSeen?: boolean
  /** Item ids never to recommend; each must be known to the model (`UNKNOWN_ITEM`). */
  exclude?: readonly string[]
  /** If given, only these item ids may be recommended; each must be known (`UNKNOWN_ITEM`). */
  include?: readonly string[]
}

/**
 * Training statistics of a model.
 *
 * @example
 * ```ts
 * const { backend, seconds, stages } = model.info
 * console.log(`trained on ${backend} in ${seconds.toFixed(1)} s`, stages)
 * ```
 */
export interface ModelInfo {
  /** `'corml'`, `'ease'` or `'gfcf'`. */
  readonly algorithm: Algorithm
  /**
   * The backend that ran the dense work, e.g. `'cpu (8 threads)'` or
   * `'cuda:0 (NVIDIA H200, 139.8 GB, fp32)'`.
   */
  readonly backend: string
  /** Why device `'auto'` ran on the CPU although an NVIDIA driver is present. */
  readonly deviceFallback?: string
  /**
   * Floating-point operations of CoRML's ADMM products (0 for EASE and GF-CF): divided by the
   * `admm` stage's seconds, the loop's achieved rate.
   */
  readonly admmFlops: number
  /** CoRML's ADMM solver per part, e.g. `'dense'` or `'chebyshev (7 steps, κ ≤ 1.48, …)'`. */
  readonly admmSolvers: readonly string[]
  /** Item counts of the parts solved (one part when not partitioned). */
  readonly partSizes: readonly number[]
  /** Stored entries of the item-item matrix (CoRML: after the sparse approximation). */
  readonly nnz: number
  /** Total training seconds. */
  readonly seconds: number
  /** Time per training stage, in order. */
  readonly stages: readonly { readonly stage: string; readonly seconds: number }[]
}

/**
 * The algorithm behind a model.
 *
 * @example
 * ```ts
 * const name: Algorithm = model.info.algorithm // 'corml'
 * ```
 */
export type Algorithm = 'corml' | 'ease' | 'gfcf'

const RECOMMEND_OPTIONS = ['k', 'filterSeen', 'exclude', 'include'] as const
const handles = new WeakMap<Recommender, NativeModel>()

interface CheckedOptions {
  k: number
  filterSeen: boolean
  exclude: string[] | undefined
  include: string[] | undefined
}

function recommendOptions(options: unknown): CheckedOptions {
  const o = optionsObject(options, 'recommend options', RECOMMEND_OPTIONS)
  return {
    k: o.k === undefined ? 10 : integer(o.k, 'k', 1),
    filterSeen: optionalBoolean(o.filterSeen, 'filterSeen') ?? true,
    exclude: optionalIdList(o.exclude, 'exclude'),
    include: optionalIdList(o.include, 'include'),
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.values(value).forEach(deepFreeze)
    Object.freeze(value)
  }
  return value
}

/**
 * The native handle of a model, or `INVALID_ARGUMENT` for anything else.
 *
 * @internal
 */
export function nativeModel(value: unknown, name: string): NativeModel {
  const handle = value instanceof Recommender ? handles.get(value) : undefined
  if (handle === undefined) throw invalid(`${name} must be a trained model, not ${show(value)}`)
  return handle
}

/**
 * A trained model: {@link CoRML}, {@link EASE} or {@link GFCF}. All serve recommendations the same
 * way, for known users and for new histories (no retraining needed).
 *
 * Unknown user ids throw `UNKNOWN_USER`; unknown item ids in `exclude` / `include` throw
 * `UNKNOWN_ITEM`; ids must be strings.
 *
 * @example
 * ```ts
 * const model: Recommender = await CoRML.fit(train, presets.gowalla)
 * model.recommend('user-42', { k: 20 })
 * await model.recommendBatch(['u1', 'u2'], { k: 20 })
 * model.recommendForHistory(['item-a', 'item-b'], { k: 10 })
 * ```
 */
export abstract class Recommender {
  #info: ModelInfo | undefined

  /** @internal */
  protected constructor(native: NativeModel) {
    handles.set(this, native)
  }

  /** Number of users the model was trained on (its id space). */
  get numUsers(): number {
    return nativeModel(this, 'this').numUsers
  }

  /** Number of items the model can recommend (its id space). */
  get numItems(): number {
    return nativeModel(this, 'this').numItems
  }

  /** Training statistics (frozen). */
  get info(): ModelInfo {
    this.#info ??= deepFreeze(nativeModel(this, 'this').info() as ModelInfo)
    return this.#info
  }

  /**
   * The top-`k` items for a user of the training data, best first. By default the user's
   * training items are left out (`filterSeen: true`) and `k` is 10.
   *
   * @example
   * ```ts
   * const recs = model.recommend('user-42', { k: 5, exclude: ['item-7'] })
   * // [{ item: 'item-3', score: 0.91 }, ...]
   * ```
   */
  recommend(userId: string, options?: RecommendOptions): Recommendation[] {
    const user = nonEmptyString(userId, 'userId')
    const o = recommendOptions(options)
    return nativeModel(this, 'this').recommend(user, o.k, o.filterSeen, o.exclude, o.include)
  }

  /**
   * {@link Recommender.recommend} for many users at once, scored in batches off the main
   * thread. Resolves to one list per user, in order; rejects with `UNKNOWN_USER` if any id is
   * unknown.
   *
   * @example
   * ```ts
   * const [forU1, forU2] = await model.recommendBatch(['u1', 'u2'], { k: 20 })
   * ```
   */
  async recommendBatch(
    userIds: readonly string[],
    options?: RecommendOptions,
  ): Promise<Recommendation[][]> {
    const users = idList(userIds, 'userIds')
    const o = recommendOptions(options)
    return nativeModel(this, 'this').recommendBatch(users, o.k, o.filterSeen, o.exclude, o.include)
  }

  /**
   * The top-`k` items for a new user, given the item ids they interacted with. Item ids the
   * model does not know are ignored and counted in `ignored`. By default the history's items
   * are left out.
   *
   * @example
   * ```ts
   * const { items, ignored } = model.recommendForHistory(['item-a', 'item-b', 'brand-new'], { k: 10 })
   * // ignored === 1 if 'brand-new' was not in the training data
   * ```
   */
  recommendForHistory(
    itemIds: readonly string[],
    options?: RecommendOptions,
  ): HistoryRecommendations {
    const history = idList(itemIds, 'itemIds')
    const o = recommendOptions(options)
    return nativeModel(this, 'this').recommendForHistory(
      history,
      o.k,
      o.filterSeen,
      o.exclude,
      o.include,
    )
  }
}
