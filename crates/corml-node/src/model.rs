//! `NativeModel`: a trained model (CoRML, EASE or GF-CF) and its recommendation methods.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use corml_core::files::FileMode;
use corml_core::ids::IdMap;
use corml_core::model::{Explanation, Filters, Model, Request, Scored, Who};
use napi::bindgen_prelude::{AsyncTask, Either, Float32Array, Int32Array, Uint32Array, Uint8Array};
use napi_derive::napi;

use crate::convert::{indices, integer, top_k};
use crate::error::{catch_panic, from_core, invalid_argument, Result};
use crate::task::{same, JobTask};

/// Writes a model file off the main thread.
pub type SaveTask = JobTask<(), ()>;

/// Serializes a model into a buffer off the main thread.
pub type ToBufferTask = JobTask<Vec<u8>, Uint8Array>;

/// Produces a model off the main thread: training, or reading a model file or buffer.
pub type ModelTask = JobTask<Model, NativeModel>;

/// Recommends for a batch of users off the main thread.
pub type RecommendBatchTask = JobTask<BatchRecommendations, BatchRecommendations>;

/// 1 for each id `ids` holds, 0 for the others, in order.
fn known(ids: &IdMap, of: &[String]) -> Uint8Array {
    Uint8Array::new(
        of.iter()
            .map(|id| u8::from(ids.get(id).is_some()))
            .collect(),
    )
}

/// A request of `recommendRequests`, owning its history.
enum Owned {
    User(u32),
    History(Vec<u32>),
}

/// The options of the `recommend*` calls.
#[napi(object)]
#[derive(Clone, Debug, Default)]
pub struct NativeRecommendOptions {
    /// How many items, an integer ≥ 1.
    pub k: f64,
    /// Leave out the user's (or the history's) own items.
    pub filter_seen: bool,
    /// Item ids never to recommend.
    pub exclude: Option<Vec<String>>,
    /// If given, only these item ids may be recommended.
    pub include: Option<Vec<String>>,
    /// Unknown ids in `exclude` / `include` are `UNKNOWN_ITEM` (default: they are ignored).
    pub strict: Option<bool>,
    /// An unknown user, or a history with no known item, gets the most popular items instead
    /// of `UNKNOWN_USER` or no items.
    pub popular_fallback: Option<bool>,
}

/// One recommended item.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct Recommendation {
    /// The item id.
    pub item: String,
    /// The model's score (higher is better; only comparable within one model).
    pub score: f64,
}

/// Recommendations for a new history.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct HistoryRecommendation {
    /// The recommended items, best first.
    pub items: Vec<Recommendation>,
    /// How many history entries were ignored because the model does not know their item id.
    pub ignored: u32,
    /// Whether the items are the popular fallback (no history item was known).
    pub popular: bool,
}

/// Top-`k` lists of a batch, flattened: row `r` is `items[r·k .. (r+1)·k]`, best first, padded
/// with item `-1` (score `NaN`) when fewer than `k` items were eligible.
#[napi(object, object_from_js = false)]
pub struct BatchRecommendations {
    /// Entries per row (the requested `k`, at most the item count).
    pub k: u32,
    /// Item indices into `itemIds()`, `-1` for padding.
    pub items: Int32Array,
    /// Scores, `NaN` for padding.
    pub scores: Float32Array,
    /// Per request of `recommendRequests`, the history entries ignored because the model does
    /// not know their item id (0 for a user); absent from `recommendBatch`.
    pub ignored: Option<Uint32Array>,
}

/// One history item's part in an item's score.
#[napi(object, object_from_js = false)]
#[derive(Clone, Debug)]
pub struct Contribution {
    /// The history item's id.
    pub item: String,
    /// Its part through the metric weights (CoRML's `H`, EASE's `B`; 0 for GF-CF).
    pub metric: f64,
    /// Its part through the graph filter (CoRML's `G`, GF-CF; 0 for EASE).
    pub graph: f64,
}

/// Why an item has its score for a user or a history.
#[napi(object, object_from_js = false)]
#[derive(Clone, Debug)]
pub struct ItemExplanation {
    /// The item explained.
    pub item: String,
    /// Its score (what recommendation ranks by).
    pub score: f64,
    /// The metric part of the score.
    pub metric: f64,
    /// The graph-filter part of the score.
    pub graph: f64,
    /// The history items with the largest parts, largest first.
    pub contributions: Vec<Contribution>,
    /// History entries ignored because the model does not know their item id.
    pub ignored: u32,
}

