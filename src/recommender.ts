/**
 * The interface every trained model shares: recommendation and training statistics.
 *
 * @packageDocumentation
 */

import { brand, foreignCopy } from './brand.js'
import { native, nativeAsync } from './errors.js'
import type { NativeModel, NativeRecommendOptions } from './native/index.cjs'
import {
  bag,
  id,
  idList,
  integer,
  isArray,
  invalid,
  nonEmptyString,
  optionalBoolean,
  optionalIdList,
  optionalInteger,
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
  /**
   * Whether `items` are the popular fallback (`fallback: 'popular'` and no history item was
   * known); their scores are then training interaction counts.
   */
  readonly popular: boolean
}

/**
 * One history item's part in an item's score (see {@link Recommender.explain}).
 *
 * @example
 * ```ts
 * const [top]: Contribution[] = model.explain('user-42', 'item-7').contributions
 * console.log(`${top?.item} adds ${(top!.metric + top!.graph).toFixed(3)}`)
 * ```
 */
export interface Contribution {
  /** The history item. */
  readonly item: string
  /** Its part through the metric weights: CoRML's `H`, EASE's `B` (0 for GF-CF). */
  readonly metric: number
  /** Its part through the graph filter: CoRML's `G`, all of GF-CF (0 for EASE). */
  readonly graph: number
}

/**
 * Why an item has its score for a user or a history. `metric + graph = score`, and the
 * contributions of all history items add up to `metric` and `graph`. CoRML's graph term is
 * clamped at 0 (docs/algorithm.md, "Scoring"): where the clamp applies, `graph` and every graph
 * contribution are 0.
 *
 * @example
 * ```ts
 * const why: Explanation = model.explain('user-42', 'item-7', { k: 3 })
 * ```
 */
export interface Explanation {
  /** The item explained. */
  readonly item: string
  /** Its score, what recommendation ranks by. */
  readonly score: number
  /** The metric part of the score. */
  readonly metric: number
  /** The graph-filter part of the score. */
  readonly graph: number
  /** The `k` history items with the largest parts (`metric + graph`), largest first. */
  readonly contributions: readonly Contribution[]
  /** History entries ignored because the model does not know their item id. */
  readonly ignored: number
}

/**
 * Options of {@link Recommender.explain}.
 *
 * @example
 * ```ts
 * model.explain('user-42', 'item-7', { k: 5 })
 * ```
 */
export interface ExplainOptions {
  /** How many contributions to return, an integer ≥ 1. Default 10. */
  k?: number
}

/**
 * Options of {@link Recommender.similarItems}.
 *
 * @example
 * ```ts
 * model.similarItems('item-7', { k: 5, include: inStock })
 * ```
 */
export interface SimilarOptions {
  /** How many items, an integer ≥ 1. Default 10. */
  k?: number
  /** Item ids never to return; ids the model does not know are ignored (see `strict`). */
  exclude?: readonly Id[]
  /** If given, only these item ids may be returned; unknown ones are ignored (see `strict`). */
  include?: readonly Id[]
  /** `UNKNOWN_ITEM` for an id in `exclude` or `include` the model does not know. Default `false`. */
  strict?: boolean
}

/**
 * Options of {@link Recommender.popularItems}.
 *
 * @example
 * ```ts
 * model.popularItems({ k: 20, exclude: ['sold-out'] })
 * ```
 */
export interface PopularOptions {
  /** How many items, an integer ≥ 1. Default 10. */
  k?: number
  /** Item ids never to return; ids the model does not know are ignored (see `strict`). */
  exclude?: readonly Id[]
  /** If given, only these item ids may be returned; unknown ones are ignored (see `strict`). */
  include?: readonly Id[]
  /** `UNKNOWN_ITEM` for an id in `exclude` or `include` the model does not know. Default `false`. */
  strict?: boolean
}

/**
 * An id: a string, or a finite number, which is read as the string JavaScript writes for it
 * (`42` is `'42'`), as {@link Dataset.fromPairs} reads numbers.
 *
 * @example
 * ```ts
 * const user: Id = 42
 * model.recommend(user) // the user '42'
 * ```
 */
