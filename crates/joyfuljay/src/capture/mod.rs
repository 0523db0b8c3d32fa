//! Capture readers: pcap and pcapng in, [`Frame`]s out.
//!
//! Only this module names `pcap_parser` types. A regular, uncompressed file
//! is memory-mapped and its records parsed in place (no copy; the mapped
//! pages behind the reading position are released as it goes, so resident
//! memory stays bounded whatever the file size). Anything else (standard
//! input, pipes, compressed captures, or a file that cannot be mapped) is
//! streamed through a reused buffer, in constant memory. Both give the same
//! frames and the same end for every input: the in-place reader replays the
//! streaming buffer's windows over the mapped bytes (see `in_place`).

mod format;
mod in_place;

pub use format::{detect, CaptureFormat, Detected, MAGIC_LEN};

use crate::error::{Error, Result};
use in_place::{Bytes, LegacyEnd, LegacySlice, NgSlice};
use pcap_parser::pcap::LegacyPcapBlock;
use pcap_parser::pcapng::Block;
use pcap_parser::{
    traits::PcapReaderIterator, LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader,
};
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

/// Initial read buffer size.
const BUFFER_SIZE: usize = 1 << 20;
/// Largest record (pcap record or pcapng block) we accept; a larger one is
/// treated as a corrupt length field.
pub const MAX_RECORD_LEN: usize = 16 << 20;
/// Largest captured packet in a legacy pcap record (Wireshark uses the same bound).
pub const MAX_PCAP_CAPLEN: u32 = 262_144;
/// Timestamps are clamped to ±this many microseconds (about 146,000 years),
/// so the difference of any two never overflows an `i64` (a pcapng
/// `if_tsoffset` can push them to either end of the range).
pub const MAX_TS_US: i64 = (1 << 62) - 1;
/// Most pcapng interfaces described in one section; more is treated as a
/// corrupt file (each costs memory for the rest of the section).
pub const MAX_INTERFACES: usize = 65_536;

/// One captured packet, borrowed from the reader's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Timestamp in microseconds since the Unix epoch (rounded from finer
    /// resolutions), within ±[`MAX_TS_US`].
    pub ts_us: i64,
    /// Link type (LINKTYPE_* number) of the interface that captured it.
    pub link_type: u32,
    /// Length of the packet on the wire.
    pub orig_len: u32,
    /// Captured bytes (possibly fewer than `orig_len`).
    pub data: &'a [u8],
    /// File offset of the record holding this packet.
    pub offset: u64,
}

/// How reading a capture ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadEnd {
    /// The whole file was read.
    Complete,
    /// The file ends in the middle of a record; everything before `offset` was read.
    Truncated {
        /// File offset of the incomplete record.
        offset: u64,
    },
    /// The caller stopped reading early.
    Stopped,
    /// A record with an impossible length or layout; reading stopped there.
    Corrupt {
        /// File offset of the bad record.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
}

impl ReadEnd {
    /// A one-line warning for an incomplete read, `None` when complete.
    pub fn warning(&self, path: &Path) -> Option<String> {
        match self {
            ReadEnd::Complete | ReadEnd::Stopped => None,
            ReadEnd::Truncated { offset } => Some(format!(
                "{}: capture is cut short at byte offset {offset} (incomplete record); kept every complete packet before it",
                path.display()
            )),
            ReadEnd::Corrupt { offset, detail } => Some(format!(
                "{}: corrupt record at byte offset {offset} ({detail}); stopped reading this file there",
                path.display()
            )),
        }
    }
}

#[derive(Clone, Copy)]
struct Interface {
    link_type: u32,
    /// Timestamp units per second as (base, exponent): 10^n or 2^n.
    resol: Resolution,
    offset_s: i64,
}

#[derive(Clone, Copy)]
enum Resolution {
    Pow10(u32),
    Pow2(u32),
}

impl Resolution {
    fn from_tsresol(v: u8) -> Resolution {
        if v & 0x80 == 0 {
            Resolution::Pow10(u32::from(v))
        } else {
            Resolution::Pow2(u32::from(v & 0x7f))
        }
    }

    /// Convert a count of units into microseconds, rounding half away from zero.
    fn to_us(self, ticks: u64) -> i64 {
        let t = u128::from(ticks);
        let us = match self {
            Resolution::Pow10(n) if n <= 6 => t * 10u128.pow(6 - n),
            Resolution::Pow10(n) => {
                let d = 10u128.checked_pow(n - 6).unwrap_or(u128::MAX);
                (t + d / 2) / d
            }
            Resolution::Pow2(n) => {
                if n >= 100 {
                    0
                } else {
                    let d = 1u128 << n;
                    (t * 1_000_000 + d / 2) / d
                }
            }
        };
        i64::try_from(us).unwrap_or(i64::MAX)
    }
}

