//! The model file: one versioned, checksummed binary holding everything scoring needs.
//!
//! Layout (little-endian):
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 8 | magic `CORMLMDL` |
//! | 8 | 4 | format version ([`FORMAT_VERSION`]) |
//! | 12 | 4 | flags (0) |
//! | 16 | 8 | payload length in bytes |
//! | 24 | 8 | xxh3-64 of the payload |
//! | 32 | … | payload |
//!
//! The payload is a sequence of fields: the library version, the algorithm, the training data's
//! fingerprint, the training statistics, the user and item ids, the training matrix (for
//! `filterSeen`), then the algorithm's own arrays (CoRML: hyperparameters, item degrees, `V`
//! row-major and the upper triangle of `H`; EASE: `Bᵀ` column-major; GF-CF: `α` and `V`). Everything derived from those
//! (scoring layouts, normalizations) is rebuilt on load.
//!
//! Reading never trusts a length: the header's payload length must match the file, every array
//! length is checked against the bytes left before anything is allocated, the checksum must
//! match, and the decoded arrays are validated (CSR structure, shapes, finite values) before a
//! model is built. Writing goes to a temporary file in the target directory that is flushed to
//! disk and then renamed over the target, so a crash leaves either the old file or the new one.

use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

use xxhash_rust::xxh3::{xxh3_64, Xxh3};

use super::corml::{AdmmSolver, CormlModel, CormlParams};
use super::ease::EaseModel;
use super::gfcf::{GfcfModel, GfcfParams};
use super::spectral::SpectralFilter;
use super::{Algorithm, FitInfo, Model, StageTime};
use crate::dataset::{item_degrees, normalized, IdMap};
use crate::dense::{available_memory, format_bytes, Dense};
use crate::error::{Error, Result};
use crate::files::{open_regular, write_atomic, FileMode};
use crate::sparse::Csr;
use crate::{Device, Precision};

/// The first 8 bytes of every model file.
pub const MAGIC: &[u8; 8] = b"CORMLMDL";
/// The format version this library writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes before the payload.
pub const HEADER_LEN: usize = 32;

