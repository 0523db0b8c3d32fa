//! `tcp`: TCP flags, connection state and Wireshark's retransmission,
//! out-of-order and duplicate-ACK analysis. Definitions:
//! `docs/semantics.md#tcp`.
//!
//! Per-flow state: a pointer (8 bytes), null until the flow's first TCP
//! packet; then one allocation of [`STATE_BYTES`] bytes holding the flag
//! and analysis counters and the scalar sequence analysis of both
//! directions ([`SeqAnalysis`]), no list. A flow of another protocol costs
//! the 8-byte slot, and each of its packets a protocol test.

use super::lazy::Lazy;
use super::tcp_analysis::{verdict, Segment, SeqAnalysis};
use super::{Column, ColumnType, FeatureGroup, FlowView, Group, GroupDef, Needs, RowWriter};
use crate::config::Config;
use crate::decode::tcp_flags::{ACK, FIN, PSH, RST, SYN, URG};
use crate::packet::PacketView;
use std::sync::Arc;

const ECE: u8 = 0x40;
const CWR: u8 = 0x80;

use ColumnType::{Float, Int};
const BOOL: ColumnType = ColumnType::Bool;

/// The `tcp` columns, in output order: the documented ones, then the
/// reference code's others.
pub const COLUMNS: &[Column] = &[
    Column::always("tcp_syn_count", Int, "packets", "TCP packets with SYN set (SYN-ACKs included)."),
    Column::always("tcp_ack_count", Int, "packets", "TCP packets with ACK set."),
    Column::always("tcp_fin_count", Int, "packets", "TCP packets with FIN set."),
    Column::always("tcp_rst_count", Int, "packets", "TCP packets with RST set."),
    Column::always("tcp_psh_count", Int, "packets", "TCP packets with PSH set."),
    Column::always("tcp_urg_count", Int, "packets", "TCP packets with URG set."),
    Column::always("tcp_ece_count", Int, "packets", "TCP packets with ECE (ECN-Echo) set."),
    Column::always("tcp_cwr_count", Int, "packets", "TCP packets with CWR (Congestion Window Reduced) set."),
    Column::nullable("tcp_syn_ratio", Float, "", "tcp_syn_count / TCP packets of the flow (null without TCP packets)."),
    Column::nullable("tcp_ack_ratio", Float, "", "tcp_ack_count / TCP packets of the flow (null without TCP packets)."),
    Column::nullable("tcp_fin_ratio", Float, "", "tcp_fin_count / TCP packets of the flow (null without TCP packets)."),
    Column::nullable("tcp_rst_ratio", Float, "", "tcp_rst_count / TCP packets of the flow (null without TCP packets)."),
    Column::nullable("tcp_psh_ratio", Float, "", "tcp_psh_count / TCP packets of the flow (null without TCP packets)."),
    Column::always("tcp_handshake_complete", BOOL, "", "The initiator sent a SYN, the responder a SYN-ACK after it, then the initiator an ACK of that SYN-ACK (ack number = its sequence number + 1)."),
    Column::always("tcp_connection_terminated", BOOL, "", "A FIN was sent in both directions."),
    Column::always("tcp_connection_reset", BOOL, "", "A packet with RST was seen."),
    Column::nullable("tcp_initial_window", Int, "bytes", "Window field (not scaled) of the initiator's first SYN without ACK (null if none)."),
    Column::always("tcp_retrans_count", Int, "packets", "Packets Wireshark's TCP analysis flags as retransmission, fast retransmission or spurious retransmission."),
    Column::nullable("tcp_retrans_ratio", Float, "", "tcp_retrans_count / TCP packets of the flow (null without TCP packets)."),
    Column::always("tcp_out_of_order", Int, "packets", "Packets Wireshark's TCP analysis flags as out-of-order."),
    Column::always("tcp_dup_ack_count", Int, "packets", "Packets Wireshark's TCP analysis flags as duplicate ACKs."),
    Column::always("tcp_syn_count_fwd", Int, "packets", "Packets with SYN set from the initiator."),
    Column::always("tcp_syn_count_bwd", Int, "packets", "Packets with SYN set from the responder."),
    Column::always("tcp_psh_count_fwd", Int, "packets", "Packets with PSH set from the initiator."),
    Column::always("tcp_psh_count_bwd", Int, "packets", "Packets with PSH set from the responder."),
    Column::always("tcp_is_tcp", BOOL, "", "The flow's transport protocol is TCP."),
    Column::always("tcp_synack_count", Int, "packets", "TCP packets with both SYN and ACK set."),
    Column::always("tcp_data_packets", Int, "packets", "TCP packets carrying payload."),
    Column::always("tcp_ack_only_packets", Int, "packets", "TCP packets with ACK set, no SYN, FIN or RST, and no payload."),
    Column::always("tcp_flags_anomaly", BOOL, "", "Some packet has no flag at all, FIN+PSH+URG, FIN without ACK or SYN, SYN+FIN, or SYN+RST."),
    Column::always("tcp_initiator_syn", BOOL, "", "The initiator sent a SYN without ACK."),
    Column::always("tcp_responder_synack", BOOL, "", "The responder sent a SYN-ACK."),
    Column::always("tcp_fstat", Int, "bitmap", "Flow status bits (Tranalyzer style): 0x01 initiator SYN, 0x02 responder SYN-ACK, 0x04 more ACKs than SYN-ACKs, 0x08 initiator FIN, 0x10 responder FIN, 0x20 RST, 0x40 payload, 0x80 flag anomaly."),
    Column::always("tcp_flags_agg", Int, "bitmap", "OR of the flags bytes (CWR ECE URG ACK PSH RST SYN FIN) of all TCP packets."),
    Column::always("tcp_flags_fwd", Int, "bitmap", "OR of the flags bytes of the initiator's TCP packets."),
    Column::always("tcp_flags_bwd", Int, "bitmap", "OR of the flags bytes of the responder's TCP packets."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "tcp",
    summary: "TCP flags, handshake and close, initial window, retransmissions, out-of-order packets and duplicate ACKs (Wireshark's TCP analysis).",
    columns: COLUMNS,
    build: |_cfg: &Config| -> Arc<dyn Group> { Arc::new(Tcp) },
};

struct Tcp;

// `bits` of the state.
const B_ANOMALY: u8 = 1;
const B_INIT_SYN: u8 = 1 << 1;
const B_RESP_SYNACK: u8 = 1 << 2;
const B_HANDSHAKE: u8 = 1 << 3;
const B_FIN_FWD: u8 = 1 << 4;
const B_FIN_BWD: u8 = 1 << 5;
const B_WINDOW: u8 = 1 << 6;
/// `synack_next` holds a responder SYN-ACK's sequence number + 1.
const B_SYNACK_NEXT: u8 = 1 << 7;

/// Per-flow state of `tcp`.
#[derive(Debug, Clone)]
pub struct TcpState {
    analysis: SeqAnalysis,
    /// TCP packets (with a TCP header).
    packets: u32,
    /// Packets with each flag: FIN SYN RST PSH ACK URG ECE CWR (bit order).
    flag: [u32; 8],
    synack: u32,
    syn_fwd: u32,
    psh_fwd: u32,
    data: u32,
    ack_only: u32,
    retrans: u32,
    ooo: u32,
    dup_ack: u32,
    /// The latest responder SYN-ACK's sequence number + 1.
    synack_next: u32,
    initial_window: u16,
    flags_dir: [u8; 2],
    bits: u8,
}

impl TcpState {
    /// The state of a flow without TCP packets.
    const EMPTY: TcpState = TcpState {
        analysis: SeqAnalysis::NEW,
        packets: 0,
        flag: [0; 8],
        synack: 0,
        syn_fwd: 0,
        psh_fwd: 0,
        data: 0,
        ack_only: 0,
        retrans: 0,
        ooo: 0,
        dup_ack: 0,
        synack_next: 0,
        initial_window: 0,
        flags_dir: [0; 2],
        bits: 0,
    };
}

/// Bytes of [`TcpState`].
pub const STATE_BYTES: usize = std::mem::size_of::<TcpState>();

/// A flag combination the reference flags as anomalous.
fn anomalous(f: u8) -> bool {
    f == 0
        || f & (FIN | PSH | URG) == FIN | PSH | URG
        || (f & FIN != 0 && f & (ACK | SYN) == 0)
        || f & (SYN | FIN) == SYN | FIN
        || f & (SYN | RST) == SYN | RST
}

impl FeatureGroup for Tcp {
    type State = Lazy<TcpState>;

    fn needs(&self) -> Needs {
        Needs::HEADERS
    }

    fn new_state(&self) -> Lazy<TcpState> {
        Lazy::NONE
    }

    fn prefetch(&self, st: &Lazy<TcpState>) {
        if let Some(b) = st.get() {
            let p = (b as *const TcpState).cast::<u8>();
            let mut off = 0;
            while off < STATE_BYTES {
                crate::hint::prefetch(p.wrapping_add(off));
                off += 64;
            }
        }
    }

    #[inline]
    fn update(&self, st: &mut Lazy<TcpState>, pkt: &PacketView<'_>) {
        if pkt.proto() != 6 {
            return;
        }
        let Some(s) = Segment::of(pkt) else {
            return;
        };
        st.get_or_insert_with(|| TcpState::EMPTY).count(&s);
    }

    fn write(&self, flow: &FlowView<'_>, st: &Lazy<TcpState>, out: &mut RowWriter<'_>) {
        let st = st.or(&TcpState::EMPTY);
        let n = st.packets;
        let ratio = |c: u32| (n > 0).then(|| f64::from(c) / f64::from(n));
        for c in [SYN, ACK, FIN, RST, PSH, URG, ECE, CWR] {
            out.put(i64::from(st.flag[c.trailing_zeros() as usize]));
        }
        for c in [SYN, ACK, FIN, RST, PSH] {
            out.put(ratio(st.flag[c.trailing_zeros() as usize]));
        }
        out.put(st.bits & B_HANDSHAKE != 0);
        out.put(st.bits & (B_FIN_FWD | B_FIN_BWD) == B_FIN_FWD | B_FIN_BWD);
        out.put(st.flag[2] > 0);
        out.put((st.bits & B_WINDOW != 0).then_some(i64::from(st.initial_window)));
        out.put(i64::from(st.retrans));
        out.put(ratio(st.retrans));
        out.put(i64::from(st.ooo));
        out.put(i64::from(st.dup_ack));
        let syn = st.flag[1];
        let psh = st.flag[3];
        out.put(i64::from(st.syn_fwd));
        out.put(i64::from(syn - st.syn_fwd));
        out.put(i64::from(st.psh_fwd));
        out.put(i64::from(psh - st.psh_fwd));
        out.put(flow.key.proto == 6);
        out.put(i64::from(st.synack));
        out.put(i64::from(st.data));
        out.put(i64::from(st.ack_only));
        out.put(st.bits & B_ANOMALY != 0);
        out.put(st.bits & B_INIT_SYN != 0);
        out.put(st.bits & B_RESP_SYNACK != 0);
        out.put(i64::from(st.fstat()));
        out.put(i64::from(st.flags_dir[0] | st.flags_dir[1]));
        out.put(i64::from(st.flags_dir[0]));
        out.put(i64::from(st.flags_dir[1]));
    }
}

impl TcpState {
    #[inline]
    fn count(&mut self, s: &Segment) {
        let f = s.flags;
        let fwd = s.dir == 0;
        self.packets += 1;
        let mut m = f;
        while m != 0 {
            self.flag[m.trailing_zeros() as usize] += 1;
            m &= m - 1;
        }
        self.flags_dir[s.dir & 1] |= f;
        if s.len > 0 {
            self.data += 1;
        } else if f & ACK != 0 && f & (SYN | FIN | RST) == 0 {
            self.ack_only += 1;
        }
        if anomalous(f) {
            self.bits |= B_ANOMALY;
        }
        if f & SYN != 0 {
            if fwd {
                self.syn_fwd += 1;
            }
            if f & ACK != 0 {
                self.synack += 1;
                if !fwd {
                    self.bits |= B_RESP_SYNACK;
                    if self.bits & B_INIT_SYN != 0 {
                        self.synack_next = s.seq.wrapping_add(1);
                        self.bits |= B_SYNACK_NEXT;
                    }
                }
            } else if fwd {
                if self.bits & B_INIT_SYN == 0 {
                    self.initial_window = s.window;
                    self.bits |= B_WINDOW;
                }
                self.bits |= B_INIT_SYN;
            }
        } else if fwd && f & ACK != 0 && self.bits & B_SYNACK_NEXT != 0 && s.ack == self.synack_next
        {
            self.bits |= B_HANDSHAKE;
        }
        if f & PSH != 0 && fwd {
            self.psh_fwd += 1;
        }
        if f & FIN != 0 {
            self.bits |= if fwd { B_FIN_FWD } else { B_FIN_BWD };
        }
        let v = self.analysis.segment(s);
        self.retrans += u32::from(v & verdict::ANY_RETRANSMISSION != 0);
        self.ooo += u32::from(v & verdict::OUT_OF_ORDER != 0);
        self.dup_ack += u32::from(v & verdict::DUPLICATE_ACK != 0);
    }

    fn fstat(&self) -> u8 {
        let b = self.bits;
        let mut x = 0;
        if b & B_INIT_SYN != 0 {
            x |= 0x01;
        }
        if b & B_RESP_SYNACK != 0 {
            x |= 0x02;
        }
        if self.flag[4] > self.synack {
            x |= 0x04;
        }
        if b & B_FIN_FWD != 0 {
            x |= 0x08;
        }
        if b & B_FIN_BWD != 0 {
            x |= 0x10;
        }
        if self.flag[2] > 0 {
            x |= 0x20;
        }
        if self.data > 0 {
            x |= 0x40;
        }
        if b & B_ANOMALY != 0 {
            x |= 0x80;
        }
        x
    }
}

// The sizes the documentation states.
const _: () = assert!(STATE_BYTES == 192);
const _: () = assert!(std::mem::size_of::<Lazy<TcpState>>() == 8);
