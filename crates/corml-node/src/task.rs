//! The one `AsyncTask` of the binding: run a closure on a libuv worker thread, catch panics,
//! and carry a coded error through to the promise's rejection.
//!
//! `Task::compute` and `Task::reject` are typed to `napi::Error<Status>`, which cannot carry our
//! `code`. So `compute` never fails: it returns the work's own [`Result`] as its output, and
//! `resolve` turns an `Err` into a JS error object with [`to_status_error`], which napi then
//! rejects the promise with, `code` included.
//!
//! Every asynchronous function returns `AsyncTask<JobTask<T, J>>`: the work yields a `T` off the
//! main thread and `J` is what JavaScript receives. Such functions spell out their TypeScript
//! return type (`ts_return_type = "Promise<…>"`), because the generic task has no type of its own
//! for napi's generator.

use napi::bindgen_prelude::{AsyncTask, Env, ToNapiValue, TypeName};
use napi::Task;

use crate::error::{catch_panic, coded_error, to_status_error, ErrorCode, Result};

type Work<T> = Box<dyn FnOnce() -> Result<T> + Send>;

/// Work to run once off the main thread, and the conversion of its result on the main thread.
pub struct JobTask<T, J> {
    work: Option<Work<T>>,
    convert: fn(T) -> J,
}

impl<T, J> JobTask<T, J> {
    /// `work` runs when the task's `compute` is called; `convert` makes its value JavaScript's.
    pub fn spawn(
        work: impl FnOnce() -> Result<T> + Send + 'static,
        convert: fn(T) -> J,
    ) -> AsyncTask<Self>
    where
        Self: Task,
    {
        AsyncTask::new(JobTask {
            work: Some(Box::new(work)),
            convert,
        })
    }
}

impl<T: Send + 'static, J: ToNapiValue + TypeName> Task for JobTask<T, J> {
    type Output = Result<T>;
    type JsValue = J;

    /// Runs the work (once), turning a panic into an `INTERNAL` error.
    fn compute(&mut self) -> napi::Result<Self::Output> {
        Ok(match self.work.take() {
            Some(work) => catch_panic(work),
            None => Err(coded_error(ErrorCode::INTERNAL, "a task ran twice")),
        })
    }

    /// The value, converted, or the coded error as a rejection.
    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        match output {
            Ok(value) => Ok((self.convert)(value)),
            Err(err) => Err(to_status_error(&env, err)),
        }
    }
}

/// The identity conversion, for results JavaScript receives as they are.
pub fn same<T>(value: T) -> T {
    value
}
