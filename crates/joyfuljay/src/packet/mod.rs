//! What a feature group sees of one packet: [`PacketView`].
//!
//! The view is built once per packet, after decoding, from the decoded
//! summary ([`Decoded`]: addresses, ports, lengths, TCP flags) and the
//! captured bytes of the frame. The summary is always there. The header
//! details (IP TTL, ToS, ID, options; TCP sequence numbers, window,
//! options; ICMP type; MAC addresses) and the transport payload are read
//! from the frame's bytes only when a group asks for them, so groups that
//! need no more than the summary cost nothing extra. Everything is
//! zero-copy and bounded by what the capture holds: a packet cut by the
//! snaplen answers `None` (or a shorter payload) for what is missing,
//! while its lengths still come from the headers.

mod headers;
pub mod stream;

pub use headers::*;

use crate::decode::Decoded;

/// Direction of a packet relative to the flow's initiator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Direction {
    /// Initiator → responder.
    Fwd = 0,
    /// Responder → initiator.
    Bwd = 1,
}

/// One packet of a flow, as a feature group's `update` receives it.
#[derive(Debug, Clone, Copy)]
pub struct PacketView<'a> {
    /// Timestamp, µs since the epoch.
    pub ts_us: i64,
    /// Direction relative to the flow's initiator.
    pub dir: Direction,
    /// The decoded summary.
    pub decoded: &'a Decoded,
    /// The captured bytes of the frame (possibly cut by the snaplen; empty
    /// when the run's groups need nothing beyond the summary and the frame
    /// was not carried to this thread).
    pub frame: &'a [u8],
    /// The start of this direction's TCP byte stream, in sequence order,
    /// this packet included: present for TCP flows when a selected group
    /// declared it needs it (`Needs::stream_start`).
    pub stream: Option<&'a stream::StreamStart>,
}

impl<'a> PacketView<'a> {
    /// A view of decoded packet `decoded` whose captured bytes are `frame`.
    #[inline]
    pub fn new(ts_us: i64, dir: Direction, decoded: &'a Decoded, frame: &'a [u8]) -> Self {
        PacketView {
            ts_us,
            dir,
            decoded,
            frame,
            stream: None,
        }
    }

    /// IP-level length: IPv4 total length, IPv6 payload length + 40.
    #[inline]
    pub fn ip_len(&self) -> u32 {
        self.decoded.ip_len
    }

    /// Bytes after the transport header (from the headers' lengths, not
    /// from what was captured).
    #[inline]
    pub fn payload_len(&self) -> u32 {
        self.decoded.payload_len
    }

    /// TCP flags byte (0 for other protocols).
    #[inline]
    pub fn tcp_flags(&self) -> u8 {
        self.decoded.tcp_flags
    }

    /// IP protocol number.
    #[inline]
    pub fn proto(&self) -> u8 {
        self.decoded.proto
    }
}
