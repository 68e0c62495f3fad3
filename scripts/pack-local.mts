/**
 * Packs corml-native with this machine's native binary inside, for installing a build from a
 * clone before (or instead of) a release: `npm install ./corml-native-<version>.tgz` in any
 * project then needs no platform package. A plain `npm pack` gives a tarball without a binary,
 * because release tarballs get theirs from the per-platform packages.
 *
 * ```sh
 * npm run build && npm run pack:local                 # writes ./corml-native-<version>.tgz
 * npm run pack:local -- --out /tmp/packages           # elsewhere
 * ```
 *
 * Prints the tarball's path on the last line of stdout.
 */
import { spawnSync } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = fileURLToPath(new URL('..', import.meta.url))
const { values } = parseArgs({ options: { out: { type: 'string', default: root } } })
const out = resolve(values.out!)

const binaries = existsSync(join(root, 'dist', 'native'))
  ? readdirSync(join(root, 'dist', 'native')).filter((f) => f.endsWith('.node'))
  : []
if (binaries.length === 0 || !existsSync(join(root, 'dist', 'index.js'))) {
  console.error('pack:local: no dist/native/*.node or dist/index.js: run `npm run build` first')
  process.exit(1)
}

const stage = mkdtempSync(join(tmpdir(), 'corml-pack-'))
try {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    files: string[]
    scripts?: unknown
    devDependencies?: unknown
    optionalDependencies?: unknown
  }
  // The binary travels in the package; no platform package is needed, and no scripts run.
  manifest.files = [...manifest.files, 'dist/native/*.node']
  delete manifest.scripts
  delete manifest.devDependencies
  delete manifest.optionalDependencies
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  for (const entry of ['README.md', 'LICENSE', 'dist']) {
    cpSync(join(root, entry), join(stage, entry), { recursive: true })
  }
  const r = spawnSync('npm', ['pack', '--json', '--pack-destination', out], {
    cwd: stage,
    encoding: 'utf8',
  })
  if (r.status !== 0) {
    console.error(`pack:local: npm pack failed:\n${r.stdout}\n${r.stderr}`)
    process.exit(1)
  }
  const [packed] = JSON.parse(r.stdout) as { filename: string; size: number; files: unknown[] }[]
  console.log(
    `pack:local: ${packed!.files.length} files, ${(packed!.size / 1024 / 1024).toFixed(1)} MB, ` +
      `with ${binaries.join(', ')}; install it with: npm install ${join(out, packed!.filename)}`,
  )
  console.log(join(out, packed!.filename))
} finally {
  rmSync(stage, { recursive: true, force: true })
}
