//! Compressed sparse row matrices and the sparse products CoRML needs.

use rayon::prelude::*;

use crate::dense::Dense;
use crate::error::{Error, Result};
use crate::storage::Array;

/// Columns of the dense operand handled together by [`Csr::matmul_rows`].
pub const COLUMN_BLOCK: usize = 128;

/// A sparse matrix in compressed sparse row form with `f32` values.
///
/// Column indices within a row are sorted and unique.
#[derive(Clone, Debug, PartialEq)]
pub struct Csr {
    rows: usize,
    cols: usize,
    indptr: Array<usize>,
    indices: Array<u32>,
    values: Array<f32>,
}

impl Csr {
    /// Builds a binary matrix (all stored values 1) from `(row, col)` pairs; duplicates collapse.
    pub fn from_pairs(rows: usize, cols: usize, pairs: &[(u32, u32)]) -> Result<Self> {
        let mut counts = vec![0usize; rows + 1];
        for &(r, c) in pairs {
            if r as usize >= rows || c as usize >= cols {
                return Err(Error::invalid(format!(
                    "pair ({r}, {c}) is outside a {rows} × {cols} matrix"
                )));
            }
            counts[r as usize + 1] += 1;
        }
        for i in 0..rows {
            counts[i + 1] += counts[i];
        }
        let mut indices = vec![0u32; pairs.len()];
        let mut next = counts.clone();
        for &(r, c) in pairs {
            indices[next[r as usize]] = c;
            next[r as usize] += 1;
        }
        // Sort and deduplicate each row, compacting in place.
        let mut indptr = vec![0usize; rows + 1];
        let mut write = 0usize;
        for r in 0..rows {
            let (start, end) = (counts[r], counts[r + 1]);
            indices[start..end].sort_unstable();
            let mut last = None;
            for k in start..end {
                let c = indices[k];
                if last != Some(c) {
                    indices[write] = c;
                    write += 1;
                    last = Some(c);
                }
            }
            indptr[r + 1] = write;
        }
        indices.truncate(write);
        let values = vec![1.0; write];
        Ok(Csr {
            rows,
            cols,
            indptr: indptr.into(),
            indices: indices.into(),
            values: values.into(),
        })
    }

    /// Wraps CSR arrays after checking them: `indptr` has `rows + 1` non-decreasing entries from 0
    /// to `indices.len()`, every column index is below `cols` and strictly increasing within its
    /// row, and there is one value per index.
    pub fn from_parts(
        rows: usize,
        cols: usize,
        indptr: Array<usize>,
        indices: Array<u32>,
        values: Array<f32>,
    ) -> Result<Self> {
        let shape_ok = indptr.len() == rows + 1
            && indptr.first() == Some(&0)
            && indptr.last() == Some(&indices.len())
            && values.len() == indices.len()
            && cols <= u32::MAX as usize + 1;
        if !shape_ok {
            return Err(Error::invalid(format!(
                "malformed CSR arrays for {rows} × {cols}: {} row pointers, {} indices, {} values",
                indptr.len(),
                indices.len(),
                values.len()
            )));
        }
        for r in 0..rows {
            let (start, end) = (indptr[r], indptr[r + 1]);
            if start > end || end > indices.len() {
                return Err(Error::invalid(format!("row pointers decrease at row {r}")));
            }
            let row = &indices[start..end];
            if row.iter().any(|&c| c as usize >= cols) || row.windows(2).any(|w| w[0] >= w[1]) {
                return Err(Error::invalid(format!(
                    "row {r} has a column index out of range or out of order"
                )));
            }
        }
        Ok(Csr {
            rows,
            cols,
            indptr,
            indices,
            values,
        })
    }

