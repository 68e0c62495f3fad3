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
import { nativeModel } from './recommender.js'
import type { Id, Recommendation, RecommendOptions } from './recommender.js'
import { id, integer, invalid, optionalBoolean, optionsObject, show } from './validate.js'

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
   * Batches scored at the same time, an integer from 1 to 64. Default 2: scoring one batch
   * already uses every core, so more only adds latency.
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

/** One request waiting for its batch. */
interface Waiting {
  readonly user: string
  readonly resolve: (items: Recommendation[]) => void
  readonly reject: (error: unknown) => void
}

/** Requests with the same options, batched together. */
interface Group {
  readonly options: RecommendOptions
  readonly waiting: Waiting[]
  timer: ReturnType<typeof setTimeout> | undefined
}

const OPTIONS = ['maxWaitMs', 'maxBatch', 'maxQueue', 'concurrency', 'mmap'] as const

function bounded(value: unknown, name: string, min: number, max: number, fallback: number) {
  if (value === undefined) return fallback
  const n = integer(value, name, min)
  if (n > max) throw invalid(`${name} must be an integer in [${min}, ${max}], not ${show(value)}`)
  return n
}

/** The options' key: requests with equal keys can share a batch. */
function keyOf(options: RecommendOptions | undefined): string {
  if (options === undefined) return '{}'
  const o = optionsObject(options, 'recommend options', [
    'k',
    'filterSeen',
    'exclude',
    'include',
    'strict',
    'fallback',
  ])
  return JSON.stringify([o.k, o.filterSeen, o.exclude, o.include, o.strict, o.fallback])
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
  readonly #ready: { waiting: Waiting[]; options: RecommendOptions }[] = []
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
    this.#concurrency = bounded(o.concurrency, 'concurrency', 1, 64, 2)
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
    let user: string
    let key: string
    try {
      user = id(userId, 'userId')
      key = keyOf(options)
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
    return new Promise<Recommendation[]>((resolve, reject) => {
      let group = this.#groups.get(key)
      if (group === undefined) {
        group = { options: options ?? {}, waiting: [], timer: undefined }
        this.#groups.set(key, group)
      }
      group.waiting.push({ user, resolve, reject })
      if (group.waiting.length >= this.#maxBatch) {
        this.#seal(key, group)
      } else if (group.timer === undefined) {
        const sealed = group
        group.timer = setTimeout(() => this.#seal(key, sealed), this.#maxWaitMs)
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

  /** Moves a group's requests to the queue of batches to score. */
  #seal(key: string, group: Group): void {
    if (group.timer !== undefined) clearTimeout(group.timer)
    group.timer = undefined
    if (this.#groups.get(key) === group) this.#groups.delete(key)
    if (group.waiting.length === 0) return
    for (let i = 0; i < group.waiting.length; i += this.#maxBatch) {
      this.#ready.push({
        waiting: group.waiting.slice(i, i + this.#maxBatch),
        options: group.options,
      })
    }
    this.#drain()
  }

  /** Starts batches while fewer than `concurrency` are running. */
  #drain(): void {
    while (this.#running < this.#concurrency && this.#ready.length > 0) {
      const batch = this.#ready.shift()!
      this.#running++
      void this.#score(batch.waiting, batch.options).finally(() => {
        this.#running--
        this.#drain()
      })
    }
  }

  /** Scores one batch on the current model and answers each of its requests. */
  async #score(waiting: readonly Waiting[], options: RecommendOptions): Promise<void> {
    const model = this.#model
    this.#inFlight.set(model, (this.#inFlight.get(model) ?? 0) + 1)
    this.#batches++
    try {
      const native = nativeModel(model, 'model')
      const popular = options.fallback === 'popular'
      // Unknown users are answered one by one (UNKNOWN_USER), not by failing the batch.
      const known = popular ? null : native.knowsUsers(waiting.map((w) => w.user))
      const scored = waiting.filter((_, i) => known === null || known[i] === 1)
      for (const [i, w] of waiting.entries()) {
        if (known !== null && known[i] !== 1) {
          try {
            // Throws UNKNOWN_USER; should the user have been added since, it answers.
            w.resolve(model.recommend(w.user, options))
          } catch (error) {
            w.reject(error)
          }
        }
      }
      if (scored.length > 0) {
        const batch = await model.recommendBatch(
          scored.map((w) => w.user),
          options,
        )
        scored.forEach((w, r) => w.resolve(batch.at(r)))
      }
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
