/**
 * The real datasets of `../shared/data` the benchmarks know by name, and where to find them.
 * Their terms forbid redistribution: they are read in place, never copied into the repository.
 */
import { join, resolve } from 'node:path'

import { presets } from '../src/index.js'

/** A known dataset: its file under the data directory and its CoRML preset. */
export interface KnownDataset {
  readonly file: string
  readonly preset: keyof typeof presets
}

/** Known datasets by name. */
export const DATASETS: Readonly<Record<string, KnownDataset>> = Object.freeze({
  gowalla: { file: 'gowalla/gowalla.inter.tsv.gz', preset: 'gowalla' },
  yelp2018: { file: 'yelp2018/yelp2018.inter.tsv.gz', preset: 'yelp2018' },
  pinterest: { file: 'pinterest-partial/pinterest-partial.inter.tsv.gz', preset: 'pinterest' },
  'ml-1m': { file: 'ml-1m/ml-1m.inter.tsv.gz', preset: 'ml20m' },
})

/** The data directory: `--data-dir`, else `CORML_DATA_DIR`, else `../shared/data`. */
export function dataDirectory(option: string | undefined): string {
  return resolve(
    option ?? process.env.CORML_DATA_DIR ?? join(import.meta.dirname, '../../shared/data'),
  )
}
