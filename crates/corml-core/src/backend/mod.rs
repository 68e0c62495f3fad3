//! The seam between the models and the hardware: every dense n × n operation of the solvers goes
//! through [`Backend`]. The model code never knows which backend runs it.
//!
//! [`cpu::CpuBackend`] is always available. [`cuda::CudaBackend`] runs the same operations on an
//! NVIDIA GPU through cuBLAS, cuSOLVER and NVRTC-compiled kernels (cargo feature `cuda`); without
//! the feature, a stand-in module with the same names reports `CUDA_UNAVAILABLE`.

pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
#[cfg(not(feature = "cuda"))]
#[path = "cuda_stub.rs"]
pub mod cuda;

use crate::admm::AdmmSystem;
use crate::dense::Dense;
use crate::device::{CudaInfo, Device, Precision};
use crate::error::{Error, Result};
use crate::progress::Control;

/// Whether a product operand is used as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// As stored.
    Plain,
    /// Transposed.
    Transposed,
}

/// The shape `(m, n, k)` of `op_a(a) · op_b(b)` written into a `c_rows × c_cols` matrix, or an
/// `INVALID_ARGUMENT` error naming the shapes.
pub fn product_shape(
    c: (usize, usize),
    a: (usize, usize),
    op_a: Op,
    b: (usize, usize),
    op_b: Op,
) -> Result<(usize, usize, usize)> {
    let oriented = |(r, c): (usize, usize), op| match op {
        Op::Plain => (r, c),
        Op::Transposed => (c, r),
    };
    let ((m, k), (bk, n)) = (oriented(a, op_a), oriented(b, op_b));
    if k != bk || c != (m, n) {
        return Err(Error::invalid(format!(
            "gemm shapes: c {}×{} = {:?}(a {}×{}) · {:?}(b {}×{})",
            c.0, c.1, op_a, a.0, a.1, op_b, b.0, b.1
        )));
    }
    Ok((m, n, k))
}

/// Dense operations on matrices that live on one device.
pub trait Backend: Sync {
    /// A dense `f32` matrix resident on the backend's device.
    type Matrix: Send;

    /// A short description such as `cpu (2 threads)`.
    fn describe(&self) -> String;

    /// Bytes of memory this backend can use for dense matrices now, after the work queued so far
    /// has finished (a GPU frees memory asynchronously); a failure to read it is an error, not
    /// a budget of 0 bytes.
    fn memory_budget(&self) -> Result<u64>;

    /// The budget of dense work: `given` (the caller's `memoryBudget`), else
    /// [`Self::memory_budget`].
    fn budget(&self, given: Option<u64>) -> Result<u64> {
        match given {
            Some(budget) => Ok(budget),
            None => self.memory_budget(),
        }
    }

    /// The error for work that does not fit this backend's memory (`OUT_OF_MEMORY` on the host,
    /// `OUT_OF_DEVICE_MEMORY` on a GPU).
    fn out_of_memory(&self, message: String) -> Error {
        Error::OutOfMemory(message)
    }

    /// What this backend would like a diagnostic report to say beyond [`Backend::describe`]: for
    /// a GPU, how its kernels were built.
    fn diagnostics(&self) -> Vec<String> {
        Vec::new()
    }

    /// Waits until all work queued on the device has finished (a no-op on the CPU), so that wall
    /// time measured around a call covers the work.
    fn synchronize(&self) -> Result<()> {
        Ok(())
    }

    /// Moves a host matrix to the device.
    fn upload(&self, m: Dense) -> Result<Self::Matrix>;

    /// Moves a device matrix back to the host.
    fn download(&self, m: Self::Matrix) -> Result<Dense>;

    /// A `rows × cols` zero matrix.
    fn zeros(&self, rows: usize, cols: usize) -> Result<Self::Matrix>;

