/**
 * Interaction data: loading, building and splitting.
 *
 * @packageDocumentation
 */

import { native, nativeAsync } from './errors.js'
import { runLongWork } from './job.js'
import type { LongWorkOptions } from './job.js'
import {
  NativeDataset,
  generateSynthetic,
  readInteractions,
  readSample,
  readSplit,
} from './native/index.cjs'
import type { NativeReadOptions, NativeSplit } from './native/index.cjs'
import { brand, foreignCopy } from './brand.js'
import {
  arrayOf,
  bag,
  integer,
  invalid,
  nonEmptyString,
  numberList,
  optionalInteger,
  optionalNumber,
  optionsObject,
  optionalString,
  show,
} from './validate.js'

/**
 * How to read an interaction file, and progress / cancellation of the read (stage `read`, with
 * the share of the file read so far).
 *
 * @example
 * ```ts
 * // A CSV without header: user in column 2, item in column 0.
 * await Dataset.fromFile('ratings.csv', { header: false, userColumn: 2, itemColumn: 0 })
 * // MovieLens ratings: 4 stars or more is an interaction; keep the times for a leave-last-out split.
 * await Dataset.fromFile('ratings.csv', {
 *   userColumn: 'userId', itemColumn: 'movieId', minRating: 4, timestampColumn: 'timestamp',
 * })
 * ```
 */
export interface ReadOptions extends LongWorkOptions {
  /** Field separator, one ASCII character. Default: `,` for `.csv` (and `.csv.gz`) files, else a tab. */
  delimiter?: string
  /**
   * Whether the first line is a header. `'auto'` (default) takes it as a header when it names the
   * user and item columns (`user_id` and `item_id` unless given).
   */
  header?: 'auto' | boolean
  /**
   * The user column: a header name (RecBole type suffixes such as `user_id:token` are ignored
   * when matching) or a 0-based index. Default: `user_id` with a header, column 0 without.
   */
  userColumn?: string | number
  /** The item column, like `userColumn`. Default: `item_id` with a header, column 1 without. */
  itemColumn?: string | number
  /**
   * The rating column, like `userColumn`; read only with `minRating`. Default: `rating` with a
   * header (a file without one needs its index).
   */
  ratingColumn?: string | number
  /** Keep only lines rated at least this (explicit feedback made binary), a finite number. */
  minRating?: number
  /**
   * The timestamp column, like `userColumn`: numbers (any unit) or dates (RFC 3339,
   * `YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DD`, taken as UTC). Needed by the `'leave-last-out'` split;
   * a pair seen more than once keeps its earliest time. Not read by default.
   */
  timestampColumn?: string | number
}

/**
 * Options of {@link Dataset.filter}.
 *
 * @example
 * ```ts
 * const dense = data.filter({ minUserInteractions: 10, minItemInteractions: 10 })
 * ```
 */
export interface FilterOptions {
  /** Drop users with fewer interactions than this, an integer ≥ 0. Default 0. */
  minUserInteractions?: number
  /** Drop items with fewer interactions than this, an integer ≥ 0. Default 0. */
  minItemInteractions?: number
}

/**
 * Options of {@link Dataset.synthetic}.
 *
 * @example
 * ```ts
 * const options: SyntheticOptions = { shape: 'ml20m', scale: 0.25, seed: 7 }
 * ```
 */
export interface SyntheticOptions {
  /** The shape to imitate: `'ml20m'`. */
  shape: 'ml20m'
  /** Users and items are multiplied by it, interactions by its square; in (0, 1]. Default 1. */
  scale?: number
  /** Seed, an integer ≥ 0. Default 20. */
  seed?: number
}

/**
 * Options of {@link Dataset.split}.
 *
 * @example
 * ```ts
 * const { train, valid, test } = data.split({ ratios: [0.8, 0.1, 0.1], seed: 7 })
 * ```
 */
export interface SplitOptions {
  /**
   * `'random'` (default): each user's interactions shuffled with `seed` and cut by `ratios`, the
   * CoRML paper's protocol. `'leave-last-out'`: each user's latest interaction to test and the one
   * before it to valid, the rest to train (a user with two interactions: train and test; with one:
   * train); needs data read with `timestampColumn`, and takes no `ratios` or `seed`.
   */
  strategy?: 'random' | 'leave-last-out'
  /** Train / valid / test shares of each user's interactions; sum 1, train > 0. Default `[0.6, 0.2, 0.2]`. */
  ratios?: readonly [number, number, number]
  /** Seed of the per-user shuffle, an integer ≥ 0. Default 2026. */
  seed?: number
}

/**
 * Train / valid / test datasets sharing one id space (as {@link evaluate} needs).
 *
 * @example
 * ```ts
 * const split: DatasetSplit = data.split()
 * const model = await CoRML.fit(split.train)
 * await evaluate(model, split)
 * ```
 */
