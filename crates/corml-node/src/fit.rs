//! Training: `fitCorml`, `fitEase`, `fitGfcf`, each an `AsyncTask` resolving to a `NativeModel`, and
//! `prepareCorml` for CoRML fits that share a spectral factor.

use std::sync::Arc;

use corml_core::dataset::Interactions;
use corml_core::model::{corml, ease, gfcf, CormlParams, EaseParams, GfcfParams, Model};
use corml_core::progress::Control;
use napi::bindgen_prelude::{AsyncTask, Either, Unknown};
use napi::threadsafe_function::ThreadsafeFunction;
use napi::Status;
use napi_derive::napi;

use crate::cancel::CancelToken;
use crate::convert::{count, device, integer_or, memory_budget, precision, real};
use crate::dataset::NativeDataset;
use crate::error::{from_core, invalid_argument, Result};
use crate::model::{ModelTask, NativeModel};
use crate::progress::{control, ProgressCallback, ProgressReport};
use crate::task::JobTask;

/// CoRML hyperparameters; every field is optional and defaults to the value of `cormlHyperparameters()`.
#[napi(object)]
#[derive(Clone, Debug, Default)]
pub struct CormlOptions {
    /// λ, weight between the metric part H and the graph-filter part G, in (0, 1]; default 0.75.
    pub lambda: Option<f64>,
    /// ρ, the ADMM penalty / step, > 0; default 5e3.
    pub dual_step_length: Option<f64>,
    /// θ, l2 weight on H scaled by item degree, ≥ 0; default 1.0.
    pub l2_regularization: Option<f64>,
    /// t, item degree normalization in [-2, 2] (lower t, more novel items); default 0.1.
    pub item_degree_norm: Option<f64>,
    /// log10 ε, global scale of the approximated ranking weights, in [-10, 10]; default 0.
    pub global_scaling: Option<f64>,
    /// t_u, user-degree scaling of the ranking weights, in [-10, 10]; default 0.
    pub user_scaling: Option<f64>,
    /// k, rank of the truncated SVD, an integer in [1, 4096]; default 256.
    pub eigenvectors: Option<f64>,
    /// ADMM iterations, an integer in [1, 10000]; default 50.
    pub admm_iterations: Option<f64>,
    /// Largest item partition as a share of all items, in (0, 1], or `'auto'` (default): the
    /// largest part that fits half the memory budget, at most 15,000 items on the CPU.
    #[napi(ts_type = "number | 'auto'")]
    pub partition_ratio: Option<Either<f64, String>>,
    /// Prune H to the storage budget of a 64-dimensional MF model; default true.
    pub sparse_approx: Option<bool>,
    /// Seed of the randomized SVDs, an integer ≥ 0; default 2026.
    pub seed: Option<f64>,
    /// `'auto'` (default: the first CUDA device when one is usable, else the CPU), `'cpu'`,
    /// `'cuda'` or `'cuda:N'`.
    pub device: Option<String>,
    /// Arithmetic of the large products on a GPU: `'fp32'` (default) or `'tf32'` (tensor
    /// cores; faster, with a small accuracy cost). The CPU always computes in fp32.
    pub precision: Option<String>,
    /// How the CPU computes each ADMM iteration's `A⁻¹X`: `'auto'` (default: the iterative solve
    /// where it is cheaper), `'dense'` (the algorithm as written: a Cholesky inverse and a dense product) or `'iterative'`. GPUs always use the
    /// dense product. The iterates agree to fp32 accuracy either way.
    pub admm_solver: Option<String>,
    /// Bytes the dense work may use; default: what the backend reports free.
    pub memory_budget: Option<f64>,
    /// Threads of the CPU work, an integer ≥ 1; default: the process setting (`setThreads`),
    /// else every core. They run below the priority of scoring.
    pub threads: Option<f64>,
}

