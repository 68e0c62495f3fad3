//! The CUDA backend: cuBLAS for the products, cuSOLVER's Cholesky for the SPD inverse, and the
//! elementwise passes of `kernels.cu`, compiled with NVRTC at first use and cached per process.
//!
//! Every library is loaded at run time through cudarc, so the binary that ships runs on machines
//! without CUDA; [`probe`] checks what is there before cudarc is touched, since cudarc panics when a
//! library is missing. Matrices stay on the device for a whole part's solve; only the inputs go up
//! and the final `S` comes down. All work of one backend runs in order on one stream.

mod nvrtc;
mod probe;

pub use probe::{probe, probe_device, LIB_DIR_ENV, MIN_COMPUTE_CAPABILITY, MIN_DRIVER_CUDA};

use std::collections::HashMap;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::cublas::{sys as blas_sys, CudaBlas, Gemm, GemmConfig};
use cudarc::cusolver::{sys as solver_sys, DnHandle};
use cudarc::driver::{
    sys as driver_sys, CudaContext, CudaFunction, CudaSlice, CudaStream, DevicePtrMut, DriverError,
    LaunchConfig, PushKernelArg,
};
use cudarc::nvrtc::Ptx;

use super::{product_shape, Backend, Op};
use crate::dense::{format_bytes, Dense};
use crate::device::Precision;
use crate::error::{Error, Result};
use crate::progress::Control;

/// The kernel source, compiled by NVRTC for the device's architecture at first use.
const KERNELS: &str = include_str!("kernels.cu");

/// Device memory left out of [`Backend::memory_budget`] for cuBLAS/cuSOLVER workspaces.
const RESERVED_BYTES: u64 = 512 << 20;

/// Edge of the square tiles of the pair kernels, and rows of threads per tile (as in `kernels.cu`).
const TILE: u32 = 32;
const TILE_ROWS: u32 = 8;

/// Threads per block of the elementwise kernels.
const BLOCK: u32 = 256;

/// The entry points of `kernels.cu`.
#[cfg(test)]
const KERNEL_NAMES: [&str; 5] = [
    "scale_add_diagonal",
    "hollow_clamp_scale",
    "admm_diagonal_lag",
    "admm_step",
    "symmetrize",
];

/// The compiled kernels of one device.
struct Kernels {
    /// How they were made: `a cubin for sm_90, by NVRTC 12.4 (libnvrtc.so.12)`, or PTX.
    made: String,
    scale_add_diagonal: CudaFunction,
    hollow_clamp_scale: CudaFunction,
    admm_diagonal_lag: CudaFunction,
    admm_step: CudaFunction,
    symmetrize: CudaFunction,
}

/// What a process keeps per device: its primary context (retained for the life of the process,
/// so the loaded kernels stay valid) and the kernels.
struct DeviceState {
    ctx: Arc<CudaContext>,
    name: String,
    total_memory: u64,
    kernels: Kernels,
}

/// The error for a failed call `op`: `OUT_OF_DEVICE_MEMORY` when the library ran out of device
/// memory, else `CUDA_ERROR` with the library's own error.
fn cuda_error(op: &str, out_of_memory: bool, e: impl std::fmt::Display) -> Error {
    if out_of_memory {
        Error::OutOfDeviceMemory(format!(
            "{op}: the GPU ran out of memory ({e}); set a smaller partitionRatio, free GPU \
             memory, or use device 'cpu'"
        ))
    } else {
        Error::Cuda(format!("{op}: {e}"))
    }
}

fn driver_err(op: &str) -> impl Fn(DriverError) -> Error + '_ {
    move |e| cuda_error(op, e.0 == driver_sys::CUresult::CUDA_ERROR_OUT_OF_MEMORY, e)
}

fn blas_err(op: &str) -> impl Fn(cudarc::cublas::result::CublasError) -> Error + '_ {
    move |e| {
        cuda_error(
            op,
            e.0 == blas_sys::cublasStatus_t::CUBLAS_STATUS_ALLOC_FAILED,
            e,
        )
    }
}

fn solver_err(op: &str) -> impl Fn(cudarc::cusolver::result::CusolverError) -> Error + '_ {
    move |e| {
        let oom = e.0 == solver_sys::cusolverStatus_t::CUSOLVER_STATUS_ALLOC_FAILED;
        cuda_error(op, oom, e)
    }
}