export interface DatasetSplit {
  /** Training interactions. */
  readonly train: Dataset
  /** Validation interactions (excluded from the ranking of test items). */
  readonly valid: Dataset
  /** Test interactions. */
  readonly test: Dataset
}

/**
 * The three files of a ready-made split.
 *
 * @example
 * ```ts
 * const files: SplitFiles = { train: 'a/train.tsv', valid: 'a/valid.tsv', test: 'a/test.tsv' }
 * ```
 */
export interface SplitFiles {
  /** Path of the training interactions. */
  train: string
  /** Path of the validation interactions. */
  valid: string
  /** Path of the test interactions. */
  test: string
}

const READ_OPTIONS = [
  'delimiter',
  'header',
  'userColumn',
  'itemColumn',
  'ratingColumn',
  'minRating',
  'timestampColumn',
  'onProgress',
  'signal',
] as const
const handles = new WeakMap<Dataset, NativeDataset>()

function column(value: unknown, name: string): string | number | undefined {
  if (value === undefined) return undefined
  if (typeof value === 'string' && value.length > 0) return nonEmptyString(value, name)
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value
  throw invalid(`${name} must be a header name or a 0-based column index, not ${show(value)}`)
}

/** The native read options of checked options `o` (an {@link optionsObject} copy). */
function nativeReadOptions(o: Record<string, unknown>): NativeReadOptions {
  const out = bag<NativeReadOptions>()
  const delimiter = optionalString(o.delimiter, 'delimiter')
  if (delimiter !== undefined) out.delimiter = delimiter
  if (o.header !== undefined) {
    if (o.header === 'auto') out.header = 'auto'
    else if (o.header === true) out.header = 'present'
    else if (o.header === false) out.header = 'absent'
    else throw invalid(`header must be 'auto', true or false, not ${show(o.header)}`)
  }
  const user = column(o.userColumn, 'userColumn')
  if (user !== undefined) out.userColumn = user
  const item = column(o.itemColumn, 'itemColumn')
  if (item !== undefined) out.itemColumn = item
  const rating = column(o.ratingColumn, 'ratingColumn')
  if (rating !== undefined) out.ratingColumn = rating
  const minRating = optionalNumber(o.minRating, 'minRating')
  if (minRating !== undefined) out.minRating = minRating
  if (rating !== undefined && minRating === undefined) {
    throw invalid(
      'ratingColumn needs minRating: the rating at or above which a line counts as an interaction',
    )
  }
  const time = column(o.timestampColumn, 'timestampColumn')
  if (time !== undefined) out.timestampColumn = time
  return out
}

function idArray(value: unknown, name: string): string[] {
  return arrayOf(value, name, 'string or number ids', (id, at) => {
    if (typeof id === 'string') return nonEmptyString(id, at)
    if (typeof id === 'number' && Number.isFinite(id)) return String(id)
    throw invalid(`${at} must be a string or a finite number, not ${show(id)}`)
  })
}

/**
 * The native handle of a dataset, or `INVALID_ARGUMENT` for anything else.
 *
 * @internal
 */
export function nativeDataset(value: unknown, name: string): NativeDataset {
  const handle = value instanceof Dataset ? handles.get(value) : undefined
  if (handle === undefined) {
    throw invalid(`${name} must be a Dataset, not ${foreignCopy(value, 'Dataset') ?? show(value)}`)
  }
  return handle
}

/**
 * Binary user × item interactions with the id maps that name them.
 *
 * Ids are strings. {@link Dataset.fromPairs} also accepts numbers and turns them into strings
 * (`42` becomes `'42'`); everywhere else (recommend, include, exclude, history) ids must be
 * strings. Duplicate (user, item) pairs collapse into one interaction.
 *
 * @example
 * ```ts
 * import { Dataset, CoRML } from 'corml-native'
 *
 * const data = await Dataset.fromFile('gowalla.inter')
 * const { train, valid, test } = data.split({ ratios: [0.6, 0.2, 0.2], seed: 2026 })
 * console.log(train.numUsers, train.numItems, train.numInteractions)
 * ```
 */
export class Dataset {
  private constructor(native: NativeDataset) {
    handles.set(this, native)
  }

  private static splitOf(native: NativeSplit): DatasetSplit {
    return Object.freeze({
      train: new Dataset(native.train),
      valid: new Dataset(native.valid),
      test: new Dataset(native.test),
    })
  }

