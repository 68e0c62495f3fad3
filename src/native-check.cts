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

try {
  require('./native/index.cjs')
} catch (cause) {
  const platform = platformName()
  const advice = PREBUILT.includes(platform)
    ? `A prebuilt binary exists for ${platform}: it comes in the optional dependency ` +
      `corml-native-${platform}. Reinstall without --no-optional / --omit=optional ` +
      '(and, if npm skipped it, after deleting node_modules and package-lock.json).'
    : `There is no prebuilt binary for ${platform} (there are for ${PREBUILT.join(', ')}). ` +
      'Build it from source with a Rust toolchain: clone the repository and run `npm run build`.'
  const error = new Error(
    `corml-native: the native binary could not be loaded on ${platform}. ${advice}`,
    { cause },
  ) as Error & { code: string }
  error.code = 'NATIVE_BINDING_UNAVAILABLE'
  throw error
}
