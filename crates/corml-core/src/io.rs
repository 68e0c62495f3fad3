//! Readers for interaction files: TSV / CSV (with or without a header, any column choice) and
//! RecBole `.inter` atomic files (`user_id:token<TAB>item_id:token`), plain or gzip-compressed.
//! An optional rating column binarizes explicit feedback at a threshold, and an optional timestamp
//! column records the order of the interactions (for a leave-last-out split).
//!
//! Files are streamed record by record, so a large file is never held in memory as text; what is
//! kept is one `(user, item)` index pair per accepted line (and its time when asked for).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;

use crate::dataset::{IdMap, Interactions, Split};
use crate::error::{Error, Result};
use crate::files::open_regular;
use crate::progress::Control;

/// Which column holds a field: by header name or by 0-based position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Column {
    /// A header name; RecBole type suffixes (`user_id:token`) are ignored when matching.
    Name(String),
    /// A 0-based column position.
    Index(usize),
}

/// Whether the first line is a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Header {
    /// A header if the first line names the user and item columns (`user_id`, `item_id` by default).
    #[default]
    Auto,
    /// The first line is a header.
    Present,
    /// There is no header.
    Absent,
}

/// How to read an interaction file.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// Field separator; `None` picks `,` for `.csv` files and a tab otherwise.
    pub delimiter: Option<u8>,
    /// Header handling.
    pub header: Header,
    /// The user column; `None` means `user_id` with a header, column 0 without.
    pub user_column: Option<Column>,
    /// The item column; `None` means `item_id` with a header, column 1 without.
    pub item_column: Option<Column>,
    /// The rating column; `None` means `rating` with a header. Only read with `min_rating`.
    pub rating_column: Option<Column>,
    /// Keep only lines rated at least this (explicit feedback made binary, e.g. 4 of 5 stars).
    pub min_rating: Option<f64>,
    /// The timestamp column (a number, or a date: RFC 3339, `YYYY-MM-DD HH:MM:SS`,
    /// `YYYY-MM-DD`); `None` reads no times.
    pub timestamp_column: Option<Column>,
}

impl ReadOptions {
    /// Checks the combination of options: the delimiter must be able to separate fields (a line
    /// break cannot: it ends the record), a rating column needs a threshold, and the threshold
    /// must be a finite number.
    pub fn validate(&self) -> Result<()> {
        if let Some(d) = self.delimiter {
            if d == b'\n' || d == b'\r' || !d.is_ascii() {
                return Err(Error::invalid(format!(
                    "the delimiter {:?} cannot separate fields: it must be one ASCII character \
                     other than a line break, such as ',', '\\t' or ';'",
                    char::from(d)
                )));
            }
        }
        match (self.min_rating, &self.rating_column) {
            (Some(r), _) if !r.is_finite() => Err(Error::invalid(format!(
                "the minimum rating must be a finite number, not {r}"
            ))),
            (None, Some(_)) => Err(Error::invalid(
                "a rating column is only read with a minimum rating: give the threshold at or \
                 above which a rating counts as an interaction (e.g. 4)",
            )),
            _ => Ok(()),
        }
    }
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_owned(),
        source,
    }
}

fn parse_error(path: &Path, line: usize, message: impl Into<String>) -> Error {
    Error::Parse {
        path: path.to_owned(),
        line,
        message: message.into(),
    }
}

/// A reader that counts the bytes read through it (the compressed bytes of a gzip file), for
/// progress.
struct Counted<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// An open interaction file: its text (decompressed), its size on disk and the bytes consumed.
struct Source {
    text: Box<dyn Read + Send>,
    size: u64,
    consumed: Arc<AtomicU64>,
}

/// Opens a file, transparently decompressing gzip (detected by its magic bytes).
fn open(path: &Path) -> Result<Source> {
    let file = open_regular(path)?;
    let size = file.metadata().map_err(|e| io_error(path, e))?.len();
    source(path, file, size)
}