  /**
   * Reads a TSV / CSV file or a RecBole `.inter` atomic file, plain or gzip-compressed (detected
   * from the content), off the main thread.
   *
   * Rejects with `IO_ERROR` (cannot open or read), `PARSE_ERROR` (the message names
   * `file:line`), `EMPTY_DATA` (no interactions) or `INVALID_ARGUMENT` (bad options).
   *
   * @example
   * ```ts
   * const tsv = await Dataset.fromFile('interactions.tsv') // header `user_id<TAB>item_id` detected
   * const inter = await Dataset.fromFile('ml-1m.inter') // `user_id:token  item_id:token  ...`
   * const csv = await Dataset.fromFile('log.csv.gz', { header: false, userColumn: 0, itemColumn: 2 })
   * ```
   */
  static async fromFile(path: string, options?: ReadOptions): Promise<Dataset> {
    const file = nonEmptyString(path, 'path')
    const o = optionsObject(options, 'read options', READ_OPTIONS)
    const read = nativeReadOptions(o)
    return new Dataset(
      await runLongWork(o, (progress, cancel) =>
        native(() => readInteractions(file, read, progress, cancel)),
      ),
    )
  }

  /**
   * The sample that comes with the package, for trying the API: 800 users and 500 items in 8
   * latent communities, with Zipf-like item popularity and log-normal user activity (synthetic,
   * so it may be shared; the same as `examples/data/sample.tsv` in the repository). Read off the
   * main thread.
   *
   * @example
   * ```ts
   * const data = await Dataset.sample()
   * const { train, valid, test } = data.split()
   * ```
   */
  static async sample(options?: LongWorkOptions): Promise<Dataset> {
    const o = optionsObject(options, 'sample options', ['onProgress', 'signal'])
    return new Dataset(
      await runLongWork(o, (progress, cancel) => native(() => readSample(progress, cancel))),
    )
  }

  /**
   * A seeded synthetic dataset shaped like a real one, for benchmarks at sizes whose data cannot
   * be shipped. `'ml20m'` is ML-20M as the CoRML paper's Table 1 gives it: 136,674 users,
   * 13,680 items and about 9,977,451 interactions, with log-normal user degrees (at least 20)
   * and Zipf-like item popularity. `scale` multiplies users and items (interactions by
   * `scale²`). Generated off the main thread; the same seed gives the same data everywhere.
   *
   * @example
   * ```ts
   * const small = await Dataset.synthetic({ shape: 'ml20m', scale: 0.1 }) // 13,667 users, 1,368 items
   * ```
   */
  static async synthetic(options: SyntheticOptions): Promise<Dataset> {
    const o = optionsObject(options, 'synthetic options', ['shape', 'scale', 'seed'])
    const spec = bag<{ shape: string; scale?: number; seed?: number }>()
    spec.shape = nonEmptyString(o.shape, 'shape')
    const scale = optionalNumber(o.scale, 'scale')
    if (scale !== undefined) spec.scale = scale
    const seed = optionalInteger(o.seed, 'seed', 0)
    if (seed !== undefined) spec.seed = seed
    return new Dataset(await nativeAsync(native(() => generateSynthetic(spec))))
  }

  /**
   * Reads a ready-made train / valid / test split from three files into datasets that share one
   * id space (every id of any file is known to all three).
   *
   * @example
   * ```ts
   * const { train, valid, test } = await Dataset.fromSplitFiles(
   *   { train: 'a/train.tsv', valid: 'a/valid.tsv', test: 'a/test.tsv' },
   *   { header: true },
   * )
   * ```
   */
  static async fromSplitFiles(files: SplitFiles, options?: ReadOptions): Promise<DatasetSplit> {
    const f = optionsObject(files, 'files', ['train', 'valid', 'test'])
    const paths = (['train', 'valid', 'test'] as const).map((k) =>
      nonEmptyString(f[k], `files.${k}`),
    )
    const [train, valid, test] = paths as [string, string, string]
    const o = optionsObject(options, 'read options', READ_OPTIONS)
    const read = nativeReadOptions(o)
    return Dataset.splitOf(
      await runLongWork(o, (progress, cancel) =>
        native(() => readSplit(train, valid, test, read, progress, cancel)),
      ),
    )
  }

  /**
   * Builds a dataset from parallel lists of user and item ids (interaction `i` is
   * `(users[i], items[i])`). Numbers are turned into strings.
   *
   * @example
   * ```ts
   * const data = Dataset.fromPairs(['ann', 'ann', 'bob'], ['book-1', 'book-2', 'book-1'])
   * const numeric = Dataset.fromPairs([1, 1, 2], [10, 11, 10]) // ids '1', '2', '10', '11'
   * ```
   */
  static fromPairs(
    users: readonly (string | number)[],
    items: readonly (string | number)[],
  ): Dataset {
    const u = idArray(users, 'users')
    const i = idArray(items, 'items')
    if (u.length !== i.length) {
      throw invalid(`users and items differ in length (${u.length} and ${i.length})`)
    }
    return new Dataset(native(() => NativeDataset.fromPairs(u, i)))
  }

