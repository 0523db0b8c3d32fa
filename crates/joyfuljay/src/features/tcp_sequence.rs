//! `tcp_sequence`: initial sequence numbers and, per direction, new bytes,
//! retransmissions, gaps, out-of-order segments and duplicate ACKs as
//! Wireshark's TCP analysis flags them. Definitions:
//! `docs/semantics.md#tcp_sequence`.
//!
//! Per-flow state: a pointer (8 bytes), null until the flow's first TCP
//! packet; then one allocation of [`STATE_BYTES`] bytes (the scalar
//! sequence analysis plus counters, no list).

use super::lazy::Lazy;
use super::tcp_analysis::{verdict, Segment, SeqAnalysis};
use super::{Column, ColumnType, FeatureGroup, FlowView, Group, GroupDef, Needs, RowWriter};
use crate::config::Config;
use crate::decode::tcp_flags::ACK;
use crate::packet::PacketView;
use std::sync::Arc;

use ColumnType::Int;

/// The `tcp_sequence` columns, in output order (the reference code's,
/// without its `tcp_retrans_ratio`, which is `tcp`'s column of that name).
pub const COLUMNS: &[Column] = &[
    Column::nullable("tcp_isn_fwd", Int, "", "Sequence number (raw) of the initiator's first TCP packet (null if none)."),
    Column::nullable("tcp_isn_bwd", Int, "", "Sequence number (raw) of the responder's first TCP packet (null if none)."),
    Column::always("tcp_seq_fwd_bytes_sent", Int, "bytes", "TCP payload bytes of the initiator's packets that Wireshark's analysis does not flag as a retransmission of any kind."),
    Column::always("tcp_seq_fwd_retrans", Int, "packets", "Initiator packets flagged retransmission, fast retransmission or spurious retransmission."),
    Column::always("tcp_seq_fwd_gaps", Int, "packets", "Initiator packets starting beyond the next expected sequence number (Wireshark's previous segment not captured)."),
    Column::always("tcp_seq_fwd_ooo", Int, "packets", "Initiator packets flagged out-of-order."),
    Column::always("tcp_seq_bwd_bytes_sent", Int, "bytes", "TCP payload bytes of the responder's packets not flagged as a retransmission of any kind."),
    Column::always("tcp_seq_bwd_retrans", Int, "packets", "Responder packets flagged retransmission, fast retransmission or spurious retransmission."),
    Column::always("tcp_seq_bwd_gaps", Int, "packets", "Responder packets starting beyond the next expected sequence number."),
    Column::always("tcp_seq_bwd_ooo", Int, "packets", "Responder packets flagged out-of-order."),
    Column::always("tcp_ack_fwd_count", Int, "packets", "Initiator packets with ACK set."),
    Column::always("tcp_ack_fwd_dup", Int, "packets", "Initiator packets flagged duplicate ACK."),
    Column::always("tcp_ack_bwd_count", Int, "packets", "Responder packets with ACK set."),
    Column::always("tcp_ack_bwd_dup", Int, "packets", "Responder packets flagged duplicate ACK."),
    Column::always("tcp_total_retrans", Int, "packets", "tcp_seq_fwd_retrans + tcp_seq_bwd_retrans."),
    Column::always("tcp_total_ooo", Int, "packets", "tcp_seq_fwd_ooo + tcp_seq_bwd_ooo."),
    Column::always("tcp_total_dup_acks", Int, "packets", "tcp_ack_fwd_dup + tcp_ack_bwd_dup."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "tcp_sequence",
    summary: "Initial sequence numbers, new bytes, retransmissions, gaps, out-of-order segments and duplicate ACKs per direction (Wireshark's TCP analysis).",
    columns: COLUMNS,
    build: |_cfg: &Config| -> Arc<dyn Group> { Arc::new(TcpSequence) },
};

struct TcpSequence;

/// One direction's counters.
#[derive(Debug, Clone, Copy, Default)]
struct Dir {
    bytes: u64,
    isn: u32,
    retrans: u32,
    gaps: u32,
    ooo: u32,
    acks: u32,
    dup: u32,
}

/// Per-flow state of `tcp_sequence`.
#[derive(Debug, Clone, Default)]
pub struct SeqState {
    analysis: SeqAnalysis,
    dir: [Dir; 2],
    /// Bit d: direction d has a packet (its ISN is set).
    seen: u8,
}

/// Bytes of [`SeqState`].
pub const STATE_BYTES: usize = std::mem::size_of::<SeqState>();

impl FeatureGroup for TcpSequence {
    type State = Lazy<SeqState>;

    fn needs(&self) -> Needs {
        Needs::HEADERS
    }

    fn new_state(&self) -> Lazy<SeqState> {
        Lazy::NONE
    }

    #[inline]
    fn update(&self, st: &mut Lazy<SeqState>, pkt: &PacketView<'_>) {
        if pkt.proto() != 6 {
            return;
        }
        let Some(s) = Segment::of(pkt) else {
            return;
        };
        let st = st.get_or_default();
        let v = st.analysis.segment(&s);
        let d = &mut st.dir[s.dir & 1];
        if st.seen & (1 << (s.dir & 1)) == 0 {
            st.seen |= 1 << (s.dir & 1);
            d.isn = s.seq;
        }
        if v & verdict::ANY_RETRANSMISSION != 0 {
            d.retrans += 1;
        } else {
            d.bytes += u64::from(s.len);
        }
        d.gaps += u32::from(v & verdict::LOST_SEGMENT != 0);
        d.ooo += u32::from(v & verdict::OUT_OF_ORDER != 0);
        d.acks += u32::from(s.flags & ACK != 0);
        d.dup += u32::from(v & verdict::DUPLICATE_ACK != 0);
    }

    fn write(&self, _flow: &FlowView<'_>, st: &Lazy<SeqState>, out: &mut RowWriter<'_>) {
        let none = SeqState::default();
        let st = st.or(&none);
        let [f, b] = &st.dir;
        out.put((st.seen & 1 != 0).then_some(i64::from(f.isn)));
        out.put((st.seen & 2 != 0).then_some(i64::from(b.isn)));
        for d in [f, b] {
            out.put(d.bytes);
            out.put(i64::from(d.retrans));
            out.put(i64::from(d.gaps));
            out.put(i64::from(d.ooo));
        }
        for d in [f, b] {
            out.put(i64::from(d.acks));
            out.put(i64::from(d.dup));
        }
        out.put(i64::from(f.retrans) + i64::from(b.retrans));
        out.put(i64::from(f.ooo) + i64::from(b.ooo));
        out.put(i64::from(f.dup) + i64::from(b.dup));
    }
}

// The size the documentation states.
const _: () = assert!(STATE_BYTES == 184);
