/**
 * Serving a model in a live service: requests that arrive together are scored as one batch off
 * the event loop, a full queue refuses at once, and a new model is swapped in while requests
 * are in flight.
 *
 * @packageDocumentation
 */

import { CormlError } from './errors.js'
import { loadModel, modelFromBuffer } from './models.js'
import type { AnyModel } from './models.js'
import { native, nativeAsync } from './errors.js'
import type { NativeRecommendOptions } from './native/index.cjs'
import { nativeModel, recommendOptions } from './recommender.js'
import type {
  HistoryRecommendations,
  Id,
  Recommendation,
  RecommendOptions,
  SimilarOptions,
} from './recommender.js'
import { id, idList, integer, invalid, optionalBoolean, optionsObject, show } from './validate.js'

/**
 * Options of a {@link ModelServer}.
 *
 * @example
 * ```ts
 * const server = await ModelServer.load('model.corml', { maxWaitMs: 1, maxQueue: 5000 })
 * ```
 */
export interface ModelServerOptions {
  /**
   * How long the first request of a batch waits for others to join it, in milliseconds, from 0
   * to 100. Default 2: a request pays at most this much for the batching.
   */
  maxWaitMs?: number
  /** The most requests scored as one batch, an integer from 1 to 4096. Default 256. */
  maxBatch?: number
  /**
   * The most requests waiting or being scored at once, an integer ≥ 1. A request beyond it is
   * refused at once with `OVERLOADED`. Default 4096.
   */
  maxQueue?: number
  /**
   * Batches scored at the same time, an integer from 1 to 64. Default 1: scoring one batch
   * already uses every core, and the requests that arrive meanwhile make the next batch larger
   * (cheaper per request); more only splits the cores between smaller batches.
   */
  concurrency?: number
  /**
   * Map the model files that {@link ModelServer.load} and {@link ModelServer.swap} read, and
   * read them in place (`loadModel(path, { mmap: true })`): the processes of a cluster that
   * serve one file then share its memory. Default `false`. Replace a mapped file only by
   * renaming a new one over it (as `save` does), never by writing into it.
   */
  mmap?: boolean
}

/**
 * What a {@link ModelServer} has done so far (for `/metrics`).
 *
 * @example
 * ```ts
 * const { requests, batches, overloaded } = server.stats()
 * console.log(`${(requests / batches).toFixed(1)} requests a batch`)
 * ```
 */
export interface ModelServerStats {
  /** Requests answered (with items or with an error). */
  readonly requests: number
  /** Batches scored. */
  readonly batches: number
  /** Requests refused with `OVERLOADED`. */
  readonly overloaded: number
  /** Requests waiting or being scored now. */
  readonly pending: number
  /** Models swapped in since the server started. */
  readonly swaps: number
}

/** What a request asks for: a known user's list, a fresh history's, or an item's neighbours. */
type Kind = 'user' | 'history' | 'similar'

/** One request waiting for its batch. */
interface Waiting {
  readonly kind: Kind
  /** The user id, the history's item ids, or the item id. */
  readonly input: string | readonly string[]
  /** How many items it asked for (a batch is scored for its largest `k`). */
  readonly k: number
  readonly resolve: (value: never) => void
  readonly reject: (error: unknown) => void
}

/** Requests with the same filters, batched together whatever their kind and `k`. */
interface Group {
  readonly options: NativeRecommendOptions
  waiting: Waiting[]
  timer: ReturnType<typeof setTimeout> | undefined
  /** Whether its oldest request has waited `maxWaitMs`, or it holds a full batch. */
  due: boolean
}

const OPTIONS = ['maxWaitMs', 'maxBatch', 'maxQueue', 'concurrency', 'mmap'] as const

function bounded(value: unknown, name: string, min: number, max: number, fallback: number) {
  if (value === undefined) return fallback
  const n = integer(value, name, min)
  if (n > max) throw invalid(`${name} must be an integer in [${min}, ${max}], not ${show(value)}`)
  return n
}

/**
 * A request's native options and its batch key: requests with equal keys share a batch. `k`
 * is not part of the key (a batch is scored for its largest `k`, and each request gets the first
 * `k` of its list: the same list, as rankings are a deterministic order), nor is the kind (a
 * user, a history and an item's neighbours are all rows of one product).
 */
function optionsOf(
  kind: Kind,
  options: RecommendOptions | SimilarOptions | undefined,
): { native: NativeRecommendOptions; key: string } {
  const native =
    kind === 'similar'
      ? recommendOptions(options, ['k', 'exclude', 'include', 'strict'])
      : recommendOptions(options)
  // An item's neighbours are its one-item history's recommendations, without the item.
  if (kind === 'similar') native.filterSeen = true
  const { filterSeen, exclude, include, strict, popularFallback } = native
  return { native, key: JSON.stringify([filterSeen, exclude, include, strict, popularFallback]) }
}

