//! Header details and payload of a [`PacketView`], read from the frame on demand.
//!
//! The decoder records where the IP header, the transport header and the
//! payload start in the frame ([`Decoded::l3_off`], [`Decoded::l4_off`],
//! [`Decoded::payload_off`]). The accessors here read the captured bytes at
//! those offsets only when a feature group asks. Each one checks bounds: it
//! returns `None` when the capture does not hold the fields it reads (a
//! snaplen cut, or a view without its frame), and no input makes it panic.
//! Nothing is copied: option bytes and the payload are slices of the frame.
//! Values are as written on the wire; checksums are not verified.
//!
//! [`Decoded::l3_off`]: crate::decode::Decoded::l3_off
//! [`Decoded::l4_off`]: crate::decode::Decoded::l4_off
//! [`Decoded::payload_off`]: crate::decode::Decoded::payload_off

use super::PacketView;
use crate::decode::{Fragment, Layer};

/// Big-endian `u16` at `at`; the caller has checked that `b` holds it.
#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Big-endian `u32` at `at`; the caller has checked that `b` holds it.
#[inline]
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// MAC address at `at`; the caller has checked that `b` holds it.
#[inline]
fn mac(b: &[u8], at: usize) -> [u8; 6] {
    let mut m = [0; 6];
    m.copy_from_slice(&b[at..at + 6]);
    m
}

/// IPv4 header fields, from [`PacketView::ipv4`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Details<'a> {
    /// Header length in bytes (IHL × 4: 20 to 60).
    pub header_len: u8,
    /// Type-of-service byte: DSCP in the top six bits, ECN in the low two.
    pub tos: u8,
    /// Total length field as written (0 under segmentation offload, where
    /// [`Decoded::ip_len`](crate::decode::Decoded::ip_len) comes from the
    /// wire length).
    pub total_len: u16,
    /// Identification.
    pub identification: u16,
    /// The reserved flag bit (should be 0).
    pub reserved_flag: bool,
    /// Don't Fragment.
    pub df: bool,
    /// More Fragments.
    pub mf: bool,
    /// Fragment offset, in 8-byte units.
    pub fragment_offset: u16,
    /// Time to live.
    pub ttl: u8,
    /// Protocol field.
    pub protocol: u8,
    /// Header checksum as written.
    pub checksum: u16,
    /// The option bytes (`header_len − 20` of them, or fewer when the
    /// capture ends inside them: see `options_cut`).
    pub options: &'a [u8],
    /// True when the capture ended inside the options.
    pub options_cut: bool,
}

impl Ipv4Details<'_> {
    /// DSCP (the top six bits of `tos`).
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.tos >> 2
    }

    /// ECN (the low two bits of `tos`).
    #[inline]
    pub fn ecn(&self) -> u8 {
        self.tos & 0x03
    }
}

/// IPv6 header fields, from [`PacketView::ipv6`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Details<'a> {
    /// Traffic class: DSCP in the top six bits, ECN in the low two.
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
    /// Payload length field as written (0 for jumbograms and segmentation
    /// offload).
    pub payload_len: u16,
    /// Next header field of the fixed header: the first extension header,
    /// or the transport protocol when there is none.
    pub next_header: u8,
    /// Hop limit.
    pub hop_limit: u8,
    /// The extension headers before the transport header.
    pub ext: Ipv6ExtHeaders<'a>,
}

/// The IPv6 extension headers the decoder walked between the fixed header
/// and the transport header (hop-by-hop 0, routing 43, fragment 44,
/// AH 51, destination options 60, mobility 135, HIP 139, Shim6 140). The
/// walk ends after the fragment header of a later fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6ExtHeaders<'a> {
    /// Type of the first header (the fixed header's next header field).
    first: u8,
    /// The captured bytes of the chain.
    bytes: &'a [u8],
    /// Length of the chain on the wire.
    wire_len: usize,
}

impl<'a> Ipv6ExtHeaders<'a> {
    /// The headers in order, as far as the capture holds them.
    pub fn iter(&self) -> Ipv6ExtIter<'a> {
        Ipv6ExtIter {
            next: self.first,
            bytes: self.bytes,
            pos: 0,
            end: self.wire_len,
        }
    }

    /// The header type numbers in order, as far as the capture holds them.
    pub fn kinds(&self) -> impl Iterator<Item = u8> + 'a {
        self.iter().map(|e| e.kind)
    }

    /// Bytes the extension headers take on the wire.
    #[inline]
    pub fn wire_len(&self) -> usize {
        self.wire_len
    }

    /// True when there are no extension headers.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.wire_len == 0
    }

    /// The captured bytes of all extension headers.
    #[inline]
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

