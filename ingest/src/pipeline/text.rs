//! Delimited text files, streamed: header checks (missing columns with the nearest
//! name, a wrong delimiter, an empty file), then one record at a time, decoded as
//! UTF-8 or, where a field is not valid UTF-8, as Latin-1. Spreadsheets (`.xlsx`,
//! `.xls`, `.ods`) go through the same checks from their first sheet, row numbers
//! as the spreadsheet shows them; dates become `YYYY-MM-DD`.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use csv::ByteRecord;

use super::schema::{Column, Kind};
use crate::{Error, Result};

/// Counts the bytes read, for progress.
pub(crate) struct Counted<R> {
    inner: R,
    pub(crate) bytes: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Where records come from.
enum Reader {
    Csv(csv::Reader<Counted<BufReader<File>>>),
    /// The rows of a sheet after its header, and the sheet row number of the next.
    Sheet(std::vec::IntoIter<Vec<String>>, u64),
}

/// Whether a path names a spreadsheet.
pub(crate) fn is_spreadsheet(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    matches!(ext.as_str(), "xlsx" | "xlsm" | "xls" | "ods")
}

/// A cell as text: whole numbers without `.0`, dates as `YYYY-MM-DD`.
fn cell_text(c: &calamine::Data) -> String {
    use calamine::Data;
    match c {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => {
            // Excel's serial day 0 is 1899-12-30 (after its 1900 leap-year bug).
            let days = d.as_f64().floor() as i64;
            chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
                .and_then(|e| e.checked_add_signed(chrono::Duration::days(days)))
                .map(|x| x.to_string())
                .unwrap_or_default()
        }
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// A delimited file or a sheet whose header matched its declared columns.
pub(crate) struct TextFile {
    pub(crate) path: PathBuf,
    reader: Reader,
    /// Where the declared columns are, and the header's width.
    pub(crate) layout: Layout,
    /// Bytes read so far.
    pub(crate) bytes: Arc<AtomicU64>,
    /// The file's size.
    pub(crate) size: u64,
}

/// Matches a header to the declared columns: the position of each, or an error that
/// names every missing required column with the nearest header name, and a wrong
/// delimiter when the header is one field holding another.
fn match_header(
    path: &Path,
    header: &[String],
    columns: &[Column],
    source: &str,
    delimiter: Option<u8>,
) -> Result<Vec<Option<usize>>> {
    let fail = |message: String| Error::Source { path: path.to_owned(), message };
    let find = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let positions: Vec<Option<usize>> = columns.iter().map(|c| find(&c.name)).collect();
    let missing: Vec<&Column> =
        columns.iter().zip(&positions).filter(|(c, p)| c.required && p.is_none()).map(|(c, _)| c).collect();
    if missing.is_empty() {
        return Ok(positions);
    }
    if let Some(delimiter) = delimiter
        && header.len() == 1
        && columns.len() > 1
    {
        for d in [b',', b';', b'\t', b'|'] {
            if d != delimiter && header[0].contains(char::from(d)) {
                return Err(fail(format!(
                    "the header is one field holding {}: this file looks {}-separated, but {source} files are {}-separated",
                    delimiter_name(d),
                    delimiter_name(d),
                    delimiter_name(delimiter),
                )));
            }
        }
    }
    let unmatched: Vec<(usize, &String)> =
        header.iter().enumerate().filter(|(i, _)| !positions.contains(&Some(*i))).collect();
    let problems: Vec<String> = missing
        .iter()
        .map(|c| {
            let nearest = unmatched
                .iter()
                .map(|(i, h)| (mosaico_domain::text::edit_distance(&h.to_lowercase(), &c.name.to_lowercase()), *i, *h))
                .filter(|(d, _, _)| *d <= 2.max(c.name.chars().count() / 3))
                .min();
            match nearest {
                Some((_, i, h)) => {
                    format!("missing column '{}' (column {} is '{h}': did you mean '{}'?)", c.name, i + 1, c.name)
                }
                None => format!("missing column '{}'", c.name),
            }
        })
        .collect();
    Err(fail(format!(
        "{}; a {source} file has the columns {}",
        problems.join("; "),
        columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
    )))
}

/// The positions of the columns that are read: a dropped column is never decoded.
fn read_positions(columns: &[Column], positions: Vec<Option<usize>>) -> Vec<Option<usize>> {
    columns.iter().zip(positions).map(|(c, p)| p.filter(|_| !matches!(c.kind, Kind::Dropped))).collect()
}

/// Where a decoded record was and what it held.
pub(crate) struct Record {
    /// Line number in the file (the header is line 1).
    pub(crate) line: u64,
    /// Fields in the record.
    pub(crate) width: usize,
    /// Fields that were not UTF-8 and were read as Latin-1.
    pub(crate) latin1: u32,
}

fn decode(bytes: &[u8]) -> (Cow<'_, str>, bool) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (Cow::Borrowed(s.trim()), false),
        Err(_) => (Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect::<String>().trim().to_owned()), true),
    }
}

fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tab".to_owned(),
        d => format!("'{}'", char::from(d)),
    }
}

