/**
 * The three algorithms: CoRML and its baselines EASE and GF-CF.
 *
 * @packageDocumentation
 */

import { nativeDataset } from './dataset.js'
import type { Dataset } from './dataset.js'
import { native, nativeAsync } from './errors.js'
import { HYPERPARAMETERS, inRange } from './hyperparameters.js'
import { runLongWork } from './job.js'
import type { LongWorkOptions, ThreadOptions } from './job.js'
import {
  NativeModel,
  NativeSpectral,
  fitCorml,
  fitEase,
  fitGfcf,
  prepareCorml,
} from './native/index.cjs'
import type {
  CormlOptions as NativeCormlOptions,
  EaseOptions as NativeEaseOptions,
  GfcfOptions as NativeGfcfOptions,
} from './native/index.cjs'
import { Recommender } from './recommender.js'
import {
  bag,
  invalid,
  nonEmptyString,
  optionalBoolean,
  optionalInteger,
  optionalNumber,
  optionalString,
  optionsObject,
  show,
} from './validate.js'

/** Wraps a native model in its class; a module-private key, so not part of the public API. */
const WRAP = Symbol('wrap')

/**
 * Where the dense work runs: `'auto'` (CUDA when usable, else the CPU), `'cpu'`, `'cuda'`
 * (device 0) or `'cuda:N'`. An explicit CUDA device that cannot be used rejects with
 * `CUDA_UNAVAILABLE`; anything else is `INVALID_ARGUMENT`.
 *
 * @example
 * ```ts
 * const device: Device = process.env.GPU ? 'cuda:0' : 'auto'
 * ```
 */
export type Device = 'auto' | 'cpu' | 'cuda' | `cuda:${number}`

/**
 * Arithmetic of CoRML's large dense products on a GPU: `'fp32'` (IEEE single precision, the
 * default) or `'tf32'` (TensorFloat-32 tensor-core products with fp32 accumulation, on Ampere and
 * newer GPUs; faster, at an accuracy cost that the GPU check measures, see `docs/cuda.md`). Only
 * the ADMM loop's products use it. The CPU always computes in fp32 and ignores it.
 *
 * @example
 * ```ts
 * const model = await CoRML.fit(train, { ...presets.ml20m, device: 'cuda', precision: 'tf32' })
 * ```
 */
export type Precision = 'fp32' | 'tf32'

/**
 * Options of the dense solvers (CoRML and EASE).
 *
 * @example
 * ```ts
 * await EASE.fit(train, { device: 'cpu', memoryBudget: 4 * 2 ** 30 })
 * ```
 */
export interface DeviceOptions {
  /**
   * Where the dense work runs. Default `'auto'`: the first CUDA device when a driver, the CUDA
   * libraries and a device are all present, else the CPU (with a one-time process warning,
   * code `CORML_CUDA_FALLBACK`, when a driver is present but CUDA cannot be used).
   */
  device?: Device
  /**
   * Bytes the dense work may use. Default: the memory free on the device now. A step that needs
   * more rejects with `OUT_OF_MEMORY` (host) or `OUT_OF_DEVICE_MEMORY` (GPU) before it starts,
   * saying what would fit.
   */
  memoryBudget?: number
}

/**
 * CoRML's hyperparameters (the CoRML paper's names in brackets). Every one is optional; the
 * defaults are the paper's. See {@link presets} for the per-dataset settings of the paper's
 * Table 2.
 *
 * @example
 * ```ts
 * const hp: CoRMLHyperparameters = { ...presets.yelp2018, admmIterations: 30 }
 * ```
 */
export interface CoRMLHyperparameters {
  /** Weight between the metric part H and the graph-filter part G, in (0, 1] (λ). Default 0.75. */
  lambda?: number
  /** ADMM penalty / step, > 0 (ρ). Default 5e3. */
  dualStepLength?: number
  /** l2 weight on H, scaled by item degree, ≥ 0 (θ). Default 1.0. */
  l2Regularization?: number
  /** Item degree normalization in [-2, 2] (t); lower favours less popular items. Default 0.1. */
  itemDegreeNorm?: number
  /** log10 of the global scale ε of the approximated ranking weights, in [-10, 10]. Default 0. */
  globalScaling?: number
  /** User-degree scaling of the ranking weights, in [-10, 10] (t_u). Default 0. */
  userScaling?: number
  /** Rank of the truncated SVD behind G, an integer in [1, 4096] (k). Default 256. */
  eigenvectors?: number
  /** ADMM iterations, an integer in [1, 10000]. Default 50. */
  admmIterations?: number
  /**
   * Largest item partition as a share of all items, in (0, 1]; 1 solves all items at once.
   * Smaller parts need less memory and time (each part costs O(n³)). Default `'auto'`: the
   * largest part whose dense solve fits half of `memoryBudget` (by default, of the memory free
   * on the device), and on the CPU at most 15,000 items; rounded so that small changes in free
   * memory leave it alone. The trained model's `info` holds the ratio it used.
   */
  partitionRatio?: number | 'auto'
  /** Prune H to the storage budget of a 64-dimensional matrix factorization. Default `true`. */
  sparseApprox?: boolean
  /** Seed of the randomized SVDs, an integer ≥ 0. Default 2026. */
  seed?: number
}

