//! Checked conversions of JavaScript values into the types of `corml-core`.
//!
//! Every JavaScript number arrives as an `f64`. An `as` cast would silently turn `NaN` into 0,
//! `1.5` into 1 and `-1` into 0, so integer options are checked here, before converting, and a
//! bad value is an `INVALID_ARGUMENT` error that names the option and its value.

use std::sync::Arc;

use corml_core::dataset::IdMap;
use corml_core::{Device, Precision};

use crate::error::{from_core, invalid_argument, Result};

/// The largest integer a JavaScript number holds exactly (`Number.MAX_SAFE_INTEGER`).
pub const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// An integer option: finite, whole, in `[min, Number.MAX_SAFE_INTEGER]`.
pub fn integer(name: &str, value: f64, min: u64) -> Result<u64> {
    if value.is_finite() && value.fract() == 0.0 && value >= min as f64 && value <= MAX_SAFE_INTEGER
    {
        Ok(value as u64)
    } else {
        Err(invalid_argument(format!(
            "{name} = {value} is out of range: it must be an integer ≥ {min}"
        )))
    }
}

/// An optional integer option; `None` keeps `default`.
pub fn integer_or(name: &str, value: Option<f64>, min: u64, default: u64) -> Result<u64> {
    value.map_or(Ok(default), |v| integer(name, v, min))
}

/// An integer option that must also fit a `usize` (counts, sizes).
pub fn count(name: &str, value: f64, min: u64) -> Result<usize> {
    let n = integer(name, value, min)?;
    usize::try_from(n)
        .map_err(|_| invalid_argument(format!("{name} = {value} is too large for this platform")))
}

/// The number of recommendations: an integer ≥ 1 (more than the item count returns fewer items).
pub fn top_k(k: f64) -> Result<usize> {
    count("k", k, 1)
}

/// A floating-point option, narrowed to `f32`. Range checks are the core's (which also rejects
/// `NaN` and infinities); a finite value too large for `f32` is rejected here.
pub fn real(name: &str, value: Option<f64>, default: f32) -> Result<f32> {
    match value {
        None => Ok(default),
        Some(v) if v.is_finite() && (v as f32).is_infinite() => Err(invalid_argument(format!(
            "{name} = {v} is out of range for a 32-bit float"
        ))),
        Some(v) => Ok(v as f32),
    }
}

/// `'auto'`, `'cpu'`, `'cuda'` or `'cuda:N'`; `None` is `'auto'`.
pub fn device(value: Option<&str>) -> Result<Device> {
    value.map_or(Ok(Device::Auto), |s| s.parse().map_err(from_core))
}

/// `'fp32'` or `'tf32'`; `None` is `'fp32'`.
pub fn precision(value: Option<&str>) -> Result<Precision> {
    value.map_or(Ok(Precision::Fp32), |s| s.parse().map_err(from_core))
}

/// A memory budget in bytes: a finite number ≥ 1 (fractions are rounded down).
pub fn memory_budget(value: Option<f64>) -> Result<Option<u64>> {
    match value {
        None => Ok(None),
        Some(v) if (1.0..=MAX_SAFE_INTEGER).contains(&v) => Ok(Some(v as u64)),
        Some(v) => Err(invalid_argument(format!(
            "memoryBudget = {v} is out of range: it must be a number of bytes ≥ 1"
        ))),
    }
}

/// The index of every id in `ids`, failing on the first one `lookup` does not know.
pub fn indices(
    ids: &[String],
    lookup: impl Fn(&str) -> corml_core::Result<u32>,
) -> Result<Vec<u32>> {
    ids.iter().map(|id| lookup(id).map_err(from_core)).collect()
}

/// Whether two id maps index the same ids the same way: the very same map, or equal lists (a
/// model loaded from a file and the split it was trained on).
pub fn same_space(a: &Arc<IdMap>, b: &Arc<IdMap>) -> bool {
    Arc::ptr_eq(a, b) || a == b
}
