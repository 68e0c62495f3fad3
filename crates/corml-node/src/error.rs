//! Error mapping: every failure that crosses into JavaScript becomes an `Error` whose string
//! `code` property names the failure (`err.code === 'INVALID_ARGUMENT'`).
//!
//! napi-rs v3 makes `napi::Error` generic over its status type (`Error<S: AsRef<str>>`), and
//! when it throws one it calls `napi_create_error(env, code, message)` with `status.as_ref()` as
//! the code. So a `#[napi]` function returning `napi::Result<T, ErrorCode>` (= [`Result<T>`]
//! here) throws a plain JS `Error` with `code` set to our string. This is the pattern napi-rs's
//! own examples use for custom status codes; no `Env` or JS object is needed at the error site.
//!
//! Two boundaries this module does not reach:
//! - Argument conversion runs before the function body, so passing e.g. a number where a
//!   `String` is declared throws napi's own code (`StringExpected`, `NumberExpected`, ...).
//! - Paths that are typed to `napi::Error<Status>` (e.g. `Task::compute`/`Task::reject`) cannot
//!   carry an [`ErrorCode`]; use [`to_status_error`] there, which builds the JS error object up
//!   front so that napi rethrows that very object, `code` included.

use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};

use napi::bindgen_prelude::{Env, JsError};

/// The string that becomes the `code` property of an error thrown into JavaScript.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ErrorCode(Cow<'static, str>);

impl ErrorCode {
    /// A caller passed a value that is out of range, malformed or inconsistent.
    pub const INVALID_ARGUMENT: Self = Self::from_static("INVALID_ARGUMENT");
    /// A bug: a Rust panic caught at the binding boundary, or an unexpected napi failure.
    pub const INTERNAL: Self = Self::from_static("INTERNAL");

    /// A code known at compile time.
    pub const fn from_static(code: &'static str) -> Self {
        Self(Cow::Borrowed(code))
    }

    /// A code built at run time.
    pub fn new(code: impl Into<String>) -> Self {
        Self(Cow::Owned(code.into()))
    }

    /// The code as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ErrorCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A `napi::Error` whose status is an [`ErrorCode`]; thrown as a JS `Error` with that `code`.
pub type Error = napi::Error<ErrorCode>;

/// The result type of every fallible `#[napi]` function in this crate.
pub type Result<T> = napi::Result<T, ErrorCode>;

/// Builds an error that JavaScript sees as `Error { code, message }`.
pub fn coded_error(code: ErrorCode, message: impl Into<String>) -> Error {
    napi::Error::new(code, message.into())
}

/// Shorthand for [`coded_error`] with [`ErrorCode::INVALID_ARGUMENT`].
pub fn invalid_argument(message: impl Into<String>) -> Error {
    coded_error(ErrorCode::INVALID_ARGUMENT, message)
}

/// Maps an error of `corml-core` to its coded JS error: `code` is [`corml_core::ErrorCode::as_str`]
/// (`UNKNOWN_USER`, `PARSE_ERROR`, ...) and the message is the error's `Display`.
pub fn from_core(err: corml_core::Error) -> Error {
    coded_error(ErrorCode::from_static(err.code().as_str()), err.to_string())
}

/// Maps an error from a napi call (`Error<Status>`) into ours, for `.map_err(from_napi)`.
///
/// Conversion failures (wrong JS type) become `INVALID_ARGUMENT`; anything else is
/// `INTERNAL`. The napi status name is kept in the message.
pub fn from_napi(err: napi::Error) -> Error {
    use napi::Status;
    let code = match err.status {
        Status::InvalidArg
        | Status::ObjectExpected
        | Status::StringExpected
        | Status::NameExpected
        | Status::FunctionExpected
        | Status::NumberExpected
        | Status::BooleanExpected
        | Status::ArrayExpected
        | Status::BigintExpected
        | Status::DateExpected
        | Status::ArrayBufferExpected
        | Status::DetachableArraybufferExpected => ErrorCode::INVALID_ARGUMENT,
        _ => ErrorCode::INTERNAL,
    };
    coded_error(code, format!("{}: {}", err.status.as_ref(), err.reason))
}

/// Turns a coded error into an `Error<Status>` that still reaches JavaScript with its `code`.
///
/// For APIs fixed to `napi::Result<T>` (for example `Task::reject`, which receives the `Env`):
/// the JS error object is created here, and napi rethrows that retained object unchanged.
pub fn to_status_error(env: &Env, err: Error) -> napi::Error {
    napi::Error::from(JsError::from(err).into_unknown(*env))
}

/// Runs `f`, turning a Rust panic into an `INTERNAL` error instead of aborting the process.
///
/// Wrap the body of every `#[napi]` function that calls into code that might panic.
pub fn catch_panic<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let detail = if let Some(s) = payload.downcast_ref::<&str>() {
                (*s).to_owned()
            } else if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else {
                "non-string panic payload".to_owned()
            };
            // A payload whose own `Drop` panics must not unwind out of here.
            std::mem::forget(payload);
            Err(coded_error(
                ErrorCode::INTERNAL,
                format!("internal error (Rust panic): {detail}"),
            ))
        }
    }
}