/// Where records come from.
enum Inner {
    /// Streamed legacy pcap.
    Legacy(LegacyPcapReader<Box<dyn Read + Send>>),
    /// Streamed pcapng.
    Ng(PcapNGReader<Box<dyn Read + Send>>),
    /// Legacy pcap in place: a mapped file or bytes in memory.
    InPlaceLegacy(LegacySlice),
    /// pcapng in place: a mapped file or bytes in memory.
    InPlaceNg(NgSlice),
}

/// A reader over one capture file.
pub struct CaptureReader {
    path: PathBuf,
    format: CaptureFormat,
    inner: Inner,
    /// Absolute file offset of the next record.
    offset: u64,
    legacy_link: u32,
    legacy_nanos: bool,
    big_endian: bool,
    interfaces: Vec<Interface>,
    link_types_seen: Vec<u32>,
}

impl CaptureReader {
    /// Open a capture file (`-`: standard input), detecting its format from
    /// the magic number. Gzip- and zstd-compressed captures are decompressed
    /// on the fly. A regular uncompressed file is memory-mapped and read in
    /// place; if it cannot be mapped it is streamed, with the same result.
    pub fn open(path: &Path) -> Result<CaptureReader> {
        if path.as_os_str() == "-" {
            return Self::from_reader(Path::new("<stdin>"), Box::new(std::io::stdin()));
        }
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        if let Some(map) = in_place::map(&file) {
            if !compressed(&map) {
                return Self::in_place(path, Bytes::Map(map));
            }
        }
        Self::from_reader(path, Box::new(file))
    }

    /// Read a capture held in memory, in place: frames borrow from `bytes`,
    /// nothing is copied. Frames, [`ReadEnd`] and offsets are those
    /// [`CaptureReader::from_reader`] gives for the same bytes. Compressed
    /// bytes are decompressed as a stream. `path` names it in messages.
    pub fn from_bytes(
        path: &Path,
        bytes: impl AsRef<[u8]> + Send + 'static,
    ) -> Result<CaptureReader> {
        if compressed(bytes.as_ref()) {
            return Self::from_reader(path, Box::new(Cursor::new(bytes)));
        }
        Self::in_place(path, Bytes::Memory(Box::new(bytes)))
    }

    fn in_place(path: &Path, bytes: Bytes) -> Result<CaptureReader> {
        let all = bytes.as_slice();
        let format = format_of(path, &all[..all.len().min(MAGIC_LEN)])?;
        let inner = match format {
            CaptureFormat::Pcap { .. } => LegacySlice::new(bytes).map(Inner::InPlaceLegacy),
            CaptureFormat::PcapNg => NgSlice::new(bytes, BUFFER_SIZE).map(Inner::InPlaceNg),
        }
        .map_err(|e| bad_header(path, e))?;
        Ok(Self::with(path, format, inner))
    }

    /// Read a capture from any byte stream; `path` names it in messages.
    pub fn from_reader(path: &Path, mut reader: Box<dyn Read + Send>) -> Result<CaptureReader> {
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
        let stream: Box<dyn Read + Send> = Box::new(Greedy(Cursor::new(head).chain(reader), false));
        let bad_header = |e| bad_header(path, e);
        let inner = match format {
            CaptureFormat::Pcap { .. } => {
                Inner::Legacy(LegacyPcapReader::new(BUFFER_SIZE, stream).map_err(bad_header)?)
            }
            CaptureFormat::PcapNg => {
                Inner::Ng(PcapNGReader::new(BUFFER_SIZE, stream).map_err(bad_header)?)
            }
        };
        Ok(Self::with(path, format, inner))
    }

    fn with(path: &Path, format: CaptureFormat, inner: Inner) -> CaptureReader {
        CaptureReader {
            path: path.to_path_buf(),
            format,
            inner,
            offset: 0,
            legacy_link: 0,
            legacy_nanos: matches!(
                format,
                CaptureFormat::Pcap {
                    nanosecond: true,
                    ..
                }
            ),
            big_endian: matches!(
                format,
                CaptureFormat::Pcap {
                    big_endian: true,
                    ..
                }
            ),
            interfaces: Vec::new(),
            link_types_seen: Vec::new(),
        }
    }

    /// The detected container format.
    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// Whether records are parsed in place (a memory-mapped file, or bytes
    /// given to [`CaptureReader::from_bytes`]) rather than streamed through a
    /// buffer.
    pub fn reads_in_place(&self) -> bool {
        matches!(self.inner, Inner::InPlaceLegacy(_) | Inner::InPlaceNg(_))
    }

