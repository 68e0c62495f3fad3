import test from 'ava'

import { CoRML, CoRMLSpectral, EASE, GFCF, type Progress } from '../src/index.js'
import { FAST, checkerboard, randomDataset } from './fixtures.js'

const board = checkerboard()

function checkFractions(t: { true: (ok: boolean, message?: string) => void }, events: Progress[]) {
  events.forEach((e, i) => {
    t.true(e.fraction >= 0 && e.fraction <= 1, `fraction ${e.fraction} in [0, 1]`)
    if (i > 0) t.true(e.fraction >= events[i - 1]!.fraction, `fraction non-decreasing at ${i}`)
  })
}

test('fit progress reports svd, then admm iteration i of N, with a non-decreasing fraction', async (t) => {
  const events: Progress[] = []
  const model = await CoRML.fit(board.data, {
    eigenvectors: 4,
    admmIterations: 7,
    onProgress: (p) => events.push(p),
  })
  const received = events.length
  const stages = events.map((e) => e.stage)
  t.true(stages.includes('svd'))
  t.true(stages.indexOf('svd') < stages.indexOf('admm'))
  const admm = events.filter((e) => e.stage === 'admm')
  t.deepEqual(
    admm.map((e) => e.iteration),
    [1, 2, 3, 4, 5, 6, 7],
  )
  t.true(admm.every((e) => e.iterations === 7 && e.part === 1 && e.parts === 1))
  checkFractions(t, events)
  t.is(events.at(-1)?.stage, 'done', 'every report arrives before the promise resolves')
  t.is(events.at(-1)?.fraction, 1)
  t.true(Object.isFrozen(events[0]))
  t.truthy(model)
  // Nothing arrives after the promise settled.
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.is(events.length, received)
})

test('EASE and GF-CF fits report their stages', async (t) => {
  const ease: Progress[] = []
  await EASE.fit(board.data, { onProgress: (p) => ease.push(p) })
  t.deepEqual(
    ease.map((e) => e.stage),
    ['gram', 'inverse', 'done'],
  )
  checkFractions(t, ease)
  const gfcf: Progress[] = []
  await GFCF.fit(board.data, { eigenvectors: 4, onProgress: (p) => gfcf.push(p) })
  t.deepEqual(
    gfcf.map((e) => e.stage),
    ['svd', 'done'],
  )
})

test('an AbortSignal aborts a running fit quickly, and the addon stays usable', async (t) => {
  // 2,000 items: 50 ADMM iterations on a dense 2,000 × 2,000 problem take seconds.
  const data = randomDataset(3000, 2000, 20, 7)
  const controller = new AbortController()
  let abortedAt = 0
  let after = 0
  const fit = CoRML.fit(data, {
    eigenvectors: 8,
    admmIterations: 50,
    signal: controller.signal,
    onProgress: (p) => {
      if (abortedAt > 0) after++
      if (p.stage === 'admm' && abortedAt === 0) {
        abortedAt = Date.now()
        controller.abort(new Error('user gave up'))
      }
    },
  })
  const err = await t.throwsAsync(fit, { code: 'ABORTED' })
  t.true(abortedAt > 0, 'the fit reached ADMM')
  const latency = Date.now() - abortedAt
  t.true(latency < 1500, `rejected ${latency} ms after the abort`)
  t.log(`ABORTED ${latency} ms after abort (${after} reports after it): ${err?.message}`)

  // Still alive: fit again, on the same and on other data.
  const again = await CoRML.fit(board.data, FAST)
  t.is(again.recommend('u0-0', { k: 1 })[0]?.item, board.withheld.get('u0-0'))
})

test('an already aborted signal rejects with ABORTED before any work', async (t) => {
  const calls: Progress[] = []
  const signal = AbortSignal.abort()
  const started = Date.now()
  await t.throwsAsync(CoRML.fit(board.data, { signal, onProgress: (p) => calls.push(p) }), {
    code: 'ABORTED',
  })
  await t.throwsAsync(EASE.fit(board.data, { signal }), { code: 'ABORTED' })
  await t.throwsAsync(GFCF.fit(board.data, { signal }), { code: 'ABORTED' })
  t.true(Date.now() - started < 500)
  t.is(calls.length, 0)
})

