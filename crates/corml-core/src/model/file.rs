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
//! `filterSeen`), then the algorithm's own arrays in the layout scoring reads them (CoRML:
//! hyperparameters, item degrees, `V` row-major and the scoring matrix
//! `diag(d^-t)·(H + Hᵀ)·diag(d^t)`; EASE: `Bᵀ` column-major; GF-CF: `α`, `V`, `R̃` and `R̃ᵀ`).
//! Every array is its length (`u64`) then its values, starting at a file offset that is a
//! multiple of [`ALIGN`] (zero bytes pad up to it). Ids are stored as [`IdMap`] holds them: the
//! names concatenated, an offset per name, and the lookup table.
//!
//! So a loaded model needs no decoding: its arrays are views into the file's bytes, read into one
//! buffer ([`Model::load`], [`Model::from_bytes`]) or memory-mapped and shared by every process
//! that maps the same file ([`Model::map`]).
//!
//! Reading never trusts a length: the header's payload length must match the file, every array
//! length is checked against the bytes left, the checksum must match, and the arrays are
//! validated (CSR structure, id table, shapes, finite values) before a model is built. Writing
//! goes to a temporary file in the target directory that is flushed to disk and then renamed
//! over the target, so a crash leaves either the old file or the new one, and a process that
//! has the old file mapped keeps reading the old file.

use std::io::{BufWriter, Read, Seek, SeekFrom, Write};

use bytemuck::Pod;
use std::path::Path;
use std::sync::Arc;

use xxhash_rust::xxh3::{xxh3_64, Xxh3};

use super::corml::{AdmmSolver, CormlModel, CormlParams};
use super::ease::EaseModel;
use super::gfcf::{GfcfModel, GfcfParams};
use super::spectral::SpectralFilter;
use super::{Algorithm, FitInfo, Model, Scorer, StageTime};
use crate::dataset::{item_degrees, IdMap};
use crate::dense::{available_memory, format_bytes};
use crate::error::{Error, Result};
use crate::files::{open_regular, write_atomic, FileMode};
use crate::sparse::Csr;
use crate::storage::{Array, Backing};
use crate::{Device, Precision};

