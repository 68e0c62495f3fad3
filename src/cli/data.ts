/**
 * The data options shared by `train`, `eval`, `tune` and `bench`: how to read an interaction
 * file, which users and items to keep, and how to split it.
 *
 * @packageDocumentation
 */

import { statSync } from 'node:fs'

import { Option } from 'commander'
import type { Command } from 'commander'

import { Dataset } from '../dataset.js'
import { CormlError, isCormlError } from '../errors.js'
import type { DatasetSplit, ReadOptions } from '../dataset.js'
import type { CliIo } from './io.js'
import { UsageError } from './io.js'
import { column, delimiter, finite, integerAtLeast, listOf } from './options.js'
import type { ProgressView } from './progress.js'

/** The parsed data options. */
export interface DataFlags {
  delimiter?: string
  header?: boolean
  userCol?: string | number
  itemCol?: string | number
  ratingCol?: string | number
  minRating?: number
  timestampCol?: string | number
  minUserInteractions?: number
  minItemInteractions?: number
}

/** The data options that take a value, in the order a command line gives them. */
export const DATA_VALUE_FLAGS = [
  'delimiter',
  'userCol',
  'itemCol',
  'ratingCol',
  'minRating',
  'timestampCol',
  'minUserInteractions',
  'minItemInteractions',
] as const satisfies readonly (keyof DataFlags)[]

/** The parsed split options. */
export interface SplitFlags {
  split: 'random' | 'leave-last-out'
  ratios?: number[]
  seed?: number
}

/** Adds the options that say how to read and filter an interaction file. */
export function addDataOptions(command: Command): Command {
  return command
    .option(
      '--delimiter <char>',
      'field separator (default: `,` for .csv files, else tab)',
      delimiter,
    )
    .option('--header', 'the first line is a header (default: detected)')
    .option('--no-header', 'the first line is data')
    .option(
      '--user-col <name|index>',
      'user column (default: user_id, or column 0 without a header)',
      column,
    )
    .option(
      '--item-col <name|index>',
      'item column (default: item_id, or column 1 without a header)',
      column,
    )
    .option(
      '--rating-col <name|index>',
      'rating column, read with --min-rating (default: rating)',
      column,
    )
    .option(
      '--min-rating <x>',
      'keep lines rated at least x (explicit feedback made binary)',
      finite,
    )
    .option(
      '--timestamp-col <name|index>',
      'timestamp column (numbers or dates), for --split leave-last-out (default there: timestamp)',
      column,
    )
    .option(
      '--min-user-interactions <n>',
      'drop users with fewer interactions (repeated with the item filter until stable)',
      integerAtLeast(0),
    )
    .option('--min-item-interactions <n>', 'drop items with fewer interactions', integerAtLeast(0))
}

/** Adds the options that say how to split the data into train / valid / test. */
export function addSplitOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--split <strategy>',
        'random: per-user shuffle cut by --ratios (the paper); leave-last-out: by time',
      )
        .choices(['random', 'leave-last-out'])
        .default('random'),
    )
    .option(
      '--ratios <train,valid,test>',
      'shares of each user’s interactions (default 0.6,0.2,0.2)',
      listOf(finite),
    )
    .option('--seed <n>', 'seed of the random split (default 2026)', integerAtLeast(0))
}

/** The library's read options for the flags (a leave-last-out split reads `timestamp`). */
export function readOptionsOf(flags: DataFlags, split?: SplitFlags): ReadOptions {
  const options: ReadOptions = {}
  if (flags.delimiter !== undefined) options.delimiter = flags.delimiter
  if (flags.header !== undefined) options.header = flags.header
  if (flags.userCol !== undefined) options.userColumn = flags.userCol
  if (flags.itemCol !== undefined) options.itemColumn = flags.itemCol
  if (flags.ratingCol !== undefined && flags.minRating === undefined) {
    throw new UsageError(
      '--rating-col needs --min-rating: the rating that counts as an interaction',
    )
  }
  if (flags.ratingCol !== undefined) options.ratingColumn = flags.ratingCol
  if (flags.minRating !== undefined) options.minRating = flags.minRating
  if (flags.timestampCol !== undefined) options.timestampColumn = flags.timestampCol
  else if (split?.split === 'leave-last-out') options.timestampColumn = 'timestamp'
  return options
}