test('aborting after a fit completed changes nothing', async (t) => {
  const controller = new AbortController()
  const model = await CoRML.fit(board.data, { ...FAST, signal: controller.signal })
  controller.abort()
  t.is(model.recommend('u1-1', { k: 1 }).length, 1)
})

test('a throwing onProgress cancels the fit and rejects with what it threw', async (t) => {
  const thrown = new Error('progress callback failed')
  await t.throwsAsync(
    CoRML.fit(board.data, {
      ...FAST,
      onProgress: (p) => {
        if (p.stage === 'admm') throw thrown
      },
    }),
    { is: thrown },
  )
  // Still usable.
  t.truthy(await CoRML.fit(board.data, FAST))
})

test('a part too large for memoryBudget is OUT_OF_MEMORY, naming a partitionRatio that fits', async (t) => {
  const data = randomDataset(400, 1000, 10, 11)
  const err = await t.throwsAsync(
    CoRML.fit(data, { ...FAST, partitionRatio: 1, memoryBudget: 1e6 }),
    { code: 'OUT_OF_MEMORY' },
  )
  t.regex(err?.message ?? '', /partitionRatio to \d\.\d\d/)
  // 'auto' finds no part of 256 items in half a megabyte either, and says what to do.
  const auto = await t.throwsAsync(CoRML.fit(data, { ...FAST, memoryBudget: 1e6 }), {
    code: 'OUT_OF_MEMORY',
  })
  t.regex(auto?.message ?? '', /partitionRatio 'auto' found no part .*memoryBudget/)
  await t.throwsAsync(EASE.fit(data, { memoryBudget: 1e6 }), { code: 'OUT_OF_MEMORY' })
  // A generous budget works.
  t.truthy(await CoRML.fit(board.data, { ...FAST, memoryBudget: 1e9 }))
})

test("partitionRatio 'auto' (the default) splits the items into the largest parts that fit half the budget", async (t) => {
  const data = randomDataset(400, 1000, 10, 11)
  const k = FAST.eigenvectors
  // A part of n items needs 5 dense n × n float32 matrices and two n × k ones.
  const partBytes = (n: number) => 20 * n * n + 8 * n * k
  const model = await CoRML.fit(data, { ...FAST, memoryBudget: 2 * partBytes(400) })
  const sizes = model.info.partSizes
  t.true(sizes.length >= 3 && sizes.every((n) => n <= 400), String(sizes))
  t.is(
    sizes.reduce((a, b) => a + b, 0),
    1000,
  )
  // The model says which ratio it used: a number, not 'auto'.
  const used = model.info.settings.partitionRatio
  t.true(typeof used === 'number' && used > 0.4 && used < 0.401, String(used))
  // The same as asking for it by name; and a generous budget solves all items at once.
  const named = await CoRML.fit(data, {
    ...FAST,
    partitionRatio: 'auto',
    memoryBudget: 2 * partBytes(400),
  })
  t.deepEqual(named.info.partSizes, sizes)
  t.deepEqual((await CoRML.fit(data, { ...FAST, memoryBudget: 1e9 })).info.partSizes, [1000])
  await t.throwsAsync(CoRML.fit(data, { ...FAST, partitionRatio: 'half' as never }), {
    code: 'INVALID_ARGUMENT',
    message: /partitionRatio must be a number in \(0, 1\] or 'auto'/,
  })
})