/**
 * A model in a live service: {@link ModelServer.recommend} batches the requests that arrive
 * within `maxWaitMs` of each other into one scoring pass off the event loop (a batched product
 * is several times cheaper per user than one request at a time), refuses a request with
 * `OVERLOADED` when `maxQueue` are already waiting, and {@link ModelServer.swap} replaces the
 * model while requests are in flight: each request is scored wholly by the old model or wholly
 * by the new one, none fails, and the old model is freed once its last request is done.
 *
 * @example
 * ```ts
 * import { ModelServer } from 'corml-native'
 *
 * const server = await ModelServer.load('model.corml')
 * const items = await server.recommend('user-42', { k: 20 })
 * await server.swap('model-new.corml') // in-flight requests finish on the old model
 * ```
 */
export class ModelServer {
  #model: AnyModel
  /** Whether the server loaded the current model itself (and so may free it after a swap). */
  #owned: boolean
  /** Requests in flight per model, to free a swapped-out model when its count reaches 0. */
  readonly #inFlight = new Map<AnyModel, number>()
  readonly #retired = new Set<AnyModel>()
  readonly #groups = new Map<string, Group>()
  readonly #maxWaitMs: number
  readonly #maxBatch: number
  readonly #maxQueue: number
  readonly #concurrency: number
  readonly #mmap: boolean
  #pending = 0
  #running = 0
  #requests = 0
  #batches = 0
  #overloaded = 0
  #swaps = 0
  #swapping: Promise<unknown> = Promise.resolve()

  private constructor(model: AnyModel, owned: boolean, options: ModelServerOptions | undefined) {
    const o = optionsObject(options, 'ModelServer options', OPTIONS)
    this.#maxWaitMs = bounded(o.maxWaitMs, 'maxWaitMs', 0, 100, 2)
    this.#maxBatch = bounded(o.maxBatch, 'maxBatch', 1, 4096, 256)
    this.#maxQueue = bounded(o.maxQueue, 'maxQueue', 1, Number.MAX_SAFE_INTEGER, 4096)
    this.#concurrency = bounded(o.concurrency, 'concurrency', 1, 64, 1)
    this.#mmap = optionalBoolean(o.mmap, 'mmap') ?? false
    nativeModel(model, 'model')
    this.#model = model
    this.#owned = owned
  }

  /**
   * A server for the model file at `path` (read off the main thread; rejects like
   * {@link loadModel}).
   *
   * @example
   * ```ts
   * const server = await ModelServer.load('models/current.corml', { maxWaitMs: 2 })
   * ```
   */
  static async load(path: string, options?: ModelServerOptions): Promise<ModelServer> {
    const o = optionsObject(options, 'ModelServer options', OPTIONS)
    const mmap = optionalBoolean(o.mmap, 'mmap') ?? false
    return new ModelServer(await loadModel(path, { mmap }), true, o)
  }

  /**
   * A server for a model already in memory. The server does not free it when it is swapped
   * out (its owner may still use it).
   *
   * @example
   * ```ts
   * const server = ModelServer.of(await CoRML.fit(train, presets.gowalla))
   * ```
   */
  static of(model: AnyModel, options?: ModelServerOptions): ModelServer {
    return new ModelServer(model, false, options)
  }

  /**
   * The model answering requests now. Use it for the synchronous calls (`recommend` for a single
   * low-latency request, `recommendForHistory`, `similarItems`, …), and do not keep it across
   * {@link ModelServer.swap}: a model the server loaded is released once its requests are done,
   * and its later calls are `INVALID_ARGUMENT`.
   */
  get model(): AnyModel {
    return this.#model
  }

  /** What the server has done so far. */
  stats(): ModelServerStats {
    return {
      requests: this.#requests,
      batches: this.#batches,
      overloaded: this.#overloaded,
      pending: this.#pending,
      swaps: this.#swaps,
    }
  }

  /**
   * The top-`k` items for a user, like {@link Recommender.recommend}, scored with the other
   * requests that arrive within `maxWaitMs` off the event loop. Rejects with `OVERLOADED` at
   * once when `maxQueue` requests are already pending, and otherwise like `recommend`
   * (`UNKNOWN_USER` for an unknown user unless `fallback: 'popular'`).
   *
   * @example
   * ```ts
   * app.get('/users/:id/recommendations', async (req) => server.recommend(req.params.id, { k: 20 }))
   * ```
   */
  recommend(userId: Id, options?: RecommendOptions): Promise<Recommendation[]> {
    return this.#enqueue<Recommendation[]>('user', () => id(userId, 'userId'), options)
  }