/// Compiles the kernels for compute capability `cc` with the NVRTC the driver can run: a cubin
/// for the exact architecture, or PTX for the driver to compile (see [`nvrtc`]).
fn compile(cc: (i32, i32), driver: (i32, i32)) -> Result<(Ptx, String)> {
    let compiler = probe::kernel_compiler(driver).map_err(Error::CudaUnavailable)?;
    let (image, made) = compiler
        .compile_kernels(KERNELS, cc)
        .map_err(|e| Error::Cuda(format!("NVRTC could not compile the CoRML kernels: {e}")))?;
    let ptx = match image {
        nvrtc::Image::Cubin(bytes) => Ptx::from_binary(bytes),
        nvrtc::Image::Ptx(text) => Ptx::from_src(text),
    };
    Ok((ptx, made))
}

fn open_device(ordinal: usize) -> Result<DeviceState> {
    let ctx = CudaContext::new(ordinal).map_err(driver_err("creating the CUDA context"))?;
    let name = ctx.name().unwrap_or_else(|_| "unknown GPU".to_owned());
    let total_memory = ctx.total_mem().map_err(driver_err("cuDeviceTotalMem"))? as u64;
    let cc = ctx
        .compute_capability()
        .map_err(driver_err("reading the compute capability"))?;
    let driver = probe_device(ordinal).driver_version.unwrap_or((0, 0));
    let (image, made) = compile(cc, driver)?;
    let module = ctx
        .load_module(image)
        .map_err(|e| driver_err(&format!("loading the kernels ({made})"))(e))?;
    let f = |name: &str| {
        module
            .load_function(name)
            .map_err(driver_err("finding a kernel"))
    };
    let kernels = Kernels {
        made,
        scale_add_diagonal: f("scale_add_diagonal")?,
        hollow_clamp_scale: f("hollow_clamp_scale")?,
        admm_diagonal_lag: f("admm_diagonal_lag")?,
        admm_step: f("admm_step")?,
        symmetrize: f("symmetrize")?,
    };
    Ok(DeviceState {
        ctx,
        name,
        total_memory,
        kernels,
    })
}

/// The opened devices, by ordinal.
fn states() -> &'static Mutex<HashMap<usize, Arc<DeviceState>>> {
    static STATES: OnceLock<Mutex<HashMap<usize, Arc<DeviceState>>>> = OnceLock::new();
    STATES.get_or_init(Default::default)
}

/// The state of device `ordinal`, opened (context and kernels) on first use.
fn device_state(ordinal: usize) -> Result<Arc<DeviceState>> {
    let mut states = states()
        .lock()
        .map_err(|_| Error::Cuda("the CUDA device table is poisoned".to_owned()))?;
    if let Some(state) = states.get(&ordinal) {
        return Ok(state.clone());
    }
    let state = Arc::new(open_device(ordinal)?);
    states.insert(ordinal, state.clone());
    Ok(state)
}

/// Whether a driver error leaves the context unusable (a "sticky" error: every later call in the
/// context fails with it until the primary context is reset).
fn is_sticky(e: driver_sys::CUresult) -> bool {
    use driver_sys::CUresult::*;
    matches!(
        e,
        CUDA_ERROR_ILLEGAL_ADDRESS
            | CUDA_ERROR_LAUNCH_TIMEOUT
            | CUDA_ERROR_ASSERT
            | CUDA_ERROR_HARDWARE_STACK_ERROR
            | CUDA_ERROR_ILLEGAL_INSTRUCTION
            | CUDA_ERROR_MISALIGNED_ADDRESS
            | CUDA_ERROR_INVALID_ADDRESS_SPACE
            | CUDA_ERROR_INVALID_PC
            | CUDA_ERROR_LAUNCH_FAILED
            | CUDA_ERROR_ECC_UNCORRECTABLE
    )
}

/// Forgets device `ordinal`'s cached state after a sticky error (if it is still `state`) and
/// resets its primary context, so that the next backend opened on it starts afresh.
fn evict(ordinal: usize, state: &Arc<DeviceState>) {
    if let Ok(mut states) = states().lock() {
        if states.get(&ordinal).is_some_and(|s| Arc::ptr_eq(s, state)) {
            states.remove(&ordinal);
        }
    }
    // SAFETY: resetting the primary context of a valid device; it is unusable anyway, and the
    // allocations it destroys belong to the failed work.
    let _ = unsafe { driver_sys::cuDevicePrimaryCtxReset_v2(state.ctx.cu_device()) };
}

/// A dense `f32` matrix in device memory, column-major without padding.
pub struct CudaMatrix {
    rows: usize,
    cols: usize,
    data: CudaSlice<f32>,
}

