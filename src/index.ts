/**
 * corml-native: the TypeScript facade over the napi-rs binding.
 *
 * @packageDocumentation
 */

export { bindingVersion } from './native/index.cjs'

/** The `code` carried by every error the native binding throws. */
export type CormlErrorCode =
  | 'INVALID_ARGUMENT'
  | 'UNKNOWN_USER'
  | 'PARSE_ERROR'
  | 'CUDA_UNAVAILABLE'
  | 'OUT_OF_DEVICE_MEMORY'
  | 'ABORTED'
  | 'MODEL_FILE_CORRUPT'
  | 'INTERNAL'

const CODES: ReadonlySet<string> = new Set<CormlErrorCode>([
  'INVALID_ARGUMENT',
  'UNKNOWN_USER',
  'PARSE_ERROR',
  'CUDA_UNAVAILABLE',
  'OUT_OF_DEVICE_MEMORY',
  'ABORTED',
  'MODEL_FILE_CORRUPT',
  'INTERNAL',
])

/** True when `e` is an `Error` thrown by corml-native, narrowing its `code`. */
export function isCormlError(e: unknown): e is Error & { code: CormlErrorCode } {
  if (!(e instanceof Error)) return false
  const code: unknown = (e as Error & { code?: unknown }).code
  return typeof code === 'string' && CODES.has(code)
}