impl<'a> IntoIterator for Ipv6ExtHeaders<'a> {
    type Item = Ipv6Ext<'a>;
    type IntoIter = Ipv6ExtIter<'a>;

    fn into_iter(self) -> Ipv6ExtIter<'a> {
        self.iter()
    }
}

/// One IPv6 extension header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Ext<'a> {
    /// Header type number (0, 43, 44, 51, 60, 135, 139 or 140).
    pub kind: u8,
    /// The header's bytes, starting with its next header field (fewer than
    /// its length when the capture ends inside it).
    pub bytes: &'a [u8],
}

/// Iterator over [`Ipv6ExtHeaders`]. It stops early, without error, where
/// the capture ends.
#[derive(Debug, Clone)]
pub struct Ipv6ExtIter<'a> {
    next: u8,
    bytes: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Iterator for Ipv6ExtIter<'a> {
    type Item = Ipv6Ext<'a>;

    fn next(&mut self) -> Option<Ipv6Ext<'a>> {
        if self.pos >= self.end {
            return None;
        }
        let h = self.bytes.get(self.pos..self.pos + 2)?;
        let len = match self.next {
            0 | 43 | 60 | 135 | 139 | 140 => (usize::from(h[1]) + 1) * 8,
            51 => (usize::from(h[1]) + 2) * 4,
            44 => 8,
            _ => {
                // Not a header the decoder walks: the offsets do not belong
                // to this frame.
                self.pos = self.end;
                return None;
            }
        };
        let kind = self.next;
        let stop = (self.pos + len).min(self.bytes.len());
        let bytes = &self.bytes[self.pos..stop];
        self.next = h[0];
        self.pos += len;
        Some(Ipv6Ext { kind, bytes })
    }
}

/// TCP header fields, from [`PacketView::tcp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpDetails<'a> {
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (meaningful when ACK is set).
    pub ack: u32,
    /// Header length in bytes (data offset × 4: 20 to 60).
    pub header_len: u8,
    /// The flags byte: CWR ECE URG ACK PSH RST SYN FIN, high bit first
    /// (see [`crate::decode::tcp_flags`]).
    pub flags: u8,
    /// The AE bit (formerly NS, ECN nonce; RFC 9768 AccECN), the ninth flag.
    pub ae: bool,
    /// The three reserved bits between the data offset and AE (should be 0).
    pub reserved: u8,
    /// Window field, not scaled.
    pub window: u16,
    /// Checksum as written.
    pub checksum: u16,
    /// Urgent pointer (meaningful when URG is set).
    pub urgent_ptr: u16,
    /// The raw option bytes (`header_len − 20` of them, or fewer when the
    /// capture ends inside them: see `options_cut`).
    pub options: &'a [u8],
    /// True when the capture ended inside the options.
    pub options_cut: bool,
}

impl<'a> TcpDetails<'a> {
    /// The options, parsed (see [`TcpOptions`]).
    pub fn options(&self) -> TcpOptions<'a> {
        let area = usize::from(self.header_len).saturating_sub(20);
        TcpOptions::parse_area(self.options, area, self.options_cut)
    }
}

/// Most option kinds [`TcpOptions::kinds`] lists: a TCP header has at
/// most 40 option bytes, and every option takes at least one.
pub const MAX_TCP_OPTIONS: usize = 40;

/// Timestamps option (kind 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpTimestamps {
    /// Timestamp value (TSval).
    pub val: u32,
    /// Timestamp echo reply (TSecr).
    pub ecr: u32,
}

/// Multipath TCP option (kind 30).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MptcpOption<'a> {
    /// Subtype: the high nibble of the byte after the length (0 MP_CAPABLE,
    /// 1 MP_JOIN, 2 DSS, 3 ADD_ADDR, ...).
    pub subtype: u8,
    /// The option's bytes after the kind and length bytes (the first holds
    /// the subtype).
    pub data: &'a [u8],
}