/// Where model bytes come from, for error messages.
fn origin(path: Option<&Path>) -> String {
    path.map_or_else(|| "buffer".to_owned(), |p| p.display().to_string())
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// A writer that hashes and counts what passes through it.
struct Hashing<W: Write> {
    inner: W,
    hasher: Xxh3,
    written: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Typed little-endian fields on top of a byte writer.
struct FieldWriter<W: Write> {
    out: Hashing<W>,
}

impl<W: Write> FieldWriter<W> {
    fn bytes(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.out.write_all(b)
    }

    fn u8(&mut self, x: u8) -> std::io::Result<()> {
        self.bytes(&[x])
    }

    fn u64(&mut self, x: u64) -> std::io::Result<()> {
        self.bytes(&x.to_le_bytes())
    }

    fn f32(&mut self, x: f32) -> std::io::Result<()> {
        self.bytes(&x.to_le_bytes())
    }

    fn f64(&mut self, x: f64) -> std::io::Result<()> {
        self.bytes(&x.to_le_bytes())
    }

    fn str(&mut self, s: &str) -> std::io::Result<()> {
        self.u64(s.len() as u64)?;
        self.bytes(s.as_bytes())
    }

    /// Writes `values` as a length followed by their bytes, converting through a bounded buffer.
    fn array<T: Copy, const N: usize>(
        &mut self,
        values: &[T],
        to_bytes: impl Fn(T) -> [u8; N],
    ) -> std::io::Result<()> {
        self.u64(values.len() as u64)?;
        let mut buf = Vec::with_capacity(N * 16_384.min(values.len()));
        for chunk in values.chunks(16_384) {
            buf.clear();
            chunk
                .iter()
                .for_each(|&x| buf.extend_from_slice(&to_bytes(x)));
            self.bytes(&buf)?;
        }
        Ok(())
    }

    fn f32s(&mut self, values: &[f32]) -> std::io::Result<()> {
        self.array(values, f32::to_le_bytes)
    }

    fn u32s(&mut self, values: &[u32]) -> std::io::Result<()> {
        self.array(values, u32::to_le_bytes)
    }

    fn u64s(&mut self, values: impl ExactSizeIterator<Item = u64>) -> std::io::Result<()> {
        self.u64(values.len() as u64)?;
        values.into_iter().try_for_each(|x| self.u64(x))
    }

    fn strs(&mut self, values: &[String]) -> std::io::Result<()> {
        self.u64(values.len() as u64)?;
        values.iter().try_for_each(|s| self.str(s))
    }

    fn csr(&mut self, m: &Csr) -> std::io::Result<()> {
        self.u64(m.rows() as u64)?;
        self.u64(m.cols() as u64)?;
        self.u64s(m.indptr().iter().map(|&x| x as u64))?;
        self.u32s(m.indices())?;
        self.f32s(m.values())
    }

    fn spectral(&mut self, g: &SpectralFilter) -> std::io::Result<()> {
        self.u64(g.items() as u64)?;
        self.u64(g.rank() as u64)?;
        self.f32s(g.v_rows())
    }

    fn dense(&mut self, m: &Dense) -> std::io::Result<()> {
        self.u64(m.rows() as u64)?;
        self.u64(m.cols() as u64)?;
        self.f32s(m.data())
    }
}

/// Writes the whole file (header and payload) to `out`, then fills in the header's length and
/// checksum.
fn write_model<W: Write + Seek>(model: &Model, out: W) -> std::io::Result<W> {
    let mut out = out;
    out.write_all(MAGIC)?;
    out.write_all(&FORMAT_VERSION.to_le_bytes())?;
    out.write_all(&0u32.to_le_bytes())?;
    out.write_all(&[0u8; 16])?;
    let mut f = FieldWriter {
        out: Hashing {
            inner: out,
            hasher: Xxh3::new(),
            written: 0,
        },
    };
    f.str(crate::VERSION)?;
    f.str(model.algorithm.name())?;
    f.u64(model.fingerprint)?;
    write_info(&mut f, &model.info)?;
    f.strs(model.users.names())?;
    f.strs(model.items.names())?;
    f.csr(&model.train)?;
    match &model.algorithm {
        Algorithm::Corml(m) => {
            write_corml_params(&mut f, m.params())?;
            f.f32s(m.degrees())?;
            f.spectral(m.graph())?;
            f.csr(m.h())?;
        }
        Algorithm::Ease(m) => {
            f.f32(m.regularization())?;
            f.dense(m.b_rows())?;
        }
        Algorithm::Gfcf(m) => {
            let p = m.params();
            f.f32(p.alpha)?;
            f.u64(p.seed)?;
            f.spectral(m.graph())?;
        }
    }
    let Hashing {
        mut inner,
        hasher,
        written,
    } = f.out;
    inner.seek(SeekFrom::Start(16))?;
    inner.write_all(&written.to_le_bytes())?;
    inner.write_all(&hasher.digest().to_le_bytes())?;
    inner.seek(SeekFrom::End(0))?;
    Ok(inner)
}

fn write_info<W: Write>(f: &mut FieldWriter<W>, info: &FitInfo) -> std::io::Result<()> {
    f.str(&info.backend)?;
    f.str(info.device_fallback.as_deref().unwrap_or(""))?;
    f.u64s(info.part_sizes.iter().map(|&x| x as u64))?;
    f.u64(info.nnz as u64)?;
    f.u64(info.stages.len() as u64)?;
    for s in &info.stages {
        f.str(&s.stage)?;
        f.f64(s.seconds)?;
    }
    f.f64(info.seconds)?;
    f.f64(info.admm_flops)?;
    f.strs(&info.admm_solvers)
}

fn write_corml_params<W: Write>(f: &mut FieldWriter<W>, p: &CormlParams) -> std::io::Result<()> {
    for x in [
        p.lambda,
        p.dual_step_length,
        p.l2_regularization,
        p.item_degree_norm,
        p.global_scaling,
        p.user_scaling,
    ] {
        f.f32(x)?;
    }
    f.u64(p.eigenvectors as u64)?;
    f.u64(p.admm_iterations as u64)?;
    f.f64(p.partition_ratio)?;
    f.u8(p.sparse_approx as u8)?;
    f.u64(p.seed)?;
    f.str(&p.device.to_string())?;
    f.str(&p.admm_solver.to_string())?;
    f.str(&p.precision.to_string())
}

impl Model {
    /// Writes the model to `path` atomically: a temporary file in the same directory, flushed to
    /// disk, then renamed over `path`. On any failure `path` is left as it was. The file gets the
    /// permissions of `mode` (by default `0o666` less the umask); temporary files left by an
    /// earlier save to `path` that was killed are removed.
    pub fn save(&self, path: &Path, mode: FileMode) -> Result<()> {
        write_atomic(path, mode, |file| {
            write_model(self, BufWriter::with_capacity(1 << 20, file))
                .and_then(|w| w.into_inner().map_err(|e| e.into_error()).map(|_| ()))
        })
    }

    /// The model file's bytes, for storage elsewhere (object stores, databases). The size is
    /// measured first, so that a buffer too large for memory is an `OUT_OF_MEMORY` error rather
    /// than a failed allocation that would abort the process.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let internal = |e| io_error(Path::new("model buffer"), e);
        let size = write_model(self, Counter::default()).map_err(internal)?.len;
        let mut bytes = Vec::new();
        usize::try_from(size)
            .ok()
            .and_then(|n| bytes.try_reserve_exact(n).ok())
            .ok_or_else(|| {
                Error::OutOfMemory(format!(
                    "not enough memory for a {} model buffer: save it to a file instead",
                    format_bytes(size)
                ))
            })?;
        Ok(write_model(self, std::io::Cursor::new(bytes))
            .map_err(internal)?
            .into_inner())
    }

    /// Reads a model file written by [`Model::save`].
    pub fn load(path: &Path) -> Result<Model> {
        let mut file = open_regular(path)?;
        let size = file.metadata().map_err(|e| io_error(path, e))?.len();
        let mut header = [0u8; HEADER_LEN];
        let got = read_up_to(&mut file, &mut header).map_err(|e| io_error(path, e))?;
        let payload_len = check_header(&header[..got], size, Some(path))?;
        let mut payload = Vec::new();
        payload.try_reserve_exact(payload_len).map_err(|_| {
            Error::OutOfMemory(format!(
                "not enough memory to read {payload_len} bytes of {}",
                path.display()
            ))
        })?;
        file.take(payload_len as u64)
            .read_to_end(&mut payload)
            .map_err(|e| io_error(path, e))?;
        decode(&header, &payload, Some(path))
    }

    /// Reads a model from the bytes of a model file ([`Model::to_bytes`] or a saved file).
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        let header = &bytes[..bytes.len().min(HEADER_LEN)];
        let payload_len = check_header(header, bytes.len() as u64, None)?;
        decode(header, &bytes[HEADER_LEN..HEADER_LEN + payload_len], None)
    }
}