/**
 * Options of {@link CoRML.fit}: hyperparameters, device, progress and cancellation.
 *
 * @example
 * ```ts
 * const options: CoRMLOptions = { ...presets.gowalla, device: 'auto', onProgress: (p) => console.log(p.stage) }
 * ```
 */
export interface CoRMLOptions
  extends CoRMLHyperparameters, DeviceOptions, ThreadOptions, LongWorkOptions {
  /** Arithmetic of the large products on a GPU. Default `'fp32'`. */
  precision?: Precision
  /**
   * How the CPU computes each ADMM iteration's `A⁻¹X`. `'auto'` (default) takes the iterative
   * (Chebyshev) solve with `A` in sparse form where a cost model says it is cheaper: sparse data
   * and a large `dualStepLength`, as in the Gowalla and Yelp2018 presets. `'dense'` runs the
   * algorithm as written (a Cholesky inverse and one dense product per iteration; see
   * docs/algorithm.md); `'iterative'` forces the other. The iterates agree to fp32 accuracy.
   * GPUs always use the dense product.
   */
  admmSolver?: AdmmSolver
  /**
   * A spectral factor from {@link CoRML.prepare} on the same `train` with the same
   * `eigenvectors`, `seed` and `partitionRatio`, to reuse instead of computing it again (the
   * model is the same either way); anything else is `INVALID_ARGUMENT`.
   */
  spectral?: CoRMLSpectral
}

const spectralHandles = new WeakMap<object, NativeSpectral>()

/**
 * CoRML's spectral factor `V` and item partition for one training set, from
 * {@link CoRML.prepare}: the part of a fit that depends only on the data, `eigenvectors`, `seed`
 * and `partitionRatio`. Fits that differ only in the other hyperparameters (the points of a
 * search) can share one through the `spectral` option.
 *
 * @example
 * ```ts
 * const spectral = await CoRML.prepare(train, { eigenvectors: 256 })
 * for (const lambda of [0.7, 0.8, 0.9]) await CoRML.fit(train, { lambda, spectral })
 * ```
 */
export class CoRMLSpectral {
  private constructor(handle: NativeSpectral) {
    spectralHandles.set(this, handle)
    Object.freeze(this)
  }

  /** @internal */
  static [WRAP](handle: NativeSpectral): CoRMLSpectral {
    return new CoRMLSpectral(handle)
  }

  /** The partition ratio it used: what `'auto'` chose, or the one asked for. */
  get partitionRatio(): number {
    return spectralOf(this, 'this').partitionRatio
  }

  /** The item count of each part. */
  get partSizes(): readonly number[] {
    return Object.freeze(spectralOf(this, 'this').partSizes)
  }

  /** Seconds it took to compute (the `svd` and `partition` stages). */
  get seconds(): number {
    return spectralOf(this, 'this').seconds
  }
}

function spectralOf(value: unknown, name: string): NativeSpectral {
  const handle =
    typeof value === 'object' && value !== null ? spectralHandles.get(value) : undefined
  if (handle === undefined) {
    throw invalid(`${name} must be a CoRMLSpectral from CoRML.prepare, not ${show(value)}`)
  }
  return handle
}

/**
 * How CoRML's ADMM computes `A⁻¹X` on the CPU: see {@link CoRMLOptions.admmSolver}.
 *
 * @example
 * ```ts
 * const literal: AdmmSolver = 'dense'
 * ```
 */
export type AdmmSolver = 'auto' | 'dense' | 'iterative'

/**
 * Options of {@link EASE.fit}.
 *
 * @example
 * ```ts
 * const options: EaseOptions = { regularization: 500, device: 'cpu' }
 * ```
 */
