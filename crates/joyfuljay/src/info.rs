//! Summary of a capture file (`jj info`).

use crate::capture::{CaptureFormat, CaptureReader, ReadEnd};
use crate::error::Result;
use std::path::Path;

/// What a capture file holds.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureInfo {
    /// Container format.
    pub format: CaptureFormat,
    /// Link types (pcap header or pcapng interfaces), in order of appearance.
    pub link_types: Vec<u32>,
    /// Packets.
    pub packets: u64,
    /// Sum of captured bytes.
    pub captured_bytes: u64,
    /// Sum of on-the-wire packet lengths.
    pub wire_bytes: u64,
    /// Earliest packet time, µs since the epoch.
    pub first_us: Option<i64>,
    /// Latest packet time, µs since the epoch.
    pub last_us: Option<i64>,
    /// File size in bytes (as read).
    pub file_bytes: u64,
    /// How reading ended.
    pub end: ReadEnd,
}

/// Read a whole capture and summarise it.
pub fn capture_info(path: &Path) -> Result<CaptureInfo> {
    let mut r = CaptureReader::open(path)?;
    let (mut packets, mut cap, mut wire) = (0u64, 0u64, 0u64);
    let (mut first, mut last): (Option<i64>, Option<i64>) = (None, None);
    let end = r.for_each(
        |f| {
            packets += 1;
            cap += f.data.len() as u64;
            wire += u64::from(f.orig_len);
            first = Some(first.map_or(f.ts_us, |v| v.min(f.ts_us)));
            last = Some(last.map_or(f.ts_us, |v| v.max(f.ts_us)));
            true
        },
        || {},
    )?;
    Ok(CaptureInfo {
        format: r.format(),
        link_types: r.link_types().to_vec(),
        packets,
        captured_bytes: cap,
        wire_bytes: wire,
        first_us: first,
        last_us: last,
        file_bytes: r.offset(),
        end,
    })
}