/// One CUDA device with its own stream, cuBLAS and cuSOLVER handles.
pub struct CudaBackend {
    ordinal: usize,
    precision: Precision,
    device: Arc<DeviceState>,
    stream: Arc<CudaStream>,
    /// fp32 products.
    blas: ManuallyDrop<CudaBlas>,
    /// The ADMM loop's products: TF32 tensor-core math when `precision` is `Tf32`.
    blas_fast: ManuallyDrop<CudaBlas>,
    /// Dropped by hand (see `Drop`): cudarc's handles panic in their destructors when the
    /// context is dead.
    solver: ManuallyDrop<DnHandle>,
}

impl Drop for CudaBackend {
    /// Destroys the handles, unless the context hit a sticky error: then destroying them would
    /// fail, and cudarc's destructors panic on a failure (a second panic while one unwinds
    /// aborts the process). So they are forgotten, the device's cached state is evicted and its
    /// primary context reset. A destructor that still panics is caught.
    fn drop(&mut self) {
        let status = self
            .device
            .ctx
            .bind_to_thread()
            .and_then(|()| self.stream.synchronize());
        // SAFETY: each handle is taken exactly once, here, and never used again.
        let handles = unsafe {
            (
                ManuallyDrop::take(&mut self.blas),
                ManuallyDrop::take(&mut self.blas_fast),
                ManuallyDrop::take(&mut self.solver),
            )
        };
        if matches!(&status, Err(e) if is_sticky(e.0)) {
            std::mem::forget(handles);
            evict(self.ordinal, &self.device);
        } else {
            let _ = catch_unwind(AssertUnwindSafe(move || drop(handles)));
        }
    }
}

impl CudaBackend {
    /// Opens CUDA device `ordinal`. Fails with `CUDA_UNAVAILABLE` and the probe's reason when the
    /// driver, a library or the device is missing; never panics.
    pub fn new(ordinal: usize, precision: Precision) -> Result<Self> {
        if let Some(reason) = probe_device(ordinal).reason {
            return Err(Error::CudaUnavailable(reason));
        }
        // cudarc panics on a missing library or symbol; the probe makes that unlikely, and this
        // turns what is left into an error instead of an abort of the host process.
        let opened = catch_unwind(AssertUnwindSafe(|| Self::open(ordinal, precision)))
            .unwrap_or_else(|panic| {
                let why = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("a CUDA library call panicked");
                Err(Error::Cuda(why.to_owned()))
            });
        // Failing to open the device (context, handles, kernels) means CUDA cannot be used here;
        // running out of its memory stays OUT_OF_DEVICE_MEMORY.
        opened.map_err(|e| match e {
            Error::Cuda(why) => {
                let hint = if why.contains("UNSUPPORTED_PTX_VERSION") {
                    "; the NVRTC library is newer than the driver: update the driver or use CUDA \
                     libraries that match it"
                } else {
                    ""
                };
                Error::CudaUnavailable(format!("cuda:{ordinal} could not be opened: {why}{hint}"))
            }
            other => other,
        })
    }

    fn open(ordinal: usize, precision: Precision) -> Result<Self> {
        let device = device_state(ordinal)?;
        let stream = device
            .ctx
            .new_stream()
            .map_err(driver_err("creating a stream"))?;
        let handle = |mode| -> Result<CudaBlas> {
            let blas =
                CudaBlas::new(stream.clone()).map_err(blas_err("creating a cuBLAS handle"))?;
            // SAFETY: the handle was just created and is valid.
            unsafe { blas_sys::cublasSetMathMode(*blas.handle(), mode) }
                .result()
                .map_err(blas_err("cublasSetMathMode"))?;
            Ok(blas)
        };
        let blas = handle(blas_sys::cublasMath_t::CUBLAS_DEFAULT_MATH)?;
        let blas_fast = handle(match precision {
            Precision::Fp32 => blas_sys::cublasMath_t::CUBLAS_DEFAULT_MATH,
            Precision::Tf32 => blas_sys::cublasMath_t::CUBLAS_TF32_TENSOR_OP_MATH,
        })?;
        let solver =
            DnHandle::new(stream.clone()).map_err(solver_err("creating a cuSOLVER handle"))?;
        Ok(CudaBackend {
            ordinal,
            precision,
            device,
            stream,
            blas: ManuallyDrop::new(blas),
            blas_fast: ManuallyDrop::new(blas_fast),
            solver: ManuallyDrop::new(solver),
        })
    }

    fn bind(&self) -> Result<()> {
        self.device
            .ctx
            .bind_to_thread()
            .map_err(driver_err("binding the CUDA context"))
    }

    fn sync(&self, op: &str) -> Result<()> {
        self.stream.synchronize().map_err(driver_err(op))
    }

