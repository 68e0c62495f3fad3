//! Interaction data: `NativeDataset`, `NativeSplit`, and the file readers.

use std::path::PathBuf;
use std::sync::Arc;

use corml_core::dataset::{Interactions, Split};
use corml_core::io::{self, Column, Header, ReadOptions};
use corml_core::synthetic::{generate, SyntheticSpec};
use napi::bindgen_prelude::{AsyncTask, Either, Unknown};
use napi::threadsafe_function::ThreadsafeFunction;
use napi::Status;
use napi_derive::napi;

use crate::cancel::CancelToken;
use crate::convert::{count, integer};
use crate::error::{catch_panic, from_core, invalid_argument, Result};
use crate::progress::{control, ProgressReport};
use crate::task::JobTask;

/// Reads one interaction file (or generates a dataset) off the main thread.
pub type ReadTask = JobTask<Interactions, NativeDataset>;

/// Reads a ready-made split from three files off the main thread.
pub type ReadSplitTask = JobTask<Split, NativeSplit>;

/// User × item interactions with their id maps (a handle on `corml_core`'s `Interactions`).
///
/// Datasets made by one `split()` or one `readSplit()` share one id space.
#[napi]
pub struct NativeDataset {
    inner: Arc<Interactions>,
}

impl NativeDataset {
    /// Wraps core interactions.
    pub fn new(inner: Interactions) -> Self {
        NativeDataset {
            inner: Arc::new(inner),
        }
    }

    /// The interactions, shared.
    pub fn interactions(&self) -> &Arc<Interactions> {
        &self.inner
    }
}

#[napi]
impl NativeDataset {
    /// Builds a dataset from parallel lists of user and item ids; duplicate pairs collapse.
    #[napi(factory)]
    pub fn from_pairs(users: Vec<String>, items: Vec<String>) -> Result<Self> {
        catch_panic(|| {
            Interactions::from_ids(&users, &items)
                .map(NativeDataset::new)
                .map_err(from_core)
        })
    }

    /// Number of users in the id space.
    #[napi(getter)]
    pub fn num_users(&self) -> u32 {
        self.inner.n_users() as u32
    }

    /// Number of items in the id space.
    #[napi(getter)]
    pub fn num_items(&self) -> u32 {
        self.inner.n_items() as u32
    }

    /// Number of distinct (user, item) interactions.
    #[napi(getter)]
    pub fn num_interactions(&self) -> f64 {
        self.inner.nnz() as f64
    }

    /// All user ids of the id space, by index.
    #[napi]
    pub fn user_ids(&self) -> Vec<String> {
        self.inner.users().to_vec()
    }

    /// All item ids of the id space, by index.
    #[napi]
    pub fn item_ids(&self) -> Vec<String> {
        self.inner.items().to_vec()
    }

    /// Whether `other` lives in the same id space (same user and item maps, not equal copies).
    #[napi]
    pub fn shares_id_space(&self, other: &NativeDataset) -> bool {
        Arc::ptr_eq(self.inner.users(), other.inner.users())
            && Arc::ptr_eq(self.inner.items(), other.inner.items())
    }

    /// The interactions of the `n` most frequent items (ties by first appearance), with users
    /// left without any interaction dropped: a new, smaller id space.
    #[napi]
    pub fn top_items(&self, n: f64) -> Result<NativeDataset> {
        let n = count("n", n, 1)?;
        catch_panic(|| {
            self.inner
                .top_items(n)
                .map(NativeDataset::new)
                .map_err(from_core)
        })
    }

    /// Whether the interactions know their time order (read with a timestamp column).
    #[napi(getter)]
    pub fn has_timestamps(&self) -> bool {
        self.inner.has_times()
    }

    /// Drops users with fewer than `minUser` and items with fewer than `minItem` interactions,
    /// repeatedly until all remaining ones meet the minimums: a new, smaller id space.
    #[napi]
    pub fn filter(&self, min_user: f64, min_item: f64) -> Result<NativeDataset> {
        let min_user = count("minUserInteractions", min_user, 0)?;
        let min_item = count("minItemInteractions", min_item, 0)?;
        catch_panic(|| {
            self.inner
                .filter_min(min_user, min_item)
                .map(NativeDataset::new)
                .map_err(from_core)
        })
    }

    /// Leave-last-out split by time: each user's latest interaction to test, the one before to
    /// valid (users with two: train and test; with one: train). Needs timestamps.
    #[napi]
    pub fn split_leave_last_out(&self) -> Result<NativeSplit> {
        catch_panic(|| {
            self.inner
                .split_leave_last_out()
                .map(NativeSplit::new)
                .map_err(from_core)
        })
    }

