//! IPv4, IPv6 (with extension headers) and the transport headers above them.

use super::{Decoded, Fragment, Layer, Stack};
use crate::error::SkipReason;

pub(super) const PROTO_ICMP: u8 = 1;
pub(super) const PROTO_TCP: u8 = 6;
pub(super) const PROTO_UDP: u8 = 17;
pub(super) const PROTO_ICMPV6: u8 = 58;
pub(super) const PROTO_SCTP: u8 = 132;

/// Decode an IPv4 packet whose header starts at `l3_off` in `frame`;
/// `wire_rest` is the number of bytes from there to the end of the packet
/// on the wire.
#[inline]
pub(super) fn decode_ipv4(
    frame: &[u8],
    l3_off: usize,
    wire_rest: usize,
    mut stack: Stack,
) -> Result<Decoded, SkipReason> {
    stack.push(Layer::Ip);
    let d = &frame[l3_off..];
    let h = d.get(..20).ok_or(SkipReason::Truncated)?;
    if h[0] >> 4 != 4 {
        return Err(SkipReason::BadIpv4Header);
    }
    let ihl = usize::from(h[0] & 0x0f) * 4;
    if ihl < 20 {
        return Err(SkipReason::BadIpv4Header);
    }
    let mut total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    if total == 0 {
        // TCP segmentation offload: the capturing host had not filled it in yet.
        total = wire_rest;
    }
    if total < ihl || total > wire_rest {
        return Err(SkipReason::BadIpv4Header);
    }
    let id = u32::from(u16::from_be_bytes([h[4], h[5]]));
    let flags_frag = u16::from_be_bytes([h[6], h[7]]);
    let more = flags_frag & 0x2000 != 0;
    let frag_off = flags_frag & 0x1fff;
    let proto = h[9];
    let src = u128::from(u32::from_be_bytes([h[12], h[13], h[14], h[15]]));
    let dst = u128::from(u32::from_be_bytes([h[16], h[17], h[18], h[19]]));
    let fragment = if frag_off != 0 {
        Fragment::Later { id }
    } else if more {
        Fragment::First { id }
    } else {
        Fragment::None
    };
    let l4_len = total - ihl;
    let (sport, dport, tcp_flags, payload_len, l4_hdr) = if let Fragment::Later { .. } = fragment {
        (0, 0, 0, l4_len as u32, 0)
    } else {
        let l4 = d.get(ihl..).ok_or(SkipReason::Truncated)?;
        let t = transport(proto, l4, l4_len)?;
        (t.sport, t.dport, t.tcp_flags, t.payload_len, t.hdr_len)
    };
    let l4_off = (l3_off + ihl) as u32;
    Ok(Decoded {
        src,
        dst,
        v6: false,
        sport,
        dport,
        proto,
        ip_len: total as u32,
        payload_len,
        tcp_flags,
        fragment,
        stack,
        l3_off: l3_off as u32,
        l4_off,
        payload_off: l4_off + l4_hdr,
    })
}

