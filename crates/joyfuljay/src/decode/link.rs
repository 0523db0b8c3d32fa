//! Link layers and the encapsulations between them and IP.

use super::{Layer, Stack};
use crate::error::SkipReason;

/// A LINKTYPE_* number (open newtype: any value is representable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback, host byte order family.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet.
    pub const ETHERNET: LinkType = LinkType(1);
    /// PPP.
    pub const PPP: LinkType = LinkType(9);
    /// Raw IP (OpenBSD/historic value).
    pub const RAW_12: LinkType = LinkType(12);
    /// Raw IP (historic value).
    pub const RAW_14: LinkType = LinkType(14);
    /// PPP in HDLC-like framing.
    pub const PPP_HDLC: LinkType = LinkType(50);
    /// Raw IP.
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback, network byte order family.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1.
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: LinkType = LinkType(276);
    /// IEEE 802.11 without a radio header.
    pub const IEEE802_11: LinkType = LinkType(105);
    /// Radiotap + IEEE 802.11.
    pub const RADIOTAP: LinkType = LinkType(127);
    /// PPI + (usually) IEEE 802.11.
    pub const PPI: LinkType = LinkType(192);

    /// Link types this decoder understands.
    pub const SUPPORTED: [LinkType; 15] = [
        LinkType::NULL,
        LinkType::ETHERNET,
        LinkType::PPP,
        LinkType::RAW_12,
        LinkType::RAW_14,
        LinkType::PPP_HDLC,
        LinkType::RAW,
        LinkType::LOOP,
        LinkType::LINUX_SLL,
        LinkType::IPV4,
        LinkType::IPV6,
        LinkType::LINUX_SLL2,
        LinkType::IEEE802_11,
        LinkType::RADIOTAP,
        LinkType::PPI,
    ];

    /// A human name for well-known link types.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "NULL (BSD loopback)",
            1 => "ETHERNET",
            9 => "PPP",
            12 | 14 | 101 => "RAW (IP)",
            50 => "PPP_HDLC",
            105 => "IEEE802_11",
            108 => "LOOP (OpenBSD loopback)",
            113 => "LINUX_SLL",
            127 => "IEEE802_11_RADIOTAP",
            129 => "ARCNET_LINUX",
            192 => "PPI",
            228 => "IPV4",
            229 => "IPV6",
            276 => "LINUX_SLL2",
            _ => "unknown",
        }
    }
}