    /// The file this reader reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes of the file consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Link types declared so far (pcap header, pcapng interfaces), in order of first appearance.
    pub fn link_types(&self) -> &[u32] {
        &self.link_types_seen
    }

    /// Call `on_frame` for every packet, in file order, until the end of the
    /// file, a truncated/corrupt record, or `on_frame` returning `false`.
    /// Packets in pcapng that refer to an undescribed interface are passed to
    /// `on_unknown_interface`.
    pub fn for_each(
        &mut self,
        mut on_frame: impl FnMut(&Frame<'_>) -> bool,
        mut on_unknown_interface: impl FnMut(),
    ) -> Result<ReadEnd> {
        let CaptureReader {
            path,
            format,
            inner,
            offset,
            legacy_link,
            legacy_nanos,
            big_endian,
            interfaces,
            link_types_seen,
            ..
        } = self;
        let mut note_link = |lt: u32| {
            if !link_types_seen.contains(&lt) {
                link_types_seen.push(lt);
            }
        };
        let reader: &mut dyn PcapReaderIterator = match inner {
            Inner::InPlaceLegacy(r) => {
                // Legacy pcap in place is read in one loop (see
                // `LegacySlice::records`), not through `drive`.
                if let Some(link) = r.skip_header() {
                    *legacy_link = link;
                    note_link(link);
                }
                let link = *legacy_link;
                let nanos = *legacy_nanos;
                let end = r.records(*big_endian, MAX_PCAP_CAPLEN, |b, at| {
                    on_frame(&legacy_frame(b, nanos, link, at))
                });
                *offset = r.consumed() as u64;
                return Ok(match end {
                    LegacyEnd::Complete => ReadEnd::Complete,
                    LegacyEnd::Stopped => ReadEnd::Stopped,
                    LegacyEnd::Truncated => ReadEnd::Truncated { offset: *offset },
                    LegacyEnd::TooLong(c) => ReadEnd::Corrupt {
                        offset: *offset,
                        detail: too_long(c),
                    },
                });
            }
            Inner::Legacy(r) => r,
            Inner::Ng(r) => r,
            Inner::InPlaceNg(r) => r,
        };
        match format {
            CaptureFormat::Pcap { .. } => {
                let big_endian = *big_endian;
                let nanos = *legacy_nanos;
                // The first "record" is the file header: check only after it.
                let header_seen = std::cell::Cell::new(false);
                let check = |data: &[u8]| {
                    let c = legacy_caplen(data, big_endian).filter(|_| header_seen.get())?;
                    (c > MAX_PCAP_CAPLEN).then(|| too_long(c))
                };
                drive(reader, offset, path, &mut |d| check(d), &mut |block, at| {
                    match block {
                        PcapBlockOwned::LegacyHeader(h) => {
                            header_seen.set(true);
                            *legacy_link = h.network.0 as u32;
                            note_link(*legacy_link);
                        }
                        PcapBlockOwned::Legacy(b) => {
                            if !on_frame(&legacy_frame(&b, nanos, *legacy_link, at)) {
                                return Step::Stop;
                            }
                        }
                        PcapBlockOwned::NG(_) => {}
                    }
                    Step::Go
                })
            }
            CaptureFormat::PcapNg => {
                let check = |data: &[u8]| {
                    let len = ng_block_len(data)?;
                    if len < 12 {
                        // pcap-parser 0.17 subtracts 12 from it unchecked (a
                        // panic with overflow checks, a 4 GiB read otherwise).
                        Some(format!("block length {len} is below the 12-byte minimum"))
                    } else if len > MAX_RECORD_LEN {
                        Some(format!(
                            "block length {len} exceeds {} MiB",
                            MAX_RECORD_LEN >> 20
                        ))
                    } else {
                        None
                    }
                };
                drive(reader, offset, path, &mut |d| check(d), &mut |block, at| {
                    let frame_of = |ifc: &Interface, ts_us: i64, orig_len: u32, data| Frame {
                        ts_us,
                        link_type: ifc.link_type,
                        orig_len,
                        data,
                        offset: at,
                    };
                    match block {
                        PcapBlockOwned::NG(Block::SectionHeader(_)) => interfaces.clear(),
                        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                            if interfaces.len() >= MAX_INTERFACES {
                                return Step::End(ReadEnd::Corrupt {
                                    offset: at,
                                    detail: format!(
                                        "more than {MAX_INTERFACES} interfaces in one section"
                                    ),
                                });
                            }
                            let lt = idb.linktype.0 as u32;
                            interfaces.push(Interface {
                                link_type: lt,
                                resol: Resolution::from_tsresol(idb.if_tsresol),
                                offset_s: idb.if_tsoffset,
                            });
                            note_link(lt);
                        }
                        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                            match interfaces.get(epb.if_id as usize) {
                                Some(ifc) => {
                                    let ticks =
                                        (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                                    let ts_us = ifc
                                        .resol
                                        .to_us(ticks)
                                        .saturating_add(ifc.offset_s.saturating_mul(1_000_000))
                                        .clamp(-MAX_TS_US, MAX_TS_US);
                                    if !on_frame(&frame_of(ifc, ts_us, epb.origlen, epb.data)) {
                                        return Step::Stop;
                                    }
                                }
                                None => on_unknown_interface(),
                            }
                        }
                        PcapBlockOwned::NG(Block::SimplePacket(spb)) => match interfaces.first() {
                            Some(ifc) => {
                                if !on_frame(&frame_of(ifc, 0, spb.origlen, spb.data)) {
                                    return Step::Stop;
                                }
                            }
                            None => on_unknown_interface(),
                        },
                        _ => {}
                    }
                    Step::Go
                })
            }
        }
    }
}

