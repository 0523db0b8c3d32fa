//! A flow's record: its key, orientation, accumulators and how it ended.

use super::key::{Endpoint, FlowKey};
use crate::decode::Stack;

/// `flow_stat` bits.
pub mod flow_stat {
    /// SYN (without ACK) from the initiator.
    pub const SYN: u8 = 0x01;
    /// SYN-ACK from the responder.
    pub const SYN_ACK: u8 = 0x02;
    /// FIN from the initiator.
    pub const FIN_FWD: u8 = 0x04;
    /// FIN from the responder.
    pub const FIN_BWD: u8 = 0x08;
    /// RST from either side.
    pub const RST: u8 = 0x10;
    /// Ended by a timeout (idle or active) or by eviction.
    pub const TIMEOUT: u8 = 0x20;
    /// Proper termination: handshake seen, then FIN from both sides or an RST.
    pub const PROPER_CLOSE: u8 = 0x40;
}

/// Why a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// No packet for longer than `flow_timeout`.
    IdleTimeout,
    /// The flow lasted longer than `active_timeout`.
    ActiveTimeout,
    /// TCP FIN from both sides, or RST.
    TcpClose,
    /// Evicted to respect `max_concurrent_flows`.
    Evicted,
    /// Still open when the input ended.
    EndOfInput,
}

/// A flow: its key, orientation and accumulators.
#[repr(C, align(64))]
pub struct Flow {
    // Hot: read or written by every packet, first so that one lookup touches
    // as few cache lines as possible (the table is memory-bound).
    /// Canonical 5-tuple.
    pub key: FlowKey,
    /// Latest packet timestamp (µs).
    pub end_us: i64,
    /// True when endpoint `a` of the key is the initiator.
    pub initiator_is_a: bool,
    /// `flow_stat` bits seen so far (final bits are set by [`Flow::flow_stat`]).
    pub stat: u8,
    /// True once TCP close was seen (with `terminate_on_fin_rst`).
    pub closed: bool,
    /// Why the flow ended (`EndOfInput` while open).
    pub end_reason: EndReason,
    /// The table index's hash part of `key` (fills what would be padding).
    pub(crate) index_tag: u32,
    /// Packets per direction.
    pub packets: [u64; 2],
    /// IP-level bytes per direction.
    pub bytes: [u64; 2],
    /// Payload bytes per direction.
    pub payload: [u64; 2],
    /// Earliest packet timestamp (µs).
    pub start_us: i64,
    /// Index of the most recent packet.
    pub last_index: u64,
    // Cold: set once, or read when the flow ends.
    /// Timestamp of the first packet (µs), for the active timeout.
    pub first_us: i64,
    /// Index (in the input) of the first packet.
    pub first_index: u64,
    /// Index of the packet at which the flow ended, and the kind of end (see
    /// [`EndTag`]).
    pub end_event: (u64, u8),
    /// Decoded stack of the first packet.
    pub stack: Stack,
}

impl Flow {
    /// A new flow whose first packet (index `index`, at `ts_us`, decoded
    /// stack `stack`) came from `a` of `key` when `src_is_a`; no packet is
    /// accounted yet.
    pub(crate) fn new(
        key: FlowKey,
        src_is_a: bool,
        ts_us: i64,
        index: u64,
        stack: Stack,
        index_tag: u32,
    ) -> Flow {
        Flow {
            key,
            initiator_is_a: src_is_a,
            start_us: ts_us,
            end_us: ts_us,
            first_us: ts_us,
            packets: [0; 2],
            bytes: [0; 2],
            payload: [0; 2],
            stat: 0,
            closed: false,
            stack,
            first_index: index,
            last_index: index,
            end_reason: EndReason::EndOfInput,
            end_event: (u64::MAX, 0),
            index_tag,
        }
    }

    /// A flow of 10.0.0.1:1000 → 10.0.0.2:80 over TCP, starting at time 0
    /// with no packets (for tests).
    #[cfg(test)]
    pub(crate) fn blank() -> Flow {
        let (key, src_is_a) = FlowKey::new(
            Endpoint {
                addr: 0x0a00_0001,
                port: 1000,
            },
            Endpoint {
                addr: 0x0a00_0002,
                port: 80,
            },
            6,
            false,
        );
        Flow::new(key, src_is_a, 0, 0, Stack::default(), 0)
    }

    /// The initiator endpoint.
    pub fn src(&self) -> Endpoint {
        if self.initiator_is_a {
            self.key.a()
        } else {
            self.key.b()
        }
    }

    /// The responder endpoint.
    pub fn dst(&self) -> Endpoint {
        if self.initiator_is_a {
            self.key.b()
        } else {
            self.key.a()
        }
    }

    /// Total packets in both directions.
    pub fn total_packets(&self) -> u64 {
        self.packets[0] + self.packets[1]
    }

    /// Total IP-level bytes in both directions.
    pub fn total_bytes(&self) -> u64 {
        self.bytes[0] + self.bytes[1]
    }

    /// Whether the flow was ended early for the memory budget.
    pub fn evicted_for_memory(&self) -> bool {
        self.end_event.1 == super::table::KIND_EVICTED_MEMORY
    }

    /// The flow's place in the output order.
    pub fn end_tag(&self) -> EndTag {
        EndTag {
            event: self.end_event.0,
            kind: self.end_event.1,
            first_index: self.first_index,
        }
    }

    /// The final `flow_stat` bitmap.
    pub fn flow_stat(&self) -> u8 {
        let mut s = self.stat;
        let handshake =
            s & (flow_stat::SYN | flow_stat::SYN_ACK) == (flow_stat::SYN | flow_stat::SYN_ACK);
        let both_fin = s & (flow_stat::FIN_FWD | flow_stat::FIN_BWD)
            == (flow_stat::FIN_FWD | flow_stat::FIN_BWD);
        if handshake && (both_fin || s & flow_stat::RST != 0) {
            s |= flow_stat::PROPER_CLOSE;
        }
        if matches!(
            self.end_reason,
            EndReason::IdleTimeout | EndReason::ActiveTimeout | EndReason::Evicted
        ) {
            s |= flow_stat::TIMEOUT;
        }
        s
    }
}

/// Where a flow's end stands in the output order: flows are written by the
/// packet index at which they ended, then by kind (idle sweep before the
/// arriving packet's own flow before an eviction), then by first packet.
/// The order does not depend on how flows are spread over threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EndTag {
    /// Index of the packet at which the flow ended (`u64::MAX`: end of input).
    pub event: u64,
    /// 0: idle sweep or end of input; 1: ended by a packet of its own
    /// 5-tuple; 2: evicted for `max_concurrent_flows`; 3: evicted for the
    /// memory budget (a packet evicts at most one flow).
    pub kind: u8,
    /// Index of the flow's first packet.
    pub first_index: u64,
}