/// Wall time of one training stage.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct StageInfo {
    /// Stage name (as in progress reports).
    pub stage: String,
    /// Seconds spent.
    pub seconds: f64,
}

/// What training found and how long it took.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct ModelInfo {
    /// `corml`, `ease` or `gfcf`.
    pub algorithm: String,
    /// The backend that ran the dense work, e.g. `cpu (2 threads)` or
    /// `cuda:0 (NVIDIA H200, 139.8 GB, fp32)`.
    pub backend: String,
    /// Why device `'auto'` ran on the CPU although an NVIDIA driver is present.
    pub device_fallback: Option<String>,
    /// Floating-point operations of CoRML's ADMM products (0 for the other models); divided by
    /// the `admm` stage's seconds, the loop's achieved rate.
    pub admm_flops: f64,
    /// CoRML's ADMM solver per part, e.g. `dense` or `chebyshev (7 steps, κ ≤ 1.48, nnz 254917)`.
    pub admm_solvers: Vec<String>,
    /// Item counts of the parts solved (one part when not partitioned).
    pub part_sizes: Vec<u32>,
    /// Stored entries of the item-item matrix (CoRML: after the sparse approximation).
    pub nnz: f64,
    /// Total training seconds.
    pub seconds: f64,
    /// Time per stage, in order.
    pub stages: Vec<StageInfo>,
    /// Fingerprint of the training data (16 hex digits): equal for models trained on the same
    /// ids and interactions.
    pub fingerprint: String,
    /// The corml-native version that trained the model (or wrote its file).
    pub version: String,
    /// The model's settings by option name, values as text.
    pub settings: Vec<Setting>,
}

/// One setting of a model: its option name and value as text.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct Setting {
    /// The option name, e.g. `lambda`.
    pub name: String,
    /// The value as text, e.g. `0.8`, `true` or `auto`.
    pub value: String,
}

/// A trained model with the id maps and training histories needed to serve it.
#[napi]
pub struct NativeModel {
    /// `None` once released (`release()`): a hot swap frees the model it replaced as soon as its
    /// last request is done, without waiting for the garbage collector.
    slot: RwLock<Option<Arc<Model>>>,
}

impl NativeModel {
    /// Wraps a trained core model.
    pub fn new(model: Model) -> Self {
        NativeModel {
            slot: RwLock::new(Some(Arc::new(model))),
        }
    }

    /// The core model, shared; `INVALID_ARGUMENT` once it was released.
    pub fn model(&self) -> Result<Arc<Model>> {
        self.slot
            .read()
            .ok()
            .and_then(|slot| slot.clone())
            .ok_or_else(|| {
                invalid_argument(
                    "this model was released (a ModelServer swapped in another one): use the \
                     server's current model",
                )
            })
    }

    /// The request's filters: unknown ids in `exclude` / `include` are ignored, or with `strict`
    /// an `UNKNOWN_ITEM` error.
    fn filters(
        inner: &Model,
        options: &NativeRecommendOptions,
        filter_seen: bool,
    ) -> Result<Filters> {
        let strict = options.strict.unwrap_or(false);
        let resolve = |ids: &[String]| -> Result<Vec<u32>> {
            if strict {
                indices(ids, |id| inner.item_index(id))
            } else {
                let items = inner.items();
                Ok(ids.iter().filter_map(|id| items.get(id)).collect())
            }
        };
        Ok(Filters {
            filter_seen,
            exclude: resolve(options.exclude.as_deref().unwrap_or_default())?,
            include: options.include.as_deref().map(resolve).transpose()?,
        })
    }
}

fn named(model: &Model, scored: Vec<Scored>) -> Vec<Recommendation> {
    scored
        .into_iter()
        .map(|s| Recommendation {
            item: model.items().name(s.item).to_owned(),
            score: f64::from(s.score),
        })
        .collect()
}

