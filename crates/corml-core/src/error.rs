//! The one error type of the core, grouped by what the caller should do about it.

use std::path::PathBuf;

/// A stable, machine-readable error code; the binding exposes it as `err.code` in JavaScript.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// An argument or option is of the wrong kind or out of range.
    InvalidArgument,
    /// The interaction data holds nothing to train on.
    EmptyData,
    /// A data file could not be parsed.
    ParseError,
    /// A file could not be read or written.
    Io,
    /// A user id is not known to the model.
    UnknownUser,
    /// An item id is not known to the model.
    UnknownItem,
    /// The work was cancelled through its cancel token (an `AbortSignal` in JavaScript).
    Aborted,
    /// A part of the problem does not fit in the host's memory.
    OutOfMemory,
    /// A part of the problem does not fit in the GPU's memory.
    OutOfDeviceMemory,
    /// CUDA was asked for but cannot be used.
    CudaUnavailable,
    /// A CUDA call failed while the work ran on the GPU.
    CudaError,
    /// A numerical step failed (for instance a matrix that should be positive definite is not).
    NumericalError,
    /// A model file or buffer is not a corml-native model, or it is truncated or corrupted.
    InvalidModelFile,
    /// A model file was written in a format version this library cannot read.
    UnsupportedModelVersion,
    /// A serving queue is full: the request was refused at once (back pressure).
    Overloaded,
}

impl ErrorCode {
    /// Every code, in the order of the documentation.
    pub const ALL: [ErrorCode; 15] = [
        ErrorCode::InvalidArgument,
        ErrorCode::EmptyData,
        ErrorCode::ParseError,
        ErrorCode::Io,
        ErrorCode::UnknownUser,
        ErrorCode::UnknownItem,
        ErrorCode::Aborted,
        ErrorCode::OutOfMemory,
        ErrorCode::OutOfDeviceMemory,
        ErrorCode::CudaUnavailable,
        ErrorCode::CudaError,
        ErrorCode::NumericalError,
        ErrorCode::InvalidModelFile,
        ErrorCode::UnsupportedModelVersion,
        ErrorCode::Overloaded,
    ];

    /// The code as the constant string JavaScript callers match on.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::EmptyData => "EMPTY_DATA",
            ErrorCode::ParseError => "PARSE_ERROR",
            ErrorCode::Io => "IO_ERROR",
            ErrorCode::UnknownUser => "UNKNOWN_USER",
            ErrorCode::UnknownItem => "UNKNOWN_ITEM",
            ErrorCode::Aborted => "ABORTED",
            ErrorCode::OutOfMemory => "OUT_OF_MEMORY",
            ErrorCode::OutOfDeviceMemory => "OUT_OF_DEVICE_MEMORY",
            ErrorCode::CudaUnavailable => "CUDA_UNAVAILABLE",
            ErrorCode::CudaError => "CUDA_ERROR",
            ErrorCode::NumericalError => "NUMERICAL_ERROR",
            ErrorCode::InvalidModelFile => "INVALID_MODEL_FILE",
            ErrorCode::UnsupportedModelVersion => "UNSUPPORTED_MODEL_VERSION",
            ErrorCode::Overloaded => "OVERLOADED",
        }
    }
}

/// Everything that can go wrong in the core. Messages carry the values involved and say what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An argument is out of range or malformed.
    #[error("{0}")]
    InvalidArgument(String),
    /// The data holds no interactions (or none left after a step).
    #[error("{0}")]
    EmptyData(String),
    /// A line of a data file could not be parsed.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file being read.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was wrong with it.
        message: String,
    },
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A user id the model does not know.
    #[error("user id `{0}` is not in the training data")]
    UnknownUser(String),
    /// An item id the model does not know.
    #[error("item id `{0}` is not in the training data")]
    UnknownItem(String),
    /// The operation was cancelled.
    #[error("aborted: {0}")]
    Aborted(String),
    /// Not enough memory for a step; the message says how much is needed and what would fit.
    #[error("{0}")]
    OutOfMemory(String),
    /// Not enough GPU memory for a step; the message says how much is needed and what would fit.
    #[error("{0}")]
    OutOfDeviceMemory(String),
    /// CUDA was requested explicitly but cannot be used.
    #[error("CUDA is not available: {0}")]
    CudaUnavailable(String),
    /// A CUDA library call failed during the work.
    #[error("CUDA error: {0}")]
    Cuda(String),
    /// A numerical failure, such as a failed Cholesky factorization.
    #[error("{0}")]
    Numerical(String),
    /// A model file or buffer that cannot be read as a model.
    #[error("{origin}: {message}")]
    ModelFile {
        /// The file, or `buffer`.
        origin: String,
        /// What is wrong with it and what to do.
        message: String,
    },
    /// A model file in a format version this library does not read.
    #[error("{origin}: {message}")]
    ModelVersion {
        /// The file, or `buffer`.
        origin: String,
        /// Which versions are involved and what to do.
        message: String,
    },
    /// A serving queue is full.
    #[error("{0}")]
    Overloaded(String),
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Error::EmptyData(_) => ErrorCode::EmptyData,
            Error::Parse { .. } => ErrorCode::ParseError,
            Error::Io { .. } => ErrorCode::Io,
            Error::UnknownUser(_) => ErrorCode::UnknownUser,
            Error::UnknownItem(_) => ErrorCode::UnknownItem,
            Error::Aborted(_) => ErrorCode::Aborted,
            Error::OutOfMemory(_) => ErrorCode::OutOfMemory,
            Error::OutOfDeviceMemory(_) => ErrorCode::OutOfDeviceMemory,
            Error::CudaUnavailable(_) => ErrorCode::CudaUnavailable,
            Error::Cuda(_) => ErrorCode::CudaError,
            Error::Numerical(_) => ErrorCode::NumericalError,
            Error::ModelFile { .. } => ErrorCode::InvalidModelFile,
            Error::ModelVersion { .. } => ErrorCode::UnsupportedModelVersion,
            Error::Overloaded(_) => ErrorCode::Overloaded,
        }
    }

    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }
}

/// The core's result type.
pub type Result<T> = std::result::Result<T, Error>;
