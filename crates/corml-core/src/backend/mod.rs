//! The seam between the models and the hardware: every dense n × n operation of the solvers goes
//! through [`Backend`]. The model code never knows which backend runs it.
//!
//! [`cpu::CpuBackend`] is always available. [`cuda`] is a stand-in with the same names that reports
//! `CUDA_UNAVAILABLE` until the CUDA backend is compiled in (cargo feature `cuda`).

pub mod cpu;
pub mod cuda;

use crate::dense::Dense;
use crate::device::Device;
use crate::error::Result;
use crate::progress::Control;

/// Dense operations on matrices that live on one device.
pub trait Backend: Sync {
    /// A dense `f32` matrix resident on the backend's device.
    type Matrix: Send;

    /// A short description such as `cpu (2 threads)`.
    fn describe(&self) -> String;

    /// Bytes of memory this backend can use for dense matrices now.
    fn memory_budget(&self) -> u64;

    /// Moves a host matrix to the device.
    fn upload(&self, m: Dense) -> Result<Self::Matrix>;

    /// Moves a device matrix back to the host.
    fn download(&self, m: Self::Matrix) -> Result<Dense>;

    /// A `rows × cols` zero matrix.
    fn zeros(&self, rows: usize, cols: usize) -> Result<Self::Matrix>;

    /// `c ← alpha · a · bᵀ⁽ᵗʳᵃⁿˢ⁾ + beta · c`, where `b` is used transposed when `transpose_b`.
    ///
    /// Long products check `ctl` for cancellation between column panels.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        &self,
        c: &mut Self::Matrix,
        beta: f32,
        a: &Self::Matrix,
        b: &Self::Matrix,
        transpose_b: bool,
        alpha: f32,
        ctl: &Control,
    ) -> Result<()>;

    /// The inverse of a symmetric positive definite matrix (through a Cholesky factorization),
    /// checking `ctl` for cancellation as it goes.
    fn spd_inverse(&self, a: Self::Matrix, ctl: &Control) -> Result<Self::Matrix>;

    /// `m ← alpha · m + diag(d)`.
    fn scale_add_diagonal(&self, m: &mut Self::Matrix, alpha: f32, d: &[f32]) -> Result<()>;

    /// `m_ij ← -left_i · max(0, m_ij) · right_j` off the diagonal, `m_ii ← 0`
    /// (the graph-filter term `Gp` of SPEC.md from `V_P V_Pᵀ`).
    fn hollow_clamp_scale(&self, m: &mut Self::Matrix, left: &[f32], right: &[f32]) -> Result<()>;

    /// The ADMM H-step after `h = Ainv · X`: `h ← h + b`, then
    /// `h ← h − Ainv · diag(ℓ)` with `ℓ_j = h_jj / (Ainv_jj + 1e-10)`, so `diag(h) = 0`.
    fn admm_zero_diagonal(
        &self,
        h: &mut Self::Matrix,
        b: &Self::Matrix,
        ainv: &Self::Matrix,
    ) -> Result<()>;

    /// The ADMM S- and Γ-steps: `S = max(0, (M + Mᵀ)/2)` with `M = h + Γ`, then `Γ ← Γ + h − S`.
    /// Writes `rho · (S − Γ)` (the next iteration's right-hand side) into `s` when `next_rhs`,
    /// else `S` itself.
    fn admm_project(
        &self,
        h: &Self::Matrix,
        gamma: &mut Self::Matrix,
        s: &mut Self::Matrix,
        rho: f32,
        next_rhs: bool,
    ) -> Result<()>;
}

/// The backend a [`Device`] resolves to.
pub enum Resolved {
    /// The CPU backend.
    Cpu(cpu::CpuBackend),
    /// A CUDA backend.
    Cuda(cuda::CudaBackend),
}

/// Resolves a requested device: `Auto` takes CUDA when it is usable, else the CPU;
/// an explicit `Cuda` fails with `CUDA_UNAVAILABLE` and the probe's reason.
pub fn resolve(device: Device) -> Result<Resolved> {
    match device {
        Device::Cpu => Ok(Resolved::Cpu(cpu::CpuBackend::new())),
        Device::Cuda(ordinal) => Ok(Resolved::Cuda(cuda::CudaBackend::new(ordinal)?)),
        Device::Auto => match cuda::CudaBackend::new(0) {
            Ok(b) => Ok(Resolved::Cuda(b)),
            Err(_) => Ok(Resolved::Cpu(cpu::CpuBackend::new())),
        },
    }
}

/// Runs `$body` with `$b` bound to the concrete backend of a [`Resolved`].
#[macro_export]
macro_rules! with_backend {
    ($resolved:expr, $b:ident => $body:expr) => {
        match $resolved {
            $crate::backend::Resolved::Cpu(ref $b) => $body,
            $crate::backend::Resolved::Cuda(ref $b) => $body,
        }
    };
}
