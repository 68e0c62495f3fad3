/**
 * The device seam as a user sees it: `backendInfo()`, `device: 'auto'` falling back to the CPU,
 * `'cuda'` failing with its code, and the `precision` option. CI has no GPU, so these specs pin
 * the no-GPU behaviour; on a machine with one they check that `'auto'` takes it.
 */
import test from 'ava'

import { backendInfo, CoRML, EASE } from '../src/index.js'
import type { BackendInfo } from '../src/index.js'
import { FAST, checkerboard } from './fixtures.js'

const board = checkerboard()

let info: BackendInfo
test.before(async () => {
  info = await backendInfo()
})

test('backendInfo reports the CUDA probe consistently and is frozen', (t) => {
  t.true(Object.isFrozen(info))
  t.true(Object.isFrozen(info.libraries))
  t.true(Number.isInteger(info.cpuThreads) && info.cpuThreads >= 1)
  t.is(info.auto, info.cudaAvailable ? 'cuda:0' : 'cpu')
  t.is(info.cudaUnavailableReason === undefined, info.cudaAvailable)
  if (info.cudaAvailable) {
    t.true(info.devices.length >= 1)
    t.true(info.libraries.every((l) => l.found))
  } else {
    t.regex(info.cudaUnavailableReason ?? '', /\w/)
  }
  // The x86-64 Linux (glibc) and Windows builds carry the CUDA backend and look for 4 libraries.
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } }
  const glibc = report.header?.glibcVersionRuntime !== undefined
  const shipsCuda =
    process.arch === 'x64' &&
    (process.platform === 'win32' || (process.platform === 'linux' && glibc))
  if (shipsCuda) {
    t.true(info.cudaCompiled)
    t.deepEqual(
      info.libraries.map((l) => l.name),
      ['cuda', 'cublas', 'cusolver', 'nvrtc'],
    )
  }
})

test("device 'auto' runs where backendInfo says, without a warning on a machine with no driver", async (t) => {
  const warnings: Error[] = []
  const listen = (w: Error): void => {
    warnings.push(w)
  }
  process.on('warning', listen)
  try {
    const model = await CoRML.fit(board.data, { ...FAST, device: 'auto' })
    t.is(model.info.backend.startsWith('cuda') ? 'cuda:0' : 'cpu', info.auto)
    // Let the warning event, if any, be delivered.
    await new Promise((resolve) => setImmediate(resolve))
    const driverPresent = info.libraries.some((l) => l.name === 'cuda' && l.found)
    if (!info.cudaAvailable && !driverPresent) {
      t.is(model.info.deviceFallback, undefined)
      t.deepEqual(
        warnings.filter((w) => (w as { code?: string }).code === 'CORML_CUDA_FALLBACK'),
        [],
      )
    }
  } finally {
    process.off('warning', listen)
  }
})

test("device 'cuda' / 'cuda:N' without a usable GPU rejects with CUDA_UNAVAILABLE and says why", async (t) => {
  const beyond = `cuda:${info.devices.length}` as const
  const err = await t.throwsAsync(CoRML.fit(board.data, { ...FAST, device: beyond }), {
    code: 'CUDA_UNAVAILABLE',
  })
  t.regex(err?.message ?? '', /cuda/i)
  await t.throwsAsync(EASE.fit(board.data, { device: beyond }), { code: 'CUDA_UNAVAILABLE' })
  if (!info.cudaAvailable) {
    const e = await t.throwsAsync(CoRML.fit(board.data, { ...FAST, device: 'cuda' }), {
      code: 'CUDA_UNAVAILABLE',
    })
    // The message carries the probe's reason, not a generic failure.
    t.true((e?.message ?? '').includes(info.cudaUnavailableReason ?? '\u0000'))
  }
})

test("precision 'tf32' is accepted and changes nothing on the CPU; other values are INVALID_ARGUMENT", async (t) => {
  const fp32 = await CoRML.fit(board.data, { ...FAST, device: 'cpu', precision: 'fp32' })
  const tf32 = await CoRML.fit(board.data, { ...FAST, device: 'cpu', precision: 'tf32' })
  for (const user of board.data.userIds().slice(0, 10)) {
    t.deepEqual(tf32.recommend(user, { k: 5 }), fp32.recommend(user, { k: 5 }))
  }
  for (const precision of ['fp16', 'TF32', '', 32, null]) {
    await t.throwsAsync(
      CoRML.fit(board.data, { ...FAST, device: 'cpu', precision: precision as 'fp32' }),
      { code: 'INVALID_ARGUMENT' },
    )
  }
})

test('model info reports the ADMM flops of CoRML and none for EASE', async (t) => {
  const model = await CoRML.fit(board.data, { ...FAST, device: 'cpu' })
  const n = board.data.itemIds().length
  t.is(model.info.admmFlops, 2 * n ** 3 * (FAST.admmIterations - 1))
  t.true(model.info.stages.some((s) => s.stage === 'admm'))
  const ease = await EASE.fit(board.data, { device: 'cpu' })
  t.is(ease.info.admmFlops, 0)
})
