//! Reading a capture in place: a memory-mapped file, or bytes already in
//! memory, parsed by pcap-parser's slice functions without a copy.
//!
//! [`SliceReader`] implements pcap-parser's [`PcapReaderIterator`], so the
//! capture module's one `drive()` loop and block handlers serve it as they
//! serve the streaming readers. To give the same result for every input, it
//! replays what the streaming readers would do with the same bytes: `data()`
//! is the window their buffer would hold at that point (same first read,
//! refills, growth, shifts and end-of-data flags, as in pcap-parser 0.17's
//! `LegacyPcapReader`/`PcapNGReader` over a reader that fills every read),
//! only the window is a range of the file instead of a copy of it. That
//! keeps even the buffer-size-dependent corner cases identical (a block
//! whose length reaches the buffer's capacity, a block whose contents claim
//! more bytes than it holds, followed by more or less data), and is covered
//! by tests comparing both paths on every cut of several captures.
//!
//! Memory: a mapped file's pages count in the process's resident memory once
//! touched, so the pages behind the reading position are released every
//! [`RELEASE_STEP`] bytes; resident memory stays bounded whatever the file
//! size (measured: 7.6 MB peak to count the packets of a 3.3 GB capture,
//! 3.2 GB without the release).
//!
//! Speed: records are found by chasing length fields, so on a map every
//! record header would be a cache miss waiting on the one before (counting
//! packets took twice as long as copying the file through a buffer, which
//! brings the lines in). Hence the cache lines [`PREFETCH_DISTANCE`] bytes
//! ahead are prefetched, and the pages [`FAULT_AHEAD`] bytes ahead are
//! faulted in early, one fault per [`FAULT_STEP`].

use super::CaptureFormat;
use crate::hint::prefetch;
use pcap_parser::nom::{self, Needed, Offset};
use pcap_parser::pcap::{
    parse_pcap_frame, parse_pcap_frame_be, parse_pcap_frame_modified, parse_pcap_header,
    LegacyPcapBlock, PcapHeader,
};
use pcap_parser::pcapng::{parse_block_be, parse_block_le, parse_sectionheaderblock, Block};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};
use std::fs::File;

/// Mapped bytes behind the reading position are released in steps of this
/// many bytes (a multiple of every common page size).
const RELEASE_STEP: usize = 1 << 20;
/// Mapped pages are faulted in this far ahead of the reading position...
const FAULT_AHEAD: usize = 1 << 20;
/// ...by touching one byte in each step of this many bytes: Linux maps the
/// 64 KiB around a faulting address at once (`fault_around_bytes`), which
/// costs less than `MADV_POPULATE_READ` (measured: 0.40 s against 0.45 s to
/// count the packets of a 3.3 GB file) or one fault per page.
const FAULT_STEP: usize = 64 << 10;
/// Cache lines this many bytes ahead of the reading position are prefetched.
const PREFETCH_DISTANCE: usize = 4 << 10;

/// The whole capture.
pub(super) enum Bytes {
    /// A read-only map of a regular file.
    Map(memmap2::Mmap),
    /// Bytes handed to `CaptureReader::from_bytes`.
    Memory(Box<dyn AsRef<[u8]> + Send>),
}

impl Bytes {
    pub(super) fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Map(m) => m,
            Bytes::Memory(b) => (**b).as_ref(),
        }
    }
}

/// Map `file` read-only if it is a non-empty regular file; `None` otherwise
/// (a pipe, a character device, a `/proc` file that reports size 0) or when
/// mapping fails, and the caller reads it as a stream.
pub(super) fn map(file: &File) -> Option<memmap2::Mmap> {
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() == 0 {
        return None;
    }
    // SAFETY: the map is only ever read. The usual caveat of mapping a file
    // applies: were another process to modify it while we read, we would
    // see the new bytes, and were it to shorten it, touching the lost pages
    // would raise SIGBUS; captures are not rewritten in place while read.
    #[allow(unsafe_code)]
    let map = unsafe { memmap2::Mmap::map(file) }.ok()?;
    #[cfg(unix)]
    {
        // Read ahead aggressively: the file is read once, front to back.
        let _ = map.advise(memmap2::Advice::Sequential);
    }
    Some(map)
}

type LegacyParse = fn(&[u8]) -> nom::IResult<&[u8], LegacyPcapBlock<'_>, PcapError<&[u8]>>;

/// What the records are.
enum Records {
    /// Legacy pcap: the file header, returned as the first block, and the
    /// record parser it selects.
    Legacy(PcapHeader, LegacyParse),
    /// pcapng, with the byte order of the current section.
    Ng { big_endian: bool },
}

/// A pcap-parser reader over bytes in place; see the module documentation.
pub(super) struct SliceReader {
    bytes: Bytes,
    records: Records,
    /// File offset of the first unconsumed byte.
    start: usize,
    /// File offset just past the bytes the streaming buffer would hold.
    end: usize,
    /// The streaming buffer's capacity.
    capacity: usize,
    /// The streaming buffer's position: bytes consumed since it last shifted.
    position: usize,
    /// Bytes consumed in all.
    consumed: usize,
    /// The last refill found no more bytes.
    exhausted: bool,
    /// Mapped bytes before this offset have been released.
    released: usize,
    /// Mapped bytes before this offset have been faulted in.
    faulted: usize,
}

