//! Output writers ([`Sink`]s) and safe output files.
//!
//! Values are formatted once per flow, never per packet. Files are written to
//! a temporary file beside the target and renamed into place on success, so a
//! failed run never leaves a half-written file nor destroys an existing one.

mod atomic;
mod partition;
mod text;

#[cfg(feature = "arrow")]
pub mod arrow;
#[cfg(feature = "parquet")]
pub mod parquet;

pub use atomic::{remove_temp_files, OutputFile};
pub(crate) use atomic::{temp_dirs, track_temp_file, untrack_temp_file};
pub use partition::{PartitionKey, PartitionedDir};
pub use text::{CsvSink, JsonSink, JsonlSink};

use crate::error::Result;
use crate::features::{Cells, Column, Value};
use std::path::Path;

/// Receives rows. `begin` is called once with the columns before any row,
/// `finish` once after the last.
pub trait Sink {
    /// Called once, before any row.
    fn begin(&mut self, columns: &[&'static Column]) -> Result<()>;
    /// One row, values in column order.
    fn row(&mut self, values: &[Value]) -> Result<()>;
    /// Called once after the last row; flushes.
    fn finish(&mut self) -> Result<()>;
    /// Rows written cell by cell, with no [`Value`] built, when the sink
    /// formats text itself (CSV). The rows are the same as through `row`.
    fn direct(&mut self) -> Option<&mut dyn DirectRows> {
        None
    }
    /// Pass the complete rows written so far on to the writer (a live
    /// capture writes rows as flows end); nothing for formats whose rows
    /// are only readable once finished (Parquet).
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
    /// The rows that follow come from the capture file `path` (called
    /// before each input file's rows; files are written in input order).
    fn next_file(&mut self, _path: &Path) {}
    /// A formatter of rows as this sink writes them, for another thread
    /// (called after [`Sink::begin`]); its text goes to
    /// [`Sink::write_formatted`]. `None` (the default) when the sink does
    /// not write text: rows then come through [`Sink::row`] or
    /// [`Sink::direct`].
    fn formatter(&self) -> Option<Box<dyn RowFormatter>> {
        None
    }
    /// Write `rows` rows formatted by a [`Sink::formatter`] of this sink,
    /// as they are, after the rows written so far.
    fn write_formatted(&mut self, text: &[u8], rows: u64) -> Result<()> {
        let _ = (text, rows);
        unreachable!("write_formatted on a sink without a formatter")
    }
}

/// Bytes of formatted rows a worker thread collects before it hands them
/// to the writing thread.
pub(crate) const FORMATTED_CHUNK: usize = 64 * 1024;

/// Formats rows into text on any thread, byte for byte as the sink that
/// made it ([`Sink::formatter`]) would write them, so that formatting can
/// run beside reading and flow building.
pub trait RowFormatter: Send {
    /// Start a row; its cells go to the returned [`Cells`], in column order.
    fn start_row(&mut self) -> &mut dyn Cells;
    /// End the row started last.
    fn end_row(&mut self);
    /// The text of the rows formatted since it was last emptied; the
    /// caller takes it (e.g. with `std::mem::take` or `clear`).
    fn output(&mut self) -> &mut Vec<u8>;
}

/// A sink that takes rows cell by cell ([`Sink::direct`]).
pub trait DirectRows {
    /// Start a row; its cells go to the returned [`Cells`], in column order.
    fn start_row(&mut self) -> &mut dyn Cells;
    /// End the row started last.
    fn end_row(&mut self) -> Result<()>;
}

/// Collects rows in memory (for library users and tests).
#[derive(Debug, Default)]
pub struct VecSink {
    /// The column names.
    pub columns: Vec<&'static str>,
    /// The rows.
    pub rows: Vec<Vec<Value>>,
}

impl Sink for VecSink {
    fn begin(&mut self, columns: &[&'static Column]) -> Result<()> {
        self.columns = columns.iter().map(|c| c.name).collect();
        Ok(())
    }
    fn row(&mut self, values: &[Value]) -> Result<()> {
        self.rows.push(values.to_vec());
        Ok(())
    }
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

impl VecSink {
    /// The value of `column` in row `i`.
    pub fn get(&self, i: usize, column: &str) -> Option<&Value> {
        let c = self.columns.iter().position(|n| *n == column)?;
        self.rows.get(i)?.get(c)
    }
}

/// Output file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// Apache Parquet, zstd-compressed (cargo feature `parquet`).
    #[cfg(feature = "parquet")]
    Parquet,
}

impl Format {
    /// Every format name accepted by [`Format::from_name`].
    #[cfg(not(feature = "parquet"))]
    pub const NAMES: &'static [&'static str] = &["csv", "json", "jsonl"];
    /// Every format name accepted by [`Format::from_name`].
    #[cfg(feature = "parquet")]
    pub const NAMES: &'static [&'static str] = &["csv", "json", "jsonl", "parquet"];

    /// Parse a format name (`csv`, `json`, `jsonl`/`ndjson`, `parquet`/`pq`
    /// with the `parquet` feature).
    pub fn from_name(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            #[cfg(feature = "parquet")]
            "parquet" | "pq" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// The format a file name's extension implies.
    pub fn from_path(p: &Path) -> Option<Format> {
        Format::from_name(p.extension()?.to_str()?)
    }

    /// A sink of this format writing to `w`.
    pub fn sink<W: std::io::Write + 'static>(self, w: W, target: &str) -> Box<dyn Sink> {
        match self {
            Format::Csv => Box::new(CsvSink::new(w, target)),
            Format::Json => Box::new(JsonSink::new(w, target)),
            Format::Jsonl => Box::new(JsonlSink::new(w, target)),
            #[cfg(feature = "parquet")]
            Format::Parquet => Box::new(parquet::ParquetSink::new(w, target)),
        }
    }
}