    /// `c ← alpha · op_a(a) · op_b(b) + beta · c`, in fp32.
    ///
    /// Long products check `ctl` for cancellation between column panels.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        &self,
        c: &mut Self::Matrix,
        beta: f32,
        a: &Self::Matrix,
        op_a: Op,
        b: &Self::Matrix,
        op_b: Op,
        alpha: f32,
        ctl: &Control,
    ) -> Result<()>;

    /// Like [`Backend::gemm`], for the products the caller's precision setting applies to (the
    /// ADMM loop's): on a GPU opened with [`Precision::Tf32`], tensor-core TF32 arithmetic.
    #[allow(clippy::too_many_arguments)]
    fn gemm_fast(
        &self,
        c: &mut Self::Matrix,
        beta: f32,
        a: &Self::Matrix,
        op_a: Op,
        b: &Self::Matrix,
        op_b: Op,
        alpha: f32,
        ctl: &Control,
    ) -> Result<()> {
        self.gemm(c, beta, a, op_a, b, op_b, alpha, ctl)
    }

    /// Whether [`Backend::solve_system`] solves the sparse ADMM system iteratively here (the CPU
    /// does; on a GPU the dense product is faster).
    fn iterative_solves(&self) -> bool {
        false
    }

    /// `out ← A⁻¹ x` with the ADMM system `A` in sparse form, by Chebyshev iteration (the system
    /// checks its first solve's residual itself). Only called where [`Backend::iterative_solves`].
    fn solve_system(
        &self,
        _system: &mut AdmmSystem,
        _x: &Self::Matrix,
        _out: &mut Self::Matrix,
        _ctl: &Control,
    ) -> Result<()> {
        Err(Error::invalid(format!(
            "{} has no iterative solve",
            self.describe()
        )))
    }

    /// `out ← out + alpha · Rtᵀ diag(w) Rt x`, the sparse coupling term of the ADMM system alone.
    /// Only called where [`Backend::iterative_solves`].
    fn apply_coupling(
        &self,
        _system: &AdmmSystem,
        _x: &Self::Matrix,
        _out: &mut Self::Matrix,
        _alpha: f32,
        _ctl: &Control,
    ) -> Result<()> {
        Err(Error::invalid(format!(
            "{} has no sparse products",
            self.describe()
        )))
    }

    /// The largest part, in items, that `partitionRatio: 'auto'` gives this backend whatever
    /// its memory allows; `None` where memory alone decides (a GPU, whose dense solves stay
    /// quick at any size that fits it).
    fn auto_part_limit(&self) -> Option<usize> {
        None
    }

    /// Whether the randomized SVD should run as dense products with the item Gram matrix on this
    /// backend (where dense products are far cheaper than sparse ones: a GPU).
    fn prefers_dense_svd(&self) -> bool {
        false
    }

    /// The inverse of a symmetric positive definite matrix (through a Cholesky factorization),
    /// checking `ctl` for cancellation as it goes.
    fn spd_inverse(&self, a: Self::Matrix, ctl: &Control) -> Result<Self::Matrix>;

    /// `m ← alpha · m + diag(d)`.
    fn scale_add_diagonal(&self, m: &mut Self::Matrix, alpha: f32, d: &[f32]) -> Result<()>;

    /// `m_ij ← -left_i · max(0, m_ij) · right_j` off the diagonal, `m_ii ← 0`
    /// (the graph-filter term `Gp` from `V_P V_Pᵀ`, `docs/algorithm.md`).
    fn hollow_clamp_scale(&self, m: &mut Self::Matrix, left: &[f32], right: &[f32]) -> Result<()>;

    /// One ADMM iteration after `h = Ainv · X` (`docs/algorithm.md`, "admm"), in one pass over the pairs
    /// `(i, j)`, `(j, i)`:
    /// 1. the diagonal correction `H = h + b − Ainv · diag(ℓ)` with `ℓ_j = (h_jj + b_jj) / (Ainv_jj + 1e-10)`,
    ///    so `diag(H) = 0`;
    /// 2. `S = max(0, (M + Mᵀ)/2)` with `M = H + Γ`, then `Γ ← Γ + H − S`.
    ///
    /// When `next_rhs`, `s` receives `rho · (S − Γ)` (the next iteration's right-hand side) and `h`
    /// is left for the next product to overwrite; on the last iteration (`!next_rhs`) `s` receives
    /// `S` and `h` the corrected `H`.
    #[allow(clippy::too_many_arguments)]
    fn admm_step(
        &self,
        h: &mut Self::Matrix,
        b: &Self::Matrix,
        ainv: &Self::Matrix,
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

/// A resolved backend and, when `auto` fell back to the CPU on a machine that has an NVIDIA
/// driver, why it did (callers surface it once as a warning).
pub struct Selection {
    /// The backend to run on.
    pub backend: Resolved,
    /// Why `auto` did not take the GPU, when that deserves a warning.
    pub fallback: Option<String>,
}

/// What this process can compute on: the one place that decides where [`Device::Auto`] runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendReport {
    /// Where `Device::Auto` runs now: `Cuda(0)` when the probe finds `cuda:0` usable, else `Cpu`.
    pub auto: Device,
    /// Threads of the CPU backend (rayon's global pool; `RAYON_NUM_THREADS` sets it).
    pub cpu_threads: usize,
    /// What the CUDA probe found (libraries, driver, devices, and why CUDA cannot be used).
    pub cuda: CudaInfo,
}

