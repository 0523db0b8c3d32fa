//! `mac`: link-layer addresses, EtherType and VLAN tags.
//!
//! Addresses come from [`PacketView::macs`]: Ethernet (also behind PPI),
//! 802.11 data frames (source and destination address as Wireshark's
//! `wlan.sa`/`wlan.da`) and Linux cooked captures (one address, the
//! source). EtherType and VLAN tags come from [`PacketView::link`]
//! (Ethernet and Linux cooked captures). Where the link layer has no such
//! field the column is null. Definitions and the differences from the
//! reference package: `docs/semantics.md#mac`.

use super::sets::SmallSet;
use super::{Column, ColumnType, FeatureGroup, FlowView, Group, GroupDef, Needs, RowWriter};
use crate::config::Config;
use crate::packet::PacketView;
use std::sync::Arc;

/// `mac_stat` bits.
pub mod mac_stat {
    /// The flow's first packet has a source address.
    pub const SRC: i64 = 0x01;
    /// The flow's first packet has a destination address.
    pub const DST: i64 = 0x02;
    /// More than one source address in the flow.
    pub const MULTI_SRC: i64 = 0x04;
    /// More than one destination address in the flow.
    pub const MULTI_DST: i64 = 0x08;
    /// Some packet carries a VLAN tag.
    pub const VLAN: i64 = 0x10;
}

use ColumnType::{Int, Str};

/// The `mac` columns, in output order.
#[rustfmt::skip]
pub const COLUMNS: &[Column] = &[
    Column {
        identifies: true,
        ..Column::nullable("mac_src", Str, "", "Source MAC address of the flow's first packet (lowercase, colon-separated); null when its link layer has none.")
    },
    Column {
        identifies: true,
        ..Column::nullable("mac_dst", Str, "", "Destination MAC address of the flow's first packet; null when its link layer has none (Linux cooked captures record only the source).")
    },
    Column::nullable("mac_eth_type", Int, "", "EtherType field of the first packet's link header as written (0x8100 / 0x88a8 when tagged; a Linux cooked capture's protocol type); null for other link layers and 802.3 length fields."),
    Column::nullable("mac_vlan_id", Int, "", "Smallest VLAN ID (12 bits) of the outermost 802.1Q/802.1ad tag over the flow's packets; null when no packet is tagged."),
    Column::always("mac_vlan_count", Int, "", "Distinct outermost VLAN IDs in the flow (0 when untagged)."),
    Column::always("mac_unique_src_count", Int, "", "Distinct source MAC addresses over the flow's packets (both directions)."),
    Column::always("mac_unique_dst_count", Int, "", "Distinct destination MAC addresses over the flow's packets (both directions)."),
    Column::always("mac_stat", Int, "", "Bitmap: 1 first packet has a source MAC, 2 it has a destination MAC, 4 several source MACs, 8 several destination MACs, 16 some packet VLAN-tagged."),
    Column::always("mac_broadcast_count", Int, "packets", "Packets sent to ff:ff:ff:ff:ff:ff."),
    Column::always("mac_multicast_count", Int, "packets", "Packets sent to a group address other than broadcast (low bit of the first byte set)."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "mac",
    summary: "Link layer: MAC addresses, EtherType, VLAN IDs, broadcast and multicast packets.",
    columns: COLUMNS,
    build: |_cfg: &Config| -> Arc<dyn Group> { Arc::new(Mac) },
};

/// The `mac` group (no settings).
pub struct Mac;

/// A MAC address as a 48-bit integer (first byte highest).
fn mac_int(m: [u8; 6]) -> u64 {
    m.iter().fold(0, |a, &b| a << 8 | u64::from(b))
}

/// Lowercase colon-separated text of a 48-bit address.
fn mac_text(m: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(17);
    for i in (0..6).rev() {
        let b = (m >> (8 * i)) as u8;
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
        if i > 0 {
            s.push(':');
        }
    }
    s
}

const BROADCAST: u64 = 0xffff_ffff_ffff;

/// Per-flow state: 128 bytes (two distinct source and two destination
/// addresses and four VLAN IDs inline; more spill to the heap, counts stay
/// exact).
#[derive(Default)]
pub struct State {
    srcs: SmallSet<[u64; 2]>,
    dsts: SmallSet<[u64; 2]>,
    vlans: SmallSet<[u16; 4]>,
    broadcast: u64,
    multicast: u64,
    /// First packet's addresses (`u64::MAX`: none).
    first_src: u64,
    first_dst: u64,
    /// First packet's EtherType.
    first_eth_type: Option<u16>,
    /// The first packet was seen.
    started: bool,
}

const _: () = assert!(std::mem::size_of::<State>() == 128);

impl FeatureGroup for Mac {
    type State = State;

    fn needs(&self) -> Needs {
        Needs::HEADERS
    }

    fn new_state(&self) -> State {
        State::default()
    }

    #[inline]
    fn update(&self, st: &mut State, pkt: &PacketView<'_>) {
        let macs = pkt.macs();
        let link = pkt.link();
        let src = macs.map(|m| mac_int(m.src));
        let dst = macs.and_then(|m| m.dst).map(mac_int);
        if !st.started {
            st.started = true;
            st.first_src = src.unwrap_or(u64::MAX);
            st.first_dst = dst.unwrap_or(u64::MAX);
            st.first_eth_type = link.and_then(|l| l.ether_type);
        }
        if let Some(s) = src {
            st.srcs.insert(s);
        }
        if let Some(d) = dst {
            st.dsts.insert(d);
            if d == BROADCAST {
                st.broadcast += 1;
            } else if d >> 40 & 1 == 1 {
                st.multicast += 1;
            }
        }
        if let Some(v) = link.and_then(|l| l.vlan_id) {
            st.vlans.insert(v);
        }
    }

    fn write(&self, _flow: &FlowView<'_>, st: &State, out: &mut RowWriter<'_>) {
        let some = |m: u64| (m != u64::MAX).then_some(m);
        let (src, dst) = (some(st.first_src), some(st.first_dst));
        out.put_with(|| src.map(mac_text));
        out.put_with(|| dst.map(mac_text));
        out.put(st.first_eth_type.map(i64::from));
        out.put(st.vlans.min().map(i64::from));
        out.put(st.vlans.len() as i64);
        out.put(st.srcs.len() as i64);
        out.put(st.dsts.len() as i64);
        let mut stat = 0;
        for (on, bit) in [
            (src.is_some(), mac_stat::SRC),
            (dst.is_some(), mac_stat::DST),
            (st.srcs.len() > 1, mac_stat::MULTI_SRC),
            (st.dsts.len() > 1, mac_stat::MULTI_DST),
            (!st.vlans.is_empty(), mac_stat::VLAN),
        ] {
            if on {
                stat |= bit;
            }
        }
        out.put(stat);
        out.put(st.broadcast);
        out.put(st.multicast);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_text_and_int() {
        let m = [0x00, 0x1b, 0xa2, 0xff, 0x0a, 0xe0];
        assert_eq!(mac_text(mac_int(m)), "00:1b:a2:ff:0a:e0");
        assert_eq!(mac_int([0xff; 6]), BROADCAST);
        assert_eq!(mac_int([1, 0, 0x5e, 0, 0, 1]) >> 40 & 1, 1);
    }
}
