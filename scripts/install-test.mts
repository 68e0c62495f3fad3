/**
 * The real install test: publish this machine's build to a local npm registry and install it
 * like a user would.
 *
 * 1. Starts verdaccio on 127.0.0.1 with an empty storage; `corml-native*` packages come only from
 *    it, other packages (the CLI's commander and resvg) from the npm registry configured here.
 * 2. Publishes the platform package (`napi create-npm-dirs` plus the release `.node` built by
 *    `npm run build`), then the root package (`npm pack` of this repository) with its
 *    `optionalDependencies` pinned to that platform package at the same version, as
 *    `napi pre-publish` does at release time.
 * 3. In an empty directory, `npm install corml-native` from that registry. A TypeScript program
 *    is type-checked against the installed types and run as ESM and as CommonJS. It trains on a
 *    small sample and recommends. The installed `corml` command trains, saves and recommends.
 * 4. Checks that the installed packages hold what they need (binary, types, README, licence)
 *    and nothing they should not (sources, tests, data, maps).
 * 5. The README's example, as a user copies it: `npm run pack:local` makes a tarball with this
 *    machine's binary and an empty project installs it. The example (the README's first `ts`
 *    block after "## Example") runs as `example.mjs` with plain Node, and as `example.ts` it
 *    type-checks under `--strict` with TypeScript 5 and 7, with neither `@types/node` nor
 *    `skipLibCheck`.
 *
 * Prints both tarballs' contents and sizes; exits 1 on any failure. Run after `npm run build`:
 *
 * ```sh
 * npm run test:install
 * ```
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'corml-install-'))
const failures: string[] = []
let registry: ChildProcess | undefined
let removeNpmDir = false

function check(ok: boolean, what: string): void {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`)
  if (!ok) failures.push(what)
}

/** Runs a command with the test's npm configuration; returns stdout, throwing on failure. */
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_userconfig: join(work, 'npmrc'), ...env },
    timeout: 300_000,
  })
  if (r.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed:\n${r.stdout}\n${r.stderr}`)
  }
  return r.stdout
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/** The npm registry this machine installs from (for the packages that are not ours). */
function upstreamRegistry(): string {
  const r = spawnSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' })
  const url = r.stdout.trim()
  return /^https?:\/\//.test(url) ? url : 'https://registry.npmjs.org/'
}

async function startRegistry(): Promise<string> {
  const port = await freePort()
  writeFileSync(
    join(work, 'verdaccio.yaml'),
    [
      `storage: ${join(work, 'storage')}`,
      'auth:',
      `  htpasswd: { file: ${join(work, 'htpasswd')}, max_users: 10 }`,
      'uplinks:',
      `  npm: { url: ${JSON.stringify(upstreamRegistry())}, timeout: 60s }`,
      'packages:',
      "  'corml-native*': { access: $all, publish: $authenticated, unpublish: $authenticated }",
      "  '**': { access: $all, publish: $authenticated, proxy: npm }",
      'log: { type: stdout, format: pretty, level: warn }',
      '',
    ].join('\n'),
  )
  const bin = join(root, 'node_modules', 'verdaccio', 'bin', 'verdaccio')
  registry = spawn(
    process.execPath,
    [bin, '--config', join(work, 'verdaccio.yaml'), '--listen', `127.0.0.1:${port}`],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  )
  const url = `http://127.0.0.1:${port}/`
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}-/ping`)).ok) return url
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error('verdaccio did not start within 20 s')
}

/** Creates the publishing user and writes an npmrc pointing at the registry with its token. */
async function login(url: string): Promise<void> {
  const res = await fetch(`${url}-/user/org.couchdb.user:ci`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'ci', password: 'install-test-password' }),
  })
  const { token } = (await res.json()) as { token?: string }
  if (!res.ok || token === undefined)
    throw new Error(`could not create a registry user (${res.status})`)
  const host = url.replace(/^http:/, '')
  writeFileSync(join(work, 'npmrc'), `registry=${url}\n${host}:_authToken=${token}\n`)
}

interface Packed {
  filename: string
  size: number
  unpackedSize: number
  files: { path: string; size: number }[]
}

/** `npm pack` of a directory into the work directory, with its file list. */
function pack(dir: string): Packed {
  const out = run('npm', ['pack', '--json', '--pack-destination', work], dir)
  return (JSON.parse(out) as Packed[])[0]!
}

function report(name: string, p: Packed): void {
  console.log(
    `\n${name}: ${p.filename}, ${(p.size / 1024).toFixed(1)} kB packed, ` +
      `${(p.unpackedSize / 1024).toFixed(1)} kB unpacked, ${p.files.length} files`,
  )
  for (const f of p.files) console.log(`  ${String(f.size).padStart(9)}  ${f.path}`)
}

const PROGRAM = `
import { Dataset, GFCF, CoRML, bindingVersion, type Recommendation } from 'corml-native'

