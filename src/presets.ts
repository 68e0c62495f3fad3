/**
 * CoRML's per-dataset settings from the CoRML paper's Table 2.
 *
 * @packageDocumentation
 */

import type { CoRMLHyperparameters } from './models.js'

/**
 * A complete, frozen set of CoRML hyperparameters.
 *
 * @example
 * ```ts
 * const tuned: CoRMLHyperparameters = { ...presets.gowalla, lambda: 0.85 }
 * ```
 */
export type CoRMLPreset = Readonly<Required<Omit<CoRMLHyperparameters, 'seed'>>>

function preset(
  lambda: number,
  dualStepLength: number,
  l2Regularization: number,
  globalScaling: number,
  userScaling: number,
  partitionRatio: number,
): CoRMLPreset {
  return Object.freeze({
    lambda,
    dualStepLength,
    l2Regularization,
    itemDegreeNorm: 0.1,
    globalScaling,
    userScaling,
    eigenvectors: 256,
    admmIterations: 50,
    partitionRatio,
    sparseApprox: true,
  })
}

/**
 * The CoRML settings behind the paper's Table 2 (t = 0.1, k = 256, 50 ADMM iterations
 * everywhere). Spread one into the options of {@link CoRML.fit} and override what you need.
 *
 * | preset | λ | ρ | θ | globalScaling | userScaling | partitionRatio |
 * | --- | --- | --- | --- | --- | --- | --- |
 * | `pinterest` | 0.7 | 5e3 | 1e-3 | -0.5 | 0.5 | 1.0 |
 * | `gowalla` | 0.8 | 5e3 | 1.0 | 0.0 | 0.0 | 0.35 |
 * | `yelp2018` | 0.8 | 5e3 | 1.0 | -1.0 | 0.5 | 0.3 |
 * | `ml20m` | 0.8 | 10.0 | 0.1 | 0.0 | 0.0 | 1.0 |
 *
 * @example
 * ```ts
 * const model = await CoRML.fit(train, { ...presets.gowalla, device: 'cuda' })
 * ```
 */
export const presets: Readonly<{
  pinterest: CoRMLPreset
  gowalla: CoRMLPreset
  yelp2018: CoRMLPreset
  ml20m: CoRMLPreset
}> = Object.freeze({
  pinterest: preset(0.7, 5e3, 1e-3, -0.5, 0.5, 1.0),
  gowalla: preset(0.8, 5e3, 1.0, 0.0, 0.0, 0.35),
  yelp2018: preset(0.8, 5e3, 1.0, -1.0, 0.5, 0.3),
  ml20m: preset(0.8, 10.0, 0.1, 0.0, 0.0, 1.0),
})
