//! Progress of a run: a bar on a terminal, log lines otherwise.

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

/// How to show progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgressMode {
    /// A bar if standard error is a terminal, else a log line every few seconds.
    #[default]
    Auto,
    /// Nothing.
    Off,
}

/// Progress of one file.
#[derive(Debug)]
pub(crate) struct Progress {
    label: String,
    total: u64,
    tty: bool,
    on: bool,
    started: Instant,
    last: Instant,
    drawn: bool,
}

impl Progress {
    pub(crate) fn new(label: &str, total: u64, mode: ProgressMode) -> Self {
        let now = Instant::now();
        let p = Self {
            label: label.to_owned(),
            total: total.max(1),
            tty: std::io::stderr().is_terminal(),
            on: mode == ProgressMode::Auto,
            started: now,
            last: now,
            drawn: false,
        };
        if p.on && !p.tty {
            tracing::info!(source = %p.label, bytes = total, "reading");
        }
        p
    }

    /// Reports `bytes` read and `rows` done; draws at most every 200 ms on a terminal
    /// and logs at most every 5 s otherwise.
    pub(crate) fn update(&mut self, bytes: u64, rows: u64) {
        if !self.on {
            return;
        }
        let every = if self.tty { Duration::from_millis(200) } else { Duration::from_secs(5) };
        if self.last.elapsed() < every {
            return;
        }
        self.draw(bytes, rows);
    }

    fn draw(&mut self, bytes: u64, rows: u64) {
        self.last = Instant::now();
        let pct = (bytes.min(self.total) * 100 / self.total) as usize;
        let rate = rows as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        if self.tty {
            let filled = pct / 4;
            let bar = format!("{}{}", "=".repeat(filled), " ".repeat(25 - filled));
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{} [{bar}] {pct:>3}%  {rows} rows  {:.0} rows/s ", self.label, rate);
            let _ = err.flush();
            self.drawn = true;
        } else {
            tracing::info!(source = %self.label, percent = pct, rows, rows_per_s = rate as u64, "reading");
        }
    }

    /// Shows the end (the full bar, or a last log line), then clears the bar.
    pub(crate) fn done(&mut self, bytes: u64, rows: u64) {
        if !self.on {
            return;
        }
        if !self.tty {
            let secs = self.started.elapsed().as_secs_f64();
            tracing::info!(source = %self.label, rows, seconds = format!("{secs:.1}"), "read");
            return;
        }
        self.draw(bytes, rows);
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{}\r", " ".repeat(80));
            let _ = err.flush();
            self.drawn = false;
        }
    }
}
