//! `tcp_mptcp`: Multipath TCP (RFC 8684) seen in a flow's TCP options:
//! whether each side's SYN offered it and how many packets carried the
//! MPTCP option (kind 30) (docs/semantics.md#tcp_mptcp).

use super::tcp_options::{walk, MP_CAPABLE, MP_JOIN};
use super::{Column, ColumnType, FeatureGroup, FlowView, Group, GroupDef, Needs, RowWriter};
use crate::config::Config;
use crate::decode::tcp_flags::SYN;
use crate::packet::PacketView;
use std::sync::Arc;

const INT: ColumnType = ColumnType::Int;
const BOOL: ColumnType = ColumnType::Bool;

/// The `tcp_mptcp` columns, in output order (the reference package's names).
pub const COLUMNS: &[Column] = &[
    Column::always("mptcp_detected", BOOL, "", "Some packet of the flow carried an MPTCP option (kind 30, length at least 3)."),
    Column::always("mptcp_capable_fwd", BOOL, "", "A SYN of the initiator carried MP_CAPABLE or MP_JOIN (MPTCP subtypes 0 and 1): it offered Multipath TCP."),
    Column::always("mptcp_capable_bwd", BOOL, "", "A SYN (SYN-ACK) of the responder carried MP_CAPABLE or MP_JOIN."),
    Column::always("mptcp_option_count", INT, "packets", "Packets carrying at least one MPTCP option."),
    Column::always("mptcp_stat", INT, "bitmap", "0x1 mptcp_detected, 0x2 mptcp_capable_fwd, 0x4 mptcp_capable_bwd, 0x8 both capable."),
    Column::always("is_mptcp", BOOL, "", "Both sides' SYNs offered Multipath TCP (mptcp_capable_fwd and mptcp_capable_bwd)."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "tcp_mptcp",
    summary: "Multipath TCP: MPTCP options, MP_CAPABLE/MP_JOIN on each side's SYN.",
    columns: COLUMNS,
    build: |_cfg: &Config| -> Arc<dyn Group> { Arc::new(TcpMptcp) },
};

struct TcpMptcp;

/// Per-flow state: packets with MPTCP options and each side's SYN offer.
/// 8 bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct MptcpState {
    packets: u32,
    capable: [bool; 2],
}

const _: () = assert!(std::mem::size_of::<MptcpState>() == 8);

impl FeatureGroup for TcpMptcp {
    type State = MptcpState;

    fn needs(&self) -> Needs {
        Needs::HEADERS
    }

    fn new_state(&self) -> MptcpState {
        MptcpState::default()
    }

    #[inline]
    fn update(&self, st: &mut MptcpState, pkt: &PacketView<'_>) {
        if pkt.proto() != 6 {
            return;
        }
        let Some(tcp) = pkt.tcp() else { return };
        // No options, no MPTCP.
        if tcp.header_len <= 20 {
            return;
        }
        let m = walk(&tcp, |_| {}).mptcp;
        if m == 0 {
            return;
        }
        st.packets += 1;
        if tcp.flags & SYN != 0 && m & (MP_CAPABLE | MP_JOIN) != 0 {
            st.capable[pkt.dir as usize] = true;
        }
    }

    fn write(&self, _flow: &FlowView<'_>, st: &MptcpState, out: &mut RowWriter<'_>) {
        let detected = st.packets > 0;
        let [f, b] = st.capable;
        out.put(detected);
        out.put(f);
        out.put(b);
        out.put(i64::from(st.packets));
        out.put(
            i64::from(detected) | i64::from(f) << 1 | i64::from(b) << 2 | i64::from(f && b) << 3,
        );
        out.put(f && b);
    }
}

#[cfg(test)]
mod tests;