export type Id = string | number

/**
 * The top-`k` lists of {@link Recommender.recommendBatch} as flat typed arrays, for throughput:
 * row `r` is `items[r·k … (r+1)·k)` (indices into `itemIds`) with `scores` alongside, best first.
 * A row with fewer than `k` eligible items is padded with item `-1` and score `NaN`. `at(r)`
 * and iteration give the familiar `Recommendation[]` lists.
 *
 * @example
 * ```ts
 * const batch = await model.recommendBatch(users, { k: 20 })
 * const best = batch.itemIds[batch.items[0]!] // user 0's first item, without allocating lists
 * for (const recs of batch) console.log(recs[0]?.item)
 * ```
 */
export class BatchRecommendations implements Iterable<Recommendation[]> {
  /** Number of rows: one per requested user, in order. */
  readonly length: number

  /** Set by the constructor only: tells a real batch from an object borrowing its methods. */
  readonly #batch = true

  /** @internal */
  constructor(
    /** Entries per row (the requested `k`, at most the number of items). */
    readonly k: number,
    /** Item indices into {@link BatchRecommendations.itemIds}, `length × k`; `-1` pads. */
    readonly items: Int32Array,
    /** Scores, `length × k`; `NaN` pads. */
    readonly scores: Float32Array,
    /** The model's item ids, by index (shared and frozen). */
    readonly itemIds: readonly string[],
  ) {
    this.length = k === 0 ? 0 : items.length / k
  }

  /**
   * Row `r` as a list, best first, without padding.
   *
   * @example
   * ```ts
   * const recs = batch.at(0) // [{ item: 'item-3', score: 0.91 }, ...]
   * ```
   */
  at(r: number): Recommendation[] {
    if (!BatchRecommendations.#isBatch(this)) {
      throw invalid(`this must be a BatchRecommendations, not ${show(this)}`)
    }
    const row = integer(r, 'row', 0)
    if (row >= this.length) throw invalid(`row ${row} is out of range (${this.length} rows)`)
    const out: Recommendation[] = []
    for (let c = row * this.k; c < (row + 1) * this.k; c++) {
      const item = this.items[c]!
      if (item < 0) break
      out.push({ item: this.itemIds[item]!, score: this.scores[c]! })
    }
    return out
  }

  /**
   * Every row as a list (what `recommendBatch` returned before typed arrays).
   *
   * @example
   * ```ts
   * const lists: Recommendation[][] = batch.toArray()
   * ```
   */
  toArray(): Recommendation[][] {
    if (!BatchRecommendations.#isBatch(this)) {
      throw invalid(`this must be a BatchRecommendations, not ${show(this)}`)
    }
    return Array.from(this.#rows())
  }

  /** The rows as lists, in order (see {@link BatchRecommendations.at}). */
  [Symbol.iterator](): Iterator<Recommendation[]> {
    if (!BatchRecommendations.#isBatch(this)) {
      throw invalid(`this must be a BatchRecommendations, not ${show(this)}`)
    }
    return this.#rows()
  }

  *#rows(): Generator<Recommendation[]> {
    for (let r = 0; r < this.length; r++) yield this.at(r)
  }

  static #isBatch(value: unknown): value is BatchRecommendations {
    return typeof value === 'object' && value !== null && #batch in value
  }
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
  /**
   * Item ids never to recommend. Ids the model does not know are ignored (they cannot be
   * recommended anyway), unless `strict`.
   */
  exclude?: readonly Id[]
  /**
   * If given, only these item ids may be recommended; ids the model does not know are ignored
   * (none of them can come back), unless `strict`.
   */
  include?: readonly Id[]
  /** `UNKNOWN_ITEM` for an id in `exclude` or `include` the model does not know. Default `false`. */
  strict?: boolean
  /**
   * What a user the model cannot score gets: `'none'` (default), `UNKNOWN_USER` for an unknown
   * user and no items for a history with no known item; or `'popular'`, the most popular items
   * ({@link Recommender.popularItems}) with the same filters.
   */
  fallback?: 'none' | 'popular'
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
  /**
   * Fingerprint of the training data (16 hex digits): the same for models trained on the same
   * user ids, item ids and interactions, and kept by `save` / `load`.
   */
  readonly fingerprint: string
  /** The corml-native version that trained the model (for a loaded model: that wrote its file). */
  readonly version: string
  /**
   * The settings the model was trained with, by option name (e.g. `lambda`, `itemDegreeNorm` for
   * CoRML, `regularization` for EASE, `alpha` for GF-CF).
   */
  readonly settings: Readonly<Record<string, number | boolean | string>>
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