export interface EaseOptions extends DeviceOptions, ThreadOptions, LongWorkOptions {
  /** l2 regularization added to the Gram diagonal, > 0. Default 250. */
  regularization?: number
}

/**
 * Options of {@link GFCF.fit}. GF-CF runs on the CPU (its one real step is a randomized SVD).
 *
 * @example
 * ```ts
 * const options: GfcfOptions = { alpha: 0.3, eigenvectors: 256, seed: 1 }
 * ```
 */
export interface GfcfOptions extends ThreadOptions, LongWorkOptions {
  /** Weight of the ideal low-pass filter, ≥ 0 (α). Default 0.3. */
  alpha?: number
  /** Rank of the low-pass filter, an integer ≥ 1. Default 256. */
  eigenvectors?: number
  /** Seed of the randomized SVD, an integer ≥ 0. Default 2026. */
  seed?: number
}

const LONG_WORK = ['onProgress', 'signal', 'threads'] as const
const DEVICE = ['device', 'memoryBudget'] as const
const CORML_OPTIONS = [
  ...HYPERPARAMETERS.map((h) => h.name),
  'precision',
  'admmSolver',
  'spectral',
  ...DEVICE,
  ...LONG_WORK,
]
/** {@link CoRML.prepare} takes the options of a fit but a spectral factor. */
const PREPARE_OPTIONS = CORML_OPTIONS.filter((name) => name !== 'spectral')

/** The `threads` option (checked natively as well: an integer in [1, 1024]). */
function threadOptions(o: Record<string, unknown>, out: { threads?: number }) {
  const threads = optionalInteger(o.threads, 'threads', 1)
  if (threads !== undefined) out.threads = threads
}

function deviceOptions(
  o: Record<string, unknown>,
  out: { device?: string; memoryBudget?: number },
) {
  const device = optionalString(o.device, 'device')
  if (device !== undefined) out.device = device
  const memoryBudget = optionalNumber(o.memoryBudget, 'memoryBudget')
  if (memoryBudget !== undefined) out.memoryBudget = memoryBudget
}

/** The native options of checked CoRML options: every hyperparameter by its kind and range. */
function cormlOptions(o: Record<string, unknown>): NativeCormlOptions {
  const out = bag<Record<string, unknown>>()
  for (const h of HYPERPARAMETERS) {
    const value = o[h.name]
    if (value === undefined) continue
    if (!inRange(h, value)) {
      const allowed =
        h.kind === 'boolean' ? 'a boolean' : h.kind === 'integer' ? h.range : `a number ${h.range}`
      throw invalid(`${h.name} must be ${allowed}, not ${show(value)}`)
    }
    out[h.name] = value
  }
  const precision = optionalString(o.precision, 'precision')
  if (precision !== undefined) out.precision = precision
  const admmSolver = optionalString(o.admmSolver, 'admmSolver')
  if (admmSolver !== undefined) out.admmSolver = admmSolver
  const native = out as NativeCormlOptions
  deviceOptions(o, native)
  threadOptions(o, native)
  return native
}

let fallbackWarned = false

/**
 * Emits, once per process, why device `'auto'` ran on the CPU on a machine with an NVIDIA driver
 * (a machine without one is an ordinary CPU machine and gets no warning).
 */
function warnOnDeviceFallback(model: NativeModel): NativeModel {
  const reason = native(() => model.info()).deviceFallback
  if (!fallbackWarned && typeof reason === 'string') {
    fallbackWarned = true
    process.emitWarning(`corml-native: device 'auto' is running on the CPU: ${reason}`, {
      code: 'CORML_CUDA_FALLBACK',
    })
  }
  return model
}

/**
 * CoRML (Collaborative Residual Metric Learning, SIGIR 2023): an item-item model combining a
 * learned sparse metric part with a spectral graph filter, trained by ADMM.
 *
 * @example
 * ```ts
 * import { Dataset, CoRML, presets, evaluate } from 'corml-native'
 *
 * const data = await Dataset.fromFile('gowalla.inter')
 * const split = data.split()
 * const model = await CoRML.fit(split.train, {
 *   ...presets.gowalla,
 *   onProgress: (p) => process.stdout.write(`\r${p.stage} ${(p.fraction * 100).toFixed(0)}%`),
 * })
 * console.log(model.recommend(split.train.userIds()[0]!, { k: 20 }))
 * console.log(await evaluate(model, split, { ks: [20] }))
 * ```
 */
export class CoRML extends Recommender {
  private constructor(native: NativeModel) {
    super(native)
  }

