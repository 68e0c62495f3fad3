//! The shared body of every `AsyncTask`: run a closure on a libuv worker thread, catch panics,
//! and carry a coded error through to the promise's rejection.
//!
//! `Task::compute` and `Task::reject` are typed to `napi::Error<Status>`, which cannot carry our
//! `code`. So `compute` never fails: it returns the work's own [`Result`] as its output, and
//! `resolve` turns an `Err` into a JS error object with [`to_status_error`], which napi then
//! rejects the promise with, `code` included.

use napi::bindgen_prelude::Env;

use crate::error::{catch_panic, coded_error, to_status_error, ErrorCode, Result};

type Work<T> = Box<dyn FnOnce() -> Result<T> + Send>;

/// Work to run once off the main thread.
pub struct Job<T> {
    work: Option<Work<T>>,
}

impl<T> Job<T> {
    /// Wraps `work`; it runs when the task's `compute` is called.
    pub fn new(work: impl FnOnce() -> Result<T> + Send + 'static) -> Self {
        Job {
            work: Some(Box::new(work)),
        }
    }

    /// Runs the work (once), turning a panic into an `INTERNAL` error. For `Task::compute`.
    pub fn run(&mut self) -> napi::Result<Result<T>> {
        Ok(match self.work.take() {
            Some(work) => catch_panic(work),
            None => Err(coded_error(ErrorCode::INTERNAL, "a task ran twice")),
        })
    }
}

/// For `Task::resolve`: the value, converted, or the coded error as a rejection.
pub fn settle<T, J>(env: &Env, output: Result<T>, convert: impl FnOnce(T) -> J) -> napi::Result<J> {
    match output {
        Ok(value) => Ok(convert(value)),
        Err(err) => Err(to_status_error(env, err)),
    }
}
