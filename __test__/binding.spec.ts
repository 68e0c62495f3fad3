import { readFileSync } from 'node:fs'

import test from 'ava'

import { bindingVersion, isCormlError } from '../src/index.js'
import { failWithCode, failWithCodeViaStatus, panicWithMessage } from '../src/native/index.cjs'

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