  /** @internal */
  static [WRAP](native: NativeModel): CoRML {
    return new CoRML(native)
  }

  /**
   * Reads a CoRML model file written by {@link Recommender.save}, off the main thread.
   * Rejects with `INVALID_MODEL_FILE` (not a model file, truncated or corrupted),
   * `UNSUPPORTED_MODEL_VERSION`, `IO_ERROR`, or `INVALID_ARGUMENT` when the file holds another
   * algorithm (use {@link loadModel} to accept any).
   *
   * @example
   * ```ts
   * const model = await CoRML.load('models/latest.corml')
   * ```
   */
  static async load(path: string, options?: LoadOptions): Promise<CoRML> {
    return only(await loadModel(path, options), CoRML)
  }

  /**
   * Reads a CoRML model from the bytes of a model file ({@link Recommender.toBuffer}).
   * Rejects like {@link CoRML.load}.
   *
   * @example
   * ```ts
   * const model = await CoRML.fromBuffer(await readFile('models/latest.corml'))
   * ```
   */
  static async fromBuffer(bytes: Uint8Array): Promise<CoRML> {
    return only(await modelFromBuffer(bytes), CoRML)
  }

  /**
   * Trains CoRML on `train`, off the main thread.
   *
   * Rejects with `INVALID_ARGUMENT` (an option of the wrong type or out of range), `EMPTY_DATA`,
   * `CUDA_UNAVAILABLE` (`device: 'cuda'` and no usable GPU; the message says why),
   * `OUT_OF_MEMORY` / `OUT_OF_DEVICE_MEMORY` (a part does not fit the host's or the GPU's memory;
   * the message names a `partitionRatio` that would), `CUDA_ERROR`, `NUMERICAL_ERROR` or
   * `ABORTED`.
   *
   * @example
   * ```ts
   * const controller = new AbortController()
   * const model = await CoRML.fit(train, { ...presets.yelp2018, signal: controller.signal })
   * ```
   */
  static async fit(train: Dataset, options?: CoRMLOptions): Promise<CoRML> {
    const o = optionsObject(options, 'CoRML options', CORML_OPTIONS)
    const data = nativeDataset(train, 'train')
    const params = cormlOptions(o)
    const spectral = o.spectral === undefined ? undefined : spectralOf(o.spectral, 'spectral')
    return runLongWork(o, async (progress, cancel) => {
      const model = await nativeAsync(
        native(() => fitCorml(data, params, progress, cancel, spectral)),
      )
      return new CoRML(warnOnDeviceFallback(model))
    })
  }

  /**
   * Computes CoRML's spectral factor and item partition for `train` (the `svd` and `partition`
   * stages of a fit) off the main thread, for fits that share them through the `spectral`
   * option. Takes the options of {@link CoRML.fit}; only `eigenvectors`, `seed`,
   * `partitionRatio`, the device and the memory budget matter. Rejects like {@link CoRML.fit}.
   *
   * @example
   * ```ts
   * const spectral = await CoRML.prepare(train, presets.gowalla)
   * const a = await CoRML.fit(train, { ...presets.gowalla, lambda: 0.7, spectral })
   * const b = await CoRML.fit(train, { ...presets.gowalla, lambda: 0.9, spectral })
   * ```
   */
  static async prepare(train: Dataset, options?: CoRMLOptions): Promise<CoRMLSpectral> {
    const o = optionsObject(options, 'CoRML options', PREPARE_OPTIONS)
    const data = nativeDataset(train, 'train')
    const params = cormlOptions(o)
    return runLongWork(o, async (progress, cancel) =>
      CoRMLSpectral[WRAP](
        await nativeAsync(native(() => prepareCorml(data, params, progress, cancel))),
      ),
    )
  }
}

/**
 * EASE (Steck 2019), the embarrassingly shallow autoencoder: a dense item-item model with a
 * closed-form solution. Needs two dense items × items float32 matrices.
 *
 * @example
 * ```ts
 * const ease = await EASE.fit(train, { regularization: 250 })
 * ease.recommend('user-42')
 * ```
 */
export class EASE extends Recommender {
  private constructor(native: NativeModel) {
    super(native)
  }

  /** @internal */
  static [WRAP](native: NativeModel): EASE {
    return new EASE(native)
  }