    /// Builds a matrix from `(row, col, value)` triplets sorted by `(row, col)`;
    /// repeated positions are summed.
    pub fn from_sorted_triplets(
        rows: usize,
        cols: usize,
        triplets: &[(u32, u32, f32)],
    ) -> Result<Self> {
        let mut indptr = vec![0usize; rows + 1];
        let mut indices: Vec<u32> = Vec::with_capacity(triplets.len());
        let mut values: Vec<f32> = Vec::with_capacity(triplets.len());
        let mut last: Option<(u32, u32)> = None;
        for &(r, c, x) in triplets {
            if r as usize >= rows || c as usize >= cols || last.is_some_and(|l| l > (r, c)) {
                return Err(Error::invalid("triplets out of range or not sorted"));
            }
            if last == Some((r, c)) {
                if let Some(v) = values.last_mut() {
                    *v += x;
                }
            } else {
                indices.push(c);
                values.push(x);
                indptr[r as usize + 1] += 1;
            }
            last = Some((r, c));
        }
        for r in 0..rows {
            indptr[r + 1] += indptr[r];
        }
        Ok(Csr {
            rows,
            cols,
            indptr: indptr.into(),
            indices: indices.into(),
            values: values.into(),
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// Row pointer array (length `rows + 1`).
    pub fn indptr(&self) -> &[usize] {
        &self.indptr
    }

    /// Column indices of all stored entries.
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    /// Values of all stored entries.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// Column indices of row `r`.
    pub fn row_indices(&self, r: usize) -> &[u32] {
        &self.indices[self.indptr[r]..self.indptr[r + 1]]
    }

    /// Values of row `r`.
    pub fn row_values(&self, r: usize) -> &[f32] {
        &self.values[self.indptr[r]..self.indptr[r + 1]]
    }

    /// Number of stored entries in each row.
    pub fn row_counts(&self) -> Vec<usize> {
        self.indptr.windows(2).map(|w| w[1] - w[0]).collect()
    }

    /// Number of stored entries in each column.
    pub fn col_counts(&self) -> Vec<usize> {
        let mut counts = vec![0usize; self.cols];
        for &c in self.indices.iter() {
            counts[c as usize] += 1;
        }
        counts
    }

    /// The three arrays as slices, for loops that index them often.
    fn arrays(&self) -> (&[usize], &[u32], &[f32]) {
        (&self.indptr, &self.indices, &self.values)
    }

    /// Whether the arrays are borrowed from a memory-mapped model file.
    pub fn is_mapped(&self) -> bool {
        self.indices.is_mapped()
    }

    /// The transpose, as CSR.
    pub fn transpose(&self) -> Csr {
        let (own_indptr, own_indices, own_values) = self.arrays();
        let mut indptr = vec![0usize; self.cols + 1];
        for &c in own_indices {
            indptr[c as usize + 1] += 1;
        }
        for c in 0..self.cols {
            indptr[c + 1] += indptr[c];
        }
        let mut next = indptr.clone();
        let mut indices = vec![0u32; self.nnz()];
        let mut values = vec![0f32; self.nnz()];
        for r in 0..self.rows {
            for k in own_indptr[r]..own_indptr[r + 1] {
                let c = own_indices[k] as usize;
                indices[next[c]] = r as u32;
                values[next[c]] = own_values[k];
                next[c] += 1;
            }
        }
        Csr {
            rows: self.cols,
            cols: self.rows,
            indptr: indptr.into(),
            indices: indices.into(),
            values: values.into(),
        }
    }

    /// `diag(left) · self · diag(right)`; either side may be omitted.
    pub fn scaled(&self, left: Option<&[f32]>, right: Option<&[f32]>) -> Csr {
        let (indptr, indices, values) = self.arrays();
        let mut scaled = values.to_vec();
        for r in 0..self.rows {
            let lr = left.map_or(1.0, |l| l[r]);
            for k in indptr[r]..indptr[r + 1] {
                let rc = right.map_or(1.0, |rt| rt[indices[k] as usize]);
                scaled[k] = values[k] * lr * rc;
            }
        }
        Csr {
            values: scaled.into(),
            ..self.clone()
        }
    }

    /// The rows listed in `rows` (in that order), renumbered `0..rows.len()`.
    pub fn select_rows(&self, rows: &[u32]) -> Result<Csr> {
        let mut indptr = Vec::with_capacity(rows.len() + 1);
        indptr.push(0);
        let (mut indices, mut values) = (Vec::new(), Vec::new());
        for &r in rows {
            let r = r as usize;
            if r >= self.rows {
                return Err(Error::invalid(format!(
                    "row {r} of a {}-row matrix",
                    self.rows
                )));
            }
            indices.extend_from_slice(self.row_indices(r));
            values.extend_from_slice(self.row_values(r));
            indptr.push(indices.len());
        }
        Ok(Csr {
            rows: rows.len(),
            cols: self.cols,
            indptr: indptr.into(),
            indices: indices.into(),
            values: values.into(),
        })
    }

    /// The columns listed in `columns` (in that order), renumbered `0..columns.len()`.
    pub fn select_columns(&self, columns: &[u32]) -> Csr {
        let mut position = vec![u32::MAX; self.cols];
        for (new, &old) in columns.iter().enumerate() {
            position[old as usize] = new as u32;
        }
        let mut indptr = Vec::with_capacity(self.rows + 1);
        indptr.push(0);
        let mut entries: Vec<(u32, f32)> = Vec::new();
        let mut indices = Vec::new();
        let mut values = Vec::new();
        let (own_indptr, own_indices, own_values) = self.arrays();
        for r in 0..self.rows {
            entries.clear();
            for k in own_indptr[r]..own_indptr[r + 1] {
                let p = position[own_indices[k] as usize];
                if p != u32::MAX {
                    entries.push((p, own_values[k]));
                }
            }
            entries.sort_unstable_by_key(|e| e.0);
            for &(c, v) in &entries {
                indices.push(c);
                values.push(v);
            }
            indptr.push(indices.len());
        }
        Csr {
            rows: self.rows,
            cols: columns.len(),
            indptr: indptr.into(),
            indices: indices.into(),
            values: values.into(),
        }
    }

    /// Dense product `self · b` where `b` is `cols × q`; the result is `rows × q`.
    pub fn matmul_dense(&self, b: &Dense) -> Result<Dense> {
        assert_eq!(
            b.rows(),
            self.cols,
            "sparse-dense product: inner dimensions differ"
        );
        let q = b.cols();
        let out_rows = self.matmul_rows(&b.to_row_major()?, q)?;
        Dense::from_row_major(self.rows, q, &out_rows)
    }

    /// `self · B` with `B` (`cols × q`) and the result (`rows × q`) both row-major.
    ///
    /// Each stored entry adds a row of `B` to a row of the result. `B` is usually far larger than
    /// the caches, so the columns are taken in blocks of [`COLUMN_BLOCK`]: a block of `B` is
    /// then reused from cache by every row of the product instead of streamed from memory.
    pub fn matmul_rows(&self, b_rows: &[f32], q: usize) -> Result<Vec<f32>> {
        assert_eq!(
            b_rows.len(),
            self.cols * q,
            "sparse-dense product: inner dimensions differ"
        );
        let mut out = crate::dense::try_vec(self.rows * q)?;
        if q == 0 {
            return Ok(out);
        }
        // Rows per task: enough work per task, and a task's output rows stay in cache per block.
        let rows_per_task = (4096 / q.min(4096)).clamp(16, 256);
        let (indptr, indices, values) = self.arrays();
        out.par_chunks_mut(q * rows_per_task)
            .enumerate()
            .for_each(|(task, out)| {
                let first = task * rows_per_task;
                let mut start = 0;
                while start < q {
                    let width = COLUMN_BLOCK.min(q - start);
                    for (local, out) in out.chunks_mut(q).enumerate() {
                        let r = first + local;
                        let out = &mut out[start..start + width];
                        let row = |k: usize| &b_rows[indices[k] as usize * q + start..][..width];
                        let (lo, hi) = (indptr[r], indptr[r + 1]);
                        // Four entries per pass over the output row: a quarter of its loads
                        // and stores.
                        let mut k = lo;
                        while k + 4 <= hi {
                            let (v0, v1, v2, v3) =
                                (values[k], values[k + 1], values[k + 2], values[k + 3]);
                            let (s0, s1, s2, s3) = (row(k), row(k + 1), row(k + 2), row(k + 3));
                            for c in 0..width {
                                out[c] += v0 * s0[c] + v1 * s1[c] + v2 * s2[c] + v3 * s3[c];
                            }
                            k += 4;
                        }
                        for (k, &v) in values.iter().enumerate().take(hi).skip(k) {
                            let src = row(k);
                            for (o, s) in out.iter_mut().zip(src) {
                                *o += v * s;
                            }
                        }
                    }
                    start += width;
                }
            });
        Ok(out)
    }

    /// Dense Gram matrix `selfᵀ · diag(w) · self` (`cols × cols`), `w` defaulting to ones.
    ///
    /// `transposed` must be `self.transpose()`; it is passed in so callers reuse it.
    pub fn gram(&self, transposed: &Csr, w: Option<&[f32]>) -> Result<Dense> {
        let n = self.cols;
        let mut out = Dense::zeros(n, n)?;
        let (t_indptr, t_indices, t_values) = transposed.arrays();
        let (indptr, indices, values) = self.arrays();
        out.par_cols_mut().for_each(|(i, col)| {
            for k in t_indptr[i]..t_indptr[i + 1] {
                let u = t_indices[k] as usize;
                let a = t_values[k] * w.map_or(1.0, |w| w[u]);
                for kk in indptr[u]..indptr[u + 1] {
                    col[indices[kk] as usize] += a * values[kk];
                }
            }
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_pairs_sorts_and_collapses_duplicates() {
        let m = Csr::from_pairs(2, 3, &[(1, 2), (0, 1), (1, 0), (1, 2), (0, 1)]).unwrap();
        assert_eq!(m.nnz(), 3);
        assert_eq!(m.row_indices(0), &[1]);
        assert_eq!(m.row_indices(1), &[0, 2]);
        assert!(Csr::from_pairs(2, 3, &[(2, 0)]).is_err());
    }

    #[test]
    fn transpose_and_products_match_dense() {
        let m = Csr::from_pairs(3, 4, &[(0, 0), (0, 3), (1, 1), (2, 0), (2, 1), (2, 3)]).unwrap();
        let m = m.scaled(Some(&[1.0, 2.0, 3.0]), Some(&[1.0, 0.5, 1.0, 2.0]));
        let dense = |r: usize, c: usize| {
            m.row_indices(r)
                .iter()
                .position(|&x| x as usize == c)
                .map_or(0.0, |k| m.row_values(r)[k])
        };
        let t = m.transpose();
        assert_eq!(t.transpose(), m);
        let w = [1.0, 0.5, 2.0];
        let g = m.gram(&t, Some(&w)).unwrap();
        for i in 0..4 {
            for j in 0..4 {
                let expect: f32 = (0..3).map(|u| dense(u, i) * w[u] * dense(u, j)).sum();
                assert!((g.get(i, j) - expect).abs() < 1e-6);
            }
        }
        let b = Dense::from_fn(4, 2, |i, j| (i * 2 + j) as f32);
        let p = m.matmul_dense(&b).unwrap();
        for r in 0..3 {
            for c in 0..2 {
                let expect: f32 = (0..4).map(|k| dense(r, k) * b.get(k, c)).sum();
                assert!((p.get(r, c) - expect).abs() < 1e-5);
            }
        }
        let s = m.select_columns(&[3, 0]);
        assert_eq!(s.row_indices(2), &[0, 1]);
        assert_eq!(s.row_values(2), &[6.0, 3.0]);
    }
}
