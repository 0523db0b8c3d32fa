//! Reading a capture in place: a regular file through a window of its
//! bytes, or bytes already in memory, parsed without a further copy.
//! Frames borrow the bytes themselves.
//!
//! Legacy pcap records are read by [`LegacySlice`] in one loop, straight
//! from the bytes. A legacy record is never larger than the captured-length
//! bound plus 16 bytes, far below the window, so no window size can change
//! how reading ends, and the loop needs to know nothing about the streaming
//! reader's buffer.
//!
//! A file is read with plain `read` calls into a reused window of
//! [`WINDOW`] bytes; a record cut by the window's end moves to its front
//! before the next read. Nothing is memory-mapped: a capture shortened
//! while it is read (a writer restarting, `truncate`) ends like a cut-short
//! capture, at the last complete record, where a mapped file would take
//! SIGBUS on the lost pages. The copy costs less than a map's page faults
//! (measured: see the README's dependency table, "no memmap2").
//!
//! pcapng blocks in memory are read by [`NgSlice`], which implements
//! pcap-parser's [`PcapReaderIterator`], so the capture module's one
//! `drive()` loop and block handlers serve it as they serve the streaming
//! readers (pcapng files are streamed). A pcapng block can be as large as
//! the streaming buffer, so to give the same result for every input it
//! replays what the streaming reader would do with the same bytes: `data()`
//! is the window its buffer would hold at that point (same first read,
//! refills, growth, shifts and end-of-data flags, as in pcap-parser 0.17's
//! `PcapNGReader` over a reader that fills every read), only the window is
//! a range of the bytes instead of a copy of them. That keeps even the
//! buffer-size-dependent corner cases identical (a block whose length
//! reaches the buffer's capacity, a block whose contents claim more bytes
//! than it holds, followed by more or less data).
//!
//! Both readers are covered by tests comparing them with the streaming
//! readers on every cut of several captures.
//!
//! Speed: records are found by chasing length fields, so every record
//! header would be a cache miss waiting on the one before; the cache lines
//! [`PREFETCH_DISTANCE`] bytes ahead are prefetched.

use crate::hint::prefetch;
use pcap_parser::nom::{self, Needed, Offset};
use pcap_parser::pcap::{parse_pcap_header, LegacyPcapBlock};
use pcap_parser::pcapng::{parse_block_be, parse_block_le, parse_sectionheaderblock, Block};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};
use std::fs::File;
use std::io::Read;

/// Bytes of a file held at once (far above the largest legacy record,
/// 16 + 262,144 bytes).
pub(super) const WINDOW: usize = 8 << 20;
/// Cache lines this many bytes ahead of the reading position are prefetched.
const PREFETCH_DISTANCE: usize = 4 << 10;

/// A regular file read through a window of its bytes: `buf[start..filled]`
/// holds the file's bytes from offset `base + start` on.
pub(super) struct Window {
    file: File,
    buf: Box<[u8]>,
    /// File offset of `buf[0]`.
    base: usize,
    /// Bytes of `buf` holding file data.
    filled: usize,
    /// A read found the end of the file (or failed).
    eof: bool,
}

impl Window {
    /// Read `file` from its current position (its start) through a window
    /// of `size` bytes (grown for a larger record).
    pub(super) fn new(file: File, size: usize) -> Window {
        Window {
            file,
            buf: vec![0; size.max(1)].into_boxed_slice(),
            base: 0,
            filled: 0,
            eof: false,
        }
    }

    /// The file, at the position reading reached.
    pub(super) fn into_file(self) -> File {
        self.file
    }

    /// The bytes held from file offset `pos` on (`pos` at or after the
    /// window's start).
    fn from(&self, pos: usize) -> &[u8] {
        &self.buf[(pos - self.base).min(self.filled)..self.filled]
    }

    /// Make at least `need` bytes from file offset `pos` available, if the
    /// file has them: move the bytes from `pos` to the window's front and
    /// read until it is full or the file ends. A read error ends the file
    /// there (the capture then ends as a cut-short one).
    fn ensure(&mut self, pos: usize, need: usize) {
        if pos + need <= self.base + self.filled || self.eof {
            return;
        }
        let keep = (pos - self.base).min(self.filled);
        self.buf.copy_within(keep..self.filled, 0);
        self.filled -= keep;
        self.base += keep;
        if need > self.buf.len() {
            let mut bigger = vec![0; need].into_boxed_slice();
            bigger[..self.filled].copy_from_slice(&self.buf[..self.filled]);
            self.buf = bigger;
        }
        while self.filled < self.buf.len() {
            match self.file.read(&mut self.buf[self.filled..]) {
                Ok(0) | Err(_) => {
                    // An interrupted read is retried by `read` itself only
                    // for EINTR; anything else ends the data here.
                    self.eof = true;
                    break;
                }
                Ok(n) => self.filled += n,
            }
        }
    }
}

/// The whole capture.
pub(super) enum Bytes {
    /// A regular file, through a window.
    File(Window),
    /// Bytes handed to `CaptureReader::from_bytes`.
    Memory(Box<dyn AsRef<[u8]> + Send>),
}

