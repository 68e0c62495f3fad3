//! Readers for interaction files: TSV / CSV (with or without a header, any column choice) and
//! RecBole `.inter` atomic files (`user_id:token<TAB>item_id:token`), plain or gzip-compressed.
//!
//! Files are streamed record by record, so a large file is never held in memory as text.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;

use crate::dataset::{IdMap, Interactions, Split};
use crate::error::{Error, Result};

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

/// Opens a file, transparently decompressing gzip (detected by its magic bytes).
fn open(path: &Path) -> Result<Box<dyn Read + Send>> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let magic = reader.fill_buf().map_err(|e| io_error(path, e))?;
    if magic.len() >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
        Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            MultiGzDecoder::new(reader),
        )))
    } else {
        Ok(Box::new(reader))
    }
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

/// Streams `(user, item)` id pairs from a file into `sink`.
fn read_pairs(
    path: &Path,
    opts: &ReadOptions,
    mut sink: impl FnMut(&str, &str) -> Result<()>,
) -> Result<()> {
    let delimiter = opts.delimiter.unwrap_or_else(|| default_delimiter(path));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .quoting(delimiter == b',')
        .from_reader(open(path)?);
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
    let (user_col, item_col) = if has_header {
        let user = opts.user_column.clone().unwrap_or(Column::Name(user_name));
        let item = opts.item_column.clone().unwrap_or(Column::Name(item_name));
        (
            find_column(&first, &user, path)?,
            find_column(&first, &item, path)?,
        )
    } else {
        let index = |c: &Option<Column>, default: usize, what: &str| match c {
            None => Ok(default),
            Some(Column::Index(i)) => Ok(*i),
            Some(Column::Name(n)) => Err(parse_error(
                path,
                1,
                format!(
                    "the {what} column is given by name (`{n}`) but the first line is not a header \
                     naming it; give a column index or a file with a header"
                ),
            )),
        };
        (
            index(&opts.user_column, 0, "user")?,
            index(&opts.item_column, 1, "item")?,
        )
    };
    let mut line = 1usize;
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
                    format!("empty {what} id in column {c}"),
                )),
                None => Err(parse_error(
                    path,
                    line,
                    format!(
                        "expected a {what} id in column {c} but the line has {} fields",
                        rec.len()
                    ),
                )),
            }
        };
        sink(field(user_col, "user")?, field(item_col, "item")?)
    };
    if !has_header {
        take(&record, line)?;
    }
    loop {
        line += 1;
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

/// Reads one interaction file into [`Interactions`]; duplicates collapse.
pub fn read_interactions(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<Interactions> {
    let path = path.as_ref();
    let mut users = IdMap::new();
    let mut items = IdMap::new();
    let mut pairs = Vec::new();
    read_pairs(path, opts, |u, i| {
        pairs.push((users.intern(u), items.intern(i)));
        Ok(())
    })?;
    let data = Interactions::from_index_pairs(Arc::new(users), Arc::new(items), &pairs)?;
    if data.nnz() == 0 {
        return Err(Error::EmptyData(format!(
            "{} holds no interactions",
            path.display()
        )));
    }
    Ok(data)
}

/// Reads a ready-made split from three files that share one id space
/// (for instance `train.tsv`, `valid.tsv`, `test.tsv` written by another tool).
pub fn read_split(paths: [PathBuf; 3], opts: &ReadOptions) -> Result<Split> {
    let mut users = IdMap::new();
    let mut items = IdMap::new();
    let mut parts: [Vec<(u32, u32)>; 3] = Default::default();
    for (path, pairs) in paths.iter().zip(parts.iter_mut()) {
        read_pairs(path, opts, |u, i| {
            pairs.push((users.intern(u), items.intern(i)));
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
        let d = read_interactions(&tsv, &ReadOptions::default()).unwrap();
        assert_eq!((d.n_users(), d.n_items(), d.nnz()), (2, 2, 3));

        let csv = temp_file("b.csv", b"1,10,5.0\n2,10,3.0\n2,11,1.0\n");
        let d = read_interactions(&csv, &ReadOptions::default()).unwrap();
        assert_eq!((d.n_users(), d.n_items(), d.nnz()), (2, 2, 3));

        let inter = temp_file(
            "c.inter",
            b"item_id:token\tuser_id:token\trating:float\nx\ta\t1\ny\ta\t2\n",
        );
        let d = read_interactions(&inter, &ReadOptions::default()).unwrap();
        assert_eq!(d.users().names(), &["a".to_string()]);
        assert_eq!(d.items().names(), &["x".to_string(), "y".to_string()]);

        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"user,item\n1,2\n3,4\n").unwrap();
        let gz = temp_file("d.csv.gz", &gz.finish().unwrap());
        let opts = ReadOptions {
            user_column: Some(Column::Name("user".into())),
            item_column: Some(Column::Name("item".into())),
            ..Default::default()
        };
        let d = read_interactions(&gz, &opts).unwrap();
        assert_eq!(d.nnz(), 2);
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let bad = temp_file("bad.tsv", b"user_id\titem_id\nu1\ti1\nu2\n");
        let err = read_interactions(&bad, &ReadOptions::default()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ParseError);
        assert!(err.to_string().contains("bad.tsv:3"), "{err}");
        let empty = temp_file("empty.tsv", b"");
        assert_eq!(
            read_interactions(&empty, &ReadOptions::default())
                .unwrap_err()
                .code(),
            ErrorCode::EmptyData
        );
        let header_only = temp_file("h.tsv", b"user_id\titem_id\n");
        assert_eq!(
            read_interactions(&header_only, &ReadOptions::default())
                .unwrap_err()
                .code(),
            ErrorCode::EmptyData
        );
        let missing = read_interactions("/nonexistent/x.tsv", &ReadOptions::default()).unwrap_err();
        assert_eq!(missing.code(), ErrorCode::Io);
        let truncated_gz = temp_file("t.tsv.gz", &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2]);
        let err = read_interactions(&truncated_gz, &ReadOptions::default()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ParseError);
    }
}
