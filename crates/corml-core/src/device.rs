//! Where dense work runs: the [`Device`] a caller asks for, the [`Precision`] of its products,
//! and what the run-time CUDA probe ([`crate::backend::probe`]) reports ([`CudaInfo`]).

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// The device a caller asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Device {
    /// The first usable CUDA device, else the CPU.
    #[default]
    Auto,
    /// The multi-threaded CPU backend.
    Cpu,
    /// The CUDA device with this ordinal; an error if it cannot be used.
    Cuda(usize),
}

impl FromStr for Device {
    type Err = Error;

    /// Parses `auto`, `cpu`, `cuda` (device 0) or `cuda:N`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Device::Auto),
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Device::Cuda)
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "device `{s}` is not one of 'auto', 'cpu', 'cuda', 'cuda:N'"
                    ))
                }),
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Auto => write!(f, "auto"),
            Device::Cpu => write!(f, "cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// The arithmetic of the large dense products.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Precision {
    /// IEEE single precision throughout.
    #[default]
    Fp32,
    /// TensorFloat-32 tensor-core products on GPUs that have them (10-bit mantissa inputs,
    /// fp32 accumulation); elementwise steps stay fp32. The CPU ignores it and computes in fp32.
    Tf32,
}

impl FromStr for Precision {
    type Err = Error;

    /// Parses `fp32` or `tf32`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "fp32" => Ok(Precision::Fp32),
            "tf32" => Ok(Precision::Tf32),
            _ => Err(Error::invalid(format!(
                "precision `{s}` is not one of 'fp32', 'tf32'"
            ))),
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::Fp32 => "fp32",
            Precision::Tf32 => "tf32",
        })
    }
}

/// One CUDA library the backend loads at run time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CudaLibrary {
    /// Its short name (`cuda`, `cublas`, `cusolver`, `nvrtc`).
    pub name: &'static str,
    /// Whether it could be loaded.
    pub found: bool,
    /// The directory it was preloaded from, when it was not on the loader's default path.
    pub directory: Option<String>,
    /// Its version, e.g. `12.4`, for NVRTC (the one the kernels are compiled with) and cuBLAS
    /// (the one cudarc loads), whose major version must not exceed the driver's.
    pub version: Option<(i32, i32)>,
}

/// One CUDA device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CudaDevice {
    /// Its ordinal (`cuda:N`).
    pub ordinal: usize,
    /// Its name, e.g. `NVIDIA H200`.
    pub name: String,
    /// Compute capability `(major, minor)`.
    pub compute_capability: (i32, i32),
    /// Total memory in bytes.
    pub total_memory: u64,
}

/// What the CUDA probe found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CudaInfo {
    /// Whether this build has the CUDA backend at all.
    pub compiled: bool,
    /// Whether `cuda:0` can be used (driver, libraries and a device all present).
    pub available: bool,
    /// Why CUDA cannot be used, when it cannot.
    pub reason: Option<String>,
    /// Whether an NVIDIA driver library was found (no driver means a CPU-only machine, not a fault).
    pub driver_found: bool,
    /// The CUDA version the driver supports, e.g. `(13, 0)`.
    pub driver_version: Option<(i32, i32)>,
    /// The libraries looked for.
    pub libraries: Vec<CudaLibrary>,
    /// The devices the driver reports.
    pub devices: Vec<CudaDevice>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!("auto".parse::<Device>().unwrap(), Device::Auto);
        assert_eq!("cpu".parse::<Device>().unwrap(), Device::Cpu);
        assert_eq!("cuda".parse::<Device>().unwrap(), Device::Cuda(0));
        assert_eq!("cuda:3".parse::<Device>().unwrap(), Device::Cuda(3));
        assert!("gpu".parse::<Device>().is_err());
        assert!("cuda:x".parse::<Device>().is_err());
    }

    #[test]
    fn parses_precisions() {
        assert_eq!("fp32".parse::<Precision>().unwrap(), Precision::Fp32);
        assert_eq!("tf32".parse::<Precision>().unwrap(), Precision::Tf32);
        assert!("fp16".parse::<Precision>().is_err());
    }
}