/// The text of `raw` (`size` bytes, gzip-compressed or not), named `path` in messages.
fn source(path: &Path, raw: impl Read + Send + 'static, size: u64) -> Result<Source> {
    let consumed = Arc::new(AtomicU64::new(0));
    let counted = Counted {
        inner: raw,
        read: consumed.clone(),
    };
    let mut reader = BufReader::with_capacity(1 << 16, counted);
    let magic = reader.fill_buf().map_err(|e| io_error(path, e))?;
    let text: Box<dyn Read + Send> = if magic.len() >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
        Box::new(BufReader::with_capacity(
            1 << 16,
            MultiGzDecoder::new(reader),
        ))
    } else {
        Box::new(reader)
    };
    Ok(Source {
        text,
        size: size.max(1),
        consumed,
    })
}

fn default_delimiter(path: &Path) -> u8 {
    let name = path.to_string_lossy().to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.ends_with(".csv") {
        b','
    } else {
        b'\t'
    }
}

/// Strips a RecBole type suffix: `user_id:token` → `user_id`.
fn field_name(header: &str) -> &str {
    let h = header.trim();
    h.split_once(':').map_or(h, |(name, _)| name)
}

fn find_column(header: &[String], col: &Column, path: &Path) -> Result<usize> {
    match col {
        Column::Index(i) if *i < header.len() => Ok(*i),
        Column::Index(i) => Err(parse_error(
            path,
            1,
            format!(
                "column {i} does not exist: the header has {} columns",
                header.len()
            ),
        )),
        Column::Name(name) => header
            .iter()
            .position(|h| field_name(h) == name)
            .ok_or_else(|| {
                parse_error(
                    path,
                    1,
                    format!(
                        "no column named `{name}`; the header has: {}",
                        header.join(", ")
                    ),
                )
            }),
    }
}

/// Parses a timestamp: a number (any unit: only the order matters) or a date, as seconds.
pub fn parse_time(text: &str) -> Option<f64> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    if let Ok(x) = text.parse::<f64>() {
        return x.is_finite().then_some(x);
    }
    let seconds = |t: NaiveDateTime| {
        let utc = t.and_utc();
        utc.timestamp() as f64 + f64::from(utc.timestamp_subsec_nanos()) * 1e-9
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(seconds(t.naive_utc()));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(seconds(t));
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(seconds)
}

/// One accepted line: its user and item ids, and its time when a timestamp column is read.
struct Row<'a> {
    user: &'a str,
    item: &'a str,
    time: Option<f64>,
}

/// The positions of the columns a reader takes from each line.
struct Columns {
    user: usize,
    item: usize,
    rating: Option<usize>,
    time: Option<usize>,
}

impl Columns {
    /// Resolves the columns against the first line; also says whether that line is a header.
    fn resolve(first: &[String], opts: &ReadOptions, path: &Path) -> Result<(Columns, bool)> {
        let named = |c: &Option<Column>, default: &str| match c {
            Some(Column::Name(n)) => n.clone(),
            _ => default.to_owned(),
        };
        let (user_name, item_name) = (
            named(&opts.user_column, "user_id"),
            named(&opts.item_column, "item_id"),
        );
        let has_header = match opts.header {
            Header::Present => true,
            Header::Absent => false,
            Header::Auto => {
                let names: Vec<&str> = first.iter().map(|h| field_name(h)).collect();
                names.contains(&user_name.as_str()) && names.contains(&item_name.as_str())
            }
        };
        let rating_column = match (&opts.rating_column, opts.min_rating) {
            (_, None) => None,
            (Some(c), Some(_)) => Some(c.clone()),
            (None, Some(_)) => Some(Column::Name("rating".into())),
        };
        if has_header {
            let find = |c: &Column| find_column(first, c, path);
            let optional = |c: &Option<Column>| c.as_ref().map(find).transpose();
            let columns = Columns {
                user: find(&opts.user_column.clone().unwrap_or(Column::Name(user_name)))?,
                item: find(&opts.item_column.clone().unwrap_or(Column::Name(item_name)))?,
                rating: optional(&rating_column)?,
                time: optional(&opts.timestamp_column)?,
            };
            return Ok((columns, true));
        }
        let index = |c: &Option<Column>, what: &str| match c {
            None => Ok(None),
            Some(Column::Index(i)) => Ok(Some(*i)),
            Some(Column::Name(n)) => Err(parse_error(
                path,
                1,
                format!(
                    "the {what} column is given by name (`{n}`), but the first line ({}) is not \
                     a header naming the user and item columns ({user_name}, {item_name}); name \
                     columns the header has, or give indices for a file without a header",
                    first.iter().take(8).cloned().collect::<Vec<_>>().join(", ")
                ),
            )),
        };
        let columns = Columns {
            user: index(&opts.user_column, "user")?.unwrap_or(0),
            item: index(&opts.item_column, "item")?.unwrap_or(1),
            rating: index(&rating_column, "rating")?,
            time: index(&opts.timestamp_column, "timestamp")?,
        };
        Ok((columns, false))
    }
}