  /** Number of users in the id space (of the whole split, for a part of a split). */
  get numUsers(): number {
    return native(() => nativeDataset(this, 'this').numUsers)
  }

  /** Number of items in the id space (of the whole split, for a part of a split). */
  get numItems(): number {
    return native(() => nativeDataset(this, 'this').numItems)
  }

  /** Number of distinct (user, item) interactions. */
  get numInteractions(): number {
    return native(() => nativeDataset(this, 'this').numInteractions)
  }

  /**
   * All user ids of the id space, in index order.
   *
   * @example
   * ```ts
   * const recs = await model.recommendBatch(train.userIds(), { k: 20 })
   * ```
   */
  userIds(): string[] {
    return native(() => nativeDataset(this, 'this').userIds())
  }

  /**
   * All item ids of the id space, in index order.
   *
   * @example
   * ```ts
   * const catalogue = new Set(train.itemIds())
   * ```
   */
  itemIds(): string[] {
    return native(() => nativeDataset(this, 'this').itemIds())
  }

  /**
   * Whether `other` lives in the same id space (it comes from the same split or split files).
   *
   * @example
   * ```ts
   * const { train, test } = data.split()
   * train.sharesIdSpace(test) // true
   * ```
   */
  sharesIdSpace(other: Dataset): boolean {
    const mine = nativeDataset(this, 'this')
    const theirs = nativeDataset(other, 'other')
    return native(() => mine.sharesIdSpace(theirs))
  }

  /** Whether the interactions know their time order (read with `timestampColumn`). */
  get hasTimestamps(): boolean {
    return native(() => nativeDataset(this, 'this').hasTimestamps)
  }

  /**
   * Drops users and items with too few interactions, repeating until every remaining user and
   * item meets its minimum (a k-core, like RecBole's `user_inter_num_interval` /
   * `item_inter_num_interval`). The result has its own, smaller id space and keeps timestamps.
   * Throws `EMPTY_DATA` when nothing is left.
   *
   * @example
   * ```ts
   * const active = data.filter({ minUserInteractions: 5, minItemInteractions: 5 })
   * ```
   */
  filter(options: FilterOptions): Dataset {
    const o = optionsObject(options, 'filter options', [
      'minUserInteractions',
      'minItemInteractions',
    ])
    const minUser = optionalInteger(o.minUserInteractions, 'minUserInteractions', 0) ?? 0
    const minItem = optionalInteger(o.minItemInteractions, 'minItemInteractions', 0) ?? 0
    const data = nativeDataset(this, 'this')
    return new Dataset(native(() => data.filter(minUser, minItem)))
  }

  /**
   * The interactions of the `n` most frequent items (ties by first appearance), with users left
   * without any interaction dropped. The result has its own, smaller id space.
   *
   * @example
   * ```ts
   * const small = data.topItems(4000) // a quick experiment on the 4,000 most popular items
   * ```
   */
  topItems(n: number): Dataset {
    const data = nativeDataset(this, 'this')
    const count = integer(n, 'n', 1)
    return new Dataset(native(() => data.topItems(count)))
  }

  /**
   * Splits each user's interactions (shuffled with `seed`) into train / valid / test, as in the
   * CoRML paper's protocol, or by time with `strategy: 'leave-last-out'`. The three parts share
   * this dataset's id space.
   *
   * @example
   * ```ts
   * const { train, valid, test } = data.split({ ratios: [0.6, 0.2, 0.2], seed: 2026 })
   * const byTime = data.split({ strategy: 'leave-last-out' })
   * ```
   */
  split(options?: SplitOptions): DatasetSplit {
    const o = optionsObject(options, 'split options', ['strategy', 'ratios', 'seed'])
    if (o.strategy === 'leave-last-out') {
      if (o.ratios !== undefined || o.seed !== undefined) {
        throw invalid("the 'leave-last-out' split takes no ratios or seed")
      }
      const data = nativeDataset(this, 'this')
      return Dataset.splitOf(native(() => data.splitLeaveLastOut()))
    }
    if (o.strategy !== undefined && o.strategy !== 'random') {
      throw invalid(`strategy must be 'random' or 'leave-last-out', not ${show(o.strategy)}`)
    }
    let ratios: number[] = [0.6, 0.2, 0.2]
    if (o.ratios !== undefined) {
      ratios = numberList(o.ratios, 'ratios')
      if (ratios.length !== 3) {
        throw invalid(`ratios must hold three numbers (train, valid, test), not ${ratios.length}`)
      }
    }
    const seed = o.seed === undefined ? 2026 : integer(o.seed, 'seed', 0)
    const data = nativeDataset(this, 'this')
    return Dataset.splitOf(native(() => data.split(ratios, seed)))
  }
}
brand(Dataset.prototype, 'Dataset')