    fn alloc<T: cudarc::driver::DeviceRepr + cudarc::driver::ValidAsZeroBits>(
        &self,
        len: usize,
        what: &str,
    ) -> Result<CudaSlice<T>> {
        self.stream.alloc_zeros::<T>(len).map_err(|e| {
            if e.0 == driver_sys::CUresult::CUDA_ERROR_OUT_OF_MEMORY {
                Error::OutOfDeviceMemory(format!(
                    "allocating {what} ({}) on {}: the GPU ran out of memory; set a smaller \
                     partitionRatio or use device 'cpu'",
                    format_bytes((len * std::mem::size_of::<T>()) as u64),
                    self.describe()
                ))
            } else {
                Error::Cuda(format!("allocating {what}: {e}"))
            }
        })
    }

    fn upload_vec(&self, v: &[f32], what: &str) -> Result<CudaSlice<f32>> {
        let mut out = self.alloc::<f32>(v.len(), what)?;
        self.stream
            .memcpy_htod(v, &mut out)
            .map_err(driver_err("copying to the GPU"))?;
        Ok(out)
    }

    fn elementwise(len: usize) -> LaunchConfig {
        let blocks = len.div_ceil(BLOCK as usize).clamp(1, 1 << 20) as u32;
        LaunchConfig {
            grid_dim: (blocks, 1, 1),
            block_dim: (BLOCK, 1, 1),
            shared_mem_bytes: 0,
        }
    }

    fn tiles(n: usize) -> LaunchConfig {
        let t = (n as u32).div_ceil(TILE).max(1);
        LaunchConfig {
            grid_dim: (t, t, 1),
            block_dim: (TILE, TILE_ROWS, 1),
            shared_mem_bytes: 0,
        }
    }

    fn square(m: &CudaMatrix, what: &str) -> Result<usize> {
        if m.rows != m.cols {
            return Err(Error::invalid(format!(
                "{what} must be square, not {} × {}",
                m.rows, m.cols
            )));
        }
        Ok(m.rows)
    }

    /// Reads the `info` output of a cuSOLVER call.
    fn solver_info(&self, info: &CudaSlice<i32>, op: &str) -> Result<i32> {
        let mut host = [0i32];
        self.stream
            .memcpy_dtoh(info, &mut host)
            .map_err(driver_err(op))?;
        self.sync(op)?;
        Ok(host[0])
    }
}

/// The parameters object of cuSOLVER's 64-bit API, destroyed with this value.
struct SolverParams(solver_sys::cusolverDnParams_t);

impl SolverParams {
    fn new() -> Result<Self> {
        let mut params = std::ptr::null_mut();
        // SAFETY: `params` is an out-pointer for a new parameters object.
        unsafe { solver_sys::cusolverDnCreateParams(&mut params) }
            .result()
            .map_err(solver_err("cusolverDnCreateParams"))?;
        Ok(SolverParams(params))
    }
}

impl Drop for SolverParams {
    fn drop(&mut self) {
        // SAFETY: created by `cusolverDnCreateParams` and destroyed once; a failure to destroy it
        // leaks a few bytes and is not worth a panic in a destructor.
        let _ = unsafe { solver_sys::cusolverDnDestroyParams(self.0) };
    }
}

/// What potrf's `info` says of an `n × n` factorization: 0 is success; `i > 0` means the leading
/// minor of order `i` is not positive definite (a numerical failure the caller can fix); `i < 0`
/// means argument `-i` was wrong, a bug here.
fn potrf_status(info: i32, n: usize) -> Result<()> {
    match info {
        0 => Ok(()),
        i if i > 0 => Err(Error::Numerical(format!(
            "the {n} × {n} system matrix is not positive definite (the Cholesky factorization \
             failed at column {i}); raise dualStepLength or l2Regularization"
        ))),
        i => Err(Error::Cuda(format!(
            "cusolverDnXpotrf rejected its argument {} (a bug in corml-native: please report it)",
            -i
        ))),
    }
}

/// What potrs's `info` says: 0 is success, `i < 0` means argument `-i` was wrong (a bug here).
fn potrs_status(info: i32) -> Result<()> {
    match info {
        0 => Ok(()),
        i => Err(Error::Cuda(format!(
            "cusolverDnXpotrs reported {} {} (a bug in corml-native: please report it)",
            if i < 0 { "a wrong argument" } else { "status" },
            i.unsigned_abs()
        ))),
    }
}

fn launch_err(e: DriverError) -> Error {
    driver_err("launching a kernel")(e)
}

impl Backend for CudaBackend {
    type Matrix = CudaMatrix;

    fn describe(&self) -> String {
        format!(
            "cuda:{} ({}, {}, {})",
            self.ordinal,
            self.device.name,
            format_bytes(self.device.total_memory),
            self.precision
        )
    }

