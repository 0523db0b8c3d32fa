//! Legacy pcap records: one link type for the whole file (from its header),
//! timestamps in micro- or nanoseconds, and captured lengths bounded by
//! [`MAX_PCAP_CAPLEN`]. Streamed files go through pcap-parser's reader and
//! [`drive`]; files in place through [`LegacySlice`]'s loop.

use super::drive::{drive, Step};
use super::in_place::{Bytes, LegacyEnd, LegacySlice};
use super::{note_link, Frame, ReadEnd, BUFFER_SIZE, MAX_PCAP_CAPLEN};
use crate::error::Result;
use pcap_parser::pcap::LegacyPcapBlock;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError};
use std::cell::Cell;
use std::io::Read;
use std::path::Path;

/// Where the records come from.
enum Source {
    /// A stream, through pcap-parser's buffered reader.
    Stream(LegacyPcapReader<Box<dyn Read + Send>>),
    /// A file through a window, or bytes in memory.
    InPlace(LegacySlice),
}

/// The records of a legacy pcap file, and what reading them keeps.
pub(super) struct Records {
    source: Source,
    /// Link type named by the file header (0 until it is read).
    link: u32,
    /// Timestamps are in nanoseconds.
    nanos: bool,
    /// The file was written big-endian.
    big_endian: bool,
}

impl Records {
    /// Records read from `stream`, whose file header pcap-parser checks now.
    pub(super) fn streamed(
        stream: Box<dyn Read + Send>,
        nanos: bool,
        big_endian: bool,
    ) -> Result<Records, PcapError<&'static [u8]>> {
        let reader = LegacyPcapReader::new(BUFFER_SIZE, stream)?;
        Ok(Records::with(Source::Stream(reader), nanos, big_endian))
    }

    /// Records read in place from `bytes`, whose file header is checked now.
    pub(super) fn in_place(
        bytes: Bytes,
        nanos: bool,
        big_endian: bool,
    ) -> Result<Records, PcapError<&'static [u8]>> {
        let reader = LegacySlice::new(bytes)?;
        Ok(Records::with(Source::InPlace(reader), nanos, big_endian))
    }

    fn with(source: Source, nanos: bool, big_endian: bool) -> Records {
        Records {
            source,
            link: 0,
            nanos,
            big_endian,
        }
    }

    /// Whether the records are read in place.
    pub(super) fn reads_in_place(&self) -> bool {
        matches!(self.source, Source::InPlace(_))
    }

    /// Call `on_frame` for every record from `offset` (the file offset of
    /// the next record, kept up to date) on, as `CaptureReader::for_each`
    /// describes; the file header's link type is added to `links`.
    pub(super) fn for_each(
        &mut self,
        path: &Path,
        offset: &mut u64,
        links: &mut Vec<u32>,
        mut on_frame: impl FnMut(&Frame<'_>) -> bool,
    ) -> Result<ReadEnd> {
        let nanos = self.nanos;
        let big_endian = self.big_endian;
        let link = &mut self.link;
        match &mut self.source {
            Source::InPlace(r) => {
                if let Some(header_link) = r.skip_header() {
                    *link = header_link;
                    note_link(links, header_link);
                }
                let link = *link;
                let end = r.records(big_endian, MAX_PCAP_CAPLEN, |b, at| {
                    on_frame(&frame(b, nanos, link, at))
                });
                *offset = r.consumed() as u64;
                Ok(match end {
                    LegacyEnd::Complete => ReadEnd::Complete,
                    LegacyEnd::Stopped => ReadEnd::Stopped,
                    LegacyEnd::Truncated => ReadEnd::Truncated { offset: *offset },
                    LegacyEnd::TooLong(c) => ReadEnd::Corrupt {
                        offset: *offset,
                        detail: too_long(c),
                    },
                })
            }
            Source::Stream(reader) => {
                // The first "record" is the file header: check only after it.
                let header_seen = Cell::new(false);
                let check = |data: &[u8]| {
                    let c = caplen(data, big_endian).filter(|_| header_seen.get())?;
                    (c > MAX_PCAP_CAPLEN).then(|| too_long(c))
                };
                drive(reader, offset, path, &mut |d| check(d), &mut |block, at| {
                    match block {
                        PcapBlockOwned::LegacyHeader(h) => {
                            header_seen.set(true);
                            *link = h.network.0 as u32;
                            note_link(links, *link);
                        }
                        PcapBlockOwned::Legacy(b) => {
                            if !on_frame(&frame(&b, nanos, *link, at)) {
                                return Step::Stop;
                            }
                        }
                        // A legacy reader returns no pcapng blocks.
                        PcapBlockOwned::NG(_) => {}
                    }
                    Step::Go
                })
            }
        }
    }
}

/// The captured length field of the legacy pcap record at the start of `data`.
fn caplen(data: &[u8], big_endian: bool) -> Option<u32> {
    let b: [u8; 4] = data.get(8..12)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

/// The frame of a legacy pcap record at file offset `at`.
fn frame<'a>(b: &LegacyPcapBlock<'a>, nanos: bool, link_type: u32, at: u64) -> Frame<'a> {
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