impl CormlOptions {
    fn params(self) -> Result<CormlParams> {
        let d = CormlParams::default();
        Ok(CormlParams {
            lambda: real("lambda", self.lambda, d.lambda)?,
            dual_step_length: real("dualStepLength", self.dual_step_length, d.dual_step_length)?,
            l2_regularization: real(
                "l2Regularization",
                self.l2_regularization,
                d.l2_regularization,
            )?,
            item_degree_norm: real("itemDegreeNorm", self.item_degree_norm, d.item_degree_norm)?,
            global_scaling: real("globalScaling", self.global_scaling, d.global_scaling)?,
            user_scaling: real("userScaling", self.user_scaling, d.user_scaling)?,
            eigenvectors: optional_count("eigenvectors", self.eigenvectors, d.eigenvectors)?,
            admm_iterations: optional_count(
                "admmIterations",
                self.admm_iterations,
                d.admm_iterations,
            )?,
            partition_ratio: partition_ratio(self.partition_ratio)?,
            sparse_approx: self.sparse_approx.unwrap_or(d.sparse_approx),
            seed: integer_or("seed", self.seed, 0, d.seed)?,
            device: device(self.device.as_deref())?,
            precision: precision(self.precision.as_deref())?,
            admm_solver: self
                .admm_solver
                .as_deref()
                .map_or(Ok(Default::default()), str::parse)
                .map_err(from_core)?,
            memory_budget: memory_budget(self.memory_budget)?,
        })
    }
}

/// `partitionRatio`: a number (NaN and infinities pass through to the core's range check, which
/// names them), `'auto'` or absent (`None`: chosen at fit time).
fn partition_ratio(value: Option<Either<f64, String>>) -> Result<Option<f64>> {
    match value {
        None => Ok(None),
        Some(Either::A(ratio)) => Ok(Some(ratio)),
        Some(Either::B(word)) if word == "auto" => Ok(None),
        Some(Either::B(word)) => Err(invalid_argument(format!(
            "partitionRatio must be a number in (0, 1] or 'auto', not '{word}'"
        ))),
    }
}

/// EASE hyperparameters.
#[napi(object)]
#[derive(Clone, Debug, Default)]
pub struct EaseOptions {
    /// l2 regularization added to the Gram diagonal, > 0; default 250.
    pub regularization: Option<f64>,
    /// `'auto'` (default), `'cpu'`, `'cuda'` or `'cuda:N'`.
    pub device: Option<String>,
    /// Bytes the dense work may use; default: what the backend reports free.
    pub memory_budget: Option<f64>,
    /// Threads of the CPU work, as for CoRML.
    pub threads: Option<f64>,
}

impl EaseOptions {
    fn params(self) -> Result<EaseParams> {
        let d = EaseParams::default();
        Ok(EaseParams {
            regularization: real("regularization", self.regularization, d.regularization)?,
            device: device(self.device.as_deref())?,
            memory_budget: memory_budget(self.memory_budget)?,
        })
    }
}

/// GF-CF hyperparameters.
#[napi(object)]
#[derive(Clone, Debug, Default)]
pub struct GfcfOptions {
    /// Weight α of the ideal low-pass filter, ≥ 0; default 0.3.
    pub alpha: Option<f64>,
    /// Rank k of the low-pass filter, an integer ≥ 1; default 256.
    pub eigenvectors: Option<f64>,
    /// Seed of the randomized SVD, an integer ≥ 0; default 2026.
    pub seed: Option<f64>,
    /// Threads of the CPU work, as for CoRML.
    pub threads: Option<f64>,
}

impl GfcfOptions {
    fn params(self) -> Result<GfcfParams> {
        let d = GfcfParams::default();
        Ok(GfcfParams {
            alpha: real("alpha", self.alpha, d.alpha)?,
            eigenvectors: optional_count("eigenvectors", self.eigenvectors, d.eigenvectors)?,
            seed: integer_or("seed", self.seed, 0, d.seed)?,
        })
    }
}

