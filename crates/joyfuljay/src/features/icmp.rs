//! `icmp`: ICMP and ICMPv6 message types, echo requests and replies.
//!
//! Flows of ICMP (protocol 1) and ICMPv6 (58) are keyed on the two
//! addresses alone (ports 0), so one flow holds every message between two
//! hosts: all pings between them, and the errors one sends the other.
//! Message kinds are counted in both families: echo request (ICMP 8,
//! ICMPv6 128), echo reply (0, 129), destination unreachable (3, 1), time
//! exceeded (11, 3) and redirect (5, 137). Identifiers and sequence numbers
//! are those of echo requests and replies. On other flows the counts are 0
//! and the values null. Definitions and the differences from the reference
//! package: `docs/semantics.md#icmp`.

use super::lazy::Lazy;
use super::sets::SmallSet;
use super::{Column, ColumnType, FeatureGroup, FlowView, Group, GroupDef, Needs, RowWriter};
use crate::config::Config;
use crate::packet::{IcmpDetails, PacketView};
use smallvec::SmallVec;
use std::sync::Arc;

/// `icmp_stat` bits.
pub mod icmp_stat {
    /// Echo request seen.
    pub const ECHO_REQUEST: i64 = 0x01;
    /// Echo reply seen.
    pub const ECHO_REPLY: i64 = 0x02;
    /// Destination unreachable seen.
    pub const DEST_UNREACHABLE: i64 = 0x04;
    /// Time exceeded seen.
    pub const TIME_EXCEEDED: i64 = 0x08;
    /// Redirect seen.
    pub const REDIRECT: i64 = 0x10;
    /// Some other type seen.
    pub const OTHER: i64 = 0x20;
}

/// The kind of an ICMP / ICMPv6 message, as an `icmp_stat` bit.
fn kind(m: &IcmpDetails) -> i64 {
    use icmp_stat::*;
    match (m.v6, m.icmp_type) {
        (false, 8) | (true, 128) => ECHO_REQUEST,
        (false, 0) | (true, 129) => ECHO_REPLY,
        (false, 3) | (true, 1) => DEST_UNREACHABLE,
        (false, 11) | (true, 3) => TIME_EXCEEDED,
        (false, 5) | (true, 137) => REDIRECT,
        _ => OTHER,
    }
}

use ColumnType::{Bool, Float, Int};

