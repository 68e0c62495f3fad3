//! `CancelToken`: cooperative cancellation of running work.
//!
//! napi's own `AbortSignal` support only cancels an `AsyncTask` that has not started yet; a fit
//! that is already running must notice cancellation itself. The token wraps the flag that
//! `corml_core::progress::Control` checks between steps (every ADMM iteration, every panel of a
//! long product), and the facade calls [`CancelToken::cancel`] from the user's `AbortSignal`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use napi_derive::napi;

/// A cancel flag shared with running work; once cancelled, the work rejects with `ABORTED`.
#[napi]
#[derive(Default)]
pub struct CancelToken {
    flag: Arc<AtomicBool>,
}

#[napi]
impl CancelToken {
    /// A token that is not cancelled.
    #[napi(constructor)]
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests cancellation: work holding this token stops at its next check. Idempotent.
    #[napi]
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }

    /// Whether `cancel()` was called.
    #[napi(getter)]
    pub fn cancelled(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }
}

impl CancelToken {
    /// The shared flag, for `Control::new`.
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.flag.clone()
    }
}