  /**
   * Reads a EASE model file written by {@link Recommender.save}, off the main thread.
   * Rejects with `INVALID_MODEL_FILE` (not a model file, truncated or corrupted),
   * `UNSUPPORTED_MODEL_VERSION`, `IO_ERROR`, or `INVALID_ARGUMENT` when the file holds another
   * algorithm (use {@link loadModel} to accept any).
   *
   * @example
   * ```ts
   * const model = await EASE.load('models/latest.corml')
   * ```
   */
  static async load(path: string, options?: LoadOptions): Promise<EASE> {
    return only(await loadModel(path, options), EASE)
  }

  /**
   * Reads a EASE model from the bytes of a model file ({@link Recommender.toBuffer}).
   * Rejects like {@link EASE.load}.
   *
   * @example
   * ```ts
   * const model = await EASE.fromBuffer(await readFile('models/latest.corml'))
   * ```
   */
  static async fromBuffer(bytes: Uint8Array): Promise<EASE> {
    return only(await modelFromBuffer(bytes), EASE)
  }

  /**
   * Trains EASE on `train`, off the main thread. Rejects like {@link CoRML.fit}.
   *
   * @example
   * ```ts
   * const ease = await EASE.fit(train, { regularization: 500, device: 'cpu' })
   * ```
   */
  static async fit(train: Dataset, options?: EaseOptions): Promise<EASE> {
    const o = optionsObject(options, 'EASE options', ['regularization', ...DEVICE, ...LONG_WORK])
    const data = nativeDataset(train, 'train')
    const params = bag<NativeEaseOptions>()
    const regularization = optionalNumber(o.regularization, 'regularization')
    if (regularization !== undefined) params.regularization = regularization
    deviceOptions(o, params)
    threadOptions(o, params)
    return runLongWork(o, async (progress, cancel) => {
      const model = await nativeAsync(native(() => fitEase(data, params, progress, cancel)))
      return new EASE(warnOnDeviceFallback(model))
    })
  }
}

/**
 * GF-CF (Shen et al. 2021), graph-filter collaborative filtering: a linear filter plus an ideal
 * low-pass filter of rank `eigenvectors`. Training is a randomized SVD (CPU).
 *
 * @example
 * ```ts
 * const gf = await GFCF.fit(train, { alpha: 0.3, eigenvectors: 256 })
 * gf.recommendForHistory(['item-a'])
 * ```
 */
export class GFCF extends Recommender {
  private constructor(native: NativeModel) {
    super(native)
  }

  /** @internal */
  static [WRAP](native: NativeModel): GFCF {
    return new GFCF(native)
  }

  /**
   * Reads a GFCF model file written by {@link Recommender.save}, off the main thread.
   * Rejects with `INVALID_MODEL_FILE` (not a model file, truncated or corrupted),
   * `UNSUPPORTED_MODEL_VERSION`, `IO_ERROR`, or `INVALID_ARGUMENT` when the file holds another
   * algorithm (use {@link loadModel} to accept any).
   *
   * @example
   * ```ts
   * const model = await GFCF.load('models/latest.corml')
   * ```
   */
  static async load(path: string, options?: LoadOptions): Promise<GFCF> {
    return only(await loadModel(path, options), GFCF)
  }

  /**
   * Reads a GFCF model from the bytes of a model file ({@link Recommender.toBuffer}).
   * Rejects like {@link GFCF.load}.
   *
   * @example
   * ```ts
   * const model = await GFCF.fromBuffer(await readFile('models/latest.corml'))
   * ```
   */
  static async fromBuffer(bytes: Uint8Array): Promise<GFCF> {
    return only(await modelFromBuffer(bytes), GFCF)
  }

  /**
   * Trains GF-CF on `train`, off the main thread. Rejects with `INVALID_ARGUMENT`, `EMPTY_DATA`
   * or `ABORTED`.
   *
   * @example
   * ```ts
   * const gf = await GFCF.fit(train, { alpha: 0.3, eigenvectors: 128, seed: 7 })
   * ```
   */
  static async fit(train: Dataset, options?: GfcfOptions): Promise<GFCF> {
    const o = optionsObject(options, 'GF-CF options', [
      'alpha',
      'eigenvectors',
      'seed',
      ...LONG_WORK,
    ])
    const data = nativeDataset(train, 'train')
    const params = bag<NativeGfcfOptions>()
    const alpha = optionalNumber(o.alpha, 'alpha')
    if (alpha !== undefined) params.alpha = alpha
    const eigenvectors = optionalInteger(o.eigenvectors, 'eigenvectors', 0)
    if (eigenvectors !== undefined) params.eigenvectors = eigenvectors
    const seed = optionalInteger(o.seed, 'seed', 0)
    if (seed !== undefined) params.seed = seed
    threadOptions(o, params)
    return runLongWork(o, async (progress, cancel) => {
      return new GFCF(await nativeAsync(native(() => fitGfcf(data, params, progress, cancel))))
    })
  }
}