    fn memory_budget(&self) -> Result<u64> {
        self.bind()?;
        // Frees queued on the stream count as used until it has run them.
        self.sync("waiting for the GPU before reading its free memory")?;
        let (free, _) = self
            .device
            .ctx
            .mem_get_info()
            .map_err(driver_err("reading the GPU's free memory"))?;
        Ok((free as u64).saturating_sub(RESERVED_BYTES))
    }

    fn out_of_memory(&self, message: String) -> Error {
        Error::OutOfDeviceMemory(message)
    }

    fn diagnostics(&self) -> Vec<String> {
        vec![format!("kernels: {}", self.device.kernels.made)]
    }

    fn synchronize(&self) -> Result<()> {
        self.bind()?;
        self.sync("waiting for the GPU")
    }

    fn upload(&self, m: Dense) -> Result<CudaMatrix> {
        self.bind()?;
        let data = self.upload_vec(m.data(), "a matrix")?;
        Ok(CudaMatrix {
            rows: m.rows(),
            cols: m.cols(),
            data,
        })
    }

    fn download(&self, m: CudaMatrix) -> Result<Dense> {
        self.bind()?;
        let mut out = Dense::zeros(m.rows, m.cols)?;
        self.stream
            .memcpy_dtoh(&m.data, out.data_mut())
            .map_err(driver_err("copying from the GPU"))?;
        self.sync("copying from the GPU")?;
        Ok(out)
    }

    fn zeros(&self, rows: usize, cols: usize) -> Result<CudaMatrix> {
        self.bind()?;
        Ok(CudaMatrix {
            rows,
            cols,
            data: self.alloc(rows * cols, &format!("a {rows} × {cols} matrix"))?,
        })
    }

    fn gemm(
        &self,
        c: &mut CudaMatrix,
        beta: f32,
        a: &CudaMatrix,
        op_a: Op,
        b: &CudaMatrix,
        op_b: Op,
        alpha: f32,
        ctl: &Control,
    ) -> Result<()> {
        self.product(&self.blas, c, beta, a, op_a, b, op_b, alpha, ctl)
    }

    fn gemm_fast(
        &self,
        c: &mut CudaMatrix,
        beta: f32,
        a: &CudaMatrix,
        op_a: Op,
        b: &CudaMatrix,
        op_b: Op,
        alpha: f32,
        ctl: &Control,
    ) -> Result<()> {
        self.product(&self.blas_fast, c, beta, a, op_a, b, op_b, alpha, ctl)
    }

    fn prefers_dense_svd(&self) -> bool {
        true
    }