impl SliceReader {
    /// Check the file header as the streaming reader of `format` does (on
    /// its first read: the first `capacity` bytes at most) and start
    /// reading with a buffer of `capacity` bytes.
    pub(super) fn new(
        bytes: Bytes,
        format: CaptureFormat,
        capacity: usize,
    ) -> Result<SliceReader, PcapError<&'static [u8]>> {
        let all = bytes.as_slice();
        let end = all.len().min(capacity);
        let first = &all[..end];
        let owned = |e: nom::Err<PcapError<&[u8]>>| match e {
            nom::Err::Error(e) | nom::Err::Failure(e) => e.to_owned_vec(),
            nom::Err::Incomplete(Needed::Size(n)) => PcapError::Incomplete(n.into()),
            nom::Err::Incomplete(Needed::Unknown) => PcapError::Incomplete(0),
        };
        let records = match format {
            CaptureFormat::Pcap { .. } => {
                let (_, header) = parse_pcap_header(first).map_err(owned)?;
                let parse: LegacyParse = if header.is_modified_format() {
                    parse_pcap_frame_modified
                } else if header.is_bigendian() {
                    parse_pcap_frame_be
                } else {
                    parse_pcap_frame
                };
                Records::Legacy(header, parse)
            }
            CaptureFormat::PcapNg => {
                parse_sectionheaderblock(first).map_err(owned)?;
                Records::Ng { big_endian: false }
            }
        };
        Ok(SliceReader {
            bytes,
            records,
            start: 0,
            end,
            capacity,
            position: 0,
            consumed: 0,
            exhausted: false,
            released: 0,
            faulted: 0,
        })
    }

    /// Release the mapped pages behind the reading position, in steps of
    /// [`RELEASE_STEP`], and fault in those up to [`FAULT_AHEAD`] bytes
    /// ahead of it. Called from `refill`, when no block is borrowed.
    fn manage_map(&mut self) {
        let Bytes::Map(map) = &self.bytes else {
            return;
        };
        let ahead = (self.start + FAULT_AHEAD).min(map.len());
        if ahead >= self.faulted + FAULT_AHEAD / 2 || ahead == map.len() {
            let mut at = self.faulted.max(self.start);
            while at < ahead {
                std::hint::black_box(map[at]);
                at += FAULT_STEP;
            }
            self.faulted = self.faulted.max(ahead);
        }
        #[cfg(unix)]
        {
            let to = self.start & !(RELEASE_STEP - 1);
            if to > self.released {
                // SAFETY: the map is read-only and file-backed: dropping its
                // pages loses nothing, a later access would read them again
                // from the file. Nothing borrows them: frames live only for
                // the callback that gets them, and `refill` holds `&mut self`.
                #[allow(unsafe_code)]
                let _ = unsafe {
                    map.unchecked_advise_range(
                        memmap2::UncheckedAdvice::DontNeed,
                        self.released,
                        to - self.released,
                    )
                };
                self.released = to;
            }
        }
    }
}

/// How [`SliceReader::legacy_records`] stopped.
pub(super) enum LegacyEnd {
    /// No bytes left.
    Complete,
    /// The bytes end inside a record.
    Truncated,
    /// A record's captured length exceeds the limit given.
    TooLong(u32),
    /// The callback asked to stop (after its record).
    Stopped,
}

impl SliceReader {
    /// Size and link type of the file header of a standard legacy pcap
    /// (not the "modified" format), whose records
    /// [`SliceReader::legacy_records`] reads.
    pub(super) fn plain_legacy(&self) -> Option<(usize, u32)> {
        match &self.records {
            Records::Legacy(h, _) if !h.is_modified_format() => {
                Some((h.size(), h.network.0 as u32))
            }
            _ => None,
        }
    }

    /// Step over the file header (before the first record).
    pub(super) fn skip_header(&mut self, size: usize) {
        self.consumed = size;
        self.start = size;
    }