/// The `threads` option: an integer in `[1, 1024]`, or `None` for the process default.
pub fn thread_count(value: Option<f64>) -> Result<Option<usize>> {
    value
        .map(|v| match count("threads", v, 1)? {
            n if n <= corml_core::threads::MAX_THREADS => Ok(n),
            n => Err(crate::error::invalid_argument(format!(
                "threads = {n} is out of range: it must be an integer in [1, {}]",
                corml_core::threads::MAX_THREADS
            ))),
        })
        .transpose()
}

/// Sets the number of threads that training and evaluation use when they are not given one
/// (`0` restores the default: `CORML_THREADS`, else every core). Scoring is not affected.
#[napi]
pub fn set_default_threads(threads: f64) -> Result<()> {
    let n = count("threads", threads, 0)?;
    corml_core::threads::set_default_threads(n).map_err(from_core)
}

/// The number of threads that training and evaluation use when they are not given one.
#[napi]
pub fn default_threads() -> u32 {
    u32::try_from(corml_core::threads::default_threads()).unwrap_or(u32::MAX)
}

/// Counts are checked for being whole numbers here; their ranges are the core's to check (an
/// integer ≥ 0 reaches it, so `admmIterations: 0` gets the core's message).
fn optional_count(name: &str, value: Option<f64>, default: usize) -> Result<usize> {
    value.map_or(Ok(default), |v| count(name, v, 0))
}

/// Runs `fit` on the dataset's interactions off the main thread, with progress and cancel, in
/// the long-work pool of `threads` threads.
fn fit_task(
    dataset: &NativeDataset,
    progress: Option<ProgressCallback>,
    cancel: Option<&CancelToken>,
    threads: Option<usize>,
    fit: impl FnOnce(&Interactions, &Control) -> corml_core::Result<Model> + Send + 'static,
) -> AsyncTask<ModelTask> {
    data_task(dataset, progress, cancel, threads, fit, NativeModel::new)
}

/// Runs `work` on the dataset's interactions like [`fit_task`], converting its value with
/// `convert` for JavaScript.
fn data_task<T: Send + 'static, J>(
    dataset: &NativeDataset,
    progress: Option<ProgressCallback>,
    cancel: Option<&CancelToken>,
    threads: Option<usize>,
    work: impl FnOnce(&Interactions, &Control) -> corml_core::Result<T> + Send + 'static,
    convert: fn(T) -> J,
) -> AsyncTask<JobTask<T, J>>
where
    JobTask<T, J>: napi::Task,
{
    let data = dataset.interactions().clone();
    let ctl = control(progress, cancel).with_threads(threads);
    JobTask::spawn(move || work(&data, &ctl).map_err(from_core), convert)
}

/// Trains CoRML on `dataset`; with `spectral` (from `prepareCorml` on the same dataset with the
/// same `eigenvectors`, `seed` and `partitionRatio`, else `INVALID_ARGUMENT`) it reuses that
/// spectral factor and partition, and trains the same model.
///
/// Rejects with `INVALID_ARGUMENT` (a hyperparameter out of range), `EMPTY_DATA`,
/// `CUDA_UNAVAILABLE` (`'cuda'` asked for and not usable; the message says why),
/// `OUT_OF_MEMORY` / `OUT_OF_DEVICE_MEMORY` (a part does not fit the host's or the GPU's memory;
/// the message names a `partitionRatio` that would), `CUDA_ERROR`, `NUMERICAL_ERROR` or `ABORTED`
/// (after `cancel.cancel()`).
#[napi(ts_return_type = "Promise<NativeModel>")]
pub fn fit_corml(
    dataset: &NativeDataset,
    options: Option<CormlOptions>,
    progress: Option<
        ThreadsafeFunction<ProgressReport, Unknown<'static>, ProgressReport, Status, false, true>,
    >,
    cancel: Option<&CancelToken>,
    spectral: Option<&NativeSpectral>,
) -> Result<AsyncTask<ModelTask>> {
    let options = options.unwrap_or_default();
    let threads = thread_count(options.threads)?;
    let params = options.params()?;
    let shared = spectral.map(|s| s.inner.clone());
    Ok(fit_task(
        dataset,
        progress,
        cancel,
        threads,
        move |data, ctl| match shared {
            Some(spectral) => corml::fit_prepared(data, &params, &spectral, ctl),
            None => corml::fit(data, &params, ctl),
        },
    ))
}