    /// Splits each user's interactions into train / valid / test with the given `ratios`
    /// (three numbers summing to 1, train > 0) and integer `seed`.
    #[napi]
    pub fn split(&self, ratios: Vec<f64>, seed: f64) -> Result<NativeSplit> {
        let ratios: [f64; 3] = ratios.try_into().map_err(|r: Vec<f64>| {
            invalid_argument(format!(
                "ratios must hold three numbers (train, valid, test), not {}",
                r.len()
            ))
        })?;
        let seed = integer("seed", seed, 0)?;
        catch_panic(|| {
            self.inner
                .split(ratios, seed)
                .map(NativeSplit::new)
                .map_err(from_core)
        })
    }
}

/// Train / valid / test datasets sharing one id space.
#[napi]
pub struct NativeSplit {
    train: Arc<Interactions>,
    valid: Arc<Interactions>,
    test: Arc<Interactions>,
}

impl NativeSplit {
    fn new(split: Split) -> Self {
        NativeSplit {
            train: Arc::new(split.train),
            valid: Arc::new(split.valid),
            test: Arc::new(split.test),
        }
    }
}

#[napi]
impl NativeSplit {
    /// The training part.
    #[napi(getter)]
    pub fn train(&self) -> NativeDataset {
        NativeDataset {
            inner: self.train.clone(),
        }
    }

    /// The validation part.
    #[napi(getter)]
    pub fn valid(&self) -> NativeDataset {
        NativeDataset {
            inner: self.valid.clone(),
        }
    }

    /// The test part.
    #[napi(getter)]
    pub fn test(&self) -> NativeDataset {
        NativeDataset {
            inner: self.test.clone(),
        }
    }
}

/// How to read an interaction file (TSV, CSV or RecBole `.inter`; plain or gzip).
#[napi(object)]
#[derive(Clone, Debug, Default)]
pub struct NativeReadOptions {
    /// Field separator, one ASCII character; default `,` for `.csv` files, else a tab.
    pub delimiter: Option<String>,
    /// `'auto'` (default: a header if the first line names the user and item columns),
    /// `'present'` or `'absent'`.
    pub header: Option<String>,
    /// The user column: a header name (RecBole type suffixes like `:token` are ignored) or a
    /// 0-based index; default `user_id` with a header, column 0 without.
    pub user_column: Option<Either<String, f64>>,
    /// The item column, as `userColumn`; default `item_id` with a header, column 1 without.
    pub item_column: Option<Either<String, f64>>,
    /// The rating column, as `userColumn`; default `rating` with a header. Needs `minRating`.
    pub rating_column: Option<Either<String, f64>>,
    /// Keep only lines rated at least this.
    pub min_rating: Option<f64>,
    /// The timestamp column, as `userColumn` (numbers or dates); not read by default.
    pub timestamp_column: Option<Either<String, f64>>,
}

fn column(name: &str, value: Option<Either<String, f64>>) -> Result<Option<Column>> {
    Ok(match value {
        None => None,
        Some(Either::A(s)) if s.is_empty() => {
            return Err(invalid_argument(format!(
                "{name} must not be an empty string"
            )))
        }
        Some(Either::A(s)) => Some(Column::Name(s)),
        Some(Either::B(i)) => Some(Column::Index(count(name, i, 0)?)),
    })
}

fn read_options(opts: Option<NativeReadOptions>) -> Result<ReadOptions> {
    let opts = opts.unwrap_or_default();
    let delimiter = match opts.delimiter.as_deref() {
        None => None,
        Some(d) if d.len() == 1 && d.is_ascii() => Some(d.as_bytes()[0]),
        Some(d) => {
            return Err(invalid_argument(format!(
                "delimiter {d:?} must be a single ASCII character"
            )))
        }
    };
    let header = match opts.header.as_deref() {
        None | Some("auto") => Header::Auto,
        Some("present") => Header::Present,
        Some("absent") => Header::Absent,
        Some(h) => {
            return Err(invalid_argument(format!(
                "header {h:?} must be 'auto', 'present' or 'absent'"
            )))
        }
    };
    let options = ReadOptions {
        delimiter,
        header,
        user_column: column("userColumn", opts.user_column)?,
        item_column: column("itemColumn", opts.item_column)?,
        rating_column: column("ratingColumn", opts.rating_column)?,
        min_rating: opts.min_rating,
        timestamp_column: column("timestampColumn", opts.timestamp_column)?,
    };
    options.validate().map_err(from_core)?;
    Ok(options)
}