/**
 * Options of {@link Recommender.save}.
 *
 * @example
 * ```ts
 * await model.save('models/private.corml', { mode: 0o600 }) // readable by the owner only
 * ```
 */
export interface SaveOptions {
  /**
   * Unix permission bits of the file, an integer in `[0, 0o777]`, masked by the process umask.
   * Default `0o666`, which the usual umask `022` makes `0o644`: readable by every user, as files
   * programs create usually are. Ignored on Windows.
   */
  mode?: number
}

/** @internal */
export const RECOMMEND_OPTIONS = [
  'k',
  'filterSeen',
  'exclude',
  'include',
  'strict',
  'fallback',
] as const
const handles = new WeakMap<Recommender, NativeModel>()
const itemIdCache = new WeakMap<Recommender, readonly string[]>()
const infoCache = new WeakMap<Recommender, ModelInfo>()

/**
 * The native options of checked `recommend*` options.
 *
 * @internal
 */
export function recommendOptions(options: unknown, allowed: readonly string[] = RECOMMEND_OPTIONS) {
  const o = optionsObject(options, 'recommend options', allowed)
  const out = bag<NativeRecommendOptions>()
  out.k = o.k === undefined ? 10 : integer(o.k, 'k', 1)
  out.filterSeen = optionalBoolean(o.filterSeen, 'filterSeen') ?? true
  const exclude = optionalIdList(o.exclude, 'exclude')
  if (exclude !== undefined) out.exclude = exclude
  const include = optionalIdList(o.include, 'include')
  if (include !== undefined) out.include = include
  const strict = optionalBoolean(o.strict, 'strict')
  if (strict !== undefined) out.strict = strict
  if (o.fallback !== undefined && o.fallback !== 'none' && o.fallback !== 'popular') {
    throw invalid(`fallback must be 'none' or 'popular', not ${show(o.fallback)}`)
  }
  if (o.fallback === 'popular') out.popularFallback = true
  return out
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
  if (handle === undefined) {
    throw invalid(
      `${name} must be a trained model, not ${foreignCopy(value, 'model') ?? show(value)}`,
    )
  }
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
  /** @internal */
  protected constructor(native: NativeModel) {
    handles.set(this, native)
  }

  /** Number of users the model was trained on (its id space). */
  get numUsers(): number {
    const model = nativeModel(this, 'this')
    return native(() => model.numUsers)
  }

  /** Number of items the model can recommend (its id space). */
  get numItems(): number {
    const model = nativeModel(this, 'this')
    return native(() => model.numItems)
  }

  /**
   * Whether the model reads its file in place through a read-only memory map
   * (`loadModel(path, { mmap: true })`) rather than from a copy in memory.
   */
  get mapped(): boolean {
    const model = nativeModel(this, 'this')
    return native(() => model.mapped)
  }

  /** Training statistics (frozen). */
  get info(): ModelInfo {
    const model = nativeModel(this, 'this')
    let info = infoCache.get(this)
    if (info === undefined) {
      const { settings, ...rest } = native(() => model.info())
      const typed: Record<string, number | boolean | string> = {}
      for (const { name, value } of settings) {
        const number = Number(value)
        typed[name] =
          value === 'true' || value === 'false'
            ? value === 'true'
            : value.trim() !== '' && Number.isFinite(number)
              ? number
              : value
      }
      info = deepFreeze({ ...rest, settings: typed } as ModelInfo)
      infoCache.set(this, info)
    }
    return info
  }

  /**
   * Writes the model to one binary file at `path`, off the main thread. The file is written
   * under a temporary name in the same directory and renamed when complete, so a crash or a
   * full disk never leaves a half-written model at `path`; a temporary file left by a save that
   * was killed is removed by the next save to the same path. The file's permissions follow the
   * umask (`0o644` under the usual `022`) unless `options.mode` restricts them. Rejects with
   * `IO_ERROR`.
   *
   * @example
   * ```ts
   * await model.save('models/gowalla.corml')
   * const again = await loadModel('models/gowalla.corml')
   * ```
   */
  async save(path: string, options?: SaveOptions): Promise<void> {
    const file = nonEmptyString(path, 'path')
    const o = optionsObject(options, 'save options', ['mode'])
    const mode = optionalInteger(o.mode, 'mode', 0)
    if (mode !== undefined && mode > 0o777) {
      throw invalid(`mode must be permission bits in [0, 0o777] (e.g. 0o600), not ${mode}`)
    }
    const model = nativeModel(this, 'this')
    await nativeAsync(native(() => model.save(file, mode)))
  }

  /**
   * The model file's bytes (what {@link Recommender.save} writes), for keeping models in an
   * object store or a database. Read them back with `modelFromBuffer` or `CoRML.fromBuffer`.
   * The value is a Node.js `Buffer`; it is typed as the `Uint8Array` it extends, so that the
   * package's types need no `@types/node`.
   *
   * @example
   * ```ts
   * const bytes = await model.toBuffer()
   * await bucket.put('models/latest.corml', bytes)
   * ```
   */
  async toBuffer(): Promise<Uint8Array> {
    const model = nativeModel(this, 'this')
    const bytes = await nativeAsync(native(() => model.toBuffer()))
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  /**
   * The top-`k` items for a user of the training data, best first. By default the user's
   * training items are left out (`filterSeen: true`) and `k` is 10. An unknown user is
   * `UNKNOWN_USER`, or with `fallback: 'popular'` gets {@link Recommender.popularItems}.
   *
   * @example
   * ```ts
   * const recs = model.recommend('user-42', { k: 5, exclude: ['item-7'] })
   * // [{ item: 'item-3', score: 0.91 }, ...]
   * const anyone = model.recommend(visitorId, { k: 5, fallback: 'popular' })
   * ```
   */
  recommend(userId: Id, options?: RecommendOptions): Recommendation[] {
    const user = id(userId, 'userId')
    const o = recommendOptions(options)
    const model = nativeModel(this, 'this')
    return native(() => model.recommend(user, o))
  }

  /**
   * The `k` most popular items of the training data (the most training interactions first;
   * the score is that count), with `exclude` / `include` as for {@link Recommender.recommend}:
   * what to show a user the model cannot score yet.
   *
   * @example
   * ```ts
   * const trending = model.popularItems({ k: 10 })
   * ```
   */
  popularItems(options?: PopularOptions): Recommendation[] {
    const o = recommendOptions(options, ['k', 'exclude', 'include', 'strict'])
    const model = nativeModel(this, 'this')
    return native(() => model.popularItems(o))
  }

  /**
   * {@link Recommender.recommend} for many users at once, scored in batches off the main
   * thread. Resolves to flat typed arrays with one row per user, in order
   * ({@link BatchRecommendations}); rejects with `UNKNOWN_USER` if any id is unknown, unless
   * `fallback: 'popular'` (those users' rows are then the popular items).
   *
   * @example
   * ```ts
   * const batch = await model.recommendBatch(['u1', 'u2'], { k: 20 })
   * const [forU1, forU2] = batch.toArray()
   * ```
   */
  async recommendBatch(
    userIds: readonly Id[],
    options?: RecommendOptions,
  ): Promise<BatchRecommendations> {
    const users = idList(userIds, 'userIds')
    const o = recommendOptions(options)
    const model = nativeModel(this, 'this')
    const batch = await nativeAsync(native(() => model.recommendBatch(users, o)))
    return new BatchRecommendations(batch.k, batch.items, batch.scores, this.itemIds())
  }

  /**
   * All item ids the model knows, by index (frozen, cached): what
   * {@link BatchRecommendations.items} refer to.
   *
   * @example
   * ```ts
   * const catalogue = new Set(model.itemIds())
   * ```
   */
  itemIds(): readonly string[] {
    const model = nativeModel(this, 'this')
    const cached = itemIdCache.get(this)
    if (cached !== undefined) return cached
    const ids: readonly string[] = Object.freeze(native(() => model.itemIds()))
    itemIdCache.set(this, ids)
    return ids
  }

  /**
   * All user ids the model was trained on, by index.
   *
   * @example
   * ```ts
   * const everyone = await model.recommendBatch(model.userIds(), { k: 20 })
   * ```
   */
  userIds(): string[] {
    const model = nativeModel(this, 'this')
    return native(() => model.userIds())
  }

  /**
   * The model's scores of `itemIds` for a known user, in order (seen items included). Throws
   * `UNKNOWN_USER` / `UNKNOWN_ITEM` for ids the model does not know.
   *
   * @example
   * ```ts
   * const [a, b] = model.score('user-42', ['item-1', 'item-2'])
   * ```
   */
  score(userId: Id, itemIds: readonly Id[]): number[] {
    const user = id(userId, 'userId')
    const items = idList(itemIds, 'itemIds')
    const model = nativeModel(this, 'this')
    return native(() => model.score(user, items))
  }

  /**
   * The `k` items most like `itemId`: the model's recommendations for someone whose whole
   * history is that item (never the item itself). Throws `UNKNOWN_ITEM` for an unknown id.
   *
   * @example
   * ```ts
   * model.similarItems('item-7', { k: 5 })
   * ```
   */
  similarItems(itemId: Id, options?: SimilarOptions): Recommendation[] {
    const item = id(itemId, 'itemId')
    const o = recommendOptions(options, ['k', 'exclude', 'include', 'strict'])
    const model = nativeModel(this, 'this')
    return native(() => model.similarItems(item, o))
  }

  /**
   * Why `itemId` scores what it does for a known user (a user id) or a new history (an array
   * of item ids; unknown ones are ignored and counted): the metric part (CoRML's `H`) and the
   * graph-filter part (`G`), and the history items that contributed most.
   *
   * @example
   * ```ts
   * const why = model.explain('user-42', 'item-7', { k: 3 })
   * const forNewUser = model.explain(['item-1', 'item-2'], 'item-7')
   * ```
   */
  explain(user: Id | readonly Id[], itemId: Id, options?: ExplainOptions): Explanation {
    const item = id(itemId, 'itemId')
    const o = optionsObject(options, 'explain options', ['k'])
    const k = o.k === undefined ? 10 : integer(o.k, 'k', 1)
    const model = nativeModel(this, 'this')
    if (isArray(user)) {
      const history = idList(user, 'history')
      return native(() => model.explainHistory(history, item, k))
    }
    const who = id(user, 'user')
    return native(() => model.explainUser(who, item, k))
  }

  /**
   * The top-`k` items for a new user, given the item ids they interacted with. Item ids the
   * model does not know are ignored and counted in `ignored`. By default the history's items
   * are left out. This is the path for a user's fresh interactions too: a known user's
   * training items plus what they did since, scored without retraining. A history with no known
   * item has nothing to score from: `items` is empty, or with `fallback: 'popular'` the most
   * popular items (and `popular` is true).
   *
   * @example
   * ```ts
   * const { items, ignored } = model.recommendForHistory(['item-a', 'item-b', 'brand-new'], { k: 10 })
   * // ignored === 1 if 'brand-new' was not in the training data
   * ```
   */
  recommendForHistory(itemIds: readonly Id[], options?: RecommendOptions): HistoryRecommendations {
    const history = idList(itemIds, 'itemIds')
    const o = recommendOptions(options)
    const model = nativeModel(this, 'this')
    return native(() => model.recommendForHistory(history, o))
  }
}
brand(Recommender.prototype, 'model')