/** A model of any of the three algorithms. */
export type AnyModel = CoRML | EASE | GFCF

function wrap(model: NativeModel): AnyModel {
  switch (native(() => model.algorithm)) {
    case 'corml':
      return CoRML[WRAP](model)
    case 'ease':
      return EASE[WRAP](model)
    default:
      return GFCF[WRAP](model)
  }
}

/**
 * `model` if it is a `type`, else `INVALID_ARGUMENT` naming what it is. (The classes' private
 * constructors keep `typeof CoRML` from being a constructor type, hence the cast for
 * `instanceof`.)
 */
function only<T extends AnyModel>(model: AnyModel, type: { name: string; prototype: T }): T {
  if (model instanceof (type as unknown as new () => T)) return model
  throw invalid(
    `the model file holds a ${model.info.algorithm} model, not ${type.name}: ` +
      'load it with its own class or with loadModel()',
  )
}

/** How {@link loadModel} (and each class's `load`) reads a model file. */
export interface LoadOptions {
  /**
   * Map the file read-only and read it in place instead of copying it into memory (default
   * `false`). Every process that maps the same file (node:cluster workers, PM2 instances)
   * shares one copy of its pages, and loading costs one checksum pass over the file rather than
   * a copy. The file is still checked in full before use.
   *
   * While a mapped model is in use its file must only be replaced by renaming a new file over
   * it, as {@link Recommender.save} does; writing into it in place (`cp` over it, truncating
   * it) changes what the model reads, and a shortened file ends the process with `SIGBUS`. On
   * Windows a mapped file cannot be replaced at all until the model is released.
   */
  mmap?: boolean
}

/**
 * Reads a model file written by {@link Recommender.save}, whatever its algorithm, off the main
 * thread. Rejects with `INVALID_MODEL_FILE` (not a model file, truncated or corrupted: nothing
 * is loaded), `UNSUPPORTED_MODEL_VERSION` (written by another corml-native format) or
 * `IO_ERROR`.
 *
 * @example
 * ```ts
 * const model = await loadModel('models/latest.corml')
 * console.log(model.info.algorithm, model.info.fingerprint)
 * // Shared by every worker process that maps the same file:
 * const shared = await loadModel('models/latest.corml', { mmap: true })
 * ```
 */
export async function loadModel(path: string, options?: LoadOptions): Promise<AnyModel> {
  const file = nonEmptyString(path, 'path')
  const o = optionsObject(options, 'load options', ['mmap'])
  const mmap = optionalBoolean(o.mmap, 'mmap') ?? false
  return wrap(await nativeAsync(native(() => NativeModel.load(file, mmap))))
}

/**
 * Reads a model from the bytes of a model file ({@link Recommender.toBuffer} or a saved file's
 * contents), whatever its algorithm. The bytes are copied, so the buffer may be reused. Rejects
 * like {@link loadModel}.
 *
 * @example
 * ```ts
 * const model = await modelFromBuffer(await bucket.get('models/latest.corml'))
 * ```
 */
export async function modelFromBuffer(bytes: Uint8Array): Promise<AnyModel> {
  if (!(bytes instanceof Uint8Array)) {
    throw invalid(`bytes must be a Buffer or Uint8Array, not ${show(bytes)}`)
  }
  const store: ArrayBufferLike = bytes.buffer
  if (isDetached(store)) {
    throw invalid(
      'bytes are a view of a detached ArrayBuffer (transferred to a worker or structuredClone): ' +
        'pass the bytes before transferring them, or a copy',
    )
  }
  // Memory another thread may write while the binding copies it: copy it here first, at once.
  // Other views are read in place (the binding copies them).
  const buffer =
    typeof SharedArrayBuffer === 'function' && store instanceof SharedArrayBuffer
      ? new Uint8Array(bytes)
      : bytes
  return wrap(await nativeAsync(native(() => NativeModel.fromBuffer(buffer))))
}

/** Whether `store` was detached (transferred): it can no longer be viewed. */
function isDetached(store: ArrayBufferLike): boolean {
  const detached = (store as { detached?: unknown }).detached
  if (typeof detached === 'boolean') return detached
  if (store.byteLength !== 0) return false
  try {
    new Uint8Array(store)
    return false
  } catch {
    return true
  }
}