/// The parsed TCP options of one header, from [`TcpDetails::options`] or
/// [`TcpOptions::parse`].
///
/// Options are read in order. EOL (kind 0) ends the list; NOP (kind 1) is
/// one byte; every other option has a length byte counting its kind and
/// length bytes. A length below 2, one that runs past the options area, or
/// a wrong length for a known kind (MSS 4, window scale 3, SACK permitted
/// 2, SACK 10/18/26/34, timestamps 10, MPTCP at least 3) makes the options
/// malformed: parsing stops there and what was read before is kept. When
/// the same kind appears twice, the first one's value is kept.
///
/// Why a second parser exists, `features::tcp_options::walk`: the
/// `tcp_options`, `tcp_window`, `tcp_fingerprint` and `tcp_mptcp` groups
/// are checked against Wireshark 4.0, which steps over an option of a
/// wrong length for its kind and reads on (SACK-permitted at any length,
/// SACK blocks as (length − 2) / 8); this parser stops there, keeps SACK
/// edges and the MPTCP option's bytes, and is what `tcp_analysis` and
/// `tcp_rtt` (also checked against Wireshark) and the etherparse tests
/// rely on. Making one follow the other would change those groups'
/// output on malformed options, so both stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpOptions<'a> {
    /// Kinds of the options in order, NOP and EOL included, up to and
    /// including the option where parsing stopped; only the first
    /// `kinds_len` entries are meaningful (see [`TcpOptions::kinds`]).
    pub kinds_buf: [u8; MAX_TCP_OPTIONS],
    /// Number of entries in `kinds_buf`.
    pub kinds_len: u8,
    /// Maximum segment size (kind 2).
    pub mss: Option<u16>,
    /// Window scale shift count (kind 3), as written (not capped at 14).
    pub window_scale: Option<u8>,
    /// SACK permitted (kind 4).
    pub sack_permitted: bool,
    /// SACK blocks (kind 5) as (left edge, right edge); only the first
    /// `sack_len` entries are meaningful (see [`TcpOptions::sack`]).
    pub sack_buf: [(u32, u32); 4],
    /// Number of SACK blocks in `sack_buf` (0 to 4).
    pub sack_len: u8,
    /// Timestamps (kind 8).
    pub timestamps: Option<TcpTimestamps>,
    /// Multipath TCP (kind 30).
    pub mptcp: Option<MptcpOption<'a>>,
    /// True when a length byte was bad (see above); parsing stopped there.
    pub malformed: bool,
    /// True when the capture ended inside the options area, so options
    /// after that point were not seen.
    pub cut: bool,
}

impl<'a> TcpOptions<'a> {
    const EMPTY: TcpOptions<'static> = TcpOptions {
        kinds_buf: [0; MAX_TCP_OPTIONS],
        kinds_len: 0,
        mss: None,
        window_scale: None,
        sack_permitted: false,
        sack_buf: [(0, 0); 4],
        sack_len: 0,
        timestamps: None,
        mptcp: None,
        malformed: false,
        cut: false,
    };

    /// Parse a complete options area (the bytes between the fixed 20-byte
    /// TCP header and the data offset). Only the first
    /// [`MAX_TCP_OPTIONS`] kinds are listed.
    pub fn parse(options: &'a [u8]) -> TcpOptions<'a> {
        TcpOptions::parse_area(options, options.len(), false)
    }

    /// Parse the captured part `b` of an options area `area` bytes long.
    fn parse_area(b: &'a [u8], area: usize, cut: bool) -> TcpOptions<'a> {
        let mut o = TcpOptions::EMPTY;
        o.cut = cut;
        let mut i = 0;
        while let Some(&kind) = b.get(i) {
            if usize::from(o.kinds_len) < MAX_TCP_OPTIONS {
                o.kinds_buf[usize::from(o.kinds_len)] = kind;
                o.kinds_len += 1;
            }
            match kind {
                0 => break,
                1 => {
                    i += 1;
                    continue;
                }
                _ => {}
            }
            let Some(&len) = b.get(i + 1) else {
                // The kind byte ends what was captured; it is malformed
                // when it also ends the area.
                o.malformed = i + 1 >= area;
                break;
            };
            let len = usize::from(len);
            if len < 2 || i + len > area {
                o.malformed = true;
                break;
            }
            let Some(opt) = b.get(i..i + len) else {
                break; // cut by the capture
            };
            let good = match kind {
                2 => {
                    if len == 4 && o.mss.is_none() {
                        o.mss = Some(be16(opt, 2));
                    }
                    len == 4
                }
                3 => {
                    if len == 3 && o.window_scale.is_none() {
                        o.window_scale = Some(opt[2]);
                    }
                    len == 3
                }
                4 => {
                    o.sack_permitted |= len == 2;
                    len == 2
                }
                5 => {
                    let good = matches!(len, 10 | 18 | 26 | 34);
                    if good && o.sack_len == 0 {
                        for (k, block) in opt[2..].chunks_exact(8).enumerate() {
                            o.sack_buf[k] = (be32(block, 0), be32(block, 4));
                        }
                        o.sack_len = ((len - 2) / 8) as u8;
                    }
                    good
                }
                8 => {
                    if len == 10 && o.timestamps.is_none() {
                        o.timestamps = Some(TcpTimestamps {
                            val: be32(opt, 2),
                            ecr: be32(opt, 6),
                        });
                    }
                    len == 10
                }
                30 => {
                    if len >= 3 && o.mptcp.is_none() {
                        o.mptcp = Some(MptcpOption {
                            subtype: opt[2] >> 4,
                            data: &opt[2..],
                        });
                    }
                    len >= 3
                }
                _ => true,
            };
            if !good {
                o.malformed = true;
                break;
            }
            i += len;
        }
        o
    }

    /// The option kinds in order (see `kinds_buf`), for fingerprints.
    #[inline]
    pub fn kinds(&self) -> &[u8] {
        &self.kinds_buf[..usize::from(self.kinds_len).min(MAX_TCP_OPTIONS)]
    }

    /// The SACK blocks (see `sack_buf`).
    #[inline]
    pub fn sack(&self) -> &[(u32, u32)] {
        &self.sack_buf[..usize::from(self.sack_len).min(4)]
    }
}

/// ICMP or ICMPv6 header fields, from [`PacketView::icmp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpDetails {
    /// True for ICMPv6 (protocol 58), false for ICMP (protocol 1).
    pub v6: bool,
    /// Message type.
    pub icmp_type: u8,
    /// Message code.
    pub code: u8,
    /// Checksum as written.
    pub checksum: u16,
    /// Identifier and sequence number of an echo request or reply (ICMP
    /// types 8 and 0, ICMPv6 types 128 and 129).
    pub echo: Option<IcmpEcho>,
}

