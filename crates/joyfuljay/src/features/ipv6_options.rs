//! `ipv6_options`: the IPv6 fields of the outermost IP header (the one the
//! flow key comes from): flow labels and traffic classes, and how many of
//! the flow's packets are IPv6.
//!
//! A flow's packets all share its key's IP version, so the packet counts
//! and `is_ipv6_only` follow from the key; the label and traffic-class
//! columns are null on an IPv4 flow (a 6in4 tunnel is an IPv4 flow here:
//! its outer header is IPv4). Definitions and the differences from the
//! reference package: `docs/semantics.md#ipv6_options`.

use super::sets::{ByteSet, SmallSet};
use super::{Column, ColumnType, FeatureGroup, FlowView, Group, GroupDef, Needs, RowWriter};
use crate::config::Config;
use crate::packet::PacketView;
use std::sync::Arc;

use ColumnType::{Bool, Float, Int};

/// The `ipv6_options` columns, in output order.
#[rustfmt::skip]
pub const COLUMNS: &[Column] = &[
    Column::always("ipv6_packet_count", Int, "packets", "Packets whose (outermost) IP header is IPv6."),
    Column::always("ipv4_packet_count", Int, "packets", "Packets whose (outermost) IP header is IPv4."),
    Column::nullable("ipv6_flow_label", Int, "", "Smallest IPv6 flow label (20 bits) of the flow's packets; null without IPv6 packets."),
    Column::nullable("ipv6_flow_label_unique_count", Int, "", "Distinct IPv6 flow labels (both directions); null without IPv6 packets."),
    Column::nullable("ipv6_flow_label_changes", Int, "", "ipv6_flow_label_unique_count minus 1; null without IPv6 packets."),
    Column::nullable("ipv6_traffic_class", Int, "", "Smallest IPv6 traffic class byte (DSCP << 2 | ECN); null without IPv6 packets."),
    Column::nullable("ipv6_traffic_class_unique_count", Int, "", "Distinct IPv6 traffic class bytes; null without IPv6 packets."),
    Column::nullable("ipv6_dscp", Int, "", "DSCP of ipv6_traffic_class (its top six bits); null without IPv6 packets."),
    Column::nullable("ipv6_ecn", Int, "", "ECN of ipv6_traffic_class (its low two bits); null without IPv6 packets."),
    Column::always("ipv6_ratio", Float, "", "ipv6_packet_count / (ipv6_packet_count + ipv4_packet_count)."),
    Column::always("is_ipv6_only", Bool, "", "True when every packet of the flow is IPv6."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "ipv6_options",
    summary: "Outer IPv6 header: flow labels, traffic class (DSCP/ECN), IPv6 share of the packets.",
    columns: COLUMNS,
    build: |_cfg: &Config| -> Arc<dyn Group> { Arc::new(Ipv6Options) },
};

/// The `ipv6_options` group (no settings).
pub struct Ipv6Options;

/// Per-flow state: 64 bytes (four distinct flow labels inline; a flow with
/// more spills them to the heap, counts stay exact).
#[derive(Default)]
pub struct State {
    labels: SmallSet<[u32; 4]>,
    classes: ByteSet,
}

const _: () = assert!(std::mem::size_of::<State>() == 64);

impl FeatureGroup for Ipv6Options {
    type State = State;

    fn needs(&self) -> Needs {
        Needs::HEADERS
    }

    fn new_state(&self) -> State {
        State::default()
    }

    #[inline]
    fn update(&self, st: &mut State, pkt: &PacketView<'_>) {
        if let Some(h) = pkt.ipv6() {
            st.labels.insert(h.flow_label);
            st.classes.insert(h.traffic_class);
        }
    }

    fn write(&self, flow: &FlowView<'_>, st: &State, out: &mut RowWriter<'_>) {
        let total = flow.total_packets();
        let (v6, v4) = if flow.key.v6 { (total, 0) } else { (0, total) };
        out.put(v6);
        out.put(v4);
        let any = !st.labels.is_empty();
        out.put(st.labels.min().map(i64::from));
        out.put(any.then_some(st.labels.len() as i64));
        out.put(any.then_some(st.labels.len() as i64 - 1));
        let tc = st.classes.min();
        out.put(tc.map(i64::from));
        out.put(tc.map(|_| i64::from(st.classes.len())));
        out.put(tc.map(|t| i64::from(t >> 2)));
        out.put(tc.map(|t| i64::from(t & 3)));
        out.put(if total == 0 {
            0.0
        } else {
            v6 as f64 / total as f64
        });
        out.put(v6 > 0 && v4 == 0);
    }
}
