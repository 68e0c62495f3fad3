//! Node.js bindings for corml-native, built with napi-rs v3.
//!
//! This crate holds only `#[napi]` wrappers and error mapping; the model lives in `corml-core`.
//! JavaScript reaches it through the generated loader in `src/native/` and the TypeScript
//! facade in `src/index.ts`:
//!
//! ```js
//! const native = require('./native/index.cjs')
//! const data = native.NativeDataset.fromPairs(['a', 'a', 'b'], ['x', 'y', 'x'])
//! const model = await native.fitCorml(data, { eigenvectors: 2 }, null, new native.CancelToken())
//! model.recommend('b', 10, true) // [{ item: 'y', score: ... }]
//! ```
//!
//! One file per concept: [`backend`] (what can compute), [`dataset`] (data and readers), [`fit`] (training), [`hyperparameters`] (the list CoRML's options derive from), [`model`]
//! (recommendation), [`evaluate`] (metrics), [`cancel`] and [`progress`] (the plumbing of long
//! work), [`task`] (the shared `AsyncTask` body), [`convert`] (checked JS → core conversions) and
//! [`error`].
//!
//! # Long work
//!
//! Reading files, fitting, evaluating and batch recommendation run on libuv worker threads as
//! `AsyncTask`s and return promises. A [`cancel::CancelToken`] stops running work at its next
//! check (the work then rejects with `ABORTED`); progress reaches JavaScript through a weak,
//! non-blocking `ThreadsafeFunction` (see [`progress`]).
//!
//! # Errors and panics
//!
//! Fallible functions return [`error::Result`], so JavaScript receives an `Error` with a string
//! `code` (see [`error`]).
//!
//! napi-rs v3 does **not** catch panics by default: the generated `extern "C"` trampoline only
//! wraps the body in `catch_unwind` when the function is marked `#[napi(catch_unwind)]`, and a
//! panic unwinding out of an `extern "C"` function aborts the whole Node process (Rust >= 1.81).
//! Checked with napi 3.16 / napi-derive 3.7 on Node 20: an unguarded `panic!` in a `#[napi]`
//! fn kills node with SIGABRT (`fatal runtime error: failed to initiate panic`); with
//! `#[napi(catch_unwind)]` it becomes a JS `Error` with `code === 'GenericFailure'`. We wrap
//! bodies that can panic in [`error::catch_panic`] instead, which yields
//! `code === 'INTERNAL'`, a code the facade knows. The release profile must keep
//! `panic = "unwind"` for either to work.
//!
//! This crate has no Rust test harness (`test = false`): a test executable would have to link
//! the Node-API symbols, which only exist inside a running `node`. Its behaviour is tested
//! from JavaScript in `__test__/`; model logic is tested in `corml-core`.

pub mod backend;
pub mod cancel;
pub mod convert;
pub mod dataset;
pub mod error;
pub mod evaluate;
pub mod fit;
pub mod hyperparameters;
pub mod model;
pub mod progress;
pub mod task;

use napi::bindgen_prelude::Env;
use napi_derive::napi;

use crate::error::{catch_panic, coded_error, to_status_error, ErrorCode};

/// The version of the native binding (the `corml-node` crate), e.g. `"0.1.0"`.
#[napi]
pub fn binding_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// The codes the core's errors carry (`INVALID_ARGUMENT`, …), in the order of the documentation;
/// the binding adds `INTERNAL` for panics and unexpected napi failures.
#[napi]
pub fn error_codes() -> Vec<String> {
    corml_core::ErrorCode::ALL
        .iter()
        .map(|c| c.as_str().to_owned())
        .chain([ErrorCode::INTERNAL.as_str().to_owned()])
        .collect()
}

/// Test hook: always throws an `Error` with the given `code` and `message`.
///
/// Exercises the coded-error mapping of the `error` module; not part of the public facade.
#[napi]
pub fn fail_with_code(code: String, message: String) -> error::Result<()> {
    Err(coded_error(ErrorCode::new(code), message))
}

/// Test hook: like `failWithCode`, but through a `napi::Result` (status-typed) path.
///
/// Exercises `error::to_status_error`, the route for APIs such as `Task::reject` whose error
/// type cannot carry a custom code; not part of the public facade.
#[napi]
pub fn fail_with_code_via_status(env: Env, code: String, message: String) -> napi::Result<()> {
    Err(to_status_error(
        &env,
        coded_error(ErrorCode::new(code), message),
    ))
}

/// Test hook: panics with `message` inside `error::catch_panic`.
///
/// Proves a Rust panic surfaces as an `Error` with code `INTERNAL` instead of aborting the
/// process; not part of the public facade.
#[napi]
pub fn panic_with_message(message: String) -> error::Result<()> {
    catch_panic(|| panic!("{message}"))
}
