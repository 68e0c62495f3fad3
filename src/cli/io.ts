/**
 * What a `corml` command talks to (output streams, the terminal, Ctrl-C), its exit codes, and
 * how errors become one line.
 *
 * @packageDocumentation
 */

import { CommanderError } from 'commander'

import { isCormlError } from '../errors.js'

/**
 * Where a command writes and what tells it to stop. `main.ts` wires it to the process; tests
 * pass their own.
 */
export interface CliIo {
  /** Results: tables, JSON, recommendations. */
  stdout(text: string): void
  /** Progress, notes and errors. */
  stderr(text: string): void
  /** Whether stderr is a terminal (progress is then drawn as a bar). */
  readonly isTTY: boolean
  /** Terminal width in columns (80 when unknown). */
  readonly columns: number
  /** Aborted on Ctrl-C: long work stops at its next step. */
  readonly signal: AbortSignal
}

/**
 * Exit codes, documented in `docs/cli.md` and `corml --help`.
 *
 * - `0` success
 * - `1` the work failed (out of memory, CUDA, numerical or internal error)
 * - `2` usage: unknown command or option, bad or missing argument
 * - `3` input: a data or model file that cannot be read or parsed, no data, unknown user or item
 * - `130` interrupted (Ctrl-C); `corml tune` keeps what it finished
 */
export const EXIT = Object.freeze({
  ok: 0,
  failure: 1,
  usage: 2,
  input: 3,
  interrupted: 130,
})

/** A mistake in how a command was called (exit code 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

const INPUT_CODES: ReadonlySet<string> = new Set([
  'IO_ERROR',
  'PARSE_ERROR',
  'EMPTY_DATA',
  'INVALID_MODEL_FILE',
  'UNSUPPORTED_MODEL_VERSION',
  'UNKNOWN_USER',
  'UNKNOWN_ITEM',
])

/** The exit code for an error thrown by a command. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) return EXIT.usage
  if (error instanceof CommanderError) return EXIT.usage
  if (isCormlError(error)) {
    if (error.code === 'INVALID_ARGUMENT') return EXIT.usage
    if (error.code === 'ABORTED') return EXIT.interrupted
    if (INPUT_CODES.has(error.code)) return EXIT.input
  }
  return EXIT.failure
}

/** The code shown in an error line: the library's code, `USAGE`, or `ERROR` for anything else. */
function codeOf(error: unknown): string {
  if (isCormlError(error)) return error.code
  if (error instanceof UsageError || error instanceof CommanderError) return 'USAGE'
  return 'ERROR'
}

/**
 * One line for an error: `corml <command>: <CODE>: <message>`, plus a hint for usage errors; with
 * `verbose`, the stack (and causes) below it.
 */
export function errorLines(command: string, error: unknown, verbose: boolean): string {
  const message = (error instanceof Error ? error.message : String(error))
    .replace(/^error: /, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim()
  const where = command === '' ? 'corml' : `corml ${command}`
  let text = `${where}: ${codeOf(error)}: ${message}\n`
  if (exitCodeOf(error) === EXIT.usage) text += `(see \`${where} --help\`)\n`
  if (verbose && error instanceof Error && error.stack !== undefined) {
    text += `${error.stack}\n`
    let cause: unknown = error.cause
    while (cause instanceof Error) {
      text += `caused by: ${cause.stack ?? cause.message}\n`
      cause = cause.cause
    }
  }
  return text
}