async function main(): Promise<void> {
  const users: string[] = []
  const items: string[] = []
  for (let u = 0; u < 40; u++) {
    for (let i = 0; i < 12; i++) {
      if ((u + i) % 3 !== 0) continue
      users.push('u' + u)
      items.push('i' + ((i + (u % 4) * 3) % 12))
    }
  }
  const data = Dataset.fromPairs(users, items)
  const gfcf = await GFCF.fit(data, { eigenvectors: 4 })
  const corml = await CoRML.fit(data, { eigenvectors: 4, admmIterations: 5, device: 'cpu' })
  const recs: Recommendation[] = corml.recommend('u1', { k: 3 })
  const similar = gfcf.similarItems('i0', { k: 2 })
  console.log(JSON.stringify({ binding: bindingVersion(), recs: recs.length, similar: similar.length }))
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
`

/** The README's user example: its first `ts` code block after the "## Example" heading. */
function readmeExample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('\n## Example'))
  const match = /```ts\n([\s\S]*?)```/.exec(section)
  if (match === null) throw new Error('README.md has no ts block after "## Example"')
  return match[1]!
}

/** Step 5: the README's example against the tarball of `npm run pack:local`. */
function readmeExampleFromLocalTarball(): void {
  const packed = run('npx', ['tsx', join(root, 'scripts', 'pack-local.mts'), '--out', work], root)
  const tarball = packed.trim().split('\n').at(-1)!
  const app = join(work, 'readme-app')
  mkdirSync(app)
  writeFileSync(
    join(app, 'package.json'),
    '{ "name": "readme-app", "private": true, "type": "module" }\n',
  )
  run('npm', ['install', tarball, 'typescript@7.0.2', '--no-audit', '--no-fund'], app)
  check(
    readdirSync(join(app, 'node_modules', 'corml-native', 'dist', 'native')).some((f) =>
      f.endsWith('.node'),
    ),
    `the pack:local tarball installs with its binary (${tarball.split('/').at(-1)})`,
  )
  writeFileSync(join(app, 'example.ts'), readmeExample())
  writeFileSync(join(app, 'example.mjs'), readmeExample())
  // Strict, and no help: no @types/node, no skipLibCheck, the default libraries.
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        module: 'nodenext',
        strict: true,
        types: [],
        skipLibCheck: false,
        noEmit: true,
      },
      files: ['example.ts'],
    }),
  )
  const compilers: [string, string][] = [
    ['TypeScript 5', join(root, 'node_modules', 'typescript', 'bin', 'tsc')],
    ['TypeScript 7', join(app, 'node_modules', 'typescript', 'bin', 'tsc')],
  ]
  for (const [name, tsc] of compilers) {
    const version = run(process.execPath, [tsc, '--version'], app).trim()
    try {
      run(process.execPath, [tsc, '-p', app], app)
      check(true, `the README example type-checks under --strict with ${name} (${version})`)
    } catch (e) {
      check(false, `the README example type-checks with ${name} (${version}): ${String(e)}`)
    }
  }
  const out = run(process.execPath, [join(app, 'example.mjs')], app)
  check(
    /NDCG@10 on the test split: 0\.\d{4}/.test(out) && existsSync(join(app, 'model.corml')),
    `the README example runs with plain Node and saves its model (${out.split('\n')[0]})`,
  )
}

async function main(): Promise<void> {
  const nodeFile = readdirSync(join(root, 'src', 'native')).find((f) => f.endsWith('.node'))
  if (nodeFile === undefined || !existsSync(join(root, 'dist', 'index.js'))) {
    throw new Error('run `npm run build` first: no src/native/*.node or dist/')
  }
  const platform = nodeFile.replace(/^corml\./, '').replace(/\.node$/, '')
  const version = (
    JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
  ).version

  const url = await startRegistry()
  await login(url)
  console.log(`registry ${url}; platform ${platform}; version ${version}`)

  // The platform package, as napi lays it out at release time (in the git-ignored `npm/`,
  // which napi keeps inside the project; removed afterwards unless it was already there).
  removeNpmDir = !existsSync(join(root, 'npm'))
  run('npx', ['napi', 'create-npm-dirs'], root)
  const platformDir = join(root, 'npm', platform)
  copyFileSync(join(root, 'src', 'native', nodeFile), join(platformDir, nodeFile))
  copyFileSync(join(root, 'LICENSE'), join(platformDir, 'LICENSE'))
  const platformPack = pack(platformDir)
  run('npm', ['publish', join(work, platformPack.filename)], work)

  // The root package, with its optional dependency pinned (napi pre-publish does this).
  const rootPack = pack(root)
  const unpacked = join(work, 'root')
  mkdirSync(unpacked)
  run('tar', ['xzf', join(work, rootPack.filename), '-C', unpacked, '--strip-components=1'], work)
  const manifestPath = join(unpacked, 'package.json')
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>
  manifest.optionalDependencies = { [`corml-native-${platform}`]: version }
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`)
  run('npm', ['publish', unpacked, '--ignore-scripts'], work)

  report('corml-native', rootPack)
  report(`corml-native-${platform}`, platformPack)
  const rootFiles = rootPack.files.map((f) => f.path)
  check(
    [
      'README.md',
      'LICENSE',
      'package.json',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cjs/index.js',
    ].every((f) => rootFiles.includes(f)),
    'the root package has its entry points, types, README and licence',
  )
  check(
    !rootFiles.some((f) =>
      /^(src|crates|__test__|bench|examples|scripts|docs)\/|\.node$|\.map$|\.tsv/.test(f),
    ),
    'the root package holds no sources, tests, data, binaries or source maps',
  )
  check(
    ['LICENSE', 'README.md', nodeFile].every((f) => platformPack.files.some((p) => p.path === f)),
    `the platform package holds ${nodeFile}, its README and the licence`,
  )

  // A user's project: install from the registry, type-check, run as ESM and as CommonJS.
  const app = join(work, 'app')
  mkdirSync(join(app, 'src'), { recursive: true })
  writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true }\n')
  run('npm', ['install', 'corml-native', '--no-audit', '--no-fund'], app)
  check(
    existsSync(join(app, 'node_modules', `corml-native-${platform}`, nodeFile)),
    `npm installed the optional dependency corml-native-${platform}`,
  )
  writeFileSync(join(app, 'src', 'main.mts'), PROGRAM)
  writeFileSync(join(app, 'src', 'main.cts'), PROGRAM)
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        module: 'nodenext',
        strict: true,
        outDir: 'out',
        typeRoots: [join(root, 'node_modules', '@types')],
        types: ['node'],
      },
      include: ['src'],
    }),
  )
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], app)
  for (const entry of ['main.mjs', 'main.cjs']) {
    const out = run(process.execPath, [join(app, 'out', entry)], app)
    const result = JSON.parse(out) as { binding: string; recs: number; similar: number }
    check(
      result.binding === version && result.recs === 3 && result.similar === 2,
      `${entry === 'main.mjs' ? 'ESM' : 'CommonJS'} program trains and recommends (${out.trim()})`,
    )
  }
  // The command line, as `npx corml` runs it.
  const corml = join(app, 'node_modules', '.bin', 'corml')
  copyFileSync(join(root, 'examples', 'data', 'sample.tsv'), join(app, 'sample.tsv'))
  const fast = ['--eigenvectors', '16', '--admm-iterations', '5', '--quiet']
  run(corml, ['train', 'sample.tsv', '-o', 'sample.corml', ...fast], app)
  const recs = JSON.parse(
    run(corml, ['recommend', 'sample.corml', '--user', 'user0', '-k', '3', '--json'], app),
  ) as { items: unknown[] }
  const table = run(corml, ['eval', 'sample.tsv', '--model', 'ease', '--quiet'], app)
  check(
    recs.items.length === 3 && /^model\s+K\s+NDCG/.test(table),
    `the corml command trains, recommends (${recs.items.length} items) and evaluates`,
  )
  readmeExampleFromLocalTarball()
}

try {
  await main()
} catch (e) {
  failures.push(String(e instanceof Error ? e.message : e))
  console.error(e)
} finally {
  registry?.kill()
  rmSync(work, { recursive: true, force: true })
  if (removeNpmDir) rmSync(join(root, 'npm'), { recursive: true, force: true })
}
console.log(
  failures.length === 0 ? '\ninstall test passed' : `\ninstall test FAILED (${failures.length})`,
)
process.exit(failures.length === 0 ? 0 : 1)