fn file_path(name: &str, p: String) -> Result<PathBuf> {
    if p.is_empty() {
        return Err(invalid_argument(format!("{name} must not be empty")));
    }
    Ok(PathBuf::from(p))
}

/// Options of `generateSynthetic`.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct SyntheticOptions {
    /// `'ml20m'`: ML-20M as the CoRML paper's Table 1 gives it (136,674 users, 13,680 items,
    /// 9,977,451 interactions), with MovieLens-like long-tailed degrees.
    pub shape: String,
    /// Users and items are multiplied by `scale`, interactions by `scale²`; in (0, 1], default 1.
    pub scale: Option<f64>,
    /// Seed, an integer ≥ 0; default 20. The same seed gives the same data everywhere.
    pub seed: Option<f64>,
}

/// Generates a seeded synthetic dataset off the main thread (users `u0…`, items `i0…` by
/// popularity). Rejects with `INVALID_ARGUMENT` for an unknown shape or a bad scale or seed.
#[napi(ts_return_type = "Promise<NativeDataset>")]
pub fn generate_synthetic(options: SyntheticOptions) -> Result<AsyncTask<ReadTask>> {
    let base = match options.shape.as_str() {
        "ml20m" => SyntheticSpec::ml20m(),
        other => {
            return Err(invalid_argument(format!(
                "shape `{other}` is not one of 'ml20m'"
            )))
        }
    };
    let scale = options.scale.unwrap_or(1.0);
    let mut spec = base.scaled(scale).map_err(from_core)?;
    if let Some(seed) = options.seed {
        spec.seed = integer("seed", seed, 0)?;
    }
    Ok(ReadTask::spawn(
        move || generate(&spec).map_err(from_core),
        NativeDataset::new,
    ))
}

/// The embedded sample (800 users and 500 items in 8 latent communities, synthetic), read off
/// the main thread.
#[napi(ts_return_type = "Promise<NativeDataset>")]
pub fn read_sample(
    progress: Option<
        ThreadsafeFunction<ProgressReport, Unknown<'static>, ProgressReport, Status, false, true>,
    >,
    cancel: Option<&CancelToken>,
) -> AsyncTask<ReadTask> {
    let ctl = control(progress, cancel);
    ReadTask::spawn(
        move || io::read_sample(&ctl).map_err(from_core),
        NativeDataset::new,
    )
}

/// Reads interactions from a file (TSV / CSV / RecBole `.inter`, plain or gzip-compressed),
/// reporting stage `read` with the share of the file read.
///
/// Rejects with `IO_ERROR` (cannot open or read), `PARSE_ERROR` (message names `file:line`),
/// `EMPTY_DATA`, `INVALID_ARGUMENT` (bad options) or `ABORTED` after `cancel.cancel()`.
#[napi(ts_return_type = "Promise<NativeDataset>")]
pub fn read_interactions(
    path: String,
    options: Option<NativeReadOptions>,
    progress: Option<
        ThreadsafeFunction<ProgressReport, Unknown<'static>, ProgressReport, Status, false, true>,
    >,
    cancel: Option<&CancelToken>,
) -> Result<AsyncTask<ReadTask>> {
    let file = file_path("path", path)?;
    let opts = read_options(options)?;
    let ctl = control(progress, cancel);
    Ok(ReadTask::spawn(
        move || io::read_interactions(&file, &opts, &ctl).map_err(from_core),
        NativeDataset::new,
    ))
}

/// Reads train / valid / test files into three datasets sharing one id space.
#[napi(ts_return_type = "Promise<NativeSplit>")]
pub fn read_split(
    train_path: String,
    valid_path: String,
    test_path: String,
    options: Option<NativeReadOptions>,
    progress: Option<
        ThreadsafeFunction<ProgressReport, Unknown<'static>, ProgressReport, Status, false, true>,
    >,
    cancel: Option<&CancelToken>,
) -> Result<AsyncTask<ReadSplitTask>> {
    let paths = [
        file_path("train", train_path)?,
        file_path("valid", valid_path)?,
        file_path("test", test_path)?,
    ];
    let opts = read_options(options)?;
    let ctl = control(progress, cancel);
    Ok(ReadSplitTask::spawn(
        move || io::read_split(paths, &opts, &ctl).map_err(from_core),
        NativeSplit::new,
    ))
}
