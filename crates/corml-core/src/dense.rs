//! Dense `f32` matrices (column-major) whose allocation fails with an error instead of aborting.
//!
//! Products and factorizations run on [faer] through the views [`Dense::as_ref`] and
//! [`Dense::as_mut`]; see `docs/linear-algebra.md` for why faer.

use faer::{MatMut, MatRef};
use rayon::prelude::*;

use crate::error::{Error, Result};

/// Allocates a zeroed `Vec<f32>` of `len` elements, or fails with `OUT_OF_MEMORY`.
pub fn try_vec(len: usize) -> Result<Vec<f32>> {
    let mut v = reserved(len, "a dense block")?;
    v.resize(len, 0.0);
    Ok(v)
}

/// An empty `Vec<f32>` with room for `len` elements, or `OUT_OF_MEMORY` naming `what`.
fn reserved(len: usize, what: &str) -> Result<Vec<f32>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| {
        Error::OutOfMemory(format!(
            "could not allocate {} for {what}",
            format_bytes(len as u64 * 4)
        ))
    })?;
    Ok(v)
}

/// Score buffers kept for the next batch: a batch's dense scores (256 histories × 41k items is
/// 42 MB) would otherwise be a fresh allocation each time, which the kernel hands out as pages
/// faulted in and zeroed one by one on first touch — more time than the products that fill them.
static SPARE_SCRATCH: std::sync::Mutex<Vec<Vec<f32>>> = std::sync::Mutex::new(Vec::new());
/// At most this many buffers are kept (a server scores a batch or two at a time).
const SPARE_SCRATCH_BUFFERS: usize = 2;
/// Buffers above this many floats (256 MiB) are freed, not kept.
const SPARE_SCRATCH_MAX: usize = 1 << 26;

/// A reusable `f32` buffer of unspecified contents (see [`Scratch::take`]).
pub struct Scratch(Vec<f32>);

impl Scratch {
    /// A buffer of `len` floats, reusing one freed earlier when there is one large enough. Its
    /// contents are unspecified (whatever a previous user left, or zeros): callers overwrite it.
    pub fn take(len: usize) -> Result<Scratch> {
        let spare = SPARE_SCRATCH.lock().ok().and_then(|mut spare| {
            let at = spare.iter().position(|b| b.capacity() >= len)?;
            Some(spare.swap_remove(at))
        });
        let mut buffer = match spare {
            Some(buffer) => buffer,
            None => reserved(len, "a score buffer")?,
        };
        if buffer.len() < len {
            buffer.resize(len, 0.0);
        } else {
            buffer.truncate(len);
        }
        Ok(Scratch(buffer))
    }
}

impl std::ops::Deref for Scratch {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.0
    }
}

impl std::ops::DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.0.capacity() > SPARE_SCRATCH_MAX {
            return;
        }
        if let Ok(mut spare) = SPARE_SCRATCH.lock() {
            if spare.len() < SPARE_SCRATCH_BUFFERS {
                spare.push(std::mem::take(&mut self.0));
            }
        }
    }
}

/// Bytes as a short human-readable string (`6.7 GB`).
pub fn format_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.1} kB", b / 1e3)
    }
}

/// Memory the machine can give this process now, in bytes (`u64::MAX` when it cannot be read).
pub fn available_memory() -> u64 {
    match sysinfo::System::new() {
        Ok(mut sys) => {
            sys.refresh_memory();
            sys.available_memory()
        }
        Err(_) => u64::MAX,
    }
}

/// A dense `rows × cols` matrix of `f32`, stored column-major without padding.
#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl Dense {
    /// A zero matrix; fails with `OUT_OF_MEMORY` rather than aborting when memory is short.
    pub fn zeros(rows: usize, cols: usize) -> Result<Self> {
        Ok(Dense {
            rows,
            cols,
            data: try_vec(rows * cols)?,
        })
    }

    /// A matrix whose entry `(i, j)` is `f(i, j)`.
    pub fn from_fn(rows: usize, cols: usize, mut f: impl FnMut(usize, usize) -> f32) -> Self {
        let mut data = Vec::with_capacity(rows * cols);
        for j in 0..cols {
            for i in 0..rows {
                data.push(f(i, j));
            }
        }
        Dense { rows, cols, data }
    }

    /// Wraps column-major data; `data` must hold `rows × cols` entries.
    pub fn from_col_major(rows: usize, cols: usize, data: Vec<f32>) -> Result<Self> {
        if data.len() != rows * cols {
            return Err(Error::invalid(format!(
                "{} entries for a {rows} × {cols} matrix",
                data.len()
            )));
        }
        Ok(Dense { rows, cols, data })
    }

    /// Copies row-major data into a new matrix.
    pub fn from_row_major(rows: usize, cols: usize, data: &[f32]) -> Result<Self> {
        let mut out = Dense::zeros(rows, cols)?;
        out.par_cols_mut().for_each(|(j, col)| {
            for (i, x) in col.iter_mut().enumerate() {
                *x = data[i * cols + j];
            }
        });
        Ok(out)
    }

    /// The entries in row-major order.
    pub fn to_row_major(&self) -> Result<Vec<f32>> {
        let mut out = try_vec(self.rows * self.cols)?;
        let (rows, cols) = (self.rows, self.cols);
        out.par_chunks_mut(cols.max(1))
            .enumerate()
            .for_each(|(i, row)| {
                for (j, x) in row.iter_mut().enumerate() {
                    *x = self.data[j * rows + i];
                }
            });
        Ok(out)
    }

    /// The entries, column-major.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Entry `(i, j)`.
    pub fn get(&self, i: usize, j: usize) -> f32 {
        self.data[j * self.rows + i]
    }

    /// Sets entry `(i, j)`.
    pub fn set(&mut self, i: usize, j: usize, v: f32) {
        self.data[j * self.rows + i] = v;
    }

    /// Column `j` as a slice.
    pub fn col(&self, j: usize) -> &[f32] {
        &self.data[j * self.rows..(j + 1) * self.rows]
    }

    /// Column `j` as a mutable slice.
    pub fn col_mut(&mut self, j: usize) -> &mut [f32] {
        &mut self.data[j * self.rows..(j + 1) * self.rows]
    }

    /// All entries, column-major.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// All entries, column-major, mutable.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Parallel iterator over `(j, column j)`.
    pub fn par_cols_mut(&mut self) -> impl IndexedParallelIterator<Item = (usize, &mut [f32])> {
        self.data.par_chunks_mut(self.rows.max(1)).enumerate()
    }

    /// A faer view.
    pub fn as_ref(&self) -> MatRef<'_, f32> {
        MatRef::from_column_major_slice(&self.data, self.rows, self.cols)
    }

    /// A mutable faer view.
    pub fn as_mut(&mut self) -> MatMut<'_, f32> {
        MatMut::from_column_major_slice_mut(&mut self.data, self.rows, self.cols)
    }

    /// The rows listed in `rows`, in that order.
    pub fn select_rows(&self, rows: &[u32]) -> Result<Dense> {
        let mut out = Dense::zeros(rows.len(), self.cols)?;
        for j in 0..self.cols {
            let src = self.col(j);
            for (o, &r) in out.col_mut(j).iter_mut().zip(rows) {
                *o = src[r as usize];
            }
        }
        Ok(out)
    }

    /// Frobenius norm.
    pub fn frobenius(&self) -> f64 {
        self.data
            .par_iter()
            .map(|&x| (x as f64) * (x as f64))
            .sum::<f64>()
            .sqrt()
    }
}
