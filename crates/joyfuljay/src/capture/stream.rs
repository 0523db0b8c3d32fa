//! Streamed captures: standard input, pipes, compressed captures (one layer
//! of gzip or zstd, decompressed on the fly) and files that cannot be
//! mapped. pcap-parser's streaming readers read them through a reused
//! buffer, in constant memory.

use super::format::format_of;
use super::CaptureFormat;
use super::MAGIC_LEN;
use crate::error::{Error, Result};
use std::io::{Cursor, Read};
use std::path::Path;

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// Whether a file starting with `head` is gzip- or zstd-compressed.
pub(super) fn compressed(head: &[u8]) -> bool {
    head.starts_with(GZIP_MAGIC) || head.starts_with(ZSTD_MAGIC)
}

/// Open `reader` as a capture: decompress it if it is compressed, detect
/// its format, and return the format with the stream of its bytes from
/// the start (the bytes read to detect it are put back). `path` names it
/// in messages.
pub(super) fn open(
    path: &Path,
    mut reader: Box<dyn Read + Send>,
) -> Result<(CaptureFormat, Box<dyn Read + Send>)> {
    let mut head = Vec::with_capacity(MAGIC_LEN);
    (&mut reader)
        .take(MAGIC_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, e))?;
    // One layer of compression, recognised by its magic number.
    if compressed(&head) {
        let gz = head.starts_with(GZIP_MAGIC);
        let inner = Cursor::new(std::mem::take(&mut head)).chain(reader);
        let mut d: Box<dyn Read + Send> = if gz {
            Box::new(flate2::read::MultiGzDecoder::new(inner))
        } else {
            Box::new(ruzstd::decoding::StreamingDecoder::new(inner).map_err(|e| {
                Error::BadHeader {
                    path: path.to_path_buf(),
                    detail: format!("zstd: {e}"),
                }
            })?)
        };
        (&mut d)
            .take(MAGIC_LEN as u64)
            .read_to_end(&mut head)
            .map_err(|e| Error::BadHeader {
                path: path.to_path_buf(),
                detail: format!("cannot decompress: {e}"),
            })?;
        reader = d;
    }
    let format = format_of(path, &head)?;
    Ok((
        format,
        Box::new(Greedy(Cursor::new(head).chain(reader), false)),
    ))
}

/// Fills each read request as far as the stream allows (the capture parsers
/// expect a whole header from their first read). A read error (a damaged
/// compressed stream, an I/O error) ends the stream there: the records
/// before it are kept and the reader reports a cut-short capture.
struct Greedy<R>(R, bool);

impl<R: Read> Read for Greedy<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < buf.len() && !self.1 {
            match self.0.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => self.1 = true,
            }
        }
        Ok(n)
    }
}
