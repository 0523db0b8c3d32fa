//! `ip_extended`: the outermost IP header of each packet (the one the flow
//! key comes from): TTL / hop limit per direction, an estimate of the
//! sender's initial TTL and hop count, IPv4 ToS, flags and identification.
//!
//! TTL columns read IPv4's TTL or IPv6's hop limit. The ToS, flag and
//! identification columns read IPv4 headers only and are null on a flow
//! without IPv4 packets (an IPv6 flow: see `ipv6_options`). Definitions and
//! the differences from the reference package: `docs/semantics.md#ip_extended`.

use super::sets::ByteSet;
use super::{Column, ColumnType, FeatureGroup, FlowView, Group, GroupDef, Needs, RowWriter};
use crate::config::Config;
use crate::packet::{Direction, PacketView};
use std::sync::Arc;

/// Common initial TTLs, in increasing order: the estimate of a sender's
/// initial TTL is the smallest of these at or above the TTL seen.
pub const INITIAL_TTLS: [u8; 4] = [32, 64, 128, 255];

/// The estimated initial TTL for a TTL seen on the wire.
pub fn initial_ttl(ttl: u8) -> u8 {
    INITIAL_TTLS.into_iter().find(|&t| ttl <= t).unwrap_or(255)
}

use ColumnType::{Float, Int};