    fn spd_inverse(&self, mut a: CudaMatrix, ctl: &Control) -> Result<CudaMatrix> {
        let n = Self::square(&a, "the matrix to invert")?;
        ctl.check()?;
        if n == 0 {
            return Ok(a);
        }
        self.bind()?;
        // cuSOLVER's 64-bit API: the legacy Spotrf/Spotrs take `int` sizes, and a part of more
        // than 46,340 items (which a 141 GB GPU holds) overflows their n² workspace arithmetic.
        let n64 = n as i64;
        let lower = solver_sys::cublasFillMode_t::CUBLAS_FILL_MODE_LOWER;
        let f32_type = solver_sys::cudaDataType_t::CUDA_R_32F;
        let handle = self.solver.cu();
        let params = SolverParams::new()?;
        let mut info = self.alloc::<i32>(1, "cuSOLVER's status")?;
        let (mut device_bytes, mut host_bytes) = (0usize, 0usize);
        {
            let (ap, _guard) = a.data.device_ptr_mut(&self.stream);
            // SAFETY: `ap` points to the n × n matrix (leading dimension n); the sizes are
            // out-pointers.
            unsafe {
                solver_sys::cusolverDnXpotrf_bufferSize(
                    handle,
                    params.0,
                    lower,
                    n64,
                    f32_type,
                    ap as *const std::ffi::c_void,
                    n64,
                    f32_type,
                    &mut device_bytes,
                    &mut host_bytes,
                )
            }
            .result()
            .map_err(solver_err("cusolverDnXpotrf_bufferSize"))?;
        }
        let mut work = self.alloc::<u8>(device_bytes.max(1), "the Cholesky workspace")?;
        let mut host_work = vec![0u8; host_bytes.max(1)];
        {
            let (ap, _ga) = a.data.device_ptr_mut(&self.stream);
            let (wp, _gw) = work.device_ptr_mut(&self.stream);
            let (ip, _gi) = info.device_ptr_mut(&self.stream);
            // SAFETY: the matrix, device and host workspaces of the sizes asked for, and one
            // `int` of status, all on this handle's stream.
            unsafe {
                solver_sys::cusolverDnXpotrf(
                    handle,
                    params.0,
                    lower,
                    n64,
                    f32_type,
                    ap as *mut std::ffi::c_void,
                    n64,
                    f32_type,
                    wp as *mut std::ffi::c_void,
                    device_bytes,
                    host_work.as_mut_ptr().cast(),
                    host_bytes,
                    ip as *mut i32,
                )
            }
            .result()
            .map_err(solver_err("cusolverDnXpotrf"))?;
        }
        potrf_status(self.solver_info(&info, "cusolverDnXpotrf")?, n)?;
        drop(work);
        ctl.check()?;
        // A⁻¹ = the solution of A X = I.
        let mut out = self.zeros(n, n)?;
        self.scale_add_diagonal(&mut out, 1.0, &vec![1.0; n])?;
        {
            let (ap, _ga) = a.data.device_ptr_mut(&self.stream);
            let (op, _go) = out.data.device_ptr_mut(&self.stream);
            let (ip, _gi) = info.device_ptr_mut(&self.stream);
            // SAFETY: the factor from potrf, an n × n right-hand side, one `int` of status.
            unsafe {
                solver_sys::cusolverDnXpotrs(
                    handle,
                    params.0,
                    lower,
                    n64,
                    n64,
                    f32_type,
                    ap as *const std::ffi::c_void,
                    n64,
                    f32_type,
                    op as *mut std::ffi::c_void,
                    n64,
                    ip as *mut i32,
                )
            }
            .result()
            .map_err(solver_err("cusolverDnXpotrs"))?;
        }
        potrs_status(self.solver_info(&info, "cusolverDnXpotrs")?)?;
        drop(a);
        // The solves agree with the exact symmetric inverse to rounding; make it exactly symmetric.
        let nn = n as u64;
        // SAFETY: `symmetrize(float*, u64)` over the n × n matrix; tiles past n are skipped.
        unsafe {
            self.stream
                .launch_builder(&self.device.kernels.symmetrize)
                .arg(&mut out.data)
                .arg(&nn)
                .launch(Self::tiles(n))
        }
        .map_err(launch_err)?;
        self.sync("symmetrizing the inverse")?;
        Ok(out)
    }

    fn scale_add_diagonal(&self, m: &mut CudaMatrix, alpha: f32, d: &[f32]) -> Result<()> {
        if d.len() < m.rows.min(m.cols) {
            return Err(Error::invalid("diagonal shorter than the matrix's"));
        }
        if m.rows == 0 || m.cols == 0 {
            return Ok(());
        }
        self.bind()?;
        let dd = self.upload_vec(d, "a diagonal")?;
        let (rows, cols) = (m.rows as u64, m.cols as u64);
        // SAFETY: `scale_add_diagonal(float*, u64, u64, float, const float*)`; `d` holds at least
        // min(rows, cols) entries.
        unsafe {
            self.stream
                .launch_builder(&self.device.kernels.scale_add_diagonal)
                .arg(&mut m.data)
                .arg(&rows)
                .arg(&cols)
                .arg(&alpha)
                .arg(&dd)
                .launch(Self::elementwise(m.rows * m.cols))
        }
        .map_err(launch_err)?;
        Ok(())
    }

    fn hollow_clamp_scale(&self, m: &mut CudaMatrix, left: &[f32], right: &[f32]) -> Result<()> {
        let n = Self::square(m, "the graph-filter matrix")?;
        if left.len() != n || right.len() != n {
            return Err(Error::invalid("scalings do not match the matrix"));
        }
        if n == 0 {
            return Ok(());
        }
        self.bind()?;
        let (l, r) = (
            self.upload_vec(left, "row scalings")?,
            self.upload_vec(right, "column scalings")?,
        );
        let nn = n as u64;
        // SAFETY: `hollow_clamp_scale(float*, u64, const float*, const float*)`, vectors of n.
        unsafe {
            self.stream
                .launch_builder(&self.device.kernels.hollow_clamp_scale)
                .arg(&mut m.data)
                .arg(&nn)
                .arg(&l)
                .arg(&r)
                .launch(Self::elementwise(n * n))
        }
        .map_err(launch_err)?;
        Ok(())
    }

