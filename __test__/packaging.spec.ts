/**
 * The built package's entry points (`npm run build` first): the ESM and CommonJS builds export
 * the same API and both train and recommend, and a platform without a loadable binary gets one
 * coded error that names the platform and what to do.
 */
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import test from 'ava'

const root = fileURLToPath(new URL('..', import.meta.url))
const dist = join(root, 'dist')

/** Runs a script with plain Node (no tsx) and returns its stdout, failing on a non-zero exit. */
function node(args: string[], cwd = root): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 60_000 })
  return { status: r.status, out: r.stdout, err: r.stderr }
}

const PROGRAM = `
  const data = m.Dataset.fromPairs(['a', 'a', 'b', 'b', 'c'], ['x', 'y', 'x', 'z', 'y'])
  const model = await m.GFCF.fit(data, { eigenvectors: 2 })
  console.log(JSON.stringify({
    exports: Object.keys(m).sort(),
    recs: model.recommend('a', { k: 1 }).map((r) => r.item),
  }))
`

test.before((t) => {
  if (!existsSync(join(dist, 'cjs', 'index.js'))) t.fail('dist/ is missing: run `npm run build`')
})

test('ESM import and CommonJS require give the same API, and both work', (t) => {
  const esm = node(['--input-type=module', '-e', `import * as m from 'corml-native'\n${PROGRAM}`])
  t.is(esm.status, 0, esm.err)
  const cjs = node([
    '-e',
    `const m = require('corml-native');\n(async () => {${PROGRAM}})().catch((e) => { console.error(e); process.exit(1) })`,
  ])
  t.is(cjs.status, 0, cjs.err)
  const [a, b] = [JSON.parse(esm.out), JSON.parse(cjs.out)] as {
    exports: string[]
    recs: string[]
  }[]
  t.deepEqual(a!.exports, b!.exports)
  t.true(a!.exports.includes('CoRML') && a!.exports.includes('loadModel'))
  t.deepEqual(a!.recs, ['z'])
  t.deepEqual(b!.recs, ['z'])
})

test('objects of the CommonJS build passed to the ESM build get a message that says so', (t) => {
  const r = node([
    '--input-type=module',
    '-e',
    `
    import * as esm from 'corml-native'
    import { createRequire } from 'node:module'
    const cjs = createRequire(import.meta.url)('corml-native')
    const data = cjs.Dataset.fromPairs(['a', 'a', 'b', 'b', 'c'], ['x', 'y', 'x', 'z', 'y'])
    const model = await cjs.GFCF.fit(data, { eigenvectors: 2 })
    const out = []
    for (const attempt of [
      () => esm.GFCF.fit(data, { eigenvectors: 2 }),
      () => esm.evaluate(model, { test: data }),
      () => esm.evaluate(model, { test: esm.Dataset.fromPairs(['a'], ['x']) }),
    ]) {
      try {
        await attempt()
        out.push('accepted')
      } catch (e) {
        out.push({ code: e.code, message: e.message, coded: e instanceof esm.CormlError })
      }
    }
    console.log(JSON.stringify(out))
  `,
  ])
  t.is(r.status, 0, r.err)
  const out = JSON.parse(r.out) as { code: string; message: string; coded: boolean }[]
  t.is(out.length, 3)
  for (const e of out) {
    t.is(e.code, 'INVALID_ARGUMENT')
    t.true(e.coded)
    t.regex(e.message, /from the CommonJS build of corml-native \(this is its ESM build/)
    t.regex(e.message, /all `import` or all `require`/)
  }
  t.regex(out[0]!.message, /^train must be a Dataset, not a Dataset from/)
  t.regex(out[1]!.message, /^model must be a trained model, not a model from/)
})

test('no loadable binary: NATIVE_BINDING_UNAVAILABLE naming the platform and what to do', (t) => {
  // The built facade and loader without the .node file, outside any node_modules that could
  // hold a platform package.
  const dir = mkdtempSync(join(tmpdir(), 'corml-nobinary-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  cpSync(join(dist, 'cjs'), join(dir, 'cjs'), { recursive: true })
  cpSync(join(dist, 'native', 'index.cjs'), join(dir, 'native', 'index.cjs'))
  for (const [what, args] of [
    ['require', ['-e', `require(${JSON.stringify(join(dir, 'cjs', 'index.js'))})`]],
    [
      'import',
      [
        '--input-type=module',
        '-e',
        `await import(${JSON.stringify(join(dir, 'cjs', 'index.js'))})`,
      ],
    ],
  ] as const) {
    const r = node([...args], dir)
    t.not(r.status, 0, what)
    t.regex(r.err, /NATIVE_BINDING_UNAVAILABLE|could not be loaded on/, what)
    t.regex(r.err, new RegExp(`${process.platform}-${process.arch}`), what)
    t.regex(r.err, /pack:local|optional dependency|build it from source/i, what)
  }
})