/// A writer that only measures: the length a serialization would have.
#[derive(Default)]
struct Counter {
    position: u64,
    len: u64,
}

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.position += buf.len() as u64;
        self.len = self.len.max(self.position);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Seek for Counter {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.position = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::End(d) => self.len.saturating_add_signed(d),
            SeekFrom::Current(d) => self.position.saturating_add_signed(d),
        };
        Ok(self.position)
    }
}

/// Fills `buf` as far as the reader allows; returns how many bytes were read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// Validates the header against the total size; returns the payload length.
fn check_header(header: &[u8], total: u64, path: Option<&Path>) -> Result<usize> {
    let bad = |message: String| Error::ModelFile {
        origin: origin(path),
        message,
    };
    if header.len() < MAGIC.len() || &header[..MAGIC.len()] != MAGIC {
        return Err(bad(
            "not a corml-native model file (it does not start with CORMLMDL); \
             give a file written by model.save() or a buffer from model.toBuffer()"
                .into(),
        ));
    }
    if header.len() < HEADER_LEN {
        return Err(bad(format!(
            "truncated: {total} bytes, shorter than the {HEADER_LEN}-byte header; save the model again"
        )));
    }
    let word = |at: usize| u32::from_le_bytes(header[at..at + 4].try_into().expect("4 bytes"));
    let version = word(8);
    if version > FORMAT_VERSION {
        return Err(Error::ModelVersion {
            origin: origin(path),
            message: format!(
                "model format {version} was written by a newer corml-native; this is {} and reads \
                 format {FORMAT_VERSION} at most: upgrade corml-native to load it",
                crate::VERSION
            ),
        });
    }
    if version == 0 || word(12) != 0 {
        return Err(bad(format!(
            "corrupted header (format {version}, flags {:#x}); save the model again",
            word(12)
        )));
    }
    let declared = u64::from_le_bytes(header[16..24].try_into().expect("8 bytes"));
    let available = total - HEADER_LEN as u64;
    if declared != available {
        return Err(bad(if declared > available {
            format!(
                "truncated: the header declares {declared} bytes of model data but only \
                 {available} follow; the file was cut short (copy or download it again)"
            )
        } else {
            format!(
                "{} unexpected bytes after the model data; the file is damaged (copy it again)",
                available - declared
            )
        }));
    }
    usize::try_from(declared).map_err(|_| bad(format!("{declared} bytes is too large")))
}

