//! Progress reports from worker threads to a JavaScript callback.
//!
//! The callback is wrapped in a `ThreadsafeFunction` that is
//! - *weak*: it never keeps the event loop (and so the process) alive on its own;
//! - called in non-blocking mode: a report never stalls the computation;
//! - called "with return value": napi then catches an exception thrown by the callback and hands
//!   it to us instead of raising it as an uncaught exception, and we drop it. A throwing progress
//!   callback therefore cannot crash the process or fail the work.
//!
//! It is released when the task that owns it is dropped, after the promise settles.

use std::sync::Arc;

use corml_core::progress::{Control, ProgressEvent};
use napi::bindgen_prelude::Unknown;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;

use crate::cancel::CancelToken;

/// One progress report of a fit or an evaluation.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct ProgressReport {
    /// The stage: `svd`, `partition`, `gram`, `factorize`, `admm`, `sparsify`, `done` (CoRML);
    /// `gram`, `inverse`, `done` (EASE); `svd`, `done` (GF-CF); `score` (evaluation).
    pub stage: String,
    /// 1-based index of the current part (0 when the stage is not per part).
    pub part: u32,
    /// Number of parts (0 when the stage is not per part).
    pub parts: u32,
    /// 1-based iteration (ADMM) or batch (evaluation); 0 when not iterating.
    pub iteration: u32,
    /// Number of iterations or batches; 0 when not iterating.
    pub iterations: u32,
    /// Fraction of the whole job done, in `[0, 1]`.
    pub fraction: f64,
}

impl From<&ProgressEvent> for ProgressReport {
    fn from(e: &ProgressEvent) -> Self {
        let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        ProgressReport {
            stage: e.stage.to_owned(),
            part: n(e.part),
            parts: n(e.parts),
            iteration: n(e.iteration),
            iterations: n(e.iterations),
            fraction: e.fraction,
        }
    }
}

/// The progress callback as `#[napi]` functions receive it: `(report: ProgressReport) => unknown`,
/// not callee-handled (no error-first argument), weak.
///
/// Signatures spell this type out in full: napi's TypeScript generator reads the syntax and
/// does not resolve aliases.
pub type ProgressCallback =
    ThreadsafeFunction<ProgressReport, Unknown<'static>, ProgressReport, Status, false, true>;

/// The core's [`Control`] for one piece of work: reports go to `progress`, cancellation comes
/// from `cancel` (a fresh, never-cancelled flag when there is no token).
pub fn control(progress: Option<ProgressCallback>, cancel: Option<&CancelToken>) -> Control {
    let flag = cancel.map(CancelToken::flag).unwrap_or_default();
    let report = progress.map(|tsfn| {
        let f: corml_core::progress::ProgressFn = Arc::new(move |event: &ProgressEvent| {
            // The status is ignored on purpose: a report that cannot be queued (the environment is
            // shutting down) is simply lost, which must not fail the work.
            let _ = tsfn.call_with_return_value(
                ProgressReport::from(event),
                ThreadsafeFunctionCallMode::NonBlocking,
                // `Err` here is an exception thrown by the callback, already cleared by napi.
                |_returned, _env| Ok(()),
            );
        });
        f
    });
    Control::new(report, flag)
}