test("device 'cuda' without CUDA is CUDA_UNAVAILABLE; 'auto' and 'cpu' work; 'gpu' is invalid", async (t) => {
  const auto = await CoRML.fit(board.data, { ...FAST, device: 'auto' })
  const cpu = await EASE.fit(board.data, { device: 'cpu' })
  t.regex(cpu.info.backend, /^cpu/)
  if (auto.info.backend.startsWith('cpu')) {
    await t.throwsAsync(CoRML.fit(board.data, { ...FAST, device: 'cuda' }), {
      code: 'CUDA_UNAVAILABLE',
    })
    await t.throwsAsync(EASE.fit(board.data, { device: 'cuda:1' }), { code: 'CUDA_UNAVAILABLE' })
  } else {
    t.log(`CUDA is available (${auto.info.backend}): skipping the CUDA_UNAVAILABLE check`)
  }
  for (const device of ['gpu', 'cuda:', 'cuda:x', 'CPU', '']) {
    await t.throwsAsync(CoRML.fit(board.data, { ...FAST, device: device as 'cpu' }), {
      code: 'INVALID_ARGUMENT',
    })
  }
})

test("admmSolver 'dense' and 'iterative' train the same model; 'auto' reports its choice", async (t) => {
  const data = randomDataset(90, 60, 8, 11)
  const options = { ...FAST, dualStepLength: 5e3, device: 'cpu' } as const
  const dense = await CoRML.fit(data, { ...options, admmSolver: 'dense' })
  const iterative = await CoRML.fit(data, { ...options, admmSolver: 'iterative' })
  t.deepEqual(dense.info.admmSolvers, ['dense'])
  t.regex(iterative.info.admmSolvers[0] ?? '', /^chebyshev \(\d+ steps/)
  for (const user of data.userIds().slice(0, 20)) {
    const a = dense.recommend(user, { k: 5 })
    const b = iterative.recommend(user, { k: 5 })
    a.forEach((r, i) =>
      t.true(Math.abs(r.score - b[i]!.score) <= 1e-4 * Math.max(1, Math.abs(r.score))),
    )
  }
  const auto = await CoRML.fit(data, options)
  t.is(auto.info.admmSolvers.length, auto.info.partSizes.length)
  for (const admmSolver of ['fast', '', 'Dense', 3]) {
    await t.throwsAsync(CoRML.fit(data, { ...options, admmSolver: admmSolver as 'dense' }), {
      code: 'INVALID_ARGUMENT',
    })
  }
})

test('CoRML.prepare shares the spectral factor between fits: the same models as fits from scratch', async (t) => {
  const data = randomDataset(300, 500, 12, 5)
  const base = { ...FAST, partitionRatio: 0.5 }
  const spectral = await CoRML.prepare(data, base)
  t.true(spectral instanceof CoRMLSpectral)
  t.is(spectral.partitionRatio, 0.5)
  t.true(spectral.partSizes.length >= 2)
  t.is(
    spectral.partSizes.reduce((a, b) => a + b, 0),
    500,
  )
  t.true(spectral.seconds >= 0)
  const user = data.userIds()[0]!
  for (const lambda of [0.6, 0.9]) {
    const shared = await CoRML.fit(data, { ...base, lambda, spectral })
    const alone = await CoRML.fit(data, { ...base, lambda })
    t.deepEqual(shared.recommend(user, { k: 10 }), alone.recommend(user, { k: 10 }))
    t.deepEqual(shared.info.partSizes, [...spectral.partSizes])
  }
  // Another rank, or other data, needs another; a stand-in is refused before any work.
  await t.throwsAsync(CoRML.fit(data, { ...base, eigenvectors: 3, spectral }), {
    code: 'INVALID_ARGUMENT',
    message: /eigenvectors 4, seed 2026 and partitionRatio 0\.5/,
  })
  await t.throwsAsync(CoRML.fit(randomDataset(300, 500, 12, 6), { ...base, spectral }), {
    code: 'INVALID_ARGUMENT',
    message: /other training data/,
  })
  await t.throwsAsync(CoRML.fit(data, { ...base, spectral: {} as never }), {
    code: 'INVALID_ARGUMENT',
    message: /spectral must be a CoRMLSpectral from CoRML.prepare/,
  })
  await t.throwsAsync(CoRML.prepare(data, { ...base, spectral } as never), {
    code: 'INVALID_ARGUMENT',
  })
})