/// Checks the payload's checksum and decodes it.
fn decode(header: &[u8], payload: &[u8], path: Option<&Path>) -> Result<Model> {
    let expected = u64::from_le_bytes(header[24..32].try_into().expect("8 bytes"));
    let bad = |message: String| Error::ModelFile {
        origin: origin(path),
        message,
    };
    // The decoded arrays and what is derived from them take about twice the payload: refuse
    // up front rather than fail an allocation half-way (which would abort the process).
    let needed = 2 * payload.len() as u64;
    let available = available_memory();
    if needed > available {
        return Err(Error::OutOfMemory(format!(
            "loading {} needs about {} of memory, more than the {} available",
            origin(path),
            format_bytes(needed),
            format_bytes(available)
        )));
    }
    if xxh3_64(payload) != expected {
        return Err(bad(
            "corrupted: the checksum of the model data does not match; the file was damaged \
             after it was written (copy it again or retrain)"
                .into(),
        ));
    }
    let mut r = FieldReader {
        bytes: payload,
        at: 0,
    };
    parse(&mut r).map_err(bad)
}

/// Bounds-checked little-endian reading of the payload; every failure is a message.
struct FieldReader<'a> {
    bytes: &'a [u8],
    at: usize,
}

type Parse<T> = std::result::Result<T, String>;

impl<'a> FieldReader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Parse<&'a [u8]> {
        if self.bytes.len() - self.at < n {
            return Err(format!(
                "inconsistent model data: {what} runs past the end (offset {})",
                self.at
            ));
        }
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    fn fixed<const N: usize>(&mut self, what: &str) -> Parse<[u8; N]> {
        Ok(self.take(N, what)?.try_into().expect("N bytes"))
    }

    fn u8(&mut self, what: &str) -> Parse<u8> {
        Ok(self.fixed::<1>(what)?[0])
    }

    fn u64(&mut self, what: &str) -> Parse<u64> {
        Ok(u64::from_le_bytes(self.fixed(what)?))
    }

    fn usize(&mut self, what: &str) -> Parse<usize> {
        let x = self.u64(what)?;
        usize::try_from(x).map_err(|_| format!("{what} = {x} is out of range"))
    }

    fn f32(&mut self, what: &str) -> Parse<f32> {
        Ok(f32::from_le_bytes(self.fixed(what)?))
    }

    fn f64(&mut self, what: &str) -> Parse<f64> {
        Ok(f64::from_le_bytes(self.fixed(what)?))
    }