/// Identifier and sequence number of an ICMP echo message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpEcho {
    /// Identifier.
    pub id: u16,
    /// Sequence number.
    pub seq: u16,
}

/// Link-layer addresses, from [`PacketView::macs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Macs {
    /// Source address: Ethernet source, 802.11 source address (SA), or the
    /// Linux cooked capture's link-layer address (the sender's for incoming
    /// packets, this host's for outgoing ones).
    pub src: [u8; 6],
    /// Destination address: Ethernet destination or 802.11 destination
    /// address (DA); `None` for Linux cooked captures, which record only
    /// one address.
    pub dst: Option<[u8; 6]>,
}

/// The link layer's protocol type and 802.1Q tags, from [`PacketView::link`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkDetails {
    /// The EtherType field of the link header as written: the Ethernet type
    /// (0x8100 or 0x88a8 for a tagged frame), or the Linux cooked capture's
    /// protocol type. `None` when the Ethernet field is an 802.3 length
    /// (below 0x0600).
    pub ether_type: Option<u16>,
    /// VLAN identifier (the low 12 bits of the tag control field) of the
    /// outermost 802.1Q / 802.1ad tag; `None` for an untagged frame.
    pub vlan_id: Option<u16>,
    /// Number of VLAN tags the decoder walked.
    pub vlan_tags: u8,
}

