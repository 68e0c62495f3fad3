import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

import test from 'ava'

import { bindingVersion, isCormlError } from '../src/index.js'
import {
  CancelToken,
  NativeDataset,
  failWithCode,
  failWithCodeViaStatus,
  fitCorml,
  fitEase,
  fitGfcf,
  panicWithMessage,
  type ProgressReport,
} from '../src/native/index.cjs'

const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/

test('bindingVersion is a semver string', (t) => {
  t.regex(bindingVersion(), SEMVER)
})

test('bindingVersion matches the package version', (t) => {
  // ava runs every test file with the project root as its working directory.
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }
  t.is(bindingVersion(), pkg.version)
})

test('a coded error reaches JS as an Error with that code and message', (t) => {
  const err = t.throws(() => failWithCode('X', 'm'), { code: 'X' })
  t.true(err instanceof Error)
  t.is(err?.message, 'm')
})

test('error codes survive the status-typed path (Task::reject route)', (t) => {
  t.throws(() => failWithCodeViaStatus('UNKNOWN_USER', 'user `u7` is not in the training data'), {
    instanceOf: Error,
    code: 'UNKNOWN_USER',
    message: 'user `u7` is not in the training data',
  })
})

test('isCormlError narrows known codes only', (t) => {
  const known = t.throws(() => failWithCode('INVALID_ARGUMENT', 'bad k'))
  t.true(isCormlError(known))
  const unknown = t.throws(() => failWithCode('NOT_A_CORML_CODE', 'x'))
  t.false(isCormlError(unknown))
  t.false(isCormlError({ code: 'INVALID_ARGUMENT', message: 'plain object' }))
  t.false(isCormlError(undefined))
})

test('a Rust panic becomes an INTERNAL error and the process survives', (t) => {
  t.throws(() => panicWithMessage('boom'), { code: 'INTERNAL', message: /boom/ })
  // Still alive and still able to call into the addon.
  t.regex(bindingVersion(), SEMVER)
  t.throws(() => panicWithMessage('again'), { code: 'INTERNAL' })
})

test('a progress callback that throws cannot crash the process or fail the work', async (t) => {
  const data = NativeDataset.fromPairs(['a', 'a', 'b', 'b', 'c'], ['x', 'y', 'x', 'z', 'y'])
  let calls = 0
  const model = await fitCorml(
    data,
    { eigenvectors: 2, admmIterations: 3 },
    () => {
      calls++
      throw new Error('thrown from a progress callback')
    },
    new CancelToken(),
  )
  // Reports queued by the worker may still be on their way when the promise resolves.
  await new Promise((resolve) => setImmediate(resolve))
  t.true(calls > 0)
  t.is(model.algorithm, 'corml')
})

test('progress reports are plain objects with the documented fields', async (t) => {
  const data = NativeDataset.fromPairs(['a', 'a', 'b', 'b', 'c'], ['x', 'y', 'x', 'z', 'y'])
  const reports: ProgressReport[] = []
  await fitGfcf(data, { eigenvectors: 2 }, (p) => reports.push(p))
  await new Promise((resolve) => setImmediate(resolve))
  t.true(reports.length > 0)
  for (const r of reports) {
    t.deepEqual(Object.keys(r).sort(), [
      'fraction',
      'iteration',
      'iterations',
      'part',
      'parts',
      'stage',
    ])
  }
})

test('a cancelled CancelToken makes native work reject with ABORTED', async (t) => {
  const token = new CancelToken()
  t.false(token.cancelled)
  token.cancel()
  token.cancel()
  t.true(token.cancelled)
  const data = NativeDataset.fromPairs(['a', 'b'], ['x', 'y'])
  await t.throwsAsync(fitCorml(data, { eigenvectors: 1 }, null, token), { code: 'ABORTED' })
  await t.throwsAsync(fitEase(data, {}, null, token), { code: 'ABORTED' })
})

test('a pending progress callback does not keep the process alive', (t) => {
  // A child process fits with a progress callback and then has nothing left to do: it must exit.
  const script = `
    const n = require(${JSON.stringify(`${process.cwd()}/src/native/index.cjs`)})
    const d = n.NativeDataset.fromPairs(['a', 'a', 'b'], ['x', 'y', 'x'])
    n.fitCorml(d, { eigenvectors: 1, admmIterations: 2 }, () => {}).then((m) => console.log(m.algorithm))
  `
  const child = spawnSync(process.execPath, ['-e', script], { timeout: 30_000, encoding: 'utf8' })
  t.is(child.status, 0, child.stderr)
  t.is(child.stdout.trim(), 'corml')
})