    /// A length prefix for elements of `size` bytes, checked against the bytes left.
    fn len(&mut self, size: usize, what: &str) -> Parse<usize> {
        let n = self.usize(what)?;
        if n.checked_mul(size)
            .is_none_or(|b| b > self.bytes.len() - self.at)
        {
            return Err(format!(
                "inconsistent model data: {what} declares {n} entries, more than the data holds"
            ));
        }
        Ok(n)
    }

    fn str(&mut self, what: &str) -> Parse<String> {
        let n = self.len(1, what)?;
        let b = self.take(n, what)?;
        String::from_utf8(b.to_vec()).map_err(|_| format!("{what} is not valid UTF-8"))
    }

    /// A string parsed as `T` (a device, solver or precision name).
    fn parsed<T: std::str::FromStr<Err = Error>>(&mut self, what: &str) -> Parse<T> {
        self.str(what)?
            .parse()
            .map_err(|e: Error| format!("{what}: {e}"))
    }

    fn array<T, const N: usize>(&mut self, what: &str, from: fn([u8; N]) -> T) -> Parse<Vec<T>> {
        let n = self.len(N, what)?;
        let b = self.take(n * N, what)?;
        Ok(b.chunks_exact(N)
            .map(|c| from(c.try_into().expect("N bytes")))
            .collect())
    }

    fn f32s(&mut self, what: &str) -> Parse<Vec<f32>> {
        let v = self.array(what, f32::from_le_bytes)?;
        if v.iter().any(|x| !x.is_finite()) {
            return Err(format!("{what} holds a value that is not finite"));
        }
        Ok(v)
    }

    fn strs(&mut self, what: &str) -> Parse<Vec<String>> {
        // Each string takes at least its 8-byte length.
        let n = self.len(8, what)?;
        (0..n).map(|_| self.str(what)).collect()
    }

    fn csr(&mut self, what: &str) -> Parse<Csr> {
        let rows = self.usize(what)?;
        let cols = self.usize(what)?;
        let indptr = self.array(what, u64::from_le_bytes)?;
        let indices = self.array(what, u32::from_le_bytes)?;
        let values = self.f32s(what)?;
        let indptr: Vec<usize> = indptr.into_iter().map(|x| x as usize).collect();
        Csr::from_parts(rows, cols, indptr, indices, values).map_err(|e| format!("{what}: {e}"))
    }

    /// A matrix's shape and entries (the order is the caller's).
    fn matrix(&mut self, what: &str) -> Parse<(usize, usize, Vec<f32>)> {
        let rows = self.usize(what)?;
        let cols = self.usize(what)?;
        let data = self.f32s(what)?;
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(format!(
                "{what}: {} entries for a {rows} × {cols} matrix",
                data.len()
            ));
        }
        Ok((rows, cols, data))
    }

    fn dense(&mut self, what: &str) -> Parse<Dense> {
        let (rows, cols, data) = self.matrix(what)?;
        Dense::from_col_major(rows, cols, data).map_err(|e| format!("{what}: {e}"))
    }

    fn spectral(&mut self, what: &str, degrees: &[f32]) -> Parse<SpectralFilter> {
        let (rows, cols, data) = self.matrix(what)?;
        SpectralFilter::from_rows(rows, cols, data, degrees).map_err(|e| format!("{what}: {e}"))
    }
}

