//! Stand-in for the CUDA backend in builds without CUDA support: same names, and a
//! `CUDA_UNAVAILABLE` error saying why. The real backend replaces this module behind the
//! cargo feature `cuda`.

use std::convert::Infallible;

use super::Backend;
use crate::dense::Dense;
use crate::error::{Error, Result};
use crate::progress::Control;

/// A CUDA device; cannot be constructed in a build without CUDA support.
pub struct CudaBackend {
    never: Infallible,
}

impl CudaBackend {
    /// Opens CUDA device `ordinal`; in this build it always fails with `CUDA_UNAVAILABLE`.
    pub fn new(ordinal: usize) -> Result<Self> {
        Err(Error::CudaUnavailable(format!(
            "device cuda:{ordinal} was requested but this build of corml-native has no CUDA \
             backend; use device 'cpu' or 'auto'"
        )))
    }
}

impl Backend for CudaBackend {
    type Matrix = Infallible;

    fn describe(&self) -> String {
        match self.never {}
    }

    fn memory_budget(&self) -> u64 {
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
        _b: &Infallible,
        _transpose_b: bool,
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

    fn admm_zero_diagonal(
        &self,
        h: &mut Infallible,
        _b: &Infallible,
        _a: &Infallible,
    ) -> Result<()> {
        match *h {}
    }

    fn admm_project(
        &self,
        h: &Infallible,
        _g: &mut Infallible,
        _s: &mut Infallible,
        _rho: f32,
        _next: bool,
    ) -> Result<()> {
        match *h {}
    }
}