impl Bytes {
    /// The bytes held from file offset `pos` on, at least `need` of them if
    /// the capture has them.
    fn from(&mut self, pos: usize, need: usize) -> &[u8] {
        match self {
            Bytes::File(w) => {
                w.ensure(pos, need);
                w.from(pos)
            }
            Bytes::Memory(b) => {
                let all = (**b).as_ref();
                &all[pos.min(all.len())..]
            }
        }
    }
}

/// A pcap-parser error about a file header, with the input it borrowed
/// copied, as pcap-parser's streaming readers return it.
fn owned(e: nom::Err<PcapError<&[u8]>>) -> PcapError<&'static [u8]> {
    match e {
        nom::Err::Error(e) | nom::Err::Failure(e) => e.to_owned_vec(),
        nom::Err::Incomplete(Needed::Size(n)) => PcapError::Incomplete(n.into()),
        nom::Err::Incomplete(Needed::Unknown) => PcapError::Incomplete(0),
    }
}

/// How [`LegacySlice::records`] stopped.
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

/// Legacy pcap records in place, read in one loop; see the module
/// documentation.
pub(super) struct LegacySlice {
    bytes: Bytes,
    /// Size of the file header.
    header_len: usize,
    /// Link type named by the file header.
    link: u32,
    /// File offset of the next record; 0 until the file header is skipped.
    pos: usize,
}

impl LegacySlice {
    /// Check the file header as pcap-parser's streaming reader does. (It
    /// parses the header from its first read, the first buffer's worth of
    /// bytes; the header is 24 bytes, far fewer than any buffer, so parsing
    /// it from all the bytes gives the same header or the same error.)
    pub(super) fn new(mut bytes: Bytes) -> Result<LegacySlice, PcapError<&'static [u8]>> {
        let (_, header) = parse_pcap_header(bytes.from(0, 24)).map_err(owned)?;
        Ok(LegacySlice {
            header_len: header.size(),
            link: header.network.0 as u32,
            bytes,
            pos: 0,
        })
    }

    /// Before the first record: step over the file header and return the
    /// link type it names. `None` once that is done.
    pub(super) fn skip_header(&mut self) -> Option<u32> {
        (self.pos == 0).then(|| {
            self.pos = self.header_len;
            self.link
        })
    }

    /// Bytes consumed so far (the file header and every record read).
    pub(super) fn consumed(&self) -> usize {
        self.pos
    }

    /// Read legacy pcap records from the current position to the end,
    /// calling `each` with every record and its file offset, until it
    /// returns `false`; a record whose captured length exceeds
    /// `max_caplen` ends reading. The records and ends are those of
    /// pcap-parser's streaming reader, without its iterator protocol (a
    /// profile put that protocol, with the buffer replay reading in place
    /// would need, at a fifth of a flow_meta run on small packets).
    pub(super) fn records(
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
        let mut pos = self.pos;
        let end = loop {
            let rest = self.bytes.from(pos, 16);
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
            let rest = self.bytes.from(pos, len);
            if rest.len() < len {
                break LegacyEnd::Truncated;
            }
            // Every cache line [`PREFETCH_DISTANCE`] ahead of this record's,
            // each once (fewer, e.g. only record headers, measured slower).
            let to = (len + PREFETCH_DISTANCE).min(rest.len());
            let mut line = PREFETCH_DISTANCE.next_multiple_of(64);
            while line < to {
                prefetch(&rest[line]);
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
        self.pos = pos;
        end
    }
}

/// pcapng blocks in place, through pcap-parser's reader protocol; see the
/// module documentation.
pub(super) struct NgSlice {
    bytes: Box<dyn AsRef<[u8]> + Send>,
    /// The current section is big-endian.
    big_endian: bool,
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
}

impl NgSlice {
    /// Check the section header as the streaming reader does (on its first
    /// read: the first `capacity` bytes at most) and start reading with a
    /// buffer of `capacity` bytes.
    pub(super) fn new(
        bytes: Box<dyn AsRef<[u8]> + Send>,
        capacity: usize,
    ) -> Result<NgSlice, PcapError<&'static [u8]>> {
        let all = (*bytes).as_ref();
        let end = all.len().min(capacity);
        parse_sectionheaderblock(&all[..end]).map_err(owned)?;
        Ok(NgSlice {
            bytes,
            big_endian: false,
            start: 0,
            end,
            capacity,
            position: 0,
            consumed: 0,
            exhausted: false,
        })
    }
}

impl PcapReaderIterator for NgSlice {
    fn next(&mut self) -> Result<(usize, PcapBlockOwned<'_>), PcapError<&'_ [u8]>> {
        if self.start == self.end && self.position == 0 && self.exhausted {
            return Err(PcapError::Eof);
        }
        let data = &(*self.bytes).as_ref()[self.start..self.end];
        let parse = if self.big_endian {
            parse_block_be
        } else {
            parse_block_le
        };
        let parsed = parse(data).map(|(rem, b)| {
            if let Block::SectionHeader(shb) = &b {
                self.big_endian = shb.big_endian();
            }
            (rem, PcapBlockOwned::from(b))
        });
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
        let all = (*self.bytes).as_ref();
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
        let n = space.min((*self.bytes).as_ref().len() - self.end);
        self.exhausted = n == 0;
        self.end += n;
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
        &(*self.bytes).as_ref()[self.start..self.end]
    }

    fn reader_exhausted(&self) -> bool {
        self.exhausted
    }
}