const count = (n: number): string => n.toLocaleString('en-US')

/** `29,858 users, 40,981 items, 1,027,370 interactions (density 0.000840)`. */
export function describeData(data: Dataset): string {
  const density = data.numInteractions / (data.numUsers * data.numItems)
  return (
    `${count(data.numUsers)} users, ${count(data.numItems)} items, ` +
    `${count(data.numInteractions)} interactions (density ${density.toPrecision(3)})`
  )
}

/** Reads a data file with the flags' options and filters, showing progress and what was read. */
export async function readData(
  file: string,
  flags: DataFlags,
  view: ProgressView,
  io: CliIo,
  split?: SplitFlags,
): Promise<Dataset> {
  if (split) checkSplitFlags(split)
  const options = readOptionsOf(flags, split)
  let size = ''
  try {
    size = ` (${(statSync(file).size / 2 ** 20).toFixed(1)} MiB)`
  } catch {
    // The reader reports a missing file with its own IO_ERROR.
  }
  const defaultTime = flags.timestampCol === undefined && options.timestampColumn !== undefined
  let data = await view
    .task(`reading ${file}${size}`, (onProgress) =>
      Dataset.fromFile(file, { ...options, onProgress, signal: io.signal }),
    )
    .catch((error: unknown) => {
      // The leave-last-out split looked for a `timestamp` column the file does not have.
      const missing =
        isCormlError(error) &&
        /no column named `timestamp`|the timestamp column/.test(error.message)
      if (defaultTime && isCormlError(error) && error.code === 'PARSE_ERROR' && missing) {
        throw new CormlError(
          'PARSE_ERROR',
          `${error.message}; --split leave-last-out needs the time of each interaction: name its column with --timestamp-col`,
          { cause: error },
        )
      }
      throw error
    })
  view.note(`data: ${describeData(data)}`)
  const minUser = flags.minUserInteractions ?? 0
  const minItem = flags.minItemInteractions ?? 0
  if (minUser > 1 || minItem > 1) {
    data = data.filter({ minUserInteractions: minUser, minItemInteractions: minItem })
    view.note(
      `kept users with ≥ ${minUser} and items with ≥ ${minItem} interactions: ${describeData(data)}`,
    )
  }
  return data
}

/** Checks the split flags together (before any data is read). */
function checkSplitFlags(flags: SplitFlags): void {
  if (
    flags.split === 'leave-last-out' &&
    (flags.ratios !== undefined || flags.seed !== undefined)
  ) {
    throw new UsageError('--split leave-last-out takes no --ratios or --seed')
  }
  if (flags.ratios !== undefined && flags.ratios.length !== 3) {
    throw new UsageError(
      `--ratios needs three shares (train,valid,test), not ${flags.ratios.length}`,
    )
  }
}

/** Splits the data as the flags say and notes the sizes of the parts. */
export function splitData(data: Dataset, flags: SplitFlags, view: ProgressView): DatasetSplit {
  checkSplitFlags(flags)
  let split: DatasetSplit
  if (flags.split === 'leave-last-out') {
    split = data.split({ strategy: 'leave-last-out' })
  } else {
    const ratios = flags.ratios ?? [0.6, 0.2, 0.2]
    split = data.split({
      ratios: ratios as [number, number, number],
      seed: flags.seed ?? 2026,
    })
  }
  const what =
    flags.split === 'leave-last-out'
      ? 'leave-last-out by time'
      : `random ${(flags.ratios ?? [0.6, 0.2, 0.2]).join('/')}, seed ${flags.seed ?? 2026}`
  view.note(
    `split (${what}): train ${count(split.train.numInteractions)}, valid ` +
      `${count(split.valid.numInteractions)}, test ${count(split.test.numInteractions)} interactions`,
  )
  return split
}