/// Flattens top-`k` lists into padded typed arrays.
fn flatten(lists: Vec<Vec<Scored>>, k: usize) -> BatchRecommendations {
    let mut items = vec![-1i32; lists.len() * k];
    let mut scores = vec![f32::NAN; lists.len() * k];
    for (r, list) in lists.iter().enumerate() {
        for (c, s) in list.iter().take(k).enumerate() {
            items[r * k + c] = s.item as i32;
            scores[r * k + c] = s.score;
        }
    }
    BatchRecommendations {
        k: k as u32,
        items: Int32Array::new(items),
        scores: Float32Array::new(scores),
        ignored: None,
    }
}

fn explained(model: &Model, e: Explanation, k: usize, ignored: u32) -> ItemExplanation {
    let items = model.items();
    ItemExplanation {
        item: items.name(e.item).to_owned(),
        score: f64::from(e.score),
        metric: f64::from(e.metric),
        graph: f64::from(e.graph),
        contributions: e
            .contributions
            .into_iter()
            .take(k)
            .map(|c| Contribution {
                item: items.name(c.item).to_owned(),
                metric: f64::from(c.metric),
                graph: f64::from(c.graph),
            })
            .collect(),
        ignored,
    }
}

#[napi]
impl NativeModel {
    /// `corml`, `ease` or `gfcf`.
    #[napi(getter)]
    pub fn algorithm(&self) -> Result<String> {
        Ok(self.model()?.algorithm().name().to_owned())
    }

    /// Number of users known to the model.
    #[napi(getter)]
    pub fn num_users(&self) -> Result<u32> {
        Ok(self.model()?.users().len() as u32)
    }

    /// Number of items known to the model.
    #[napi(getter)]
    pub fn num_items(&self) -> Result<u32> {
        Ok(self.model()?.items().len() as u32)
    }

    /// Training statistics.
    #[napi]
    pub fn info(&self) -> Result<ModelInfo> {
        let inner = self.model()?;
        let info = inner.info();
        Ok(ModelInfo {
            algorithm: inner.algorithm().name().to_owned(),
            backend: info.backend.clone(),
            device_fallback: info.device_fallback.clone(),
            admm_flops: info.admm_flops,
            admm_solvers: info.admm_solvers.clone(),
            part_sizes: info.part_sizes.iter().map(|&n| n as u32).collect(),
            nnz: info.nnz as f64,
            seconds: info.seconds,
            stages: info
                .stages
                .iter()
                .map(|s| StageInfo {
                    stage: s.stage.clone(),
                    seconds: s.seconds,
                })
                .collect(),
            fingerprint: format!("{:016x}", inner.fingerprint()),
            version: inner.version().to_owned(),
            settings: inner
                .settings()
                .into_iter()
                .map(|(name, value)| Setting {
                    name: name.to_owned(),
                    value,
                })
                .collect(),
        })
    }

