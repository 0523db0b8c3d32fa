//! The canonical bidirectional 5-tuple.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use crate::packet::Direction;

/// One endpoint of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// Address as an integer (IPv4 in the low 32 bits).
    pub addr: u128,
    /// Port (0 for port-less protocols).
    pub port: u16,
}

/// Bidirectional 5-tuple with the endpoints in canonical (numeric) order, so
/// both directions of a conversation map to the same key. Laid out in 48
/// bytes so that a hash-table entry fits one cache line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowKey {
    addr: [u128; 2],
    port: [u16; 2],
    /// IP protocol number.
    pub proto: u8,
    /// True for IPv6 addresses.
    pub v6: bool,
}

impl std::hash::Hash for FlowKey {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u128(self.addr[0]);
        state.write_u128(self.addr[1]);
        state.write_u64(
            (u64::from(self.port[0]) << 32)
                | (u64::from(self.port[1]) << 16)
                | (u64::from(self.proto) << 8)
                | u64::from(self.v6),
        );
    }
}

impl FlowKey {
    /// Build the canonical key; the boolean is true when `src` is endpoint `a`.
    #[inline]
    pub fn new(src: Endpoint, dst: Endpoint, proto: u8, v6: bool) -> (FlowKey, bool) {
        let src_is_a = (src.addr, src.port) <= (dst.addr, dst.port);
        let (a, b) = if src_is_a { (src, dst) } else { (dst, src) };
        (
            FlowKey {
                addr: [a.addr, b.addr],
                port: [a.port, b.port],
                proto,
                v6,
            },
            src_is_a,
        )
    }

    /// The smaller endpoint.
    #[inline]
    pub fn a(&self) -> Endpoint {
        Endpoint {
            addr: self.addr[0],
            port: self.port[0],
        }
    }

    /// The larger endpoint.
    #[inline]
    pub fn b(&self) -> Endpoint {
        Endpoint {
            addr: self.addr[1],
            port: self.port[1],
        }
    }

    /// The address of an endpoint as an [`IpAddr`].
    pub fn ip(&self, e: &Endpoint) -> IpAddr {
        to_ip(e.addr, self.v6)
    }
}

/// Convert an integer address to an [`IpAddr`].
pub fn to_ip(addr: u128, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(addr))
    } else {
        IpAddr::V4(Ipv4Addr::from(addr as u32))
    }
}

/// Text form of an address: dotted quad, or RFC 5952 compressed IPv6 as
/// `inet_ntop` writes it (IPv4-mapped `::ffff:a.b.c.d` and IPv4-compatible
/// `::a.b.c.d` keep a dotted tail), so that hashed addresses and flow ids
/// match other tools.
pub fn ip_text(addr: u128, v6: bool) -> String {
    if !v6 {
        // Dotted quad by hand: `Ipv4Addr`'s `Display` goes through the
        // formatting machinery, a visible cost with two addresses per row.
        let mut s = String::with_capacity(15);
        for (i, octet) in (addr as u32).to_be_bytes().into_iter().enumerate() {
            if i > 0 {
                s.push('.');
            }
            if octet >= 100 {
                s.push(char::from(b'0' + octet / 100));
            }
            if octet >= 10 {
                s.push(char::from(b'0' + octet / 10 % 10));
            }
            s.push(char::from(b'0' + octet % 10));
        }
        return s;
    }
    if addr >> 32 == 0 && (addr >> 16) & 0xffff != 0 {
        // IPv4-compatible: 96 zero bits, then a non-zero seventh group.
        return format!("::{}", Ipv4Addr::from(addr as u32));
    }
    to_ip(addr, v6).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_compact_and_direction_free() {
        assert_eq!(std::mem::size_of::<FlowKey>(), 48);
        let x = Endpoint { addr: 5, port: 80 };
        let y = Endpoint {
            addr: 3,
            port: 9999,
        };
        let (k1, s1) = FlowKey::new(x, y, 6, false);
        let (k2, s2) = FlowKey::new(y, x, 6, false);
        assert_eq!(k1, k2);
        assert!(!s1 && s2);
        assert_eq!(k1.a(), y);
        assert_eq!(k1.b(), x);
    }

    /// Dotted quads as std writes them, for every octet value in each place.
    #[test]
    fn ipv4_text_matches_std() {
        for o in 0..=255u32 {
            for shift in [0, 8, 16, 24] {
                let addr = (o << shift) | 0x0a00_0001 & !(0xff << shift);
                let want = Ipv4Addr::from(addr).to_string();
                assert_eq!(ip_text(u128::from(addr), false), want);
            }
        }
        assert_eq!(ip_text(0, false), "0.0.0.0");
        assert_eq!(ip_text(u128::from(u32::MAX), false), "255.255.255.255");
    }

    /// Address texts computed by the reference package (testdata/reference/ipv6_text.csv).
    #[test]
    fn ipv6_text_matches_reference() {
        let csv = include_str!("../../../../testdata/reference/ipv6_text.csv");
        let mut n = 0;
        for line in csv.lines().skip(1) {
            let (hex, text) = line.split_once(',').unwrap();
            let addr = u128::from_str_radix(hex, 16).unwrap();
            assert_eq!(ip_text(addr, true), text, "address {hex}");
            n += 1;
        }
        assert!(n >= 10);
    }
}