impl TextFile {
    /// Opens a file and matches its header to the declared columns.
    pub(crate) fn open(path: &Path, delimiter: u8, columns: &[Column], source: &str) -> Result<Self> {
        if is_spreadsheet(path) {
            return Self::open_sheet(path, columns, source);
        }
        let fail = |message: String| Error::Source { path: path.to_owned(), message };
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if size == 0 {
            return Err(fail("the file is empty: no header and no rows".into()));
        }
        let bytes = Arc::new(AtomicU64::new(0));
        let counted = Counted { inner: BufReader::with_capacity(256 * 1024, file), bytes: bytes.clone() };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(256 * 1024)
            .from_reader(counted);
        let mut rec = ByteRecord::new();
        if !reader.read_byte_record(&mut rec).map_err(|e| Error::csv(path, e))? {
            return Err(fail("the file is empty: no header and no rows".into()));
        }
        let header: Vec<String> = rec
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let f = if i == 0 { f.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(f) } else { f };
                decode(f).0.into_owned()
            })
            .collect();
        let positions = read_positions(columns, match_header(path, &header, columns, source, Some(delimiter))?);
        let layout = Layout { positions, width: header.len() };
        Ok(Self { path: path.to_owned(), reader: Reader::Csv(reader), layout, bytes, size })
    }

    /// Opens the first sheet of a spreadsheet (read whole: registries kept as
    /// spreadsheets are small).
    fn open_sheet(path: &Path, columns: &[Column], source: &str) -> Result<Self> {
        use calamine::Reader as _;
        let fail = |message: String| Error::Source { path: path.to_owned(), message };
        let size = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
        let mut book =
            calamine::open_workbook_auto(path).map_err(|e| fail(format!("not a readable spreadsheet: {e}")))?;
        let range = book
            .worksheet_range_at(0)
            .ok_or_else(|| fail("the spreadsheet has no sheet".into()))?
            .map_err(|e| fail(format!("cannot read the first sheet: {e}")))?;
        let first_row = u64::from(range.start().map_or(0, |(r, _)| r)) + 1;
        let mut rows = range.rows().map(|r| r.iter().map(cell_text).collect::<Vec<String>>());
        let header: Vec<String> = rows
            .next()
            .ok_or_else(|| fail("the first sheet is empty: no header and no rows".into()))?
            .into_iter()
            .map(|h| h.trim().to_owned())
            .collect();
        let positions = read_positions(columns, match_header(path, &header, columns, source, None)?);
        let rest: Vec<Vec<String>> = rows.collect();
        let bytes = Arc::new(AtomicU64::new(0));
        Ok(Self {
            path: path.to_owned(),
            reader: Reader::Sheet(rest.into_iter(), first_row + 1),
            layout: Layout { positions, width: header.len() },
            bytes,
            size,
        })
    }

    /// Reads the next record into `buf`; `false` at the end of the file.
    pub(crate) fn next(&mut self, buf: &mut ByteRecord) -> Result<bool> {
        match &mut self.reader {
            Reader::Csv(r) => r.read_byte_record(buf).map_err(|e| Error::csv(&self.path, e)),
            Reader::Sheet(rows, line) => {
                let Some(row) = rows.next() else {
                    self.bytes.store(self.size, Ordering::Relaxed);
                    return Ok(false);
                };
                buf.clear();
                // Trailing empty cells are not missing fields.
                let header = self.layout.width;
                let width = row.len().max(header);
                for i in 0..width {
                    buf.push_field(row.get(i).map_or("", String::as_str).as_bytes());
                }
                if width > header && row[header..].iter().all(String::is_empty) {
                    buf.truncate(header);
                }
                let mut pos = csv::Position::new();
                pos.set_line(*line);
                buf.set_position(Some(pos));
                *line += 1;
                Ok(true)
            }
        }
    }
}

/// Where the declared columns are in a record, and the header's width: what decoding
/// needs, shared by the threads that check rows.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// Declared column → its position in a record (`None`: an optional column absent).
    positions: Vec<Option<usize>>,
    /// Fields in the header.
    pub(crate) width: usize,
}

impl Layout {
    /// Decodes a record read by [`TextFile::next`] into `fields` (declared column →
    /// its trimmed text, empty when absent), reusing its room.
    pub(crate) fn decode<'r>(&self, rec: &'r ByteRecord, fields: &mut Vec<Cow<'r, str>>) -> Record {
        let mut latin1 = 0;
        fields.clear();
        // Usually the whole record is UTF-8: one check, then each field is a slice of it
        // (a slice not on character boundaries is decoded alone, as below).
        let whole = std::str::from_utf8(rec.as_slice()).ok();
        fields.extend(self.positions.iter().map(|p| {
            let Some(i) = *p else { return Cow::Borrowed("") };
            if let Some(text) = whole.zip(rec.range(i)).and_then(|(w, r)| w.get(r)) {
                return Cow::Borrowed(text.trim());
            }
            match rec.get(i) {
                Some(bytes) => {
                    let (text, was_latin1) = decode(bytes);
                    latin1 += u32::from(was_latin1);
                    text
                }
                None => Cow::Borrowed(""),
            }
        }));
        Record { line: rec.position().map_or(0, |p| p.line()), width: rec.len(), latin1 }
    }
}