/// The first 8 bytes of every model file.
pub const MAGIC: &[u8; 8] = b"CORMLMDL";
/// The format version this library writes and the only one it reads.
pub const FORMAT_VERSION: u32 = 2;
/// Arrays start at file offsets that are multiples of this (a cache line).
pub const ALIGN: usize = 64;
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

    /// Writes `values` as their length, zero padding up to the next [`ALIGN`]ed file offset,
    /// then their bytes (little-endian: the targets this crate builds for are).
    fn array<T: Pod>(&mut self, values: &[T]) -> std::io::Result<()> {
        self.u64(values.len() as u64)?;
        let at = HEADER_LEN as u64 + self.out.written;
        let pad = (ALIGN as u64 - at % ALIGN as u64) % ALIGN as u64;
        self.bytes(&[0u8; ALIGN][..pad as usize])?;
        for chunk in values.chunks(1 << 16) {
            self.bytes(bytemuck::cast_slice(chunk))?;
        }
        Ok(())
    }

    fn u64s(&mut self, values: impl Iterator<Item = u64>) -> std::io::Result<()> {
        self.array(&values.collect::<Vec<u64>>())
    }

    fn strs(&mut self, values: &[String]) -> std::io::Result<()> {
        self.u64(values.len() as u64)?;
        values.iter().try_for_each(|s| self.str(s))
    }

    fn ids(&mut self, ids: &IdMap) -> std::io::Result<()> {
        let (bytes, offsets, table) = ids.parts();
        self.array(bytes)?;
        self.array(&offsets)?;
        self.array(&table)
    }

    fn csr(&mut self, m: &Csr) -> std::io::Result<()> {
        self.u64(m.rows() as u64)?;
        self.u64(m.cols() as u64)?;
        self.array(m.indptr())?;
        self.array(m.indices())?;
        self.array(m.values())
    }

    fn spectral(&mut self, g: &SpectralFilter) -> std::io::Result<()> {
        self.u64(g.items() as u64)?;
        self.u64(g.rank() as u64)?;
        self.array(g.v_rows())
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
    f.ids(&model.users)?;
    f.ids(&model.items)?;
    f.csr(&model.train)?;
    match &model.algorithm {
        Algorithm::Corml(m) => {
            write_corml_params(&mut f, m.params())?;
            f.array(m.degrees())?;
            f.spectral(m.graph())?;
            f.csr(m.scoring())?;
        }
        Algorithm::Ease(m) => {
            f.f32(m.regularization())?;
            f.u64(m.n_items() as u64)?;
            f.array(m.b_rows())?;
        }
        Algorithm::Gfcf(m) => {
            let p = m.params();
            f.f32(p.alpha)?;
            f.u64(p.seed)?;
            f.spectral(m.graph())?;
            f.csr(m.normalized())?;
            f.csr(m.normalized_t())?;
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
    // 0 (never a valid ratio) for 'auto'; a trained model holds the ratio it used.
    f.f64(p.partition_ratio.unwrap_or(0.0))?;
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

    /// Reads a model file written by [`Model::save`] into memory.
    pub fn load(path: &Path) -> Result<Model> {
        let (file, size) = open_model(path)?;
        let len = usize::try_from(size).unwrap_or(usize::MAX);
        let available = available_memory();
        let mut backing = (size <= available)
            .then(|| Backing::zeroed(len))
            .flatten()
            .ok_or_else(|| {
                Error::OutOfMemory(format!(
                    "loading {} needs {} of memory, more than the {} available; \
                     map it instead (mmap: true), which reads it in place",
                    path.display(),
                    format_bytes(size),
                    format_bytes(available)
                ))
            })?;
        let bytes = backing.bytes_mut().expect("a heap buffer");
        (&file).read_exact(bytes).map_err(|e| io_error(path, e))?;
        decode(Arc::new(backing), Some(path))
    }

    /// Maps a model file written by [`Model::save`] read-only and reads it in place: every
    /// process that maps the same file shares its pages, and loading is one checksum pass.
    ///
    /// The file must not be changed in place while the model is in use (the mapping would see
    /// the change, and a shortened file ends the process with `SIGBUS`): replace it by writing
    /// a new file and renaming it over the old one, as [`Model::save`] does.
    pub fn map(path: &Path) -> Result<Model> {
        let (file, _) = open_model(path)?;
        let backing = Backing::map(&file).map_err(|e| io_error(path, e))?;
        decode(Arc::new(backing), Some(path))
    }

    /// Reads a model from the bytes of a model file ([`Model::to_bytes`] or a saved file).
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        let header = &bytes[..bytes.len().min(HEADER_LEN)];
        check_header(header, bytes.len() as u64, None)?;
        let backing = Backing::copy_of(bytes).ok_or_else(|| {
            Error::OutOfMemory(format!(
                "not enough memory to copy a {} model buffer",
                format_bytes(bytes.len() as u64)
            ))
        })?;
        decode(Arc::new(backing), None)
    }

    /// Whether the model's arrays are memory-mapped from its file ([`Model::map`]).
    pub fn is_mapped(&self) -> bool {
        self.train.is_mapped()
    }
}

/// Opens a model file and checks its header against its size; returns the file and its size.
fn open_model(path: &Path) -> Result<(std::fs::File, u64)> {
    let mut file = open_regular(path)?;
    let size = file.metadata().map_err(|e| io_error(path, e))?.len();
    let mut header = [0u8; HEADER_LEN];
    let got = read_up_to(&mut file, &mut header).map_err(|e| io_error(path, e))?;
    check_header(&header[..got], size, Some(path))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| io_error(path, e))?;
    Ok((file, size))
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
    if version == 1 {
        return Err(Error::ModelVersion {
            origin: origin(path),
            message: format!(
                "model format 1 was written by an earlier corml-native, before model files were \
                 laid out to be read in place; this is {} and reads format {FORMAT_VERSION}: \
                 train the model again with this version",
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

/// Checks the header and the payload's checksum, then builds the model on views of `backing`.
fn decode(backing: Arc<Backing>, path: Option<&Path>) -> Result<Model> {
    let bytes = backing.bytes();
    let payload_len = check_header(
        &bytes[..bytes.len().min(HEADER_LEN)],
        bytes.len() as u64,
        path,
    )?;
    let bad = |message: String| Error::ModelFile {
        origin: origin(path),
        message,
    };
    let expected = u64::from_le_bytes(bytes[24..32].try_into().expect("8 bytes"));
    if xxh3_64(&bytes[HEADER_LEN..HEADER_LEN + payload_len]) != expected {
        return Err(bad(
            "corrupted: the checksum of the model data does not match; the file was damaged \
             after it was written (copy it again or retrain)"
                .into(),
        ));
    }
    let mut r = FieldReader {
        backing: &backing,
        bytes,
        at: HEADER_LEN,
    };
    parse(&mut r).map_err(bad)
}

/// Bounds-checked little-endian reading of the payload; every failure is a message. Arrays are
/// views into the backing bytes.
struct FieldReader<'a> {
    backing: &'a Arc<Backing>,
    bytes: &'a [u8],
    at: usize,
}

type Parse<T> = std::result::Result<T, String>;

impl<'a> FieldReader<'a> {
    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, n: usize, what: &str) -> Parse<&'a [u8]> {
        if self.left() < n {
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
        if n.checked_mul(size).is_none_or(|b| b > self.left()) {
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

    /// An array: its length, the padding to the next aligned offset, then a view of its values.
    fn array<T: Pod>(&mut self, what: &str) -> Parse<Array<T>> {
        let n = self.usize(what)?;
        let pad = (ALIGN - self.at % ALIGN) % ALIGN;
        let padding = self.take(pad, what)?;
        if padding.iter().any(|&b| b != 0) {
            return Err(format!("inconsistent model data: {what} is misplaced"));
        }
        let size = n.checked_mul(size_of::<T>()).filter(|&b| b <= self.left());
        let view = size.and_then(|_| Array::view(self.backing, self.at, n));
        let Some(view) = view else {
            return Err(format!(
                "inconsistent model data: {what} declares {n} entries, more than the data holds"
            ));
        };
        self.at += n * size_of::<T>();
        Ok(view)
    }

    fn f32s(&mut self, what: &str) -> Parse<Array<f32>> {
        let v = self.array::<f32>(what)?;
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

    fn ids(&mut self, what: &str) -> Parse<IdMap> {
        let bytes = self.array(what)?;
        let offsets = self.array(what)?;
        let table = self.array(what)?;
        IdMap::from_parts(bytes, offsets, table).map_err(|e| format!("{what}: {e}"))
    }

    /// A CSR matrix, checked to be `rows × cols`.
    fn csr(&mut self, what: &str, rows: usize, cols: usize) -> Parse<Csr> {
        let (r, c) = (self.usize(what)?, self.usize(what)?);
        let indptr = self.array::<usize>(what)?;
        let indices = self.array(what)?;
        let values = self.f32s(what)?;
        if (r, c) != (rows, cols) {
            return Err(format!("{what} is {r} × {c}, not {rows} × {cols}"));
        }
        Csr::from_parts(r, c, indptr, indices, values).map_err(|e| format!("{what}: {e}"))
    }

    fn spectral(&mut self, what: &str, degrees: &[f32]) -> Parse<SpectralFilter> {
        let rows = self.usize(what)?;
        let cols = self.usize(what)?;
        let data = self.f32s(what)?;
        SpectralFilter::from_rows(rows, cols, data, degrees).map_err(|e| format!("{what}: {e}"))
    }
}

fn parse(r: &mut FieldReader<'_>) -> Parse<Model> {
    let version = r.str("library version")?;
    let algorithm = r.str("algorithm")?;
    let fingerprint = r.u64("fingerprint")?;
    let info = parse_info(r)?;
    let users = r.ids("user ids")?;
    let items = r.ids("item ids")?;
    let (m, n) = (users.len(), items.len());
    let train = r.csr("training matrix", m, n)?;
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
            let scoring = r.csr("H", n, n)?;
            Algorithm::Corml(
                CormlModel::from_scoring(params, degrees, graph, scoring)
                    .map_err(|e| e.to_string())?,
            )
        }
        "ease" => {
            let regularization = r.f32("EASE regularization")?;
            let items = r.usize("EASE items")?;
            let b = r.f32s("B")?;
            if items != n || n.checked_mul(n) != Some(b.len()) {
                return Err(format!(
                    "B has {} entries, not {n} × {n} (for {items} items)",
                    b.len()
                ));
            }
            Algorithm::Ease(EaseModel::new(regularization, n, b).map_err(|e| e.to_string())?)
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
            let normalized = r.csr("R̃", m, n)?;
            let normalized_t = r.csr("R̃ᵀ", n, m)?;
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
    let part_sizes = r.array::<usize>("part sizes")?.to_vec();
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
        partition_ratio: Some(r.f64("partition ratio")?).filter(|&ratio| ratio != 0.0),
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