/// CoRML's spectral factor and item partition for a dataset (`prepareCorml`): what the fits of a
/// hyperparameter search that keep `eigenvectors`, `seed` and `partitionRatio` can share.
#[napi]
pub struct NativeSpectral {
    inner: Arc<corml::Spectral>,
}

impl NativeSpectral {
    fn new(spectral: corml::Spectral) -> Self {
        NativeSpectral {
            inner: Arc::new(spectral),
        }
    }
}

#[napi]
impl NativeSpectral {
    /// The partition ratio it used (what `'auto'` chose, or the one asked for).
    #[napi(getter)]
    pub fn partition_ratio(&self) -> f64 {
        self.inner.partition_ratio()
    }

    /// The item count of each part.
    #[napi(getter)]
    pub fn part_sizes(&self) -> Vec<u32> {
        self.inner.parts().iter().map(|p| p.len() as u32).collect()
    }

    /// Seconds it took to compute.
    #[napi(getter)]
    pub fn seconds(&self) -> f64 {
        self.inner.seconds()
    }
}

/// Computes the spectral factor and the partition of a CoRML fit of `dataset` with `options`
/// off the main thread (the `svd` and `partition` stages), for `fitCorml`'s `spectral`. Rejects
/// like `fitCorml`.
#[napi(ts_return_type = "Promise<NativeSpectral>")]
pub fn prepare_corml(
    dataset: &NativeDataset,
    options: Option<CormlOptions>,
    progress: Option<
        ThreadsafeFunction<ProgressReport, Unknown<'static>, ProgressReport, Status, false, true>,
    >,
    cancel: Option<&CancelToken>,
) -> Result<AsyncTask<JobTask<corml::Spectral, NativeSpectral>>> {
    let options = options.unwrap_or_default();
    let threads = thread_count(options.threads)?;
    let params = options.params()?;
    Ok(data_task(
        dataset,
        progress,
        cancel,
        threads,
        move |data, ctl| corml::prepare(data, &params, ctl),
        NativeSpectral::new,
    ))
}

/// Trains EASE on `dataset`. Rejects like `fitCorml`.
#[napi(ts_return_type = "Promise<NativeModel>")]
pub fn fit_ease(
    dataset: &NativeDataset,
    options: Option<EaseOptions>,
    progress: Option<
        ThreadsafeFunction<ProgressReport, Unknown<'static>, ProgressReport, Status, false, true>,
    >,
    cancel: Option<&CancelToken>,
) -> Result<AsyncTask<ModelTask>> {
    let options = options.unwrap_or_default();
    let threads = thread_count(options.threads)?;
    let params = options.params()?;
    Ok(fit_task(
        dataset,
        progress,
        cancel,
        threads,
        move |data, ctl| ease::fit(data, &params, ctl),
    ))
}

/// Trains GF-CF on `dataset` (CPU only: its one real step is a randomized SVD).
#[napi(ts_return_type = "Promise<NativeModel>")]
pub fn fit_gfcf(
    dataset: &NativeDataset,
    options: Option<GfcfOptions>,
    progress: Option<
        ThreadsafeFunction<ProgressReport, Unknown<'static>, ProgressReport, Status, false, true>,
    >,
    cancel: Option<&CancelToken>,
) -> Result<AsyncTask<ModelTask>> {
    let options = options.unwrap_or_default();
    let threads = thread_count(options.threads)?;
    let params = options.params()?;
    Ok(fit_task(
        dataset,
        progress,
        cancel,
        threads,
        move |data, ctl| gfcf::fit(data, &params, ctl),
    ))
}