/// The `icmp` columns, in output order.
#[rustfmt::skip]
pub const COLUMNS: &[Column] = &[
    Column::always("icmp_packet_count", Int, "packets", "Packets with an ICMP or ICMPv6 header."),
    Column::always("icmp_echo_request_count", Int, "packets", "Echo requests (ICMP type 8, ICMPv6 128)."),
    Column::always("icmp_echo_reply_count", Int, "packets", "Echo replies (ICMP type 0, ICMPv6 129)."),
    Column::always("icmp_dest_unreachable_count", Int, "packets", "Destination unreachable messages (ICMP type 3, ICMPv6 1)."),
    Column::always("icmp_time_exceeded_count", Int, "packets", "Time exceeded messages (ICMP type 11, ICMPv6 3)."),
    Column::always("icmp_unique_type_codes", Int, "", "Distinct (type, code) pairs."),
    Column::nullable("icmp_dominant_type", Int, "", "The most frequent message type (the earliest seen among equally frequent ones); null without ICMP packets."),
    Column::nullable("icmp_dominant_type_count", Int, "packets", "Packets of icmp_dominant_type; null without ICMP packets."),
    Column::nullable("icmp_echo_success_ratio", Float, "", "icmp_echo_reply_count / icmp_echo_request_count; null without echo requests."),
    Column::always("icmp_unique_ids", Int, "", "Distinct identifiers of echo requests and replies."),
    Column::nullable("icmp_seq_min", Int, "", "Smallest sequence number of echo requests and replies; null without them."),
    Column::nullable("icmp_seq_max", Int, "", "Largest sequence number of echo requests and replies; null without them."),
    Column::nullable("icmp_seq_gaps", Int, "", "Echo requests whose sequence number is neither equal to nor 1 more than (mod 65536) that of the previous echo request, when both carry the same identifier; null without echo requests."),
    Column::always("icmp_stat", Int, "", "Bitmap of the message kinds seen: 1 echo request, 2 echo reply, 4 destination unreachable, 8 time exceeded, 16 redirect (ICMP 5, ICMPv6 137), 32 any other type."),
    Column::always("icmp_ratio", Float, "", "icmp_packet_count / packets of the flow."),
    Column::always("is_icmp_only", Bool, "", "True when every packet of the flow has an ICMP or ICMPv6 header."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "icmp",
    summary: "ICMP and ICMPv6: message kinds, echo requests and replies, identifiers and sequence numbers.",
    columns: COLUMNS,
    build: |_cfg: &Config| -> Arc<dyn Group> { Arc::new(Icmp) },
};

/// The `icmp` group (no settings).
pub struct Icmp;

/// Per-flow state: 8 bytes, `None` until the flow's first ICMP message (so
/// TCP and UDP flows carry no more), then a [`Counts`] of 160 bytes
/// allocated once.
pub type State = Lazy<Counts>;

/// What an ICMP flow keeps: four distinct types, type/code pairs and
/// identifiers inline (more spill to the heap, counts stay exact), six
/// counts, the sequence bounds and the last request. 160 bytes.
#[derive(Default)]
pub struct Counts {
    /// (type, packets) in the order first seen.
    types: SmallVec<[(u8, u32); 4]>,
    /// type << 8 | code.
    type_codes: SmallSet<[u16; 4]>,
    ids: SmallSet<[u16; 4]>,
    packets: u64,
    requests: u64,
    replies: u64,
    unreachable: u64,
    exceeded: u64,
    seq_gaps: u64,
    seq_min: u16,
    seq_max: u16,
    /// Identifier and sequence number of the previous echo request.
    last_request: (u16, u16),
    /// `icmp_stat` bits.
    stat: u8,
    /// Bit 0: an echo message seen (`seq_min`/`seq_max` valid); bit 1: an
    /// echo request seen (`last_request` valid).
    seen: u8,
}

const _: () = assert!(std::mem::size_of::<Counts>() == 160);
const _: () = assert!(std::mem::size_of::<State>() == 8);

impl FeatureGroup for Icmp {
    type State = State;

    fn needs(&self) -> Needs {
        Needs::HEADERS
    }

    fn new_state(&self) -> State {
        Lazy::NONE
    }

    #[inline]
    fn update(&self, st: &mut State, pkt: &PacketView<'_>) {
        let Some(m) = pkt.icmp() else {
            return;
        };
        let st = st.get_or_default();
        st.packets += 1;
        let k = kind(&m);
        st.stat |= k as u8;
        match k {
            icmp_stat::ECHO_REQUEST => st.requests += 1,
            icmp_stat::ECHO_REPLY => st.replies += 1,
            icmp_stat::DEST_UNREACHABLE => st.unreachable += 1,
            icmp_stat::TIME_EXCEEDED => st.exceeded += 1,
            _ => {}
        }
        match st.types.iter_mut().find(|(t, _)| *t == m.icmp_type) {
            Some((_, n)) => *n = n.saturating_add(1),
            None => st.types.push((m.icmp_type, 1)),
        }
        st.type_codes
            .insert(u16::from(m.icmp_type) << 8 | u16::from(m.code));
        if let Some(e) = m.echo {
            st.ids.insert(e.id);
            if st.seen & 1 == 0 {
                (st.seq_min, st.seq_max) = (e.seq, e.seq);
            } else {
                st.seq_min = st.seq_min.min(e.seq);
                st.seq_max = st.seq_max.max(e.seq);
            }
            st.seen |= 1;
            if k == icmp_stat::ECHO_REQUEST {
                let (id, seq) = st.last_request;
                if st.seen & 2 != 0 && id == e.id && e.seq.wrapping_sub(seq) > 1 {
                    st.seq_gaps += 1;
                }
                st.last_request = (e.id, e.seq);
                st.seen |= 2;
            }
        }
    }

    fn write(&self, flow: &FlowView<'_>, st: &State, out: &mut RowWriter<'_>) {
        let empty = Counts::default();
        let st = st.or(&empty);
        out.put(st.packets);
        out.put(st.requests);
        out.put(st.replies);
        out.put(st.unreachable);
        out.put(st.exceeded);
        out.put(st.type_codes.len() as i64);
        // The first of the most frequent: `max_by_key` keeps the last maximum,
        // so look from the end.
        let dominant = st.types.iter().rev().max_by_key(|(_, n)| *n);
        out.put(dominant.map(|(t, _)| i64::from(*t)));
        out.put(dominant.map(|(_, n)| i64::from(*n)));
        out.put((st.requests > 0).then(|| st.replies as f64 / st.requests as f64));
        out.put(st.ids.len() as i64);
        let echo = st.seen & 1 != 0;
        out.put(echo.then_some(i64::from(st.seq_min)));
        out.put(echo.then_some(i64::from(st.seq_max)));
        out.put((st.requests > 0).then_some(st.seq_gaps));
        out.put(i64::from(st.stat));
        let total = flow.total_packets();
        out.put(if total == 0 {
            0.0
        } else {
            st.packets as f64 / total as f64
        });
        out.put(st.packets > 0 && st.packets == total);
    }
}