fn parse(r: &mut FieldReader<'_>) -> Parse<Model> {
    let version = r.str("library version")?;
    let algorithm = r.str("algorithm")?;
    let fingerprint = r.u64("fingerprint")?;
    let info = parse_info(r)?;
    let users = IdMap::from_names(r.strs("user ids")?).map_err(|e| format!("user ids: {e}"))?;
    let items = IdMap::from_names(r.strs("item ids")?).map_err(|e| format!("item ids: {e}"))?;
    let train = r.csr("training matrix")?;
    if train.rows() != users.len() || train.cols() != items.len() {
        return Err(format!(
            "the training matrix is {} × {} but there are {} users and {} items",
            train.rows(),
            train.cols(),
            users.len(),
            items.len()
        ));
    }
    let n = items.len();
    let algorithm = match algorithm.as_str() {
        "corml" => {
            let params = parse_corml_params(r)?;
            let degrees = r.f32s("item degrees")?;
            if degrees.len() != n || degrees.iter().any(|&d| d < 1.0) {
                return Err(format!(
                    "{} item degrees for {n} items, or a degree below 1",
                    degrees.len()
                ));
            }
            let graph = r.spectral("V", &degrees)?;
            let h = r.csr("H")?;
            Algorithm::Corml(CormlModel::new(params, degrees, graph, h).map_err(|e| e.to_string())?)
        }
        "ease" => {
            let regularization = r.f32("EASE regularization")?;
            let b = r.dense("B")?;
            if b.rows() != n || b.cols() != n {
                return Err(format!("B is {} × {}, not {n} × {n}", b.rows(), b.cols()));
            }
            Algorithm::Ease(EaseModel::new(regularization, b))
        }
        "gfcf" => {
            let alpha = r.f32("GF-CF alpha")?;
            let seed = r.u64("GF-CF seed")?;
            let graph = r.spectral("V", &item_degrees(&train))?;
            let params = GfcfParams {
                alpha,
                eigenvectors: graph.rank(),
                seed,
            };
            let normalized = normalized(&train);
            let normalized_t = normalized.transpose();
            Algorithm::Gfcf(GfcfModel::new(params, normalized, normalized_t, graph))
        }
        other => return Err(format!("unknown algorithm `{other}`")),
    };
    if r.at != r.bytes.len() {
        return Err(format!(
            "{} bytes left over after the model data",
            r.bytes.len() - r.at
        ));
    }
    let mut model = Model::from_parts(
        algorithm,
        Arc::new(users),
        Arc::new(items),
        train,
        info,
        fingerprint,
    );
    model.version = version;
    Ok(model)
}

fn parse_info(r: &mut FieldReader<'_>) -> Parse<FitInfo> {
    let backend = r.str("backend")?;
    let fallback = r.str("device fallback")?;
    let part_sizes = r
        .array("part sizes", u64::from_le_bytes)?
        .into_iter()
        .map(|x| x as usize)
        .collect();
    let nnz = r.usize("nnz")?;
    let stages = r.len(16, "stages")?;
    let stages = (0..stages)
        .map(|_| {
            Ok(StageTime {
                stage: r.str("stage")?,
                seconds: r.f64("stage seconds")?,
            })
        })
        .collect::<Parse<Vec<_>>>()?;
    Ok(FitInfo {
        backend,
        device_fallback: (!fallback.is_empty()).then_some(fallback),
        part_sizes,
        nnz,
        stages,
        seconds: r.f64("seconds")?,
        admm_flops: r.f64("ADMM flops")?,
        admm_solvers: r.strs("ADMM solvers")?,
    })
}

fn parse_corml_params(r: &mut FieldReader<'_>) -> Parse<CormlParams> {
    let mut f = [0f32; 6];
    for x in &mut f {
        *x = r.f32("CoRML hyperparameters")?;
    }
    let [lambda, dual_step_length, l2_regularization, item_degree_norm, global_scaling, user_scaling] =
        f;
    let params = CormlParams {
        lambda,
        dual_step_length,
        l2_regularization,
        item_degree_norm,
        global_scaling,
        user_scaling,
        eigenvectors: r.usize("eigenvectors")?,
        admm_iterations: r.usize("ADMM iterations")?,
        partition_ratio: r.f64("partition ratio")?,
        sparse_approx: r.u8("sparse approximation")? != 0,
        seed: r.u64("seed")?,
        device: r.parsed::<Device>("device")?,
        admm_solver: r.parsed::<AdmmSolver>("ADMM solver")?,
        precision: r.parsed::<Precision>("precision")?,
        memory_budget: None,
    };
    params.validate().map_err(|e| e.to_string())?;
    Ok(params)
}