impl<'a> PacketView<'a> {
    /// `n` captured bytes at `off`, if the frame holds them.
    #[inline]
    fn bytes_at(&self, off: usize, n: usize) -> Option<&'a [u8]> {
        self.frame.get(off..off.checked_add(n)?)
    }

    /// The fixed IP header (20 or 40 bytes) with the version the decoder saw.
    #[inline]
    fn ip_fixed(&self) -> Option<&'a [u8]> {
        let v6 = self.decoded.v6;
        let h = self.bytes_at(self.decoded.l3_off as usize, if v6 { 40 } else { 20 })?;
        (h[0] >> 4 == if v6 { 6 } else { 4 }).then_some(h)
    }

    /// The transport header's first `n` bytes, if protocol `proto` carries
    /// one in this packet (not a later fragment) and it was captured.
    #[inline]
    fn l4_header(&self, n: usize) -> Option<&'a [u8]> {
        if let Fragment::Later { .. } = self.decoded.fragment {
            return None;
        }
        self.bytes_at(self.decoded.l4_off as usize, n)
    }

    /// The IPv4 header fields; `None` for IPv6 or when the capture does not
    /// hold the fixed 20-byte header. The options may be cut short by the
    /// capture (`options_cut`).
    pub fn ipv4(&self) -> Option<Ipv4Details<'a>> {
        if self.decoded.v6 {
            return None;
        }
        let h = self.ip_fixed()?;
        let header_len = (h[0] & 0x0f) * 4;
        if header_len < 20 {
            return None;
        }
        let start = self.decoded.l3_off as usize + 20;
        let end = start + usize::from(header_len - 20);
        let options = self.frame.get(start..end.min(self.frame.len()))?;
        let flags_frag = be16(h, 6);
        Some(Ipv4Details {
            header_len,
            tos: h[1],
            total_len: be16(h, 2),
            identification: be16(h, 4),
            reserved_flag: flags_frag & 0x8000 != 0,
            df: flags_frag & 0x4000 != 0,
            mf: flags_frag & 0x2000 != 0,
            fragment_offset: flags_frag & 0x1fff,
            ttl: h[8],
            protocol: h[9],
            checksum: be16(h, 10),
            options,
            options_cut: end > self.frame.len(),
        })
    }

    /// The IPv6 header fields and extension headers; `None` for IPv4 or
    /// when the capture does not hold the fixed 40-byte header.
    pub fn ipv6(&self) -> Option<Ipv6Details<'a>> {
        if !self.decoded.v6 {
            return None;
        }
        let h = self.ip_fixed()?;
        let start = self.decoded.l3_off as usize + 40;
        let end = (self.decoded.l4_off as usize).max(start);
        let bytes = self
            .frame
            .get(start..end.min(self.frame.len()))
            .unwrap_or(&[]);
        Some(Ipv6Details {
            traffic_class: (be16(h, 0) >> 4) as u8,
            flow_label: be32(h, 0) & 0x000f_ffff,
            payload_len: be16(h, 4),
            next_header: h[6],
            hop_limit: h[7],
            ext: Ipv6ExtHeaders {
                first: h[6],
                bytes,
                wire_len: end - start,
            },
        })
    }

    /// IPv4 TTL or IPv6 hop limit.
    #[inline]
    pub fn ttl(&self) -> Option<u8> {
        let h = self.ip_fixed()?;
        Some(if self.decoded.v6 { h[7] } else { h[8] })
    }

    /// The TCP header fields; `None` for other protocols, later fragments,
    /// or when the capture does not hold the fixed 20-byte header. The
    /// options may be cut short by the capture (`options_cut`).
    pub fn tcp(&self) -> Option<TcpDetails<'a>> {
        if self.decoded.proto != 6 {
            return None;
        }
        let h = self.l4_header(20)?;
        let header_len = (h[12] >> 4) * 4;
        if header_len < 20 {
            return None;
        }
        let start = self.decoded.l4_off as usize + 20;
        let end = start + usize::from(header_len - 20);
        let options = self.frame.get(start..end.min(self.frame.len()))?;
        Some(TcpDetails {
            seq: be32(h, 4),
            ack: be32(h, 8),
            header_len,
            flags: h[13],
            ae: h[12] & 0x01 != 0,
            reserved: (h[12] >> 1) & 0x07,
            window: be16(h, 14),
            checksum: be16(h, 16),
            urgent_ptr: be16(h, 18),
            options,
            options_cut: end > self.frame.len(),
        })
    }

    /// The ICMP (protocol 1) or ICMPv6 (protocol 58) header fields; `None`
    /// for other protocols, later fragments, or when the capture does not
    /// hold the 8-byte header.
    pub fn icmp(&self) -> Option<IcmpDetails> {
        let v6 = match self.decoded.proto {
            1 => false,
            58 => true,
            _ => return None,
        };
        let h = self.l4_header(8)?;
        let echo = match (v6, h[0]) {
            (false, 0 | 8) | (true, 128 | 129) => Some(IcmpEcho {
                id: be16(h, 4),
                seq: be16(h, 6),
            }),
            _ => None,
        };
        Some(IcmpDetails {
            v6,
            icmp_type: h[0],
            code: h[1],
            checksum: be16(h, 2),
            echo,
        })
    }

    /// Where the link header starts and which one it is (after a radiotap
    /// or PPI header).
    #[inline]
    fn link_start(&self) -> Option<(Layer, usize)> {
        let mut layers = self.decoded.stack.layers();
        Some(match layers.next()? {
            Layer::Radiotap | Layer::Ppi => {
                let h = self.bytes_at(0, 4)?;
                (
                    layers.next()?,
                    usize::from(u16::from_le_bytes([h[2], h[3]])),
                )
            }
            l => (l, 0),
        })
    }

    /// The link header's EtherType and the VLAN tags after it: Ethernet
    /// (also behind PPI) and Linux cooked captures v1 and v2. `None` for
    /// other link types (802.11, raw IP, BSD loopback, PPP) or when the
    /// capture does not hold the fields. Tags are read where the decoder
    /// found them (an 802.3 LLC/SNAP header before a tag is stepped over).
    pub fn link(&self) -> Option<LinkDetails> {
        let (link, off) = self.link_start()?;
        // Offset of the EtherType field, and of what follows it.
        let (at, mut pos) = match link {
            Layer::Eth => (off + 12, off + 14),
            Layer::Sll => (off + 14, off + 16),
            Layer::Sll2 => (off, off + 20),
            _ => return None,
        };
        let first = be16(self.bytes_at(at, 2)?, 0);
        let tags = self
            .decoded
            .stack
            .layers()
            .filter(|l| *l == Layer::Vlan)
            .count();
        let mut et = first;
        let mut vlan_id = None;
        let mut seen = 0u8;
        while usize::from(seen) < tags {
            match et {
                0x8100 | 0x88a8 | 0x9100 | 0x9200 => {
                    let t = self.bytes_at(pos, 4)?;
                    if seen == 0 {
                        vlan_id = Some(be16(t, 0) & 0x0fff);
                    }
                    et = be16(t, 2);
                    pos += 4;
                    seen += 1;
                }
                n if n < 0x0600 => {
                    let llc = self.bytes_at(pos, 8)?;
                    et = be16(llc, 6);
                    pos += 8;
                }
                _ => break,
            }
        }
        Some(LinkDetails {
            ether_type: (link != Layer::Eth || first >= 0x0600).then_some(first),
            vlan_id,
            vlan_tags: seen,
        })
    }

    /// The link-layer addresses: Ethernet (also behind PPI), 802.11 data
    /// frames (also behind radiotap or PPI; source and destination as
    /// Wireshark's `wlan.sa` and `wlan.da` for every To DS / From DS
    /// combination), and Linux cooked captures v1 and v2 (source only, when
    /// the address is 6 bytes long). `None` for other link types or when
    /// the capture does not hold the addresses.
    pub fn macs(&self) -> Option<Macs> {
        let (link, off) = self.link_start()?;
        match link {
            Layer::Eth => {
                let h = self.bytes_at(off, 12)?;
                Some(Macs {
                    src: mac(h, 6),
                    dst: Some(mac(h, 0)),
                })
            }
            Layer::Sll => {
                let h = self.bytes_at(off, 12)?;
                (be16(h, 4) == 6).then(|| Macs {
                    src: mac(h, 6),
                    dst: None,
                })
            }
            Layer::Sll2 => {
                let h = self.bytes_at(off, 18)?;
                (h[11] == 6).then(|| Macs {
                    src: mac(h, 12),
                    dst: None,
                })
            }
            Layer::Wlan => {
                // Addresses 1–3 at 4, 10, 16; address 4 at 24, after the
                // sequence control field, only with both DS bits set.
                let ds = self.bytes_at(off, 2)?[1] & 0x03;
                let h = self.bytes_at(off, if ds == 3 { 30 } else { 22 })?;
                let (sa, da) = match ds {
                    0 => (10, 4),  // station to station: SA = A2, DA = A1
                    1 => (10, 16), // to the AP: SA = A2, DA = A3
                    2 => (16, 4),  // from the AP: SA = A3, DA = A1
                    _ => (24, 16), // between APs: SA = A4, DA = A3
                };
                Some(Macs {
                    src: mac(h, sa),
                    dst: Some(mac(h, da)),
                })
            }
            _ => None,
        }
    }

    /// The transport payload the capture holds: from
    /// [`Decoded::payload_off`](crate::decode::Decoded::payload_off), at
    /// most [`payload_len`](Self::payload_len) bytes, so Ethernet padding
    /// is never included; fewer when the capture was cut. The payload is
    /// what follows the transport header: TCP data, UDP data, the bytes
    /// after the 8-byte ICMP/ICMPv6 header, SCTP chunks after the 12-byte
    /// common header, and the whole IP payload of other protocols. Empty
    /// for later fragments (their bytes are not the start of a payload).
    pub fn payload(&self) -> &'a [u8] {
        if let Fragment::Later { .. } = self.decoded.fragment {
            return &[];
        }
        let start = self.decoded.payload_off as usize;
        let end = start
            .saturating_add(self.decoded.payload_len as usize)
            .min(self.frame.len());
        self.frame.get(start..end).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests;
