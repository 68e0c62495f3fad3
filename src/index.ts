/**
 * corml-native: CoRML (Collaborative Residual Metric Learning) and its baselines EASE and GF-CF,
 * with a Rust core and this TypeScript API.
 *
 * @example
 * ```ts
 * import { Dataset, CoRML, presets, evaluate } from 'corml-native'
 *
 * const data = await Dataset.fromFile('interactions.tsv')
 * const { train, valid, test } = data.split({ ratios: [0.6, 0.2, 0.2], seed: 2026 })
 * const model = await CoRML.fit(train, presets.gowalla)
 * model.recommend('user-42', { k: 20 })
 * await evaluate(model, { valid, test }, { ks: [5, 10, 20] })
 * ```
 *
 * @packageDocumentation
 */

// First: a platform without a usable binary gets one clear NATIVE_BINDING_UNAVAILABLE error.
import './native-check.cjs'
import { bindingVersion as nativeBindingVersion } from './native/index.cjs'

/**
 * The version of the native binding, e.g. `'0.1.0'` (the same as the package's).
 *
 * @example
 * ```ts
 * import { bindingVersion } from 'corml-native'
 * console.log(`corml-native binding ${bindingVersion()}`)
 * ```
 */
export function bindingVersion(): string {
  return nativeBindingVersion()
}

export { HYPERPARAMETERS } from './hyperparameters.js'
export type { Hyperparameter } from './hyperparameters.js'

export { backendInfo } from './backend.js'
export type { BackendInfo, CudaDevice, CudaLibrary } from './backend.js'
export { CormlError, ERROR_CODES, isCormlError } from './errors.js'
export type { CormlErrorCode } from './errors.js'
export { Dataset } from './dataset.js'
export type {
  DatasetSplit,
  FilterOptions,
  ReadOptions,
  SplitFiles,
  SplitOptions,
  SyntheticOptions,
} from './dataset.js'
export type { AbortSignalLike, LongWorkOptions, Progress, ThreadOptions } from './job.js'
export { BatchRecommendations, Recommender } from './recommender.js'
export type {
  Algorithm,
  Contribution,
  ExplainOptions,
  Explanation,
  HistoryRecommendations,
  Id,
  ModelInfo,
  PopularOptions,
  Recommendation,
  RecommendOptions,
  SaveOptions,
  SimilarOptions,
} from './recommender.js'
export { CoRML, CoRMLSpectral, EASE, GFCF, loadModel, modelFromBuffer } from './models.js'
export type {
  AdmmSolver,
  AnyModel,
  CoRMLHyperparameters,
  CoRMLOptions,
  Device,
  DeviceOptions,
  EaseOptions,
  GfcfOptions,
  LoadOptions,
  Precision,
} from './models.js'
export { presets } from './presets.js'
export type { CoRMLPreset } from './presets.js'
export { evaluate } from './evaluate.js'
export { setThreads, threads } from './threads.js'
export { ModelServer } from './server.js'
export type { ModelServerOptions, ModelServerStats } from './server.js'
export type { EvaluateOptions, EvaluationResult, MetricsAtK } from './evaluate.js'