    /// Read standard legacy pcap records from the current position to the
    /// end, calling `each` with every record and its file offset: the
    /// common case of a mapped capture, in one loop instead of through
    /// the [`PcapReaderIterator`] protocol (a profile found that protocol
    /// and its buffer replay at a fifth of the time of a flow_meta run).
    /// The records and ends are pcap-parser's: the tests compare this
    /// against its streaming reader on every cut of several captures. A
    /// legacy record is never larger than `max_caplen` + 16 bytes, far
    /// below the streaming buffer, so no buffer size can change the end.
    pub(super) fn legacy_records(
        &mut self,
        big_endian: bool,
        max_caplen: u32,
        mut each: impl FnMut(&LegacyPcapBlock<'_>, u64) -> bool,
    ) -> LegacyEnd {
        let u32_at = |b: &[u8], at: usize| {
            let v: [u8; 4] = b[at..at + 4].try_into().expect("four bytes");
            if big_endian {
                u32::from_be_bytes(v)
            } else {
                u32::from_le_bytes(v)
            }
        };
        let mut pos = self.start;
        let mut next_manage = pos;
        let end = loop {
            if pos >= next_manage {
                self.start = pos;
                self.manage_map();
                next_manage = pos + (RELEASE_STEP / 2);
            }
            let all = self.bytes.as_slice();
            let rest = &all[pos..];
            if rest.is_empty() {
                break LegacyEnd::Complete;
            }
            if rest.len() < 12 {
                break LegacyEnd::Truncated;
            }
            let caplen = u32_at(rest, 8);
            if caplen > max_caplen {
                break LegacyEnd::TooLong(caplen);
            }
            let len = 16 + caplen as usize;
            if rest.len() < len {
                break LegacyEnd::Truncated;
            }
            // Every cache line [`PREFETCH_DISTANCE`] ahead of this record's,
            // each once (fewer, e.g. only record headers, measured slower).
            let to = (pos + len + PREFETCH_DISTANCE).min(all.len());
            let mut line = (pos + PREFETCH_DISTANCE).next_multiple_of(64);
            while line < to {
                prefetch(&all[line]);
                line += 64;
            }
            let block = LegacyPcapBlock {
                ts_sec: u32_at(rest, 0),
                ts_usec: u32_at(rest, 4),
                caplen,
                origlen: u32_at(rest, 12),
                data: &rest[16..len],
            };
            let go = each(&block, pos as u64);
            pos += len;
            if !go {
                break LegacyEnd::Stopped;
            }
        };
        self.start = pos;
        self.consumed = pos;
        self.end = self.end.max(pos);
        end
    }
}

impl PcapReaderIterator for SliceReader {
    fn next(&mut self) -> Result<(usize, PcapBlockOwned<'_>), PcapError<&'_ [u8]>> {
        if let Records::Legacy(header, _) = &self.records {
            if self.consumed == 0 {
                return Ok((header.size(), PcapBlockOwned::from(header.clone())));
            }
        }
        if self.start == self.end && self.position == 0 && self.exhausted {
            return Err(PcapError::Eof);
        }
        let data = &self.bytes.as_slice()[self.start..self.end];
        let parsed = match &mut self.records {
            Records::Legacy(_, parse) => parse(data).map(|(rem, b)| (rem, PcapBlockOwned::from(b))),
            Records::Ng { big_endian } => {
                let parse = if *big_endian {
                    parse_block_be
                } else {
                    parse_block_le
                };
                parse(data).map(|(rem, b)| {
                    if let Block::SectionHeader(shb) = &b {
                        *big_endian = shb.big_endian();
                    }
                    (rem, PcapBlockOwned::from(b))
                })
            }
        };
        match parsed {
            Ok((rem, block)) => Ok((data.offset(rem), block)),
            Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => Err(e),
            Err(nom::Err::Incomplete(_)) if self.exhausted => Err(PcapError::UnexpectedEof),
            Err(nom::Err::Incomplete(Needed::Size(n))) => {
                if data.len() + usize::from(n) >= self.capacity {
                    Err(PcapError::BufferTooSmall)
                } else {
                    Err(PcapError::Incomplete(n.into()))
                }
            }
            Err(nom::Err::Incomplete(Needed::Unknown)) => Err(PcapError::Incomplete(0)),
        }
    }

    fn consume(&mut self, offset: usize) {
        self.consume_noshift(offset);
        if self.position > self.capacity / 2 {
            self.position = 0;
        }
    }

    fn consume_noshift(&mut self, offset: usize) {
        self.consumed += offset;
        let n = offset.min(self.end - self.start);
        // The lines ahead, each once: those of the `n` bytes now passed,
        // shifted by the prefetch distance.
        let all = self.bytes.as_slice();
        let to = (self.start + n + PREFETCH_DISTANCE).min(all.len());
        let mut at = (self.start + PREFETCH_DISTANCE).next_multiple_of(64);
        while at < to {
            prefetch(&all[at]);
            at += 64;
        }
        self.start += n;
        self.position += n;
    }

    fn consumed(&self) -> usize {
        self.consumed
    }

    fn refill(&mut self) -> Result<(), PcapError<&[u8]>> {
        self.position = 0;
        let space = self.capacity - (self.end - self.start);
        if space == 0 {
            return Ok(());
        }
        let n = space.min(self.bytes.as_slice().len() - self.end);
        self.exhausted = n == 0;
        self.end += n;
        self.manage_map();
        Ok(())
    }

    fn position(&self) -> usize {
        self.position
    }

    fn grow(&mut self, new_size: usize) -> bool {
        if self.capacity >= new_size {
            return false;
        }
        self.capacity = new_size;
        true
    }

    fn data(&self) -> &[u8] {
        &self.bytes.as_slice()[self.start..self.end]
    }

    fn reader_exhausted(&self) -> bool {
        self.exhausted
    }
}