/// Decode an IPv6 packet (arguments as for [`decode_ipv4`]), skipping
/// extension headers to the upper layer.
#[inline]
pub(super) fn decode_ipv6(
    frame: &[u8],
    l3_off: usize,
    wire_rest: usize,
    mut stack: Stack,
) -> Result<Decoded, SkipReason> {
    stack.push(Layer::Ip6);
    let d = &frame[l3_off..];
    let h = d.get(..40).ok_or(SkipReason::Truncated)?;
    if h[0] >> 4 != 6 {
        return Err(SkipReason::BadIpv6Header);
    }
    let mut plen = usize::from(u16::from_be_bytes([h[4], h[5]]));
    // Payload length 0 behind a header that cannot be empty is a jumbogram
    // (hop-by-hop) or segmentation offload: use the wire length. Behind "no
    // next header" or an unknown protocol it is a genuinely empty payload
    // (and Ethernet padding must not become one).
    if plen == 0 && matches!(h[6], 0 | 6 | 17 | 43 | 44 | 51 | 58 | 60 | 132) {
        plen = wire_rest.saturating_sub(40);
    }
    if 40 + plen > wire_rest {
        return Err(SkipReason::BadIpv6Header);
    }
    let mut a = [0u8; 16];
    a.copy_from_slice(&h[8..24]);
    let src = u128::from_be_bytes(a);
    a.copy_from_slice(&h[24..40]);
    let dst = u128::from_be_bytes(a);

    let mut next = h[6];
    let mut off = 40usize; // offset of the current header within `d`
    let end = 40 + plen; // end of the IP packet
    let mut fragment = Fragment::None;
    loop {
        let ext_len = match next {
            0 | 43 | 60 | 135 | 139 | 140 => {
                let e = ext_bytes(d, off, 2, end)?;
                (usize::from(e[1]) + 1) * 8
            }
            51 => {
                let e = ext_bytes(d, off, 2, end)?;
                (usize::from(e[1]) + 2) * 4
            }
            44 => {
                let e = ext_bytes(d, off, 8, end)?;
                let fo = u16::from_be_bytes([e[2], e[3]]);
                let id = u32::from_be_bytes([e[4], e[5], e[6], e[7]]);
                fragment = if fo >> 3 != 0 {
                    Fragment::Later { id }
                } else if fo & 1 != 0 {
                    Fragment::First { id }
                } else {
                    Fragment::None // atomic fragment
                };
                8
            }
            _ => break,
        };
        if off + ext_len > end {
            return Err(SkipReason::BadIpv6Header);
        }
        next = d[off];
        off += ext_len;
        if let Fragment::Later { .. } = fragment {
            break;
        }
    }
    let l4_len = end - off;
    let (sport, dport, tcp_flags, payload_len, l4_hdr) = if let Fragment::Later { .. } = fragment {
        (0, 0, 0, l4_len as u32, 0)
    } else {
        let l4 = d.get(off..).ok_or(SkipReason::Truncated)?;
        let t = transport(next, l4, l4_len)?;
        (t.sport, t.dport, t.tcp_flags, t.payload_len, t.hdr_len)
    };
    let l4_off = (l3_off + off) as u32;
    Ok(Decoded {
        src,
        dst,
        v6: true,
        sport,
        dport,
        proto: next,
        ip_len: end as u32,
        payload_len,
        tcp_flags,
        fragment,
        stack,
        l3_off: l3_off as u32,
        l4_off,
        payload_off: l4_off + l4_hdr,
    })
}

/// The first `n` bytes of the extension header at `off`. A header that the
/// IPv6 payload length leaves no room for is a lie, whatever was captured;
/// one that is announced but was not captured is a truncation.
#[inline]
fn ext_bytes(d: &[u8], off: usize, n: usize, end: usize) -> Result<&[u8], SkipReason> {
    if off + n > end {
        return Err(SkipReason::BadIpv6Header);
    }
    d.get(off..off + n).ok_or(SkipReason::Truncated)
}

/// Ports, TCP flags, payload length and header length read from a
/// transport header.
struct L4Info {
    sport: u16,
    dport: u16,
    tcp_flags: u8,
    payload_len: u32,
    hdr_len: u32,
}

/// Read ports, flags and the payload length from the transport header.
/// `l4` holds the captured transport bytes; `l4_len` their length per the IP
/// header. Returns a small value (kept in registers) rather than writing
/// into the caller's struct field by field.
#[inline(always)]
fn transport(proto: u8, l4: &[u8], l4_len: usize) -> Result<L4Info, SkipReason> {
    let min_len = match proto {
        PROTO_TCP => 20,
        PROTO_SCTP => 12,
        PROTO_UDP | PROTO_ICMP | PROTO_ICMPV6 => 8,
        _ => 0,
    };
    if l4_len < min_len {
        // The IP header leaves no room for the transport header: a header
        // lie, not a truncation, however many bytes were captured.
        return Err(SkipReason::BadTransportHeader);
    }
    let ports = |t: &[u8]| {
        (
            u16::from_be_bytes([t[0], t[1]]),
            u16::from_be_bytes([t[2], t[3]]),
        )
    };
    let (sport, dport, tcp_flags, hdr_len) = match proto {
        PROTO_TCP => {
            let t = l4.get(..14).ok_or(SkipReason::Truncated)?;
            let (s, d) = ports(t);
            (s, d, t[13], usize::from(t[12] >> 4) * 4)
        }
        PROTO_UDP => {
            let t = l4.get(..4).ok_or(SkipReason::Truncated)?;
            let (s, d) = ports(t);
            (s, d, 0, 8)
        }
        PROTO_SCTP => {
            let t = l4.get(..4).ok_or(SkipReason::Truncated)?;
            let (s, d) = ports(t);
            (s, d, 0, 12)
        }
        PROTO_ICMP | PROTO_ICMPV6 => (0, 0, 0, 8),
        _ => (0, 0, 0, 0),
    };
    if (proto == PROTO_TCP && hdr_len < 20) || hdr_len > l4_len {
        return Err(SkipReason::BadTransportHeader);
    }
    Ok(L4Info {
        sport,
        dport,
        tcp_flags,
        payload_len: (l4_len - hdr_len) as u32,
        hdr_len: hdr_len as u32,
    })
}
