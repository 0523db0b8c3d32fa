//! Packet decoding: link layer → (VLAN/MPLS/PPPoE) → IPv4/IPv6 → transport.
//!
//! Hand-written, zero-copy and allocation-free: it runs once per packet. Every
//! length comes from a header, never from the captured length, so snaplen-cut
//! packets keep their real size and Ethernet padding is never payload.
//! Anything that cannot be decoded yields a [`SkipReason`].
//!
//! `etherparse` is the reference this decoder is tested against.

mod ip;
mod link;

pub use link::LinkType;

use crate::error::SkipReason;

/// One element of a decoded protocol stack, outermost first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Layer {
    /// Ethernet II / 802.3.
    Eth = 1,
    /// Linux cooked capture v1.
    Sll,
    /// Linux cooked capture v2.
    Sll2,
    /// BSD loopback / null.
    Null,
    /// PPP (including HDLC-framed PPP).
    Ppp,
    /// 802.1Q / 802.1ad tag.
    Vlan,
    /// One MPLS label.
    Mpls,
    /// PPPoE session header.
    Pppoe,
    /// IPv4.
    Ip,
    /// IPv6.
    Ip6,
    /// IEEE 802.11 (Wi-Fi) data frame with LLC/SNAP.
    Wlan,
    /// Radiotap header before 802.11.
    Radiotap,
    /// Per-Packet Information header before 802.11.
    Ppi,
}

impl Layer {
    /// The token used in `hdr_desc`.
    pub fn token(self) -> &'static str {
        match self {
            Layer::Eth => "ETH",
            Layer::Sll => "SLL",
            Layer::Sll2 => "SLL2",
            Layer::Null => "NULL",
            Layer::Ppp => "PPP",
            Layer::Vlan => "VLAN",
            Layer::Mpls => "MPLS",
            Layer::Pppoe => "PPPOE",
            Layer::Ip => "IP",
            Layer::Ip6 => "IP6",
            Layer::Wlan => "WLAN",
            Layer::Radiotap => "RADIOTAP",
            Layer::Ppi => "PPI",
        }
    }

    fn from_u8(v: u8) -> Option<Layer> {
        Some(match v {
            1 => Layer::Eth,
            2 => Layer::Sll,
            3 => Layer::Sll2,
            4 => Layer::Null,
            5 => Layer::Ppp,
            6 => Layer::Vlan,
            7 => Layer::Mpls,
            8 => Layer::Pppoe,
            9 => Layer::Ip,
            10 => Layer::Ip6,
            11 => Layer::Wlan,
            12 => Layer::Radiotap,
            13 => Layer::Ppi,
            _ => return None,
        })
    }
}

/// Most stack elements recorded below the transport layer; deeper stacks
/// are still decoded, but only this many elements are kept for `hdr_desc`.
pub const MAX_STACK: usize = 15;

/// The decoded stack below the transport layer (link, tags, labels, IP),
/// packed into one integer (a nibble per layer, the count in the top
/// nibble) so that building it stays in registers on the hot path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stack(u64);

impl Stack {
    #[inline]
    fn push(&mut self, l: Layer) {
        let len = self.len();
        if len < MAX_STACK {
            self.0 |= (l as u64) << (4 * len);
            self.0 = (self.0 & !(0xf << 60)) | (((len + 1) as u64) << 60);
        }
    }

    /// The recorded layers, outermost first.
    pub fn layers(&self) -> impl Iterator<Item = Layer> + '_ {
        let bits = self.0;
        (0..self.len()).filter_map(move |i| Layer::from_u8(((bits >> (4 * i)) & 0xf) as u8))
    }

    /// Number of recorded layers.
    pub fn len(&self) -> usize {
        (self.0 >> 60) as usize
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The token for a transport protocol number in `hdr_desc`.
pub fn transport_token(proto: u8) -> std::borrow::Cow<'static, str> {
    use std::borrow::Cow;
    Cow::Borrowed(match proto {
        6 => "TCP",
        17 => "UDP",
        1 => "ICMP",
        58 => "ICMP6",
        132 => "SCTP",
        47 => "GRE",
        50 => "ESP",
        51 => "AH",
        n => return Cow::Owned(format!("PROTO{n}")),
    })
}

/// IP fragment position of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fragment {
    /// Not a fragment.
    None,
    /// First fragment of a datagram (offset 0, more fragments follow): carries the ports.
    First {
        /// IPv4 identification or IPv6 fragment id.
        id: u32,
    },
    /// A later fragment (offset > 0): no transport header.
    Later {
        /// IPv4 identification or IPv6 fragment id.
        id: u32,
    },
}

/// TCP flag bits as they appear in the header's flags byte.
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
}

/// What the flow table needs from one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// Source address (IPv4 in the low 32 bits when `v6` is false).
    pub src: u128,
    /// Destination address.
    pub dst: u128,
    /// True for IPv6 addresses.
    pub v6: bool,
    /// Source port (0 for port-less protocols and later fragments).
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Upper-layer protocol number.
    pub proto: u8,
    /// IP-level length: IPv4 total length, IPv6 payload length + 40.
    pub ip_len: u32,
    /// Bytes after the transport header.
    pub payload_len: u32,
    /// TCP flags byte (0 for other protocols).
    pub tcp_flags: u8,
    /// Fragment position.
    pub fragment: Fragment,
    /// Stack below the transport layer.
    pub stack: Stack,
    /// Offset in the frame of the IP header, after the link layer and any
    /// tags, labels or PPPoE. (The link header itself starts at 0, or after
    /// the radiotap or PPI header when `stack` begins with one.)
    pub l3_off: u32,
    /// Offset in the frame of the transport header: the end of the IPv4
    /// header, or of the IPv6 extension headers the decoder walked. For
    /// later fragments and protocols without a known header it is simply
    /// the first byte after the IP headers.
    pub l4_off: u32,
    /// Offset in the frame of the first payload byte: `l4_off` plus the
    /// transport header length (TCP data offset, 8 for UDP, ICMP and
    /// ICMPv6, 12 for SCTP, 0 for other protocols and later fragments).
    /// The payload holds `payload_len` bytes on the wire from here.
    pub payload_off: u32,
}

/// Decode one frame of the given link type.
///
/// `orig_len` is the packet's length on the wire (it may exceed `data.len()`
/// when the capture was cut by a snaplen).
#[inline]
pub fn decode(link_type: u32, data: &[u8], orig_len: u32) -> Result<Decoded, SkipReason> {
    let wire_len = (orig_len as usize).max(data.len());
    let mut stack = Stack::default();
    let (net, off) = link::decode_link(LinkType(link_type), data, &mut stack)?;
    let wire_rest = wire_len - off;
    match net {
        link::Net::Ipv4 => ip::decode_ipv4(data, off, wire_rest, stack),
        link::Net::Ipv6 => ip::decode_ipv6(data, off, wire_rest, stack),
    }
}

#[cfg(test)]
mod tests;