/// Probes the CUDA driver, libraries and devices; never panics, and never creates a context.
pub fn probe() -> CudaInfo {
    cuda::probe()
}

/// What [`resolve`] would do with [`Device::Auto`], the CPU's threads, and the CUDA probe.
pub fn report() -> BackendReport {
    let cuda = probe();
    BackendReport {
        auto: auto_device(&cuda),
        cpu_threads: cpu::CpuBackend::threads(),
        cuda,
    }
}

/// The device `Auto` stands for, given the probe.
fn auto_device(cuda: &CudaInfo) -> Device {
    if cuda.available {
        Device::Cuda(0)
    } else {
        Device::Cpu
    }
}

/// Resolves a requested device: `Auto` takes `cuda:0` when the probe finds it usable and it
/// opens, else the CPU; an explicit `Cuda(n)` fails with `CUDA_UNAVAILABLE` and the reason.
pub fn resolve(device: Device, precision: Precision) -> Result<Selection> {
    let cpu = |fallback| Selection {
        backend: Resolved::Cpu(cpu::CpuBackend::new()),
        fallback,
    };
    let cuda_selection = |ordinal| -> Result<Selection> {
        Ok(Selection {
            backend: Resolved::Cuda(cuda::CudaBackend::new(ordinal, precision)?),
            fallback: None,
        })
    };
    match device {
        Device::Cpu => Ok(cpu(None)),
        Device::Cuda(ordinal) => cuda_selection(ordinal),
        Device::Auto => {
            let info = probe();
            match auto_device(&info) {
                Device::Cuda(ordinal) => match cuda_selection(ordinal) {
                    Ok(selection) => Ok(selection),
                    Err(e) => Ok(cpu(Some(e.to_string()))),
                },
                // No driver at all is an ordinary CPU machine, not worth a warning.
                _ => Ok(cpu(info.driver_found.then(|| {
                    info.reason
                        .unwrap_or_else(|| "CUDA is not usable".to_owned())
                }))),
            }
        }
    }
}

/// Opens `device` and runs each dense operation once on small matrices, against the CPU backend:
/// what `--probe` and the GPU check use to show that a device works, beyond what
/// [`probe`] sees (it opens no context and loads no kernel). Returns what ran, one line each;
/// the first failure or mismatch is the error.
pub fn self_test(device: Device, precision: Precision) -> Result<Vec<String>> {
    let selection = resolve(device, precision)?;
    crate::with_backend!(selection.backend, b => self_test_on(b, precision))
}

