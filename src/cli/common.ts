/**
 * Options every command has: `--quiet` and `--verbose`.
 *
 * @packageDocumentation
 */

import type { Command } from 'commander'

/** The parsed common options. */
export interface CommonFlags {
  quiet?: boolean
  verbose?: boolean
}

/** Adds `--quiet` and `--verbose`. */
export function addCommonOptions(command: Command): Command {
  return command
    .option('-q, --quiet', 'no progress or notes on stderr, only results, warnings and errors')
    .option('--verbose', 'print the stack trace of an error')
}
