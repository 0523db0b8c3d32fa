//! Parquet output: rows become Arrow record batches ([`ArrowSink`]), written
//! with zstd compression in row groups of [`ROW_GROUP_ROWS`] rows.
//!
//! The `parquet` crate wants a `Send` writer; standard output's lock is not
//! one. So the encoder writes into a byte buffer that is moved to the real
//! writer after every batch: memory stays bounded by one row group, and any
//! writer works (files, pipes).

use super::arrow::ArrowSink;
use super::Sink;
use crate::error::{Error, Result};
use crate::features::{Column, Value};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::io::Write;
use std::sync::Arc;

/// Rows per Parquet row group.
pub const ROW_GROUP_ROWS: usize = 131_072;

/// Writes rows as one Parquet file (zstd, level 1).
pub struct ParquetSink<W: Write> {
    batches: ArrowSink,
    writer: Option<ArrowWriter<Vec<u8>>>,
    out: W,
    target: String,
}

impl<W: Write> ParquetSink<W> {
    /// A Parquet writer; `target` names the destination in error messages.
    pub fn new(out: W, target: &str) -> Self {
        ParquetSink {
            batches: ArrowSink::default(),
            writer: None,
            out,
            target: target.to_string(),
        }
    }

    fn encode_err(&self, e: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Output {
            target: self.target.clone(),
            source: std::io::Error::other(e),
        }
    }

    fn io_err(&self, e: std::io::Error) -> Error {
        Error::Output {
            target: self.target.clone(),
            source: e,
        }
    }

    /// Encode the completed batches and pass the encoded bytes on.
    fn write_ready(&mut self) -> Result<()> {
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        for b in self.batches.take_ready() {
            if let Err(e) = writer.write(&b) {
                return Err(self.encode_err(e));
            }
        }
        let buf = writer.inner_mut();
        if !buf.is_empty() {
            let r = self.out.write_all(buf);
            buf.clear();
            r.map_err(|e| self.io_err(e))?;
        }
        Ok(())
    }
}

impl<W: Write> Sink for ParquetSink<W> {
    fn begin(&mut self, columns: &[&'static Column]) -> Result<()> {
        self.batches.begin(columns)?;
        let schema = Arc::clone(self.batches.schema().expect("begun"));
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_created_by(format!("joyfuljay {}", crate::VERSION))
            .build();
        let w = ArrowWriter::try_new(Vec::new(), schema, Some(props))
            .map_err(|e| self.encode_err(e))?;
        self.writer = Some(w);
        Ok(())
    }

    fn row(&mut self, values: &[Value]) -> Result<()> {
        self.batches.row(values)?;
        if self.batches.has_ready() {
            self.write_ready()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.batches.finish()?;
        self.write_ready()?;
        if let Some(w) = self.writer.take() {
            let rest = w.into_inner().map_err(|e| self.encode_err(e))?;
            self.out.write_all(&rest).map_err(|e| self.io_err(e))?;
        }
        self.out.flush().map_err(|e| self.io_err(e))
    }
}
