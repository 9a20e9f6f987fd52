//! Workbooks for Excel users: sheets of headers and rows, numbers as numbers, a hidden
//! value written as its disclosure mark (`*`, `**`) so that it is never read as zero.

use rust_xlsxwriter::{Format, Workbook};

/// A cell of a sheet.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A number; `None` is written as `mark` (a hidden value) or left empty.
    Num(Option<f64>, &'static str),
}

impl Cell {
    /// Text.
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// A number, or the mark of a hidden one.
    pub fn num(x: Option<f64>, mark: &'static str) -> Cell {
        Cell::Num(x, mark)
    }
}

/// A sheet.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    /// The tab's name (at most 31 characters).
    pub name: String,
    /// Lines written above the table (title, notes).
    pub preamble: Vec<String>,
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<Cell>>,
}

/// Writes the sheets into an XLSX file in memory.
pub fn workbook(sheets: &[Sheet]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    for s in sheets {
        let ws = wb.add_worksheet();
        ws.set_name(s.name.chars().take(31).collect::<String>())?;
        let mut r: u32 = 0;
        for line in &s.preamble {
            ws.write_string(r, 0, line)?;
            r += 1;
        }
        if !s.preamble.is_empty() {
            r += 1;
        }
        for (c, h) in s.headers.iter().enumerate() {
            ws.write_string_with_format(r, col(c), h, &bold)?;
            ws.set_column_width(col(c), (h.chars().count() as f64 + 2.0).max(12.0))?;
        }
        r += 1;
        for row in &s.rows {
            for (c, cell) in row.iter().enumerate() {
                match cell {
                    Cell::Text(t) => {
                        ws.write_string(r, col(c), t)?;
                    }
                    Cell::Num(Some(x), _) if x.fract() == 0.0 => {
                        ws.write_number(r, col(c), *x)?;
                    }
                    Cell::Num(Some(x), _) => {
                        ws.write_number_with_format(r, col(c), *x, &money)?;
                    }
                    Cell::Num(None, mark) if !mark.is_empty() => {
                        ws.write_string(r, col(c), *mark)?;
                    }
                    Cell::Num(None, _) => {}
                }
            }
            r += 1;
        }
        if !s.headers.is_empty() {
            ws.autofilter(
                s.preamble.len() as u32 + u32::from(!s.preamble.is_empty()),
                0,
                r.saturating_sub(1),
                col(s.headers.len() - 1),
            )?;
        }
    }
    wb.save_to_buffer()
}

fn col(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}