/// What a block handler tells [`drive`].
enum Step {
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
fn drive(
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

/// The block length of the pcapng block at the start of `data` (the smaller
/// reading of both byte orders, so a valid length is never misread as huge).
fn ng_block_len(data: &[u8]) -> Option<usize> {
    let b: [u8; 4] = data.get(4..8)?.try_into().ok()?;
    Some(u32::from_le_bytes(b).min(u32::from_be_bytes(b)) as usize)
}

/// The captured length field of the legacy pcap record at the start of `data`.
fn legacy_caplen(data: &[u8], big_endian: bool) -> Option<u32> {
    let b: [u8; 4] = data.get(8..12)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// Whether a file starting with `head` is gzip- or zstd-compressed.
fn compressed(head: &[u8]) -> bool {
    head.starts_with(GZIP_MAGIC) || head.starts_with(ZSTD_MAGIC)
}

/// The capture format of a file starting with `head` (its first
/// [`MAGIC_LEN`] bytes), or the error naming what it is instead.
fn format_of(path: &Path, head: &[u8]) -> Result<CaptureFormat> {
    match detect(head) {
        Detected::Supported(f) => Ok(f),
        Detected::Unsupported(name) => Err(Error::UnsupportedFormat {
            path: path.to_path_buf(),
            format: Some(name.to_string()),
            hint: hint_for(name),
        }),
        Detected::Unknown => Err(Error::UnsupportedFormat {
            path: path.to_path_buf(),
            format: None,
            hint: "; not a pcap or pcapng file (convert other capture formats with `editcap -F pcapng IN OUT`)",
        }),
    }
}

/// The error for a file header pcap-parser rejects.
fn bad_header(path: &Path, e: PcapError<&[u8]>) -> Error {
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

/// The frame of a legacy pcap record at file offset `at`.
fn legacy_frame<'a>(b: &LegacyPcapBlock<'a>, nanos: bool, link_type: u32, at: u64) -> Frame<'a> {
    let frac = if nanos {
        (i64::from(b.ts_usec) + 500) / 1000
    } else {
        i64::from(b.ts_usec)
    };
    Frame {
        ts_us: i64::from(b.ts_sec) * 1_000_000 + frac,
        link_type,
        orig_len: b.origlen,
        data: b.data,
        offset: at,
    }
}

/// The detail of a legacy record with an impossible captured length.
fn too_long(caplen: u32) -> String {
    format!("captured length {caplen} exceeds the maximum of {MAX_PCAP_CAPLEN}")
}

fn too_large(offset: u64) -> ReadEnd {
    ReadEnd::Corrupt {
        offset,
        detail: format!("record length exceeds {} MiB", MAX_RECORD_LEN >> 20),
    }
}

fn read_error(path: &Path) -> Error {
    Error::io(path, std::io::Error::other("read failed"))
}

fn header_detail(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::NomError(_, kind) => format!("unparsable block ({kind:?})"),
        PcapError::OwnedNomError(_, kind) => format!("unparsable block ({kind:?})"),
        PcapError::HeaderNotRecognized => "header not recognised".to_string(),
        other => other.to_string(),
    }
}

fn hint_for(name: &str) -> &'static str {
    if name.contains("compressed") || name.contains("archive") {
        "; decompress it first"
    } else if name == "empty file" {
        ""
    } else {
        "; convert it with `editcap -F pcapng IN OUT`"
    }
}
