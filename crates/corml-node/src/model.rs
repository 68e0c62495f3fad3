//! `NativeModel`: a trained model (CoRML, EASE or GF-CF) and its recommendation methods.

use std::sync::Arc;

use corml_core::model::{Filters, Model, Scored};
use napi::bindgen_prelude::{AsyncTask, Env};
use napi::Task;
use napi_derive::napi;

use crate::convert::{indices, top_k};
use crate::error::{catch_panic, from_core, Result};
use crate::task::{settle, Job};

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
}

/// A trained model with the id maps and training histories needed to serve it.
#[napi]
pub struct NativeModel {
    inner: Arc<Model>,
}

impl NativeModel {
    /// Wraps a trained core model.
    pub fn new(model: Model) -> Self {
        NativeModel {
            inner: Arc::new(model),
        }
    }

    /// The core model, shared.
    pub fn model(&self) -> &Arc<Model> {
        &self.inner
    }

    fn filters(
        &self,
        filter_seen: bool,
        exclude: Option<Vec<String>>,
        include: Option<Vec<String>>,
    ) -> Result<Filters> {
        let item = |id: &str| self.inner.item_index(id);
        Ok(Filters {
            filter_seen,
            exclude: indices(&exclude.unwrap_or_default(), item)?,
            include: include.map(|ids| indices(&ids, item)).transpose()?,
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

/// Recommends for a batch of users off the main thread.
pub struct RecommendBatchTask(Job<Vec<Vec<Recommendation>>>);

#[napi]
impl Task for RecommendBatchTask {
    type Output = Result<Vec<Vec<Recommendation>>>;
    type JsValue = Vec<Vec<Recommendation>>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        self.0.run()
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        settle(&env, output, |v| v)
    }
}

#[napi]
impl NativeModel {
    /// `corml`, `ease` or `gfcf`.
    #[napi(getter)]
    pub fn algorithm(&self) -> String {
        self.inner.algorithm().name().to_owned()
    }

    /// Number of users known to the model.
    #[napi(getter)]
    pub fn num_users(&self) -> u32 {
        self.inner.users().len() as u32
    }

    /// Number of items known to the model.
    #[napi(getter)]
    pub fn num_items(&self) -> u32 {
        self.inner.items().len() as u32
    }

    /// Training statistics.
    #[napi]
    pub fn info(&self) -> ModelInfo {
        let info = self.inner.info();
        ModelInfo {
            algorithm: self.inner.algorithm().name().to_owned(),
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
                    stage: s.stage.to_owned(),
                    seconds: s.seconds,
                })
                .collect(),
        }
    }

    /// Top-`k` items for a known user, best first.
    ///
    /// `filterSeen` drops the user's training items; `exclude` items are never recommended;
    /// with `include`, only those items may be. Throws `UNKNOWN_USER` / `UNKNOWN_ITEM` for ids the
    /// model does not know and `INVALID_ARGUMENT` unless `k` is an integer ≥ 1.
    #[napi]
    pub fn recommend(
        &self,
        user_id: String,
        k: f64,
        filter_seen: bool,
        exclude: Option<Vec<String>>,
        include: Option<Vec<String>>,
    ) -> Result<Vec<Recommendation>> {
        let k = top_k(k)?;
        catch_panic(|| {
            let user = self.inner.user_index(&user_id).map_err(from_core)?;
            let filters = self.filters(filter_seen, exclude, include)?;
            let mut top = self
                .inner
                .recommend_users(&[user], k, &filters)
                .map_err(from_core)?;
            Ok(named(&self.inner, top.pop().unwrap_or_default()))
        })
    }

    /// Top-`k` items for each of many known users, scored off the main thread in batches.
    /// Ids are checked before the work starts (`UNKNOWN_USER` / `UNKNOWN_ITEM`).
    #[napi]
    pub fn recommend_batch(
        &self,
        user_ids: Vec<String>,
        k: f64,
        filter_seen: bool,
        exclude: Option<Vec<String>>,
        include: Option<Vec<String>>,
    ) -> Result<AsyncTask<RecommendBatchTask>> {
        let k = top_k(k)?;
        catch_panic(|| {
            let users = indices(&user_ids, |id| self.inner.user_index(id))?;
            let filters = self.filters(filter_seen, exclude, include)?;
            let model = self.inner.clone();
            Ok(AsyncTask::new(RecommendBatchTask(Job::new(move || {
                let top = model
                    .recommend_users(&users, k, &filters)
                    .map_err(from_core)?;
                Ok(top.into_iter().map(|s| named(&model, s)).collect())
            }))))
        })
    }

    /// Top-`k` items for a new user given their history of item ids (no retraining).
    ///
    /// History ids the model does not know are ignored and counted in `ignored`; `exclude` and
    /// `include` ids must be known (`UNKNOWN_ITEM`). `filterSeen` drops the history's items.
    #[napi]
    pub fn recommend_for_history(
        &self,
        item_ids: Vec<String>,
        k: f64,
        filter_seen: bool,
        exclude: Option<Vec<String>>,
        include: Option<Vec<String>>,
    ) -> Result<HistoryRecommendation> {
        let k = top_k(k)?;
        catch_panic(|| {
            let filters = self.filters(filter_seen, exclude, include)?;
            let items = self.inner.items();
            let history: Vec<u32> = item_ids.iter().filter_map(|id| items.get(id)).collect();
            let ignored = (item_ids.len() - history.len()) as u32;
            let top = self
                .inner
                .recommend_history(&history, k, &filters)
                .map_err(from_core)?;
            Ok(HistoryRecommendation {
                items: named(&self.inner, top),
                ignored,
            })
        })
    }
}