    /// Writes the model to `path` (one binary file, written to a temporary file and renamed, so a
    /// failure never leaves a partial file). The file gets the permission bits `mode` (an integer
    /// in `[0, 0o777]`, masked by the umask) or, without it, `0o666` masked by the umask. Rejects
    /// with `IO_ERROR` when the file cannot be written.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn save(&self, path: String, mode: Option<f64>) -> Result<AsyncTask<SaveTask>> {
        let mode = match mode {
            None => FileMode::Default,
            Some(m) => match integer("mode", m, 0)? {
                bits @ 0..=0o777 => FileMode::Unix(bits as u32),
                _ => {
                    return Err(invalid_argument(format!(
                        "mode = {m} is out of range: it must be permission bits in [0, 0o777] \
                         (e.g. 0o600)"
                    )))
                }
            },
        };
        let model = self.model()?;
        Ok(SaveTask::spawn(
            move || model.save(&PathBuf::from(path), mode).map_err(from_core),
            same,
        ))
    }

    /// The model file's bytes, for storage outside the file system.
    #[napi(ts_return_type = "Promise<Uint8Array>")]
    pub fn to_buffer(&self) -> Result<AsyncTask<ToBufferTask>> {
        let model = self.model()?;
        Ok(ToBufferTask::spawn(
            move || model.to_bytes().map_err(from_core),
            Uint8Array::new,
        ))
    }

    /// Reads a model file into memory, or with `mmap` maps it read-only and reads it in place
    /// (processes that map one file share its pages). Rejects with `INVALID_MODEL_FILE` (not a
    /// model, truncated or corrupted), `UNSUPPORTED_MODEL_VERSION` (written by another format
    /// version) or `IO_ERROR`.
    #[napi(ts_return_type = "Promise<NativeModel>")]
    pub fn load(path: String, mmap: bool) -> AsyncTask<ModelTask> {
        ModelTask::spawn(
            move || {
                let path = PathBuf::from(path);
                if mmap {
                    Model::map(&path)
                } else {
                    Model::load(&path)
                }
                .map_err(from_core)
            },
            NativeModel::new,
        )
    }

    /// Whether the model reads its file in place through a memory map.
    #[napi(getter)]
    pub fn mapped(&self) -> Result<bool> {
        Ok(self.model()?.is_mapped())
    }

    /// Reads a model from the bytes of a model file (copied first, so the buffer may be reused).
    #[napi(ts_return_type = "Promise<NativeModel>")]
    pub fn from_buffer(bytes: Uint8Array) -> AsyncTask<ModelTask> {
        let bytes = bytes.to_vec();
        ModelTask::spawn(
            move || Model::from_bytes(&bytes).map_err(from_core),
            NativeModel::new,
        )
    }

    /// Top-`k` items for a known user, best first.
    ///
    /// `filterSeen` drops the user's training items; `exclude` items are never recommended;
    /// with `include`, only those items may be (unknown ids in either are ignored, or
    /// `UNKNOWN_ITEM` with `strict`). An unknown user is `UNKNOWN_USER`, or with
    /// `popularFallback` gets the most popular items. `INVALID_ARGUMENT` unless `k` is an
    /// integer ≥ 1.
    #[napi]
    pub fn recommend(
        &self,
        user_id: String,
        options: NativeRecommendOptions,
    ) -> Result<Vec<Recommendation>> {
        let inner = self.model()?;
        let k = top_k(options.k)?;
        catch_panic(|| {
            let filters = Self::filters(&inner, &options, options.filter_seen)?;
            let user = match inner.user_index(&user_id) {
                Ok(user) => user,
                Err(_) if options.popular_fallback.unwrap_or(false) => {
                    let popular = inner.popular_items(k, &filters).map_err(from_core)?;
                    return Ok(named(&inner, popular));
                }
                Err(e) => return Err(from_core(e)),
            };
            let mut top = inner
                .recommend_users(&[user], k, &filters)
                .map_err(from_core)?;
            Ok(named(&inner, top.pop().unwrap_or_default()))
        })
    }

    /// The `k` most popular items (most training interactions first), with `exclude` and
    /// `include` as for `recommend`: the answer for a user the model cannot score.
    #[napi]
    pub fn popular_items(&self, options: NativeRecommendOptions) -> Result<Vec<Recommendation>> {
        let inner = self.model()?;
        let k = top_k(options.k)?;
        catch_panic(|| {
            let filters = Self::filters(&inner, &options, false)?;
            let popular = inner.popular_items(k, &filters).map_err(from_core)?;
            Ok(named(&inner, popular))
        })
    }

    /// Frees the model now (a hot swap's old model, once its requests are done); every later
    /// call on this object is `INVALID_ARGUMENT`. Idempotent.
    #[napi]
    pub fn release(&self) {
        if let Ok(mut slot) = self.slot.write() {
            slot.take();
        }
    }

    /// Whether each id is a user of the training data (1) or not (0), in order.
    #[napi]
    pub fn knows_users(&self, user_ids: Vec<String>) -> Result<Uint8Array> {
        Ok(known(self.model()?.users(), &user_ids))
    }

    /// Whether each id is an item of the training data (1) or not (0), in order.
    #[napi]
    pub fn knows_items(&self, item_ids: Vec<String>) -> Result<Uint8Array> {
        Ok(known(self.model()?.items(), &item_ids))
    }

    /// All user ids, by index.
    #[napi]
    pub fn user_ids(&self) -> Result<Vec<String>> {
        Ok(self.model()?.users().to_vec())
    }

    /// All item ids, by index (what `recommendBatch`'s item indices refer to).
    #[napi]
    pub fn item_ids(&self) -> Result<Vec<String>> {
        Ok(self.model()?.items().to_vec())
    }

    /// Scores of `itemIds` for a known user, in order (`UNKNOWN_USER` / `UNKNOWN_ITEM`).
    #[napi]
    pub fn score(&self, user_id: String, item_ids: Vec<String>) -> Result<Vec<f64>> {
        let inner = self.model()?;
        catch_panic(|| {
            let user = inner.user_index(&user_id).map_err(from_core)?;
            let items = indices(&item_ids, |id| inner.item_index(id))?;
            let scores = inner
                .score_items(Who::User(user), &items)
                .map_err(from_core)?;
            Ok(scores.into_iter().map(f64::from).collect())
        })
    }

    /// Top-`k` items most like `itemId` (its one-item history's recommendations, without it).
    #[napi]
    pub fn similar_items(
        &self,
        item_id: String,
        options: NativeRecommendOptions,
    ) -> Result<Vec<Recommendation>> {
        let inner = self.model()?;
        let k = top_k(options.k)?;
        catch_panic(|| {
            let item = inner.item_index(&item_id).map_err(from_core)?;
            let filters = Self::filters(&inner, &options, true)?;
            let top = inner.similar_items(item, k, &filters).map_err(from_core)?;
            Ok(named(&inner, top))
        })
    }

    /// Why `itemId` scores what it does for a known user: the metric and graph parts and the
    /// `k` history items contributing most.
    #[napi]
    pub fn explain_user(
        &self,
        user_id: String,
        item_id: String,
        k: f64,
    ) -> Result<ItemExplanation> {
        let inner = self.model()?;
        let k = top_k(k)?;
        catch_panic(|| {
            let user = inner.user_index(&user_id).map_err(from_core)?;
            let item = inner.item_index(&item_id).map_err(from_core)?;
            let e = inner.explain(Who::User(user), item).map_err(from_core)?;
            Ok(explained(&inner, e, k, 0))
        })
    }

    /// [`NativeModel::explain_user`] for a new history; unknown history ids are ignored and
    /// counted.
    #[napi]
    pub fn explain_history(
        &self,
        history: Vec<String>,
        item_id: String,
        k: f64,
    ) -> Result<ItemExplanation> {
        let inner = self.model()?;
        let k = top_k(k)?;
        catch_panic(|| {
            let item = inner.item_index(&item_id).map_err(from_core)?;
            let items = inner.items();
            let known: Vec<u32> = history.iter().filter_map(|id| items.get(id)).collect();
            let ignored = (history.len() - known.len()) as u32;
            let e = inner
                .explain(Who::History(&known), item)
                .map_err(from_core)?;
            Ok(explained(&inner, e, k, ignored))
        })
    }

    /// Top-`k` items for each of many known users, scored off the main thread in batches, as
    /// flat typed arrays. Ids are checked before the work starts (`UNKNOWN_USER`, unless
    /// `popularFallback`, which gives unknown users the popular items; `UNKNOWN_ITEM` with
    /// `strict`).
    #[napi(ts_return_type = "Promise<BatchRecommendations>")]
    pub fn recommend_batch(
        &self,
        user_ids: Vec<String>,
        options: NativeRecommendOptions,
    ) -> Result<AsyncTask<RecommendBatchTask>> {
        let inner = self.model()?;
        // Rows are padded to k, so k beyond the catalogue would only allocate padding.
        let k = top_k(options.k)?.min(inner.items().len());
        catch_panic(|| {
            let fallback = options.popular_fallback.unwrap_or(false);
            let users: Vec<Option<u32>> = user_ids
                .iter()
                .map(|id| match inner.user_index(id) {
                    Ok(u) => Ok(Some(u)),
                    Err(_) if fallback => Ok(None),
                    Err(e) => Err(from_core(e)),
                })
                .collect::<Result<_>>()?;
            let filters = Self::filters(&inner, &options, options.filter_seen)?;
            let model = inner.clone();
            Ok(RecommendBatchTask::spawn(
                move || {
                    let known: Vec<u32> = users.iter().flatten().copied().collect();
                    let mut scored = model
                        .recommend_users(&known, k, &filters)
                        .map_err(from_core)?
                        .into_iter();
                    let popular = if known.len() < users.len() {
                        model.popular_items(k, &filters).map_err(from_core)?
                    } else {
                        Vec::new()
                    };
                    let lists = users
                        .iter()
                        .map(|u| match u {
                            Some(_) => scored.next().unwrap_or_default(),
                            None => popular.clone(),
                        })
                        .collect();
                    Ok(flatten(lists, k))
                },
                same,
            ))
        })
    }

    /// Top-`k` items for many requests at once, scored together off the main thread in
    /// batches, as flat typed arrays: each request is a known user's id (as `recommend`) or a
    /// history of item ids (as `recommendForHistory`; unknown ids are ignored and counted in
    /// `ignored`; `similarItems` is a one-item history with `filterSeen`). An unknown user is `UNKNOWN_USER`, unless
    /// `popularFallback`, which gives it, and every history with no known item, the popular
    /// items.
    #[napi(ts_return_type = "Promise<BatchRecommendations>")]
    pub fn recommend_requests(
        &self,
        requests: Vec<Either<String, Vec<String>>>,
        options: NativeRecommendOptions,
    ) -> Result<AsyncTask<RecommendBatchTask>> {
        let inner = self.model()?;
        let k = top_k(options.k)?.min(inner.items().len());
        catch_panic(|| {
            let filters = Self::filters(&inner, &options, options.filter_seen)?;
            let fallback = options.popular_fallback.unwrap_or(false);
            let items = inner.items();
            let mut ignored = Vec::with_capacity(requests.len());
            // `None`: an unknown user answered with the popular items.
            let requests: Vec<Option<Owned>> = requests
                .iter()
                .map(|r| match r {
                    Either::A(user) => {
                        ignored.push(0);
                        match inner.user_index(user) {
                            Ok(u) => Ok(Some(Owned::User(u))),
                            Err(_) if fallback => Ok(None),
                            Err(e) => Err(from_core(e)),
                        }
                    }
                    Either::B(history) => {
                        let known: Vec<u32> =
                            history.iter().filter_map(|id| items.get(id)).collect();
                        ignored.push((history.len() - known.len()) as u32);
                        Ok(Some(Owned::History(known)))
                    }
                })
                .collect::<Result<_>>()?;
            let model = inner.clone();
            Ok(RecommendBatchTask::spawn(
                move || {
                    let borrowed: Vec<Request<'_>> = requests
                        .iter()
                        .map(|r| match r {
                            Some(Owned::User(u)) => Request::User(*u),
                            Some(Owned::History(h)) => Request::History(h),
                            None => Request::History(&[]),
                        })
                        .collect();
                    let mut lists = model
                        .recommend_requests(&borrowed, k, &filters)
                        .map_err(from_core)?;
                    let empty = |r: &Request<'_>| matches!(r, Request::History(h) if h.is_empty());
                    if fallback && borrowed.iter().any(empty) {
                        let popular = model.popular_items(k, &filters).map_err(from_core)?;
                        for (list, r) in lists.iter_mut().zip(&borrowed) {
                            if empty(r) {
                                list.clone_from(&popular);
                            }
                        }
                    }
                    Ok(BatchRecommendations {
                        ignored: Some(Uint32Array::new(ignored)),
                        ..flatten(lists, k)
                    })
                },
                same,
            ))
        })
    }

    /// Top-`k` items for a new user given their history of item ids (no retraining).
    ///
    /// History ids the model does not know are ignored and counted in `ignored`; unknown
    /// `exclude` / `include` ids are ignored too (`UNKNOWN_ITEM` with `strict`). `filterSeen`
    /// drops the history's items. A history with no known item gets no items, or with
    /// `popularFallback` the most popular ones (`popular` is then true).
    #[napi]
    pub fn recommend_for_history(
        &self,
        item_ids: Vec<String>,
        options: NativeRecommendOptions,
    ) -> Result<HistoryRecommendation> {
        let inner = self.model()?;
        let k = top_k(options.k)?;
        catch_panic(|| {
            let filters = Self::filters(&inner, &options, options.filter_seen)?;
            let items = inner.items();
            let history: Vec<u32> = item_ids.iter().filter_map(|id| items.get(id)).collect();
            let ignored = (item_ids.len() - history.len()) as u32;
            let popular = history.is_empty() && options.popular_fallback.unwrap_or(false);
            let top = if popular {
                inner.popular_items(k, &filters)
            } else {
                inner.recommend_history(&history, k, &filters)
            }
            .map_err(from_core)?;
            Ok(HistoryRecommendation {
                items: named(&inner, top),
                ignored,
                popular,
            })
        })
    }
}
