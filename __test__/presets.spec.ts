import test from 'ava'

import { CoRML, presets } from '../src/index.js'
import { checkerboard } from './fixtures.js'

const TABLE = {
  pinterest: [0.7, 5e3, 1e-3, -0.5, 0.5, 1.0],
  gowalla: [0.8, 5e3, 1.0, 0.0, 0.0, 0.35],
  yelp2018: [0.8, 5e3, 1.0, -1.0, 0.5, 0.3],
  ml20m: [0.8, 10.0, 0.1, 0.0, 0.0, 1.0],
} as const

test('presets match the settings of the paper’s Table 2', (t) => {
  t.deepEqual(Object.keys(presets).sort(), Object.keys(TABLE).sort())
  for (const [name, row] of Object.entries(TABLE)) {
    const [lambda, dualStepLength, l2Regularization, globalScaling, userScaling, partitionRatio] =
      row
    t.deepEqual(presets[name as keyof typeof presets], {
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
})

test('presets are frozen', (t) => {
  t.true(Object.isFrozen(presets))
  for (const preset of Object.values(presets)) t.true(Object.isFrozen(preset))
  t.throws(() => {
    ;(presets.gowalla as { lambda: number }).lambda = 0.1
  })
  t.is(presets.gowalla.lambda, 0.8)
})

test('a preset spreads into CoRML options', async (t) => {
  const { data } = checkerboard()
  const model = await CoRML.fit(data, { ...presets.ml20m, eigenvectors: 4, admmIterations: 3 })
  t.is(model.info.algorithm, 'corml')
  t.deepEqual(model.info.partSizes, [data.numItems])
})
