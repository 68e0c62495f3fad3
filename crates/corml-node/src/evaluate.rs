//! `evaluate`: full-ranking metrics of a model on the valid / test parts of its split.

use corml_core::metrics::{self, Evaluation};
use corml_core::sparse::Csr;
use napi::bindgen_prelude::{AsyncTask, Unknown};
use napi::threadsafe_function::ThreadsafeFunction;
use napi::Status;
use napi_derive::napi;

use crate::cancel::CancelToken;
use crate::convert::{count, same_space};
use crate::dataset::NativeDataset;
use crate::error::{from_core, invalid_argument, Result};
use crate::model::NativeModel;
use crate::progress::{control, ProgressReport};
use crate::task::JobTask;

/// Evaluates a model off the main thread.
pub type EvaluateTask = JobTask<Evaluation, EvaluationResult>;

/// Metrics at one cut-off K, averaged over the evaluated users; each in `[0, 1]`.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct MetricsAtK {
    /// The cut-off K.
    pub k: u32,
    /// Normalized discounted cumulative gain.
    pub ndcg: f64,
    /// Reciprocal rank of the first hit (0 without a hit).
    pub mrr: f64,
    /// Share of the user's held-out items found.
    pub recall: f64,
    /// Mean `-log2(d_i / U) / log2(U)` over the recommended items (higher: less popular items).
    pub novelty: f64,
}

/// The result of an evaluation.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct EvaluationResult {
    /// Users with at least one test item (the others are skipped).
    pub users: u32,
    /// Wall time in seconds.
    pub seconds: f64,
    /// One entry per requested K, in the order asked.
    pub metrics: Vec<MetricsAtK>,
}

impl From<Evaluation> for EvaluationResult {
    fn from(e: Evaluation) -> Self {
        EvaluationResult {
            users: e.users as u32,
            seconds: e.seconds,
            metrics: e
                .metrics
                .into_iter()
                .map(|m| MetricsAtK {
                    k: m.k as u32,
                    ndcg: m.ndcg,
                    mrr: m.mrr,
                    recall: m.recall,
                    novelty: m.novelty,
                })
                .collect(),
        }
    }
}

/// Ranks every item for each user with a test item, excluding the user's train and `valid`
/// items, and averages NDCG, MRR, Recall and Novelty at each K of `ks` (the CoRML paper's protocol).
///
/// `valid` and `test` must come from the split the model was trained on (same id space), else
/// `INVALID_ARGUMENT`. Without `valid` only the training items are excluded (a validation run,
/// with the validation part passed as `test`). Rejects with `EMPTY_DATA` when no user has a test item, `ABORTED` after
/// `cancel.cancel()`.
#[napi(ts_return_type = "Promise<EvaluationResult>")]
pub fn evaluate(
    model: &NativeModel,
    valid: Option<&NativeDataset>,
    test: &NativeDataset,
    ks: Vec<f64>,
    progress: Option<
        ThreadsafeFunction<ProgressReport, Unknown<'static>, ProgressReport, Status, false, true>,
    >,
    cancel: Option<&CancelToken>,
    threads: Option<f64>,
) -> Result<AsyncTask<EvaluateTask>> {
    let threads = crate::fit::thread_count(threads)?;
    let ks = ks
        .into_iter()
        .map(|k| count("ks", k, 1))
        .collect::<Result<Vec<usize>>>()?;
    let m = model.model()?;
    for (name, part) in [("valid", valid), ("test", Some(test))] {
        let Some(part) = part else { continue };
        let data = part.interactions();
        if !(same_space(m.users(), data.users()) && same_space(m.items(), data.items())) {
            return Err(invalid_argument(format!(
                "the {name} dataset is not in the model's id space: evaluate on the valid and test \
                 parts of the split the model was trained on"
            )));
        }
    }
    let test = test.interactions().clone();
    let valid = valid.map(|v| v.interactions().clone());
    let ctl = control(progress, cancel).with_threads(threads);
    Ok(EvaluateTask::spawn(
        move || {
            let empty;
            let valid = match &valid {
                Some(v) => v.matrix(),
                None => {
                    empty =
                        Csr::from_pairs(test.n_users(), test.n_items(), &[]).map_err(from_core)?;
                    &empty
                }
            };
            metrics::evaluate(&m, valid, test.matrix(), &ks, &ctl).map_err(from_core)
        },
        EvaluationResult::from,
    ))
}