/// Streams the accepted lines of a file into `sink`. Lines rated below `min_rating` are skipped.
/// `progress` receives the share of the file read so far (every 64k lines) and may fail to stop.
fn read_rows(
    path: &Path,
    opts: &ReadOptions,
    progress: &dyn Fn(f64) -> Result<()>,
    sink: impl FnMut(Row<'_>) -> Result<()>,
) -> Result<()> {
    opts.validate()?;
    read_source(path, open(path)?, opts, progress, sink)
}

/// [`read_rows`] of an open source; `path` names it in messages and picks the default delimiter.
fn read_source(
    path: &Path,
    source: Source,
    opts: &ReadOptions,
    progress: &dyn Fn(f64) -> Result<()>,
    mut sink: impl FnMut(Row<'_>) -> Result<()>,
) -> Result<()> {
    opts.validate()?;
    let delimiter = opts.delimiter.unwrap_or_else(|| default_delimiter(path));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .quoting(delimiter == b',')
        .from_reader(source.text);
    let mut record = csv::StringRecord::new();
    let record_error = |e: csv::Error, line: usize| match e.kind() {
        csv::ErrorKind::Io(_) => Error::Parse {
            path: path.to_owned(),
            line,
            message: format!("cannot read the file (corrupt or truncated?): {e}"),
        },
        _ => parse_error(
            path,
            e.position().map_or(line, |p| p.line() as usize),
            e.to_string(),
        ),
    };
    if !reader
        .read_record(&mut record)
        .map_err(|e| record_error(e, 1))?
    {
        return Err(Error::EmptyData(format!("{} is empty", path.display())));
    }
    let first: Vec<String> = record.iter().map(str::to_owned).collect();
    let (columns, has_header) = Columns::resolve(&first, opts, path)?;
    let min_rating = opts.min_rating.unwrap_or(f64::NEG_INFINITY);
    let mut take = |rec: &csv::StringRecord, line: usize| -> Result<()> {
        if rec.len() == 1 && rec.get(0).is_some_and(|f| f.trim().is_empty()) {
            return Ok(()); // blank line
        }
        let field = |c: usize, what: &str| -> Result<&str> {
            match rec.get(c).map(str::trim) {
                Some(v) if !v.is_empty() => Ok(v),
                Some(_) => Err(parse_error(
                    path,
                    line,
                    format!("empty {what} in column {c}"),
                )),
                None => Err(parse_error(
                    path,
                    line,
                    format!(
                        "expected the {what} in column {c}, but the line has {} fields",
                        rec.len()
                    ),
                )),
            }
        };
        if let Some(c) = columns.rating {
            let text = field(c, "rating")?;
            let rating: f64 = text
                .parse()
                .ok()
                .filter(|r: &f64| !r.is_nan())
                .ok_or_else(|| {
                    parse_error(
                        path,
                        line,
                        format!("rating `{text}` in column {c} is not a number"),
                    )
                })?;
            if rating < min_rating {
                return Ok(());
            }
        }
        let time = match columns.time {
            None => None,
            Some(c) => {
                let text = field(c, "timestamp")?;
                Some(parse_time(text).ok_or_else(|| {
                    parse_error(
                        path,
                        line,
                        format!(
                            "timestamp `{text}` in column {c} is neither a number nor a date \
                             (RFC 3339, YYYY-MM-DD HH:MM:SS or YYYY-MM-DD)"
                        ),
                    )
                })?)
            }
        };
        sink(Row {
            user: field(columns.user, "user id")?,
            item: field(columns.item, "item id")?,
            time,
        })
    };
    let mut line = 1usize;
    if !has_header {
        take(&record, line)?;
    }
    loop {
        line += 1;
        if line.is_multiple_of(1 << 16) {
            progress(source.consumed.load(Ordering::Relaxed) as f64 / source.size as f64)?;
        }
        match reader.read_record(&mut record) {
            Ok(true) => {
                let l = record.position().map_or(line, |p| p.line() as usize);
                take(&record, l)?;
            }
            Ok(false) => break,
            Err(e) => return Err(record_error(e, line)),
        }
    }
    Ok(())
}

/// Reads one interaction file into [`Interactions`]; duplicates collapse (a pair read with
/// times keeps its earliest). Reports stage `read` with the share of the file read.
pub fn read_interactions(
    path: impl AsRef<Path>,
    opts: &ReadOptions,
    control: &Control,
) -> Result<Interactions> {
    let path = path.as_ref();
    opts.validate()?;
    control.stage("read", 0.0)?;
    read_interactions_from(path, open(path)?, opts, control)
}

/// The sample the examples and `Dataset.sample()` use: 800 users, 500 items in 8 latent
/// communities, 15,4xx interactions, synthetic and seeded (`examples/generate-sample.ts` writes
/// `examples/data/sample.tsv`, which is compiled in).
pub const SAMPLE_TSV: &[u8] = include_bytes!("../../../examples/data/sample.tsv");

/// Reads [`SAMPLE_TSV`], the embedded sample, as a file with a `user_id`, `item_id` header.
pub fn read_sample(control: &Control) -> Result<Interactions> {
    control.stage("read", 0.0)?;
    let name = Path::new("sample.tsv");
    let opts = ReadOptions::default();
    read_interactions_from(
        name,
        source(name, SAMPLE_TSV, SAMPLE_TSV.len() as u64)?,
        &opts,
        control,
    )
}

fn read_interactions_from(
    path: &Path,
    source: Source,
    opts: &ReadOptions,
    control: &Control,
) -> Result<Interactions> {
    let mut users = IdMap::new();
    let mut items = IdMap::new();
    let mut pairs = Vec::new();
    let mut times = Vec::new();
    read_source(
        path,
        source,
        opts,
        &|f| control.stage("read", f.min(1.0)),
        |row| {
            pairs.push((users.intern(row.user), items.intern(row.item)));
            if let Some(t) = row.time {
                times.push(t);
            }
            Ok(())
        },
    )?;
    let (users, items) = (Arc::new(users), Arc::new(items));
    let data = if opts.timestamp_column.is_some() {
        Interactions::from_timed_pairs(users, items, &pairs, &times)?
    } else {
        Interactions::from_index_pairs(users, items, &pairs)?
    };
    if data.nnz() == 0 {
        let why = match opts.min_rating {
            Some(r) => format!(" rated at least {r}"),
            None => String::new(),
        };
        return Err(Error::EmptyData(format!(
            "{} holds no interactions{why}",
            path.display()
        )));
    }
    control.stage("read", 1.0)?;
    Ok(data)
}

/// Reads a ready-made split from three files that share one id space
/// (for instance `train.tsv`, `valid.tsv`, `test.tsv` written by another tool). A timestamp
/// column is not needed and not read.
pub fn read_split(paths: [PathBuf; 3], opts: &ReadOptions, control: &Control) -> Result<Split> {
    let opts = ReadOptions {
        timestamp_column: None,
        ..opts.clone()
    };
    let mut users = IdMap::new();
    let mut items = IdMap::new();
    let mut parts: [Vec<(u32, u32)>; 3] = Default::default();
    for (k, (path, pairs)) in paths.iter().zip(parts.iter_mut()).enumerate() {
        let progress = |f: f64| control.stage("read", (k as f64 + f.min(1.0)) / 3.0);
        read_rows(path, &opts, &progress, |row| {
            pairs.push((users.intern(row.user), items.intern(row.item)));
            Ok(())
        })?;
    }
    let (users, items) = (Arc::new(users), Arc::new(items));
    let [train, valid, test] = parts;
    let make =
        |p: Vec<(u32, u32)>| Interactions::from_index_pairs(users.clone(), items.clone(), &p);
    let split = Split {
        train: make(train)?,
        valid: make(valid)?,
        test: make(test)?,
    };
    split.train.ensure_not_empty()?;
    Ok(split)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use std::io::Write;
    use std::sync::atomic::AtomicBool;

    fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("corml-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn reads_tsv_csv_inter_and_gzip() {
        let tsv = temp_file(
            "a.tsv",
            b"user_id\titem_id\nu1\ti1\nu1\ti2\nu2\ti1\nu1\ti1\n",
        );
        let d = read_interactions(&tsv, &ReadOptions::default(), &Control::default()).unwrap();
        assert_eq!((d.n_users(), d.n_items(), d.nnz()), (2, 2, 3));

        let csv = temp_file("b.csv", b"1,10,5.0\n2,10,3.0\n2,11,1.0\n");
        let d = read_interactions(&csv, &ReadOptions::default(), &Control::default()).unwrap();
        assert_eq!((d.n_users(), d.n_items(), d.nnz()), (2, 2, 3));

        let inter = temp_file(
            "c.inter",
            b"item_id:token\tuser_id:token\trating:float\nx\ta\t1\ny\ta\t2\n",
        );
        let d = read_interactions(&inter, &ReadOptions::default(), &Control::default()).unwrap();
        assert_eq!(d.users().to_vec(), ["a"]);
        assert_eq!(d.items().to_vec(), ["x", "y"]);

        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"user,item\n1,2\n3,4\n").unwrap();
        let gz = temp_file("d.csv.gz", &gz.finish().unwrap());
        let opts = ReadOptions {
            user_column: Some(Column::Name("user".into())),
            item_column: Some(Column::Name("item".into())),
            ..Default::default()
        };
        let d = read_interactions(&gz, &opts, &Control::default()).unwrap();
        assert_eq!(d.nnz(), 2);
    }

    fn read(path: &Path, opts: &ReadOptions) -> Result<Interactions> {
        read_interactions(path, opts, &Control::default())
    }

    #[test]
    fn ratings_binarize_at_the_threshold() {
        let csv = temp_file(
            "ratings.csv",
            b"userId,movieId,rating,timestamp\n1,10,5.0,3\n1,11,3.5,1\n2,10,4,2\n2,12,1,9\n",
        );
        let opts = ReadOptions {
            user_column: Some(Column::Name("userId".into())),
            item_column: Some(Column::Name("movieId".into())),
            min_rating: Some(4.0),
            ..Default::default()
        };
        let d = read(&csv, &opts).unwrap();
        assert_eq!((d.n_users(), d.n_items(), d.nnz()), (2, 1, 2));
        // By index, without a header.
        let plain = temp_file("ratings.tsv", b"1\t10\t5\n1\t11\t2\n");
        let opts = ReadOptions {
            header: Header::Absent,
            rating_column: Some(Column::Index(2)),
            min_rating: Some(3.0),
            ..Default::default()
        };
        assert_eq!(read(&plain, &opts).unwrap().nnz(), 1);
        // A threshold nothing reaches, a non-number, a column without a threshold.
        let opts = ReadOptions {
            rating_column: Some(Column::Index(2)),
            min_rating: Some(9.0),
            header: Header::Absent,
            ..Default::default()
        };
        let err = read(&plain, &opts).unwrap_err();
        assert_eq!(err.code(), ErrorCode::EmptyData);
        assert!(err.to_string().contains("rated at least 9"), "{err}");
        let bad = temp_file("badrating.tsv", b"1\t10\tfive\n");
        let err = read(&bad, &opts).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ParseError);
        assert!(err.to_string().contains("badrating.tsv:1"), "{err}");
        let opts = ReadOptions {
            rating_column: Some(Column::Index(2)),
            ..Default::default()
        };
        assert_eq!(
            read(&plain, &opts).unwrap_err().code(),
            ErrorCode::InvalidArgument
        );
        let opts = ReadOptions {
            min_rating: Some(f64::NAN),
            ..Default::default()
        };
        assert_eq!(
            read(&plain, &opts).unwrap_err().code(),
            ErrorCode::InvalidArgument
        );
    }

    #[test]
    fn timestamps_order_a_leave_last_out_split() {
        let tsv = temp_file(
            "times.inter",
            b"user_id:token\titem_id:token\ttimestamp:float\n\
              a\tx\t30\na\ty\t10\na\tz\t20\na\tx\t5\nb\tx\t1\nb\ty\t2\nc\tz\t7\n",
        );
        let opts = ReadOptions {
            timestamp_column: Some(Column::Name("timestamp".into())),
            ..Default::default()
        };
        let d = read(&tsv, &opts).unwrap();
        assert!(d.has_times());
        let split = d.split_leave_last_out().unwrap();
        let items = |p: &Interactions, user: &str| -> Vec<String> {
            let u = p.users().get(user).unwrap() as usize;
            p.matrix()
                .row_indices(u)
                .iter()
                .map(|&i| p.items().name(i).to_owned())
                .collect()
        };
        // a: x first at 5 (its earliest), then y 10, z 20 → train x, valid y, test z.
        assert_eq!(items(&split.train, "a"), ["x"]);
        assert_eq!(items(&split.valid, "a"), ["y"]);
        assert_eq!(items(&split.test, "a"), ["z"]);
        // b: two interactions → train and test; c: one → train.
        assert_eq!(items(&split.train, "b"), ["x"]);
        assert!(items(&split.valid, "b").is_empty());
        assert_eq!(items(&split.test, "b"), ["y"]);
        assert_eq!(items(&split.train, "c"), ["z"]);
        // Without times the split is refused.
        let plain = read(&tsv, &ReadOptions::default()).unwrap();
        assert_eq!(
            plain.split_leave_last_out().unwrap_err().code(),
            ErrorCode::InvalidArgument
        );
        // Dates order like numbers; a bad one names its line.
        let dates = temp_file(
            "dates.csv",
            b"user_id,item_id,when\nu,i,2010-10-19T23:55:27Z\nu,j,2010-10-19 23:55:26\nu,k,2009-01-01\n",
        );
        let opts = ReadOptions {
            timestamp_column: Some(Column::Name("when".into())),
            ..Default::default()
        };
        let split = read(&dates, &opts).unwrap().split_leave_last_out().unwrap();
        assert_eq!(items(&split.train, "u"), ["k"]);
        assert_eq!(items(&split.valid, "u"), ["j"]);
        assert_eq!(items(&split.test, "u"), ["i"]);
        let bad = temp_file("baddate.csv", b"user_id,item_id,when\nu,i,yesterday\n");
        let err = read(&bad, &opts).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ParseError);
        assert!(err.to_string().contains("baddate.csv:2"), "{err}");
        assert_eq!(parse_time("1e3"), Some(1000.0));
        assert_eq!(parse_time("NaN"), None);
        assert_eq!(parse_time("1970-01-02"), Some(86400.0));
    }

    #[test]
    fn progress_reaches_the_end_and_cancellation_stops_reading() {
        let mut text = b"user_id\titem_id\n".to_vec();
        for k in 0..200_000 {
            text.extend_from_slice(format!("u{}\ti{}\n", k % 1000, k % 777).as_bytes());
        }
        let path = temp_file("long.tsv", &text);
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = seen.clone();
        let control = Control::new(
            Some(Arc::new(move |e: &crate::progress::ProgressEvent| {
                sink.lock().unwrap().push(e.fraction)
            })),
            Arc::default(),
        );
        read_interactions(&path, &ReadOptions::default(), &control).unwrap();
        let seen = seen.lock().unwrap().clone();
        assert!(seen.len() >= 4, "{seen:?}");
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        assert_eq!(seen.last(), Some(&1.0));
        let cancelled = Control::new(None, Arc::new(AtomicBool::new(true)));
        let err = read_interactions(&path, &ReadOptions::default(), &cancelled).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Aborted);
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let bad = temp_file("bad.tsv", b"user_id\titem_id\nu1\ti1\nu2\n");
        let err =
            read_interactions(&bad, &ReadOptions::default(), &Control::default()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ParseError);
        assert!(err.to_string().contains("bad.tsv:3"), "{err}");
        let empty = temp_file("empty.tsv", b"");
        assert_eq!(
            read_interactions(&empty, &ReadOptions::default(), &Control::default())
                .unwrap_err()
                .code(),
            ErrorCode::EmptyData
        );
        let header_only = temp_file("h.tsv", b"user_id\titem_id\n");
        assert_eq!(
            read_interactions(&header_only, &ReadOptions::default(), &Control::default())
                .unwrap_err()
                .code(),
            ErrorCode::EmptyData
        );
        let missing = read_interactions(
            "/nonexistent/x.tsv",
            &ReadOptions::default(),
            &Control::default(),
        )
        .unwrap_err();
        assert_eq!(missing.code(), ErrorCode::Io);
        let truncated_gz = temp_file("t.tsv.gz", &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2]);
        let err = read_interactions(&truncated_gz, &ReadOptions::default(), &Control::default())
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::ParseError);
    }
}
