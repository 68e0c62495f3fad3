/**
 * Loads the native binding before anything else does, so that a platform without a usable
 * binary gets one clear error: `code` `NATIVE_BINDING_UNAVAILABLE`, naming the platform, the
 * platforms that have prebuilt binaries, and what to do. The loader's own errors are kept as
 * the `cause`.
 *
 * A CommonJS module (compiled to `.cjs` in both builds) so that it can `require` inside `try`.
 *
 * @packageDocumentation
 */

/** The platforms `npm install corml-native` has a prebuilt binary for (package.json `napi.targets`). */
const PREBUILT = [
  'linux-x64-gnu',
  'linux-x64-musl',
  'linux-arm64-gnu',
  'darwin-arm64',
  'darwin-x64',
  'win32-x64-msvc',
]

/** `linux-x64-gnu`, `darwin-arm64`, …: this process's platform as the binary packages name it. */
function platformName(): string {
  const base = `${process.platform}-${process.arch}`
  if (process.platform === 'linux') {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } })
      ?.header
    return `${base}-${header?.glibcVersionRuntime === undefined ? 'musl' : 'gnu'}`
  }
  return process.platform === 'win32' ? `${base}-msvc` : base
}

/** What the installed copy of corml-native holds, to choose the advice. */
interface Installed {
  /** Its directory: the first one above this file whose `package.json` names `corml-native`. */
  readonly root?: string
  /** The platform packages its `package.json` pins (a release pins them). */
  readonly optionalDependencies: Readonly<Record<string, string>>
  /** The `.node` binaries it holds (a `pack:local` tarball or a build in a clone). */
  readonly binaries: readonly string[]
  /** Whether it is a clone of the repository (it has the Rust sources). */
  readonly clone: boolean
}

function installed(): Installed {
  const { dirname, join } = require('node:path') as typeof import('node:path')
  const { existsSync, readFileSync, readdirSync } = require('node:fs') as typeof import('node:fs')
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    let manifest: { name?: string; optionalDependencies?: Record<string, string> }
    try {
      manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as typeof manifest
    } catch {
      continue // no package.json here: look further up
    }
    if (manifest.name !== 'corml-native') continue
    const binaries = ['dist', 'src'].flatMap((top) => {
      try {
        return readdirSync(join(dir, top, 'native')).filter((f) => f.endsWith('.node'))
      } catch {
        return []
      }
    })
    return {
      root: dir,
      optionalDependencies: manifest.optionalDependencies ?? {},
      binaries,
      clone: existsSync(join(dir, 'Cargo.toml')),
    }
  }
  return { optionalDependencies: {}, binaries: [], clone: false }
}

/** What to do when no binary loads on `platform`, given what is installed. */
function advice(platform: string, copy: Installed, cause: unknown): string {
  const prebuilt = PREBUILT.includes(platform)
  if (copy.binaries.length > 0) {
    const why = cause instanceof Error ? cause.message.split('\n')[0] : String(cause)
    return (
      `This copy of corml-native holds ${copy.binaries.join(', ')}, which does not load here ` +
      `(${why}): it was built for another platform or a newer system library. ` +
      (copy.clone
        ? 'Rebuild it on this machine with `npm run build`.'
        : 'Make the package on this platform (`npm run pack:local` in a clone built here), or ' +
          'install a released version.')
    )
  }
  if (copy.clone) {
    return 'This is a clone of the repository with no binary built yet: run `npm run build` (it needs a Rust toolchain).'
  }
  if (!prebuilt) {
    return (
      `There is no prebuilt binary for ${platform} (there are for ${PREBUILT.join(', ')}). ` +
      'Build it from source with a Rust toolchain: clone the repository, run `npm run build` ' +
      'and `npm run pack:local`, and install the tarball.'
    )
  }
  if (`corml-native-${platform}` in copy.optionalDependencies) {
    return (
      `A prebuilt binary exists for ${platform}: it comes in the optional dependency ` +
      `corml-native-${platform}. Reinstall without --no-optional / --omit=optional ` +
      '(and, if npm skipped it, after deleting node_modules and package-lock.json).'
    )
  }
  return (
    'This copy of corml-native has neither a binary nor the platform packages a release pins: ' +
    'it was packed from a clone with a plain `npm pack`. Pack it with `npm run pack:local` ' +
    "instead, which includes this platform's binary, or install a released version."
  )
}

try {
  require('./native/index.cjs')
} catch (cause) {
  const platform = platformName()
  const error = new Error(
    `corml-native: the native binary could not be loaded on ${platform}. ` +
      advice(platform, installed(), cause),
    { cause },
  ) as Error & { code: string }
  error.code = 'NATIVE_BINDING_UNAVAILABLE'
  throw error
}