  /**
   * The top-`k` items for a fresh history, like {@link Recommender.recommendForHistory} (unknown
   * item ids are ignored and counted), scored with the other histories that arrive within
   * `maxWaitMs` off the event loop: the path for a user's latest interactions. Rejects with
   * `OVERLOADED` when `maxQueue` requests are pending.
   *
   * @example
   * ```ts
   * const { items } = await server.recommendForHistory([...trainingItems, 'just-bought'], { k: 10 })
   * ```
   */
  recommendForHistory(
    itemIds: readonly Id[],
    options?: RecommendOptions,
  ): Promise<HistoryRecommendations> {
    return this.#enqueue<HistoryRecommendations>(
      'history',
      () => idList(itemIds, 'itemIds'),
      options,
    )
  }

  /**
   * The `k` items most like `itemId`, like {@link Recommender.similarItems}, scored with the
   * other requests that arrive within `maxWaitMs` off the event loop (`UNKNOWN_ITEM` for an
   * unknown id fails that request alone).
   *
   * @example
   * ```ts
   * const alike = await server.similarItems('item-7', { k: 5 })
   * ```
   */
  similarItems(itemId: Id, options?: SimilarOptions): Promise<Recommendation[]> {
    return this.#enqueue<Recommendation[]>('similar', () => id(itemId, 'itemId'), options)
  }

  /** Adds a request to its group's batch, or refuses it. */
  #enqueue<T>(
    kind: Kind,
    input: () => string | readonly string[],
    options: RecommendOptions | SimilarOptions | undefined,
  ): Promise<T> {
    let value: string | readonly string[]
    let key: string
    let native_: NativeRecommendOptions
    try {
      value = input()
      ;({ native: native_, key } = optionsOf(kind, options))
    } catch (error) {
      return Promise.reject(error)
    }
    if (this.#pending >= this.#maxQueue) {
      this.#overloaded++
      return Promise.reject(
        new CormlError(
          'OVERLOADED',
          `the server is overloaded: ${this.#pending} requests are pending (maxQueue ` +
            `${this.#maxQueue}); retry later, or add capacity`,
        ),
      )
    }
    this.#pending++
    return new Promise<T>((resolve, reject) => {
      let group = this.#groups.get(key)
      if (group === undefined) {
        group = { options: native_, waiting: [], timer: undefined, due: false }
        this.#groups.set(key, group)
      }
      group.waiting.push({
        kind,
        input: value,
        k: native_.k,
        resolve: resolve as (value: never) => void,
        reject,
      })
      if (group.waiting.length >= this.#maxBatch) {
        this.#markDue(group)
      } else if (group.timer === undefined && !group.due) {
        const waiting = group
        group.timer = setTimeout(() => this.#markDue(waiting), this.#maxWaitMs)
      }
    })
  }

  /**
   * Loads the model file at `path` (or takes `model`) and makes it the one that answers, once
   * it is fully loaded: requests already in a batch finish on the old model, every later one
   * goes to the new one, and none fails. A model the server loaded is released when its last
   * request is done. Swaps run one at a time, in order. Rejects like {@link loadModel}, and then
   * the old model keeps serving.
   *
   * @example
   * ```ts
   * await server.swap('models/retrained.corml')
   * ```
   */
  swap(next: string | Uint8Array | AnyModel): Promise<void> {
    const run = async () => {
      const owned = typeof next === 'string' || next instanceof Uint8Array
      const model =
        typeof next === 'string'
          ? await loadModel(next, { mmap: this.#mmap })
          : next instanceof Uint8Array
            ? await modelFromBuffer(next)
            : next
      nativeModel(model, 'the model to swap in')
      const previous = this.#model
      const previousOwned = this.#owned
      this.#model = model
      this.#owned = owned
      this.#swaps++
      if (previousOwned && previous !== model) this.#retire(previous)
    }
    const swapped = this.#swapping.then(run, run)
    this.#swapping = swapped.catch(() => undefined)
    return swapped
  }

  /** Frees `model` now, or when its last request is done. */
  #retire(model: AnyModel): void {
    if ((this.#inFlight.get(model) ?? 0) === 0) nativeModel(model, 'model').release()
    else this.#retired.add(model)
  }

  /** Makes a group's requests ready to score, and scores them if a slot is free. */
  #markDue(group: Group): void {
    if (group.timer !== undefined) clearTimeout(group.timer)
    group.timer = undefined
    group.due = true
    this.#drain()
  }

  /**
   * Starts batches while fewer than `concurrency` are running, oldest group first. Requests that
   * arrive while every slot is busy join their group's next batch: the busier the server, the
   * larger (and cheaper per request) its batches.
   */
  #drain(): void {
    while (this.#running < this.#concurrency) {
      let next: [string, Group] | undefined
      for (const entry of this.#groups) {
        if (entry[1].due) {
          next = entry
          break
        }
      }
      if (next === undefined) return
      const [key, group] = next
      const waiting = group.waiting.slice(0, this.#maxBatch)
      group.waiting = group.waiting.slice(this.#maxBatch)
      // Map order is insertion order: a group with requests left goes to the back.
      this.#groups.delete(key)
      if (group.waiting.length > 0) this.#groups.set(key, group)
      this.#running++
      const k = Math.max(...waiting.map((w) => w.k))
      void this.#score(waiting, { ...group.options, k }).finally(() => {
        this.#running--
        this.#drain()
      })
    }
  }

  /** Scores one batch on the current model and answers each of its requests. */
  async #score(waiting: readonly Waiting[], options: NativeRecommendOptions): Promise<void> {
    const model = this.#model
    this.#inFlight.set(model, (this.#inFlight.get(model) ?? 0) + 1)
    this.#batches++
    try {
      const handle = nativeModel(model, 'model')
      // Unknown users and items are answered one by one (UNKNOWN_USER / UNKNOWN_ITEM), not by
      // failing the batch: the single call throws the error its caller would get.
      const users = waiting.filter((w) => w.kind === 'user').map((w) => w.input as string)
      const knownUsers =
        options.popularFallback === true || users.length === 0 ? null : handle.knowsUsers(users)
      const similar = waiting.filter((w) => w.kind === 'similar').map((w) => w.input as string)
      const knownItems = similar.length === 0 ? null : handle.knowsItems(similar)
      const scored: Waiting[] = []
      let [u, i] = [0, 0]
      for (const w of waiting) {
        const known =
          w.kind === 'user'
            ? knownUsers === null || knownUsers[u++] === 1
            : w.kind === 'similar'
              ? knownItems![i++] === 1
              : true
        if (known) {
          scored.push(w)
          continue
        }
        try {
          // Throws; should the id be known after all, it answers.
          const own = { ...optionsFor(w, options) }
          w.resolve(
            (w.kind === 'user'
              ? model.recommend(w.input as string, own)
              : model.similarItems(w.input as string, own)) as never,
          )
        } catch (error) {
          w.reject(error)
        }
      }
      if (scored.length === 0) return
      const requests = scored.map((w) =>
        w.kind === 'similar' ? [w.input as string] : (w.input as string | string[]),
      )
      const batch = await nativeAsync(native(() => handle.recommendRequests(requests, options)))
      const ids = model.itemIds()
      scored.forEach((w, r) => {
        const items = rowOf(batch, r, ids, w.k)
        if (w.kind !== 'history') {
          w.resolve(items as never)
          return
        }
        const ignored = batch.ignored![r]!
        const popular = options.popularFallback === true && ignored === (w.input as string[]).length
        w.resolve({ items, ignored, popular } as never)
      })
    } catch (error) {
      for (const w of waiting) w.reject(error)
    } finally {
      this.#pending -= waiting.length
      this.#requests += waiting.length
      const left = (this.#inFlight.get(model) ?? 1) - 1
      if (left === 0) {
        this.#inFlight.delete(model)
        if (this.#retired.delete(model)) nativeModel(model, 'model').release()
      } else {
        this.#inFlight.set(model, left)
      }
    }
  }
}

/** The public options that reproduce a request's native ones, for its single call. */
function optionsFor(w: Waiting, options: NativeRecommendOptions): RecommendOptions {
  const own: RecommendOptions = { k: w.k }
  if (w.kind !== 'similar') own.filterSeen = options.filterSeen ?? true
  if (options.exclude !== undefined) own.exclude = options.exclude
  if (options.include !== undefined) own.include = options.include
  if (options.strict !== undefined) own.strict = options.strict
  if (options.popularFallback === true && w.kind !== 'similar') own.fallback = 'popular'
  return own
}

/** The first `k` entries of row `r` of a native batch as a list, without padding. */
function rowOf(
  batch: { k: number; items: Int32Array; scores: Float32Array },
  r: number,
  ids: readonly string[],
  k: number,
): Recommendation[] {
  const out: Recommendation[] = []
  for (let c = r * batch.k; c < r * batch.k + Math.min(k, batch.k); c++) {
    const item = batch.items[c]!
    if (item < 0) break
    out.push({ item: ids[item]!, score: batch.scores[c]! })
  }
  return out
}
