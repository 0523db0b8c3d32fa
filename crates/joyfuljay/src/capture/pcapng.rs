//! pcapng blocks: sections, the interfaces each describes (link type,
//! timestamp resolution and offset), and the packets that refer to them.
//! Block lengths are checked before pcap-parser sees them. Streamed and
//! in-place files alike go through [`drive`].

use super::drive::{drive, Step};
use super::in_place::NgSlice;
use super::{note_link, Frame, ReadEnd, BUFFER_SIZE, MAX_INTERFACES, MAX_RECORD_LEN, MAX_TS_US};
use crate::error::Result;
use pcap_parser::pcapng::Block;
use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{PcapBlockOwned, PcapError, PcapNGReader};
use std::io::Read;
use std::path::Path;

/// Where the blocks come from.
enum Source {
    /// A stream, through pcap-parser's buffered reader.
    Stream(PcapNGReader<Box<dyn Read + Send>>),
    /// Bytes in memory.
    InPlace(NgSlice),
}

/// The blocks of a pcapng file, and what reading them keeps.
pub(super) struct Records {
    source: Source,
    /// The interfaces described so far in the current section.
    interfaces: Vec<Interface>,
}

impl Records {
    /// Blocks read from `stream`, whose section header pcap-parser checks now.
    pub(super) fn streamed(
        stream: Box<dyn Read + Send>,
    ) -> Result<Records, PcapError<&'static [u8]>> {
        let reader = PcapNGReader::new(BUFFER_SIZE, stream)?;
        Ok(Records::with(Source::Stream(reader)))
    }

    /// Blocks read in place from `bytes`, whose section header is checked now.
    pub(super) fn in_place(
        bytes: Box<dyn AsRef<[u8]> + Send>,
    ) -> Result<Records, PcapError<&'static [u8]>> {
        let reader = NgSlice::new(bytes, BUFFER_SIZE)?;
        Ok(Records::with(Source::InPlace(reader)))
    }

    fn with(source: Source) -> Records {
        Records {
            source,
            interfaces: Vec::new(),
        }
    }

    /// Whether the blocks are read in place.
    pub(super) fn reads_in_place(&self) -> bool {
        matches!(self.source, Source::InPlace(_))
    }

    /// Call `on_frame` for every packet from `offset` (the file offset of
    /// the next block, kept up to date) on, and `on_unknown_interface` for
    /// every packet of an undescribed interface, as
    /// `CaptureReader::for_each` describes; interfaces' link types are
    /// added to `links`.
    pub(super) fn for_each(
        &mut self,
        path: &Path,
        offset: &mut u64,
        links: &mut Vec<u32>,
        mut on_frame: impl FnMut(&Frame<'_>) -> bool,
        mut on_unknown_interface: impl FnMut(),
    ) -> Result<ReadEnd> {
        let interfaces = &mut self.interfaces;
        let reader: &mut dyn PcapReaderIterator = match &mut self.source {
            Source::Stream(r) => r,
            Source::InPlace(r) => r,
        };
        let check = |data: &[u8]| {
            let len = block_len(data)?;
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
                            detail: format!("more than {MAX_INTERFACES} interfaces in one section"),
                        });
                    }
                    let lt = idb.linktype.0 as u32;
                    interfaces.push(Interface {
                        link_type: lt,
                        resol: Resolution::from_tsresol(idb.if_tsresol),
                        offset_s: idb.if_tsoffset,
                    });
                    note_link(links, lt);
                }
                PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                    match interfaces.get(epb.if_id as usize) {
                        Some(ifc) => {
                            let ticks = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                            let ts_us = ifc
                                .resol
                                .to_us(ticks)
                                .saturating_add(ifc.offset_s.saturating_mul(1_000_000))
                                .clamp(-MAX_TS_US, MAX_TS_US);
                            if !on_frame(&frame_of(ifc, ts_us, epb.origlen, epb.packet_data())) {
                                return Step::Stop;
                            }
                        }
                        None => on_unknown_interface(),
                    }
                }
                PcapBlockOwned::NG(Block::SimplePacket(spb)) => match interfaces.first() {
                    Some(ifc) => {
                        if !on_frame(&frame_of(ifc, 0, spb.origlen, spb.packet_data())) {
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

/// The block length of the pcapng block at the start of `data` (the smaller
/// reading of both byte orders, so a valid length is never misread as huge).
fn block_len(data: &[u8]) -> Option<usize> {
    let b: [u8; 4] = data.get(4..8)?.try_into().ok()?;
    Some(u32::from_le_bytes(b).min(u32::from_be_bytes(b)) as usize)
}

/// What a packet needs from the interface that captured it.
#[derive(Clone, Copy)]
struct Interface {
    link_type: u32,
    /// Timestamp units per second.
    resol: Resolution,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_s: i64,
}

/// Timestamp units per second: 10^n or 2^n.
#[derive(Clone, Copy)]
enum Resolution {
    Pow10(u32),
    Pow2(u32),
}

impl Resolution {
    /// The resolution an `if_tsresol` option value names.
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
