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

/**
 * The optional dependencies of the installed corml-native (the platform packages a release
 * pins): its `package.json` is the first one named `corml-native` above this file.
 */
function optionalDependencies(): Record<string, string> {
  const { dirname, join } = require('node:path') as typeof import('node:path')
  const { readFileSync } = require('node:fs') as typeof import('node:fs')
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string
        optionalDependencies?: Record<string, string>
      }
      if (manifest.name === 'corml-native') return manifest.optionalDependencies ?? {}
    } catch {
      // no package.json here: look further up
    }
  }
  return {}
}

try {
  require('./native/index.cjs')
} catch (cause) {
  const platform = platformName()
  const pinned = `corml-native-${platform}` in optionalDependencies()
  const advice = !PREBUILT.includes(platform)
    ? `There is no prebuilt binary for ${platform} (there are for ${PREBUILT.join(', ')}). ` +
      'Build it from source with a Rust toolchain: clone the repository and run `npm run build`.'
    : pinned
      ? `A prebuilt binary exists for ${platform}: it comes in the optional dependency ` +
        `corml-native-${platform}. Reinstall without --no-optional / --omit=optional ` +
        '(and, if npm skipped it, after deleting node_modules and package-lock.json).'
      : 'This copy of corml-native has neither a binary nor the platform packages a release ' +
        'pins: it was packed from a clone with `npm pack`. Pack it with `npm run pack:local` ' +
        "instead, which includes this platform's binary, or install a released version."
  const error = new Error(
    `corml-native: the native binary could not be loaded on ${platform}. ${advice}`,
    { cause },
  ) as Error & { code: string }
  error.code = 'NATIVE_BINDING_UNAVAILABLE'
  throw error
}
