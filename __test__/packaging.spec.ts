/**
 * The built package's entry points (`npm run build` first): the ESM and CommonJS builds export
 * the same API and both train and recommend, and a platform without a loadable binary gets one
 * coded error that names the platform and what to do.
 */
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
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

/** The platform as the binary packages name it (this machine is Linux glibc, macOS or Windows). */
function platformName(): string {
  const base = `${process.platform}-${process.arch}`
  if (process.platform === 'linux') {
    const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } })
      .header
    return `${base}-${header?.glibcVersionRuntime === undefined ? 'musl' : 'gnu'}`
  }
  return process.platform === 'win32' ? `${base}-msvc` : base
}

test('no loadable binary: NATIVE_BINDING_UNAVAILABLE naming the platform and what to do', (t) => {
  const platform = platformName()
  // Copies of the built package without a working binary, outside any node_modules that could
  // hold a platform package, each as a user could end up with it.
  const layouts: [string, (root: string) => void, RegExp][] = [
    [
      'a plain `npm pack` of a clone',
      () => {},
      /packed from a clone with a plain `npm pack`\. Pack it with `npm run pack:local`/,
    ],
    [
      'a release install without its optional dependency',
      (root) =>
        writeFileSync(
          join(root, 'package.json'),
          JSON.stringify({
            name: 'corml-native',
            optionalDependencies: { [`corml-native-${platform}`]: '0.1.0' },
          }),
        ),
      new RegExp(`optional dependency corml-native-${platform}\\. Reinstall without --no-optional`),
    ],
    [
      'a clone before its first build',
      (root) => writeFileSync(join(root, 'Cargo.toml'), '[workspace]\n'),
      /clone of the repository with no binary built yet: run `npm run build`/,
    ],
    [
      'a binary for another platform',
      (root) => writeFileSync(join(root, 'dist', 'native', `corml.${platform}.node`), 'not ELF'),
      new RegExp(`holds corml\\.${platform}\\.node, which does not load here`),
    ],
  ]
  for (const [what, arrange, advice] of layouts) {
    const root = mkdtempSync(join(tmpdir(), 'corml-nobinary-'))
    t.teardown(() => rmSync(root, { recursive: true, force: true }))
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'corml-native' }))
    cpSync(join(dist, 'cjs'), join(root, 'dist', 'cjs'), { recursive: true })
    cpSync(join(dist, 'native', 'index.cjs'), join(root, 'dist', 'native', 'index.cjs'))
    arrange(root)
    const entry = JSON.stringify(join(root, 'dist', 'cjs', 'index.js'))
    for (const [how, args] of [
      ['require', ['-e', `require(${entry})`]],
      ['import', ['--input-type=module', '-e', `await import(${entry})`]],
    ] as const) {
      const r = node([...args], root)
      t.not(r.status, 0, `${what}, ${how}`)
      t.regex(r.err, /NATIVE_BINDING_UNAVAILABLE|could not be loaded on/, `${what}, ${how}`)
      t.regex(r.err, new RegExp(platform), `${what}, ${how}`)
      t.regex(r.err, advice, `${what}, ${how}`)
    }
  }
})