    fn admm_step(
        &self,
        h: &mut CudaMatrix,
        b: &CudaMatrix,
        ainv: &CudaMatrix,
        gamma: &mut CudaMatrix,
        s: &mut CudaMatrix,
        rho: f32,
        next_rhs: bool,
    ) -> Result<()> {
        let n = Self::square(h, "H")?;
        for (m, what) in [(b, "B"), (ainv, "Ainv"), (&*gamma, "Γ"), (&*s, "S")] {
            if m.rows != n || m.cols != n {
                return Err(Error::invalid(format!(
                    "{what} does not match H ({n} × {n})"
                )));
            }
        }
        if n == 0 {
            return Ok(());
        }
        self.bind()?;
        let mut ell = self.alloc::<f32>(n, "the diagonal multipliers")?;
        let nn = n as u64;
        let next = i32::from(next_rhs);
        // SAFETY: `admm_diagonal_lag(const float*, const float*, const float*, float*, u64)`; one
        // thread per column of the n × n matrices.
        unsafe {
            self.stream
                .launch_builder(&self.device.kernels.admm_diagonal_lag)
                .arg(&h.data)
                .arg(&b.data)
                .arg(&ainv.data)
                .arg(&mut ell)
                .arg(&nn)
                .launch(Self::elementwise(n))
        }
        .map_err(launch_err)?;
        // SAFETY: `admm_step(float*, const float*, const float*, const float*, float*, float*,
        // u64, float, int)` over n × n matrices; each entry is written by one thread only.
        unsafe {
            self.stream
                .launch_builder(&self.device.kernels.admm_step)
                .arg(&mut h.data)
                .arg(&b.data)
                .arg(&ainv.data)
                .arg(&ell)
                .arg(&mut gamma.data)
                .arg(&mut s.data)
                .arg(&nn)
                .arg(&rho)
                .arg(&next)
                .launch(Self::tiles(n))
        }
        .map_err(launch_err)?;
        // One wait per iteration: progress reports and cancellation follow the GPU, and a failed
        // kernel surfaces here rather than at some later call.
        self.sync("the ADMM iteration")
    }
}

impl CudaBackend {
    /// `c ← alpha · op_a(a) · op_b(b) + beta · c` through the cuBLAS handle `blas`.
    #[allow(clippy::too_many_arguments)]
    fn product(
        &self,
        blas: &CudaBlas,
        c: &mut CudaMatrix,
        beta: f32,
        a: &CudaMatrix,
        op_a: Op,
        b: &CudaMatrix,
        op_b: Op,
        alpha: f32,
        ctl: &Control,
    ) -> Result<()> {
        let (m, n, k) = product_shape(
            (c.rows, c.cols),
            (a.rows, a.cols),
            op_a,
            (b.rows, b.cols),
            op_b,
        )?;
        ctl.check()?;
        if m == 0 || n == 0 {
            return Ok(());
        }
        if k == 0 {
            // An empty sum: c ← beta · c.
            return self.scale_add_diagonal_rect(c, beta);
        }
        self.bind()?;
        let int = |x: usize| {
            i32::try_from(x)
                .map_err(|_| Error::invalid(format!("dimension {x} is too large for cuBLAS")))
        };
        let op = |o| match o {
            Op::Plain => blas_sys::cublasOperation_t::CUBLAS_OP_N,
            Op::Transposed => blas_sys::cublasOperation_t::CUBLAS_OP_T,
        };
        let cfg = GemmConfig {
            transa: op(op_a),
            transb: op(op_b),
            m: int(m)?,
            n: int(n)?,
            k: int(k)?,
            alpha,
            // Leading dimensions are those of the stored (column-major) matrices.
            lda: int(a.rows.max(1))?,
            ldb: int(b.rows.max(1))?,
            beta,
            ldc: int(c.rows.max(1))?,
        };
        // SAFETY: the shapes were checked against the buffers by `product_shape`, the leading
        // dimensions are the stored row counts, and `c` cannot alias `a` or `b` (it is borrowed
        // mutably).
        unsafe { blas.gemm(cfg, &a.data, &b.data, &mut c.data) }.map_err(blas_err("cublasSgemm"))
    }

