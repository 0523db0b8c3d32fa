//! Reading a capture in place: a memory-mapped file, or bytes already in
//! memory, parsed without a copy. Frames borrow the bytes themselves.
//!
//! Legacy pcap records are read by [`LegacySlice`] in one loop, straight
//! from the bytes. A legacy record is never larger than the captured-length
//! bound plus 16 bytes, far below the streaming buffer, so no buffer size
//! can change how reading ends, and the loop needs to know nothing about
//! the streaming reader's buffer.
//!
//! pcapng blocks are read by [`NgSlice`], which implements pcap-parser's
//! [`PcapReaderIterator`], so the capture module's one `drive()` loop and
//! block handlers serve it as they serve the streaming readers. A pcapng
//! block can be as large as the streaming buffer, so to give the same
//! result for every input it replays what the streaming reader would do
//! with the same bytes: `data()` is the window its buffer would hold at
//! that point (same first read, refills, growth, shifts and end-of-data
//! flags, as in pcap-parser 0.17's `PcapNGReader` over a reader that fills
//! every read), only the window is a range of the bytes instead of a copy
//! of them. That keeps even the buffer-size-dependent corner cases
//! identical (a block whose length reaches the buffer's capacity, a block
//! whose contents claim more bytes than it holds, followed by more or less
//! data).
//!
//! Both readers are covered by tests comparing them with the streaming
//! readers on every cut of several captures.
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

use crate::hint::prefetch;
use pcap_parser::nom::{self, Needed, Offset};
use pcap_parser::pcap::{parse_pcap_header, LegacyPcapBlock};
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

/// The capture's bytes, with the mapped pages around the reading position
/// looked after.
struct Pages {
    bytes: Bytes,
    /// Mapped bytes before this offset have been released.
    released: usize,
    /// Mapped bytes before this offset have been faulted in.
    faulted: usize,
}

impl Pages {
    fn new(bytes: Bytes) -> Pages {
        Pages {
            bytes,
            released: 0,
            faulted: 0,
        }
    }

    fn as_slice(&self) -> &[u8] {
        self.bytes.as_slice()
    }

    /// Release the mapped pages behind the reading position `at`, in steps
    /// of [`RELEASE_STEP`], and fault in those up to [`FAULT_AHEAD`] bytes
    /// ahead of it. Called between records, when no block is borrowed.
    fn manage(&mut self, at: usize) {
        let Bytes::Map(map) = &self.bytes else {
            return;
        };
        let ahead = (at + FAULT_AHEAD).min(map.len());
        if ahead >= self.faulted + FAULT_AHEAD / 2 || ahead == map.len() {
            let mut at = self.faulted.max(at);
            while at < ahead {
                std::hint::black_box(map[at]);
                at += FAULT_STEP;
            }
            self.faulted = self.faulted.max(ahead);
        }
        #[cfg(unix)]
        {
            let to = at & !(RELEASE_STEP - 1);
            if to > self.released {
                // SAFETY: the map is read-only and file-backed: dropping its
                // pages loses nothing, a later access would read them again
                // from the file. Nothing borrows them: frames live only for
                // the callback that gets them, and the readers call this
                // between records, through `&mut self`.
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
    pages: Pages,
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
    pub(super) fn new(bytes: Bytes) -> Result<LegacySlice, PcapError<&'static [u8]>> {
        let (_, header) = parse_pcap_header(bytes.as_slice()).map_err(owned)?;
        Ok(LegacySlice {
            header_len: header.size(),
            link: header.network.0 as u32,
            pages: Pages::new(bytes),
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
        let mut next_manage = pos;
        let end = loop {
            if pos >= next_manage {
                self.pages.manage(pos);
                next_manage = pos + (RELEASE_STEP / 2);
            }
            let all = self.pages.as_slice();
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
        self.pos = pos;
        end
    }
}

/// pcapng blocks in place, through pcap-parser's reader protocol; see the
/// module documentation.
pub(super) struct NgSlice {
    pages: Pages,
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
    pub(super) fn new(bytes: Bytes, capacity: usize) -> Result<NgSlice, PcapError<&'static [u8]>> {
        let all = bytes.as_slice();
        let end = all.len().min(capacity);
        parse_sectionheaderblock(&all[..end]).map_err(owned)?;
        Ok(NgSlice {
            pages: Pages::new(bytes),
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
        let data = &self.pages.as_slice()[self.start..self.end];
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
        let all = self.pages.as_slice();
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
        let n = space.min(self.pages.as_slice().len() - self.end);
        self.exhausted = n == 0;
        self.end += n;
        self.pages.manage(self.start);
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
        &self.pages.as_slice()[self.start..self.end]
    }

    fn reader_exhausted(&self) -> bool {
        self.exhausted
    }
}
