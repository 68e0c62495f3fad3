/**
 * The `corml` program: its commands, help, and the one place errors become a line and an exit
 * code.
 *
 * @packageDocumentation
 */

import { Command, CommanderError } from 'commander'

import { bindingVersion } from '../index.js'
import { benchCommand } from './commands/bench.js'
import { evalCommand } from './commands/eval.js'
import { infoCommand } from './commands/info.js'
import { recommendCommand } from './commands/recommend.js'
import { trainCommand } from './commands/train.js'
import { tuneCommand } from './commands/tune.js'
import { EXIT, errorLines, exitCodeOf } from './io.js'
import type { CliIo } from './io.js'

const EXIT_HELP = `
Exit codes:
  0    success
  1    the work failed (out of memory, CUDA, numerical or internal error)
  2    usage: unknown command or option, bad or missing argument
  3    input: unreadable or malformed data or model file, no data, unknown user or item
  130  interrupted (Ctrl-C); \`corml tune\` and \`eval --sweep\` resume where they stopped

Errors are one line on stderr, \`corml <command>: <CODE>: <message>\`; --verbose adds the stack.
Examples:
  corml eval data.tsv --preset gowalla --model all
  corml train data.tsv --preset gowalla -o model.corml
  corml recommend model.corml --user 42 -k 10
  corml tune data.tsv --grid lambda=0.6:0.9:0.1,itemDegreeNorm=-0.2:0.2:0.1
`

/** Builds the program; output and errors go through `io`, nothing calls `process.exit`. */
export function program(io: CliIo): Command {
  const root = new Command('corml')
    .description('CoRML recommender: train, evaluate, tune and serve from the command line')
    .version(bindingVersion(), '-V, --version')
    .addHelpText('after', EXIT_HELP)
    .showSuggestionAfterError(true)
  for (const make of [
    trainCommand,
    evalCommand,
    recommendCommand,
    tuneCommand,
    benchCommand,
    infoCommand,
  ]) {
    root.addCommand(make(io))
  }
  const configure = (command: Command): void => {
    command
      .exitOverride()
      .configureOutput({
        writeOut: (text) => io.stdout(text),
        writeErr: (text) => io.stderr(text),
        outputError: () => {
          // Printed once, in our format, by run().
        },
        getOutHelpWidth: () => Math.min(io.columns, 100),
        getErrHelpWidth: () => Math.min(io.columns, 100),
      })
      .showHelpAfterError(false)
    command.commands.forEach(configure)
  }
  configure(root)
  return root
}

/** The subcommand named in `argv`, for error lines (`''` when there is none). */
function commandOf(root: Command, argv: readonly string[]): string {
  const name = argv.find((a) => !a.startsWith('-'))
  return root.commands.some((c) => c.name() === name) ? name! : ''
}

/**
 * Runs `corml` with `argv` (the arguments after the program name). Resolves with the exit code;
 * never throws and never exits the process.
 */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const root = program(io)
  if (argv.length === 0) {
    io.stderr(root.helpInformation())
    return EXIT.usage
  }
  try {
    await root.parseAsync([...argv], { from: 'user' })
    return EXIT.ok
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) return EXIT.ok // --help, --version
    const command = commandOf(root, argv)
    io.stderr(errorLines(command, error, argv.includes('--verbose')))
    return exitCodeOf(error)
  }
}