    /// `m ← beta · m` for any shape (the `k = 0` product).
    fn scale_add_diagonal_rect(&self, m: &mut CudaMatrix, beta: f32) -> Result<()> {
        let zeros = vec![0.0; m.rows.min(m.cols)];
        self.scale_add_diagonal(m, beta, &zeros)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sticky_errors_are_told_from_ordinary_ones() {
        use driver_sys::CUresult::*;
        for sticky in [
            CUDA_ERROR_ILLEGAL_ADDRESS,
            CUDA_ERROR_LAUNCH_FAILED,
            CUDA_ERROR_ASSERT,
        ] {
            assert!(is_sticky(sticky), "{sticky:?}");
        }
        for ordinary in [
            CUDA_SUCCESS,
            CUDA_ERROR_OUT_OF_MEMORY,
            CUDA_ERROR_INVALID_VALUE,
        ] {
            assert!(!is_sticky(ordinary), "{ordinary:?}");
        }
    }

    #[test]
    fn potrf_info_is_read_whatever_its_sign() {
        assert!(potrf_status(0, 10).is_ok());
        let indefinite = potrf_status(7, 10).unwrap_err();
        assert_eq!(indefinite.code(), crate::ErrorCode::NumericalError);
        assert!(indefinite.to_string().contains("failed at column 7"));
        // A negative info is a wrong argument: never read as success.
        let bug = potrf_status(-4, 10).unwrap_err();
        assert_eq!(bug.code(), crate::ErrorCode::CudaError);
        assert!(bug.to_string().contains("argument 4"), "{bug}");
        assert!(potrs_status(0).is_ok());
        assert_eq!(
            potrs_status(-3).unwrap_err().code(),
            crate::ErrorCode::CudaError
        );
    }

    /// NVRTC needs no GPU: wherever `libnvrtc` loads (a toolkit, the `nvidia-cuda-nvrtc` wheel
    /// through `CORML_CUDA_LIB_DIR`), the kernels must compile to a cubin for every architecture
    /// the NVRTC knows, and to PTX for one it does not. `.ci/run` fetches the wheel's libraries
    /// (`scripts/fetch-nvrtc.mts`) and sets `CORML_REQUIRE_NVRTC`, so on CI this test cannot skip.
    #[test]
    fn kernels_compile_with_nvrtc() {
        let found = nvrtc::discover(&[std::env::var_os(LIB_DIR_ENV)
            .map(std::path::PathBuf::from)
            .unwrap_or_default()]);
        if found.is_empty() {
            assert!(
                std::env::var_os("CORML_REQUIRE_NVRTC").is_none(),
                "CORML_REQUIRE_NVRTC is set but libnvrtc did not load ({LIB_DIR_ENV} = {:?})",
                std::env::var_os(LIB_DIR_ENV)
            );
            eprintln!("skipped: libnvrtc was not found (set {LIB_DIR_ENV} to check the kernels)");
            return;
        }
        for compiler in &found {
            // CUDA 13 dropped the architectures before Turing; CUDA 12 has them all.
            let oldest = if compiler.version.0 >= 13 {
                (7, 5)
            } else {
                (7, 0)
            };
            for cc in [oldest, (8, 0), (8, 9), (9, 0)] {
                let (image, made) = compiler.compile_kernels(KERNELS, cc).unwrap();
                let nvrtc::Image::Cubin(cubin) = image else {
                    panic!(
                        "{}: no cubin for sm_{}{}: {made}",
                        compiler.describe(),
                        cc.0,
                        cc.1
                    )
                };
                assert_eq!(&cubin[..4], b"\x7fELF", "{made}");
                assert!(
                    made.starts_with(&format!("a cubin for sm_{}{}", cc.0, cc.1)),
                    "{made}"
                );
                let names = String::from_utf8_lossy(&cubin);
                for kernel in KERNEL_NAMES {
                    assert!(names.contains(kernel), "{kernel} missing from {made}");
                }
            }
            // An architecture this NVRTC does not know: PTX, which the driver compiles.
            let (image, made) = compiler.compile_kernels(KERNELS, (99, 0)).unwrap();
            let nvrtc::Image::Ptx(ptx) = image else {
                panic!("a cubin for sm_990?")
            };
            assert!(made.starts_with("PTX for the driver"), "{made}");
            for kernel in KERNEL_NAMES {
                assert!(
                    ptx.contains(&format!(".entry {kernel}(")),
                    "{kernel} missing from the PTX"
                );
            }
            // Contraction is off. NVRTC's default (`--fmad=true`) emits plain `mul.f32` / `add.f32`,
            // which ptxas may fuse into FFMA; with `--fmad=false` every single-precision multiply
            // and add is `.rn`, which ptxas must round as written, like the CPU.
            let fusable = |ptx: &str| {
                ptx.lines().any(|l| {
                    let op = l.trim_start();
                    ["mul.f32", "add.f32", "sub.f32", "fma."]
                        .iter()
                        .any(|p| op.starts_with(p))
                })
            };
            assert!(!fusable(&ptx), "the PTX leaves multiply-adds to fuse");
            let fused = compiler
                .compile(KERNELS, "fused.cu", &["--fmad=true".to_owned()], false)
                .unwrap();
            let nvrtc::Image::Ptx(fused) = fused else {
                panic!("asked for PTX")
            };
            assert!(
                fusable(&fused),
                "NVRTC's default leaves nothing to fuse here"
            );
        }
    }
}
