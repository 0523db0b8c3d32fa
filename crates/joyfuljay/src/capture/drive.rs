//! The one loop that drives a pcap-parser reader (the streaming readers,
//! and the in-place pcapng reader that follows their buffer), and the
//! translation of pcap-parser's errors into [`ReadEnd`]s and [`Error`]s.

use super::{ReadEnd, BUFFER_SIZE, MAX_RECORD_LEN};
use crate::error::{Error, Result};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};
use std::path::Path;

/// What a block handler tells [`drive`].
pub(super) enum Step {
    /// Next block.
    Go,
    /// The caller asked to stop.
    Stop,
    /// Stop reading: the file is damaged here.
    End(ReadEnd),
}

/// Drive a pcap-parser reader to the end of the file: refill the buffer,
/// grow it for large records (up to [`MAX_RECORD_LEN`]), and turn the end of
/// the data into [`ReadEnd`]s. `bad_record` looks at the record header at the
/// start of the unparsed data and names an impossible length before the
/// parser sees it; `handle` gets every block with its file offset.
pub(super) fn drive(
    reader: &mut dyn PcapReaderIterator,
    offset: &mut u64,
    path: &Path,
    bad_record: &mut dyn FnMut(&[u8]) -> Option<String>,
    handle: &mut dyn FnMut(PcapBlockOwned<'_>, u64) -> Step,
) -> Result<ReadEnd> {
    let mut capacity = BUFFER_SIZE;
    loop {
        if let Some(detail) = bad_record(reader.data()) {
            return Ok(ReadEnd::Corrupt {
                offset: *offset,
                detail,
            });
        }
        let (consumed, step) = match reader.next() {
            Ok((len, block)) => (len, handle(block, *offset)),
            Err(PcapError::Eof) => return Ok(ReadEnd::Complete),
            Err(PcapError::Incomplete(_)) => {
                reader.refill().map_err(|_| read_error(path))?;
                continue;
            }
            Err(PcapError::BufferTooSmall) | Err(PcapError::UnexpectedEof) => {
                if reader.reader_exhausted() {
                    return Ok(ReadEnd::Truncated { offset: *offset });
                }
                if capacity >= MAX_RECORD_LEN {
                    return Ok(too_large(*offset));
                }
                capacity *= 4;
                reader.grow(capacity);
                reader.refill().map_err(|_| read_error(path))?;
                continue;
            }
            Err(PcapError::ReadError) => return Err(read_error(path)),
            Err(e) => {
                return Ok(ReadEnd::Corrupt {
                    offset: *offset,
                    detail: header_detail(&e),
                })
            }
        };
        *offset += consumed as u64;
        reader.consume(consumed);
        match step {
            Step::Go => {}
            Step::Stop => return Ok(ReadEnd::Stopped),
            Step::End(end) => return Ok(end),
        }
    }
}

/// The error for a file header pcap-parser rejects.
pub(super) fn bad_header(path: &Path, e: PcapError<&[u8]>) -> Error {
    Error::BadHeader {
        path: path.to_path_buf(),
        detail: match e {
            PcapError::Incomplete(_) | PcapError::UnexpectedEof | PcapError::Eof => {
                "file ends inside the header".to_string()
            }
            other => header_detail(&other),
        },
    }
}

/// The end of a record too large for the largest buffer.
fn too_large(offset: u64) -> ReadEnd {
    ReadEnd::Corrupt {
        offset,
        detail: format!("record length exceeds {} MiB", MAX_RECORD_LEN >> 20),
    }
}

/// The error for a failed read of the underlying stream.
fn read_error(path: &Path) -> Error {
    Error::io(path, std::io::Error::other("read failed"))
}

/// What a pcap-parser error says is wrong with a header or block.
fn header_detail(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::NomError(_, kind) => format!("unparsable block ({kind:?})"),
        PcapError::OwnedNomError(_, kind) => format!("unparsable block ({kind:?})"),
        PcapError::HeaderNotRecognized => "header not recognised".to_string(),
        other => other.to_string(),
    }
}