fn self_test_on<B: Backend>(b: &B, precision: Precision) -> Result<Vec<String>> {
    let cpu = cpu::CpuBackend::new();
    let ctl = Control::default();
    let mut lines = vec![format!("opened {}", b.describe())];
    lines.extend(b.diagnostics());
    // fp32 should agree to rounding; TF32 products keep 10 mantissa bits.
    let tolerance = match precision {
        Precision::Fp32 => 1e-4,
        Precision::Tf32 => 2e-2,
    };
    let n = 37;
    let a = Dense::from_fn(n, n, |i, j| ((i * 7 + j * 13) % 17) as f32 / 17.0 - 0.5);
    let spd = Dense::from_fn(n, n, |i, j| {
        if i == j {
            n as f32
        } else {
            1.0 / (1.0 + i.abs_diff(j) as f32)
        }
    });
    let both = |name: &str, gpu: Dense, reference: Dense, lines: &mut Vec<String>| -> Result<()> {
        let scale = reference.frobenius().max(1e-30);
        let diff = gpu
            .data()
            .iter()
            .zip(reference.data())
            .map(|(x, y)| f64::from(x - y).powi(2))
            .sum::<f64>()
            .sqrt()
            / scale;
        if diff.is_nan() || diff > tolerance {
            return Err(Error::Cuda(format!(
                "the self-test's {name} differs from the CPU's by {diff:.2e} (relative                  Frobenius; allowed {tolerance:.0e})"
            )));
        }
        lines.push(format!("{name}: matches the CPU ({diff:.1e})"));
        Ok(())
    };
    // A product with one operand transposed, in the precision asked for.
    let (x, y) = (b.upload(a.clone())?, b.upload(a.clone())?);
    let mut c = b.zeros(n, n)?;
    b.gemm_fast(&mut c, 0.0, &x, Op::Transposed, &y, Op::Plain, 1.0, &ctl)?;
    let gpu = b.download(c)?;
    let mut reference = cpu.zeros(n, n)?;
    cpu.gemm(
        &mut reference,
        0.0,
        &a,
        Op::Transposed,
        &a,
        Op::Plain,
        1.0,
        &ctl,
    )?;
    both("gemm", gpu, reference, &mut lines)?;
    let gpu = b.download(b.spd_inverse(b.upload(spd.clone())?, &ctl)?)?;
    both(
        "Cholesky inverse",
        gpu,
        cpu.spd_inverse(spd.clone(), &ctl)?,
        &mut lines,
    )?;
    let scales: Vec<f32> = (0..n).map(|i| 0.5 + i as f32 / n as f32).collect();
    let mut g = b.upload(a.clone())?;
    b.hollow_clamp_scale(&mut g, &scales, &scales)?;
    b.scale_add_diagonal(&mut g, 0.5, &scales)?;
    let mut reference = a.clone();
    cpu.hollow_clamp_scale(&mut reference, &scales, &scales)?;
    cpu.scale_add_diagonal(&mut reference, 0.5, &scales)?;
    both("elementwise passes", b.download(g)?, reference, &mut lines)?;
    let step = |be_h: &mut dyn FnMut() -> Result<(Dense, Dense, Dense)>| be_h();
    let gpu = step(&mut || {
        let (mut h, bm, ainv) = (
            b.upload(a.clone())?,
            b.upload(spd.clone())?,
            b.upload(spd.clone())?,
        );
        let (mut gamma, mut s) = (b.upload(a.clone())?, b.zeros(n, n)?);
        b.admm_step(&mut h, &bm, &ainv, &mut gamma, &mut s, 5.0, true)?;
        Ok((b.download(h)?, b.download(gamma)?, b.download(s)?))
    })?;
    let (mut h, mut gamma, mut s) = (a.clone(), a.clone(), cpu.zeros(n, n)?);
    cpu.admm_step(&mut h, &spd, &spd, &mut gamma, &mut s, 5.0, true)?;
    both("ADMM step (Γ)", gpu.1, gamma, &mut lines)?;
    both("ADMM step (next right-hand side)", gpu.2, s, &mut lines)?;
    Ok(lines)
}

/// The rate of the ADMM loop's kind of product (`gemm_fast`) for `n × n × n` on the backend of
/// `device`, in flop/s: the best of three after a warm-up. For benchmarks, which report the ADMM
/// loop's achieved rate next to it.
pub fn measure_gemm(device: Device, precision: Precision, n: usize) -> Result<f64> {
    let selection = resolve(device, precision)?;
    crate::with_backend!(selection.backend, b => gemm_rate(b, n))
}

fn gemm_rate<B: Backend>(b: &B, n: usize) -> Result<f64> {
    if n == 0 {
        return Err(Error::invalid("a gemm rate needs n ≥ 1"));
    }
    let ctl = Control::default();
    let m = Dense::from_fn(n, n, |i, j| ((i * 7 + j * 13) % 17) as f32 / 17.0 - 0.5);
    let (x, y) = (b.upload(m.clone())?, b.upload(m)?);
    let mut c = b.zeros(n, n)?;
    b.gemm_fast(&mut c, 0.0, &x, Op::Plain, &y, Op::Plain, 1.0, &ctl)?;
    b.synchronize()?;
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let start = std::time::Instant::now();
        b.gemm_fast(&mut c, 0.0, &x, Op::Plain, &y, Op::Plain, 1.0, &ctl)?;
        b.synchronize()?;
        best = best.min(start.elapsed().as_secs_f64());
    }
    Ok(2.0 * (n as f64).powi(3) / best)
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
