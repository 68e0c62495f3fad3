//! Progress reporting and cooperative cancellation for long work.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};

/// One progress report: where the work is and how much of it is done.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgressEvent {
    /// The stage: `svd`, `partition`, `gram`, `factorize`, `admm`, `sparsify`, `inverse` (EASE),
    /// `score` (evaluation), and `done` at the end of training.
    pub stage: &'static str,
    /// 1-based index of the current part (0 when the stage is not per part).
    pub part: usize,
    /// Number of parts (0 when the stage is not per part).
    pub parts: usize,
    /// 1-based ADMM iteration or batch (0 when not iterating).
    pub iteration: usize,
    /// Number of iterations or batches (0 when not iterating).
    pub iterations: usize,
    /// Overall fraction of the whole job done, in `[0, 1]`.
    pub fraction: f64,
}

/// Receives progress reports; must be cheap and must not block.
pub type ProgressFn = Arc<dyn Fn(&ProgressEvent) + Send + Sync>;

/// What long-running work receives to report progress, to notice cancellation, and to know how
/// many threads it may use.
#[derive(Clone, Default)]
pub struct Control {
    cancel: Arc<AtomicBool>,
    progress: Option<ProgressFn>,
    threads: Option<usize>,
}

impl Control {
    /// A control with a progress callback and a shared cancel flag.
    pub fn new(progress: Option<ProgressFn>, cancel: Arc<AtomicBool>) -> Self {
        Control {
            cancel,
            progress,
            threads: None,
        }
    }

    /// The same control, for work of `threads` threads (`None` or 0: the process default,
    /// [`crate::threads::default_threads`]).
    pub fn with_threads(mut self, threads: Option<usize>) -> Self {
        self.threads = threads.filter(|&n| n > 0);
        self
    }

    /// Runs `work` in the long-work pool of this control's size ([`crate::threads`]), whose
    /// threads yield to scoring.
    pub fn run<R: Send>(&self, work: impl FnOnce() -> Result<R> + Send) -> Result<R> {
        crate::threads::long_work_pool(self.threads)?.install(work)
    }

    /// The cancel flag; set it to `true` to stop the work at its next check.
    pub fn cancel_flag(&self) -> &Arc<AtomicBool> {
        &self.cancel
    }

    /// Fails with `ABORTED` once cancellation was requested.
    pub fn check(&self) -> Result<()> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(Error::Aborted("the operation was cancelled".into()));
        }
        Ok(())
    }

    /// Sends a report, then checks for cancellation.
    pub fn report(&self, event: ProgressEvent) -> Result<()> {
        if let Some(p) = &self.progress {
            p(&event);
        }
        self.check()
    }

    /// Shorthand for a stage-level report with no part or iteration.
    pub fn stage(&self, stage: &'static str, fraction: f64) -> Result<()> {
        self.report(ProgressEvent {
            stage,
            part: 0,
            parts: 0,
            iteration: 0,
            iterations: 0,
            fraction,
        })
    }
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("cancelled", &self.cancel.load(Ordering::Relaxed))
            .finish()
    }
}