/// The network protocol found under the link layers.
pub(super) enum Net {
    Ipv4,
    Ipv6,
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
const ETHERTYPE_QINQ_OLD2: u16 = 0x9200;
const ETHERTYPE_MPLS: u16 = 0x8847;
const ETHERTYPE_MPLS_MC: u16 = 0x8848;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;

#[inline]
fn be16(d: &[u8], at: usize) -> Option<u16> {
    d.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

/// Decode the link layer; returns the network protocol and the offset of its header.
#[inline]
pub(super) fn decode_link(
    lt: LinkType,
    d: &[u8],
    stack: &mut Stack,
) -> Result<(Net, usize), SkipReason> {
    match lt {
        LinkType::ETHERNET => {
            stack.push(Layer::Eth);
            let et = be16(d, 12).ok_or(SkipReason::Truncated)?;
            ethertype(et, d, 14, stack)
        }
        LinkType::LINUX_SLL => {
            stack.push(Layer::Sll);
            let et = be16(d, 14).ok_or(SkipReason::Truncated)?;
            ethertype(et, d, 16, stack)
        }
        LinkType::LINUX_SLL2 => {
            stack.push(Layer::Sll2);
            if d.len() < 20 {
                return Err(SkipReason::Truncated);
            }
            let et = be16(d, 0).ok_or(SkipReason::Truncated)?;
            ethertype(et, d, 20, stack)
        }
        LinkType::NULL | LinkType::LOOP => {
            stack.push(Layer::Null);
            let b = d.get(..4).ok_or(SkipReason::Truncated)?;
            let le = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let be = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            // The family is written in the capturing host's byte order for
            // NULL and in network order for LOOP; families are small numbers,
            // so whichever reading is small is the right one.
            let family = if lt == LinkType::LOOP || le > 0xffff {
                be
            } else {
                le
            };
            match family {
                2 => Ok((Net::Ipv4, 4)),
                10 | 24 | 28 | 30 => Ok((Net::Ipv6, 4)),
                _ => Err(SkipReason::NotIp),
            }
        }
        LinkType::PPP | LinkType::PPP_HDLC => {
            stack.push(Layer::Ppp);
            let mut off = 0;
            if d.get(..2) == Some(&[0xff, 0x03]) {
                off = 2;
            }
            ppp_protocol(d, off)
        }
        LinkType::RAW | LinkType::RAW_12 | LinkType::RAW_14 => {
            match d.first().ok_or(SkipReason::Truncated)? >> 4 {
                4 => Ok((Net::Ipv4, 0)),
                6 => Ok((Net::Ipv6, 0)),
                _ => Err(SkipReason::NotIp),
            }
        }
        LinkType::IPV4 => Ok((Net::Ipv4, 0)),
        LinkType::IPV6 => Ok((Net::Ipv6, 0)),
        LinkType::IEEE802_11 => wlan(d, 0, stack),
        LinkType::RADIOTAP => {
            stack.push(Layer::Radiotap);
            let h = d.get(..4).ok_or(SkipReason::Truncated)?;
            let len = usize::from(u16::from_le_bytes([h[2], h[3]]));
            if len < 8 {
                return Err(SkipReason::BadLinkHeader);
            }
            wlan(d, len, stack)
        }
        LinkType::PPI => {
            stack.push(Layer::Ppi);
            let h = d.get(..8).ok_or(SkipReason::Truncated)?;
            let len = usize::from(u16::from_le_bytes([h[2], h[3]]));
            let dlt = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
            if len < 8 {
                return Err(SkipReason::BadLinkHeader);
            }
            match LinkType(dlt) {
                LinkType::IEEE802_11 => wlan(d, len, stack),
                LinkType::ETHERNET => {
                    stack.push(Layer::Eth);
                    let et = be16(d, len + 12).ok_or(SkipReason::Truncated)?;
                    ethertype(et, d, len + 14, stack)
                }
                _ => Err(SkipReason::UnsupportedLinkType),
            }
        }
        _ => Err(SkipReason::UnsupportedLinkType),
    }
}

/// An IEEE 802.11 frame at `off`: only unprotected data frames carrying
/// LLC/SNAP reach IP; management, control, null-data and encrypted frames
/// are not IP.
fn wlan(d: &[u8], off: usize, stack: &mut Stack) -> Result<(Net, usize), SkipReason> {
    stack.push(Layer::Wlan);
    let fc = d.get(off..off + 2).ok_or(SkipReason::Truncated)?;
    let (fc0, flags) = (fc[0], fc[1]);
    let kind = (fc0 >> 2) & 0x3;
    let subtype = fc0 >> 4;
    if kind != 2 || subtype & 0x4 != 0 || flags & 0x40 != 0 {
        // Not data, no payload (null data), or protected (encrypted).
        return Err(SkipReason::NotIp);
    }
    let mut hdr = 24;
    if flags & 0x03 == 0x03 {
        hdr += 6; // four addresses (WDS)
    }
    if subtype & 0x8 != 0 {
        hdr += 2; // QoS control
        if flags & 0x80 != 0 {
            hdr += 4; // HT control
        }
    }
    let llc = d
        .get(off + hdr..off + hdr + 8)
        .ok_or(SkipReason::Truncated)?;
    if llc[0] != 0xaa || llc[1] != 0xaa || llc[2] != 0x03 {
        return Err(SkipReason::NotIp);
    }
    let et = u16::from_be_bytes([llc[6], llc[7]]);
    ethertype(et, d, off + hdr + 8, stack)
}

/// PPP protocol field (1 or 2 bytes, RFC 1661 protocol-field compression).
fn ppp_protocol(d: &[u8], off: usize) -> Result<(Net, usize), SkipReason> {
    let first = *d.get(off).ok_or(SkipReason::Truncated)?;
    let (proto, len) = if first & 1 == 1 {
        (u16::from(first), 1)
    } else {
        (be16(d, off).ok_or(SkipReason::Truncated)?, 2)
    };
    match proto {
        0x0021 => Ok((Net::Ipv4, off + len)),
        0x0057 => Ok((Net::Ipv6, off + len)),
        _ => Err(SkipReason::NotIp),
    }
}

/// Follow an EtherType (and any tags, labels or PPPoE it announces) to IP.
#[inline]
fn ethertype(
    mut et: u16,
    d: &[u8],
    mut off: usize,
    stack: &mut Stack,
) -> Result<(Net, usize), SkipReason> {
    loop {
        match et {
            ETHERTYPE_IPV4 => return Ok((Net::Ipv4, off)),
            ETHERTYPE_IPV6 => return Ok((Net::Ipv6, off)),
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD | ETHERTYPE_QINQ_OLD2 => {
                stack.push(Layer::Vlan);
                et = be16(d, off + 2).ok_or(SkipReason::Truncated)?;
                off += 4;
            }
            ETHERTYPE_MPLS | ETHERTYPE_MPLS_MC => {
                loop {
                    stack.push(Layer::Mpls);
                    let label = d.get(off..off + 4).ok_or(SkipReason::Truncated)?;
                    off += 4;
                    if label[2] & 0x01 == 1 {
                        break;
                    }
                }
                // No protocol field after the bottom label: look at the IP version.
                return match d.get(off).ok_or(SkipReason::Truncated)? >> 4 {
                    4 => Ok((Net::Ipv4, off)),
                    6 => Ok((Net::Ipv6, off)),
                    _ => Err(SkipReason::NotIp),
                };
            }
            ETHERTYPE_PPPOE_SESSION => {
                stack.push(Layer::Pppoe);
                if d.len() < off + 6 {
                    return Err(SkipReason::Truncated);
                }
                return ppp_protocol(d, off + 6);
            }
            n if n < 0x0600 => {
                // 802.3 length field: only LLC/SNAP can carry IP.
                let llc = d.get(off..off + 8).ok_or(SkipReason::NotIp)?;
                if llc[0] == 0xaa && llc[1] == 0xaa && llc[2] == 0x03 {
                    et = u16::from_be_bytes([llc[6], llc[7]]);
                    off += 8;
                } else {
                    return Err(SkipReason::NotIp);
                }
            }
            _ => return Err(SkipReason::NotIp),
        }
    }
}
