//! `backendInfo`: what the run-time probe found (CUDA driver, libraries, devices) and where
//! device `'auto'` would run.

use corml_core::backend::report;
use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;

use crate::convert::{self, count};
use crate::error::{from_core, Result};
use crate::task::{same, JobTask};

/// Measures a gemm off the main thread.
pub type GemmRateTask = JobTask<f64, f64>;

/// Probes the backends off the main thread (loading the CUDA driver can take a moment).
pub type BackendInfoTask = JobTask<BackendInfo, BackendInfo>;

/// One CUDA library the backend loads at run time.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct CudaLibraryInfo {
    /// `cuda` (the driver), `cublas`, `cusolver` or `nvrtc`.
    pub name: String,
    /// Whether it loaded.
    pub found: bool,
    /// The directory it was loaded from, when it was not on the loader's default path.
    pub directory: Option<String>,
    /// Its version, e.g. `12.4`, for NVRTC (the one the kernels are compiled with) and cuBLAS.
    pub version: Option<String>,
}

/// One CUDA device.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct CudaDeviceInfo {
    /// Its ordinal: pass `'cuda:N'` as `device`.
    pub ordinal: u32,
    /// Its name, e.g. `NVIDIA H200`.
    pub name: String,
    /// Compute capability, e.g. `9.0`.
    pub compute_capability: String,
    /// Total memory in bytes.
    pub total_memory: f64,
}

/// What this process can compute on.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct BackendInfo {
    /// Where device `'auto'` runs: `'cuda:0'` or `'cpu'`.
    pub auto: String,
    /// Threads of the CPU backend.
    pub cpu_threads: u32,
    /// Whether this build has the CUDA backend (x86-64 Linux glibc and Windows builds do).
    pub cuda_compiled: bool,
    /// Whether `'cuda'` can be used.
    pub cuda_available: bool,
    /// Why not, when it cannot.
    pub cuda_unavailable_reason: Option<String>,
    /// The CUDA version the NVIDIA driver supports, e.g. `13.0`.
    pub driver_cuda_version: Option<String>,
    /// The libraries looked for.
    pub libraries: Vec<CudaLibraryInfo>,
    /// The devices the driver reports.
    pub devices: Vec<CudaDeviceInfo>,
}

fn backend_info_now() -> BackendInfo {
    let report = report();
    let info = report.cuda;
    BackendInfo {
        auto: report.auto.to_string(),
        cpu_threads: u32::try_from(report.cpu_threads).unwrap_or(u32::MAX),
        cuda_compiled: info.compiled,
        cuda_available: info.available,
        cuda_unavailable_reason: info.reason,
        driver_cuda_version: info.driver_version.map(|(a, b)| format!("{a}.{b}")),
        libraries: info
            .libraries
            .into_iter()
            .map(|l| CudaLibraryInfo {
                name: l.name.to_owned(),
                found: l.found,
                directory: l.directory,
                version: l.version.map(|(a, b)| format!("{a}.{b}")),
            })
            .collect(),
        devices: info
            .devices
            .into_iter()
            .map(|d| CudaDeviceInfo {
                ordinal: d.ordinal as u32,
                name: d.name,
                compute_capability: format!(
                    "{}.{}",
                    d.compute_capability.0, d.compute_capability.1
                ),
                total_memory: d.total_memory as f64,
            })
            .collect(),
    }
}

/// The rate, in flop/s, of an `n × n × n` product of the kind CoRML's ADMM loop runs, on
/// `device` (default `'auto'`) in `precision` (default `'fp32'`): the best of three after a
/// warm-up. For benchmarks. Rejects with `INVALID_ARGUMENT`, `CUDA_UNAVAILABLE` or
/// `OUT_OF_MEMORY`.
#[napi(ts_return_type = "Promise<number>")]
pub fn measure_gemm(
    n: f64,
    device: Option<String>,
    precision: Option<String>,
) -> Result<AsyncTask<GemmRateTask>> {
    let n = count("n", n, 1)?;
    let device = convert::device(device.as_deref())?;
    let precision = convert::precision(precision.as_deref())?;
    Ok(GemmRateTask::spawn(
        move || corml_core::backend::measure_gemm(device, precision, n).map_err(from_core),
        same,
    ))
}

/// What the CUDA probe found and where device `'auto'` would run. Never rejects: a machine
/// without CUDA gets `cudaAvailable: false` and the reason.
#[napi(ts_return_type = "Promise<BackendInfo>")]
pub fn backend_info() -> AsyncTask<BackendInfoTask> {
    BackendInfoTask::spawn(|| Ok(backend_info_now()), same)
}