/// The `ip_extended` columns, in output order.
#[rustfmt::skip]
pub const COLUMNS: &[Column] = &[
    Column::nullable("ip_ttl_fwd_min", Int, "hops", "Smallest TTL (IPv4) or hop limit (IPv6) of the initiator's packets."),
    Column::nullable("ip_ttl_fwd_max", Int, "hops", "Largest TTL or hop limit of the initiator's packets."),
    Column::nullable("ip_ttl_fwd_mean", Float, "hops", "Mean TTL or hop limit of the initiator's packets."),
    Column::nullable("ip_ttl_fwd_changes", Int, "", "Distinct TTL values among the initiator's packets, minus 1 (0: constant TTL)."),
    Column::nullable("ip_ttl_bwd_min", Int, "hops", "Smallest TTL or hop limit of the responder's packets; null without responder packets."),
    Column::nullable("ip_ttl_bwd_max", Int, "hops", "Largest TTL or hop limit of the responder's packets; null without responder packets."),
    Column::nullable("ip_ttl_bwd_mean", Float, "hops", "Mean TTL or hop limit of the responder's packets; null without responder packets."),
    Column::nullable("ip_ttl_bwd_changes", Int, "", "Distinct TTL values among the responder's packets, minus 1; null without responder packets."),
    Column::nullable("ip_ttl_fwd_initial_est", Int, "hops", "Estimated initial TTL of the initiator: the smallest of INITIAL_TTLS = 32, 64, 128, 255 at or above the TTL of its first packet."),
    Column::nullable("ip_ttl_fwd_hops_est", Int, "hops", "ip_ttl_fwd_initial_est minus the TTL of the initiator's first packet: routers between the initiator and the capture point."),
    Column::nullable("ip_tos_value", Int, "", "Smallest IPv4 type-of-service byte of the flow (DSCP << 2 | ECN); null without IPv4 packets."),
    Column::nullable("ip_tos_unique_count", Int, "", "Distinct IPv4 type-of-service bytes in the flow; null without IPv4 packets."),
    Column::nullable("ip_dscp", Int, "", "DSCP of ip_tos_value (its top six bits); null without IPv4 packets."),
    Column::nullable("ip_ecn", Int, "", "ECN of ip_tos_value (its low two bits); null without IPv4 packets."),
    Column::nullable("ip_flags", Int, "", "IPv4 flag bits seen in any packet, OR-ed: 4 reserved, 2 DF (don't fragment), 1 MF (more fragments); null without IPv4 packets."),
    Column::nullable("ip_df_count", Int, "packets", "IPv4 packets with DF set; null without IPv4 packets."),
    Column::nullable("ip_df_ratio", Float, "", "ip_df_count / IPv4 packets of the flow; null without IPv4 packets."),
    Column::always("ip_version", Int, "", "IP version of the flow's (outermost) IP header: 4 or 6."),
    Column::nullable("ip_id_gaps", Int, "", "IPv4 packets whose identification is neither equal to nor 1 more than (mod 65536) that of the previous IPv4 packet in the same direction, both directions summed; null without IPv4 packets."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "ip_extended",
    summary: "Outer IP header: TTL per direction, initial TTL and hop estimate, IPv4 ToS/DSCP/ECN, flags, identification gaps.",
    columns: COLUMNS,
    build: |_cfg: &Config| -> Arc<dyn Group> { Arc::new(IpExtended) },
};

/// The `ip_extended` group (no settings).
pub struct IpExtended;

/// TTLs of one direction: 48 bytes.
#[derive(Debug, Clone, Default)]
pub struct TtlDir {
    seen: ByteSet,
    sum: u64,
    n: u64,
}

/// Per-flow state: 160 bytes.
#[derive(Debug, Clone, Default)]
pub struct State {
    ttl: [TtlDir; 2],
    tos: ByteSet,
    /// IPv4 packets.
    v4: u64,
    /// IPv4 packets with DF.
    df: u64,
    id_gaps: u64,
    /// Identification of the previous IPv4 packet per direction.
    last_id: [u16; 2],
    /// TTL of the initiator's first packet.
    first_fwd_ttl: u8,
    /// Bit 0: `first_fwd_ttl` set; bits 1, 2: `last_id` set (fwd, bwd).
    seen: u8,
    /// Flag bits OR-ed (reserved 4, DF 2, MF 1).
    flags: u8,
}

const _: () = assert!(std::mem::size_of::<State>() == 160);

impl FeatureGroup for IpExtended {
    type State = State;

    fn needs(&self) -> Needs {
        Needs::HEADERS
    }

    fn new_state(&self) -> State {
        State::default()
    }

    #[inline]
    fn update(&self, st: &mut State, pkt: &PacketView<'_>) {
        let d = pkt.dir as usize;
        if let Some(ttl) = pkt.ttl() {
            let t = &mut st.ttl[d];
            t.seen.insert(ttl);
            t.sum += u64::from(ttl);
            t.n += 1;
            if pkt.dir == Direction::Fwd && st.seen & 1 == 0 {
                st.first_fwd_ttl = ttl;
                st.seen |= 1;
            }
        }
        if let Some(h) = pkt.ipv4() {
            st.v4 += 1;
            st.tos.insert(h.tos);
            st.df += u64::from(h.df);
            st.flags |= u8::from(h.reserved_flag) << 2 | u8::from(h.df) << 1 | u8::from(h.mf);
            let bit = 2 << d;
            if st.seen & bit != 0 {
                st.id_gaps += u64::from(h.identification.wrapping_sub(st.last_id[d]) > 1);
            }
            st.last_id[d] = h.identification;
            st.seen |= bit;
        }
    }

    fn write(&self, flow: &FlowView<'_>, st: &State, out: &mut RowWriter<'_>) {
        for t in &st.ttl {
            let any = t.n > 0;
            out.put(t.seen.min().map(i64::from));
            out.put(t.seen.max().map(i64::from));
            out.put(any.then(|| t.sum as f64 / t.n as f64));
            out.put(any.then(|| i64::from(t.seen.len()) - 1));
        }
        let first = (st.seen & 1 != 0).then_some(st.first_fwd_ttl);
        out.put(first.map(|t| i64::from(initial_ttl(t))));
        out.put(first.map(|t| i64::from(initial_ttl(t) - t)));
        let v4 = st.v4 > 0;
        let tos = st.tos.min();
        out.put(tos.map(i64::from));
        out.put(v4.then(|| i64::from(st.tos.len())));
        out.put(tos.map(|t| i64::from(t >> 2)));
        out.put(tos.map(|t| i64::from(t & 3)));
        out.put(v4.then(|| i64::from(st.flags)));
        out.put(v4.then_some(st.df));
        out.put(v4.then(|| st.df as f64 / st.v4 as f64));
        out.put(if flow.key.v6 { 6i64 } else { 4 });
        out.put(v4.then_some(st.id_gaps));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_ttl_estimate() {
        for (ttl, est) in [
            (0, 32),
            (1, 32),
            (32, 32),
            (33, 64),
            (64, 64),
            (65, 128),
            (128, 128),
            (129, 255),
            (255, 255),
        ] {
            assert_eq!(initial_ttl(ttl), est, "{ttl}");
        }
    }
}
