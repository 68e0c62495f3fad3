//! Stand-in for the CUDA backend in builds without the cargo feature `cuda` (the npm packages
//! for macOS, Linux musl and arm64): the same names, a probe that reports CUDA as not compiled,
//! and a `CUDA_UNAVAILABLE` error saying so.

use std::convert::Infallible;

use super::{Backend, Op};
use crate::dense::Dense;
use crate::device::{CudaInfo, Precision};
use crate::error::{Error, Result};
use crate::progress::Control;

const NOT_COMPILED: &str = "this build of corml-native has no CUDA backend (CUDA ships in the \
                            x86-64 Linux glibc and Windows packages); use device 'cpu' or 'auto'";

/// What this build knows about CUDA: that it has none.
pub fn probe() -> CudaInfo {
    CudaInfo {
        compiled: false,
        available: false,
        reason: Some(NOT_COMPILED.to_owned()),
        driver_found: false,
        driver_version: None,
        libraries: Vec::new(),
        devices: Vec::new(),
    }
}

/// A CUDA device; cannot be constructed in a build without CUDA support.
pub struct CudaBackend {
    never: Infallible,
}

impl CudaBackend {
    /// Opens CUDA device `ordinal`; in this build it always fails with `CUDA_UNAVAILABLE`.
    pub fn new(ordinal: usize, _precision: Precision) -> Result<Self> {
        Err(Error::CudaUnavailable(format!(
            "device cuda:{ordinal} was requested but {NOT_COMPILED}"
        )))
    }
}

impl Backend for CudaBackend {
    type Matrix = Infallible;

    fn describe(&self) -> String {
        match self.never {}
    }

    fn memory_budget(&self) -> Result<u64> {
        match self.never {}
    }

    fn upload(&self, _m: Dense) -> Result<Infallible> {
        match self.never {}
    }

    fn download(&self, m: Infallible) -> Result<Dense> {
        match m {}
    }

    fn zeros(&self, _rows: usize, _cols: usize) -> Result<Infallible> {
        match self.never {}
    }

    fn gemm(
        &self,
        _c: &mut Infallible,
        _beta: f32,
        _a: &Infallible,
        _op_a: Op,
        _b: &Infallible,
        _op_b: Op,
        _alpha: f32,
        _ctl: &Control,
    ) -> Result<()> {
        match self.never {}
    }

    fn spd_inverse(&self, a: Infallible, _ctl: &Control) -> Result<Infallible> {
        match a {}
    }

    fn scale_add_diagonal(&self, m: &mut Infallible, _alpha: f32, _d: &[f32]) -> Result<()> {
        match *m {}
    }

    fn hollow_clamp_scale(&self, m: &mut Infallible, _l: &[f32], _r: &[f32]) -> Result<()> {
        match *m {}
    }

    fn admm_step(
        &self,
        h: &mut Infallible,
        _b: &Infallible,
        _ainv: &Infallible,
        _gamma: &mut Infallible,
        _s: &mut Infallible,
        _rho: f32,
        _next_rhs: bool,
    ) -> Result<()> {
        match *h {}
    }
}
