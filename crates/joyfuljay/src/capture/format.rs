//! Capture format detection from the first bytes of a file (never from its name).

use crate::error::{Error, Result};
use std::path::Path;

/// A capture container format we can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Classic libpcap format.
    Pcap {
        /// Timestamps are in nanoseconds (magic `a1b23c4d`).
        nanosecond: bool,
        /// The file was written big-endian.
        big_endian: bool,
    },
    /// pcapng (section header block magic `0a0d0d0a`).
    PcapNg,
}

impl CaptureFormat {
    /// A short human name ("pcap (microsecond, little-endian)", "pcapng").
    pub fn describe(&self) -> String {
        match self {
            CaptureFormat::Pcap {
                nanosecond,
                big_endian,
            } => format!(
                "pcap ({}, {})",
                if *nanosecond {
                    "nanosecond"
                } else {
                    "microsecond"
                },
                if *big_endian {
                    "big-endian"
                } else {
                    "little-endian"
                }
            ),
            CaptureFormat::PcapNg => "pcapng".to_string(),
        }
    }
}

/// What the magic number says a file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detected {
    /// A format we read.
    Supported(CaptureFormat),
    /// A known format we do not read, by name.
    Unsupported(&'static str),
    /// Nothing we recognise.
    Unknown,
}

/// Number of leading bytes [`detect`] looks at.
pub const MAGIC_LEN: usize = 16;

/// Recognise a capture format from the first bytes of a file.
pub fn detect(head: &[u8]) -> Detected {
    let m4 = |m: &[u8]| head.len() >= m.len() && &head[..m.len()] == m;
    if head.len() >= 4 {
        let le = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let fmt = |nanosecond, big_endian| {
            Detected::Supported(CaptureFormat::Pcap {
                nanosecond,
                big_endian,
            })
        };
        match le {
            0xa1b2_c3d4 => return fmt(false, false),
            0xd4c3_b2a1 => return fmt(false, true),
            0xa1b2_3c4d => return fmt(true, false),
            0x4d3c_b2a1 => return fmt(true, true),
            0x0a0d_0d0a => return Detected::Supported(CaptureFormat::PcapNg),
            0xa1b2_cd34 | 0x34cd_b2a1 => {
                return Detected::Unsupported("modified libpcap (Alexey Kuznetsov's patch)")
            }
            _ => {}
        }
    }
    if m4(b"GMBU") {
        return Detected::Unsupported("Microsoft Network Monitor 2.x");
    }
    if m4(b"RTSS") {
        return Detected::Unsupported("Microsoft Network Monitor 1.x");
    }
    if m4(b"snoop\0\0\0") {
        return Detected::Unsupported("Sun snoop");
    }
    if m4(b"XCP\0") {
        return Detected::Unsupported("NetXRay / Windows Sniffer");
    }
    if m4(b"TRSNIFF data") {
        return Detected::Unsupported("Network General Sniffer");
    }
    if m4(b"\x1f\x8b") {
        return Detected::Unsupported("gzip-compressed file");
    }
    if m4(b"\x28\xb5\x2f\xfd") {
        return Detected::Unsupported("zstd-compressed file");
    }
    if m4(b"\xfd7zXZ\0") {
        return Detected::Unsupported("xz-compressed file");
    }
    if m4(b"BZh") {
        return Detected::Unsupported("bzip2-compressed file");
    }
    if m4(b"PK\x03\x04") {
        return Detected::Unsupported("zip archive");
    }
    if m4(b"\x7fELF") {
        return Detected::Unsupported("ELF executable");
    }
    if m4(b"%PDF") {
        return Detected::Unsupported("PDF document");
    }
    if head.is_empty() {
        return Detected::Unsupported("empty file");
    }
    Detected::Unknown
}

/// The capture format of a file starting with `head` (its first
/// [`MAGIC_LEN`] bytes), or the error naming what it is instead.
pub(super) fn format_of(path: &Path, head: &[u8]) -> Result<CaptureFormat> {
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

/// What to do with a file of the format named `name`, which we do not read.
fn hint_for(name: &str) -> &'static str {
    if name.contains("compressed") || name.contains("archive") {
        "; decompress it first"
    } else if name == "empty file" {
        ""
    } else {
        "; convert it with `editcap -F pcapng IN OUT`"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcap_magics_in_both_byte_orders() {
        assert_eq!(
            detect(&[0xd4, 0xc3, 0xb2, 0xa1]),
            Detected::Supported(CaptureFormat::Pcap {
                nanosecond: false,
                big_endian: false
            })
        );
        assert_eq!(
            detect(&[0xa1, 0xb2, 0xc3, 0xd4]),
            Detected::Supported(CaptureFormat::Pcap {
                nanosecond: false,
                big_endian: true
            })
        );
        assert_eq!(
            detect(&[0x4d, 0x3c, 0xb2, 0xa1]),
            Detected::Supported(CaptureFormat::Pcap {
                nanosecond: true,
                big_endian: false
            })
        );
        assert_eq!(
            detect(&[0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0]),
            Detected::Supported(CaptureFormat::PcapNg)
        );
    }

    #[test]
    fn other_formats_are_named() {
        assert_eq!(
            detect(b"GMBU\x00\x02"),
            Detected::Unsupported("Microsoft Network Monitor 2.x")
        );
        assert_eq!(detect(b"hello world"), Detected::Unknown);
        assert_eq!(detect(b""), Detected::Unsupported("empty file"));
    }
}
