//! `fingerprint`: is this flow Tor, a VPN tunnel, or DNS over HTTPS?
//!
//! Each verdict is a confidence, the sum of the page's factors (capped at
//! 1), and a flag set at a threshold; every port, address, fingerprint and
//! threshold is a named constant below and stated in the column's meaning.
//! The factors read the flow's ports and responder address, its IP-level
//! lengths, the first bytes of its first payload packets (VPN protocol
//! signatures, byte entropy) and, for TCP, its ClientHello (JA3 for Tor,
//! the server name for DoH) from the start of the initiator's stream.
//!
//! These are heuristics, as the page says: a flow on a Tor port with
//! Tor-cell sizes, or a VPN port with full-MTU high-entropy packets, is
//! flagged whatever it really carries. The protocol signatures (WireGuard
//! message framing, OpenVPN hard-reset opcodes, IKE headers, ESP/AH, L2TP)
//! are the strong signals.

use super::{Column, ColumnType, FeatureGroup, FlowView, Group, GroupDef, Needs, RowWriter};
use crate::config::Config;
use crate::flow::Direction;
use crate::packet::PacketView;
use crate::proto::tls::{handshake_bytes, md5_hex, messages, ClientHello};
use std::sync::Arc;

const FLOAT: ColumnType = ColumnType::Float;
const BOOL: ColumnType = ColumnType::Bool;
const STR: ColumnType = ColumnType::Str;

/// Tor's default ports (ORPort, DirPort, SOCKS, control, Tor Browser's
/// SOCKS): the responder's port here adds [`TOR_PORT_WEIGHT`].
pub const TOR_PORTS: [u16; 5] = [9001, 9030, 9050, 9051, 9150];
/// JA3 hashes of Tor clients (the JA3 authors' published Tor client hash
/// and the reference package's list): the ClientHello's JA3 here adds
/// [`TOR_JA3_WEIGHT`].
pub const TOR_JA3: [&str; 2] = [
    "e7d705a3286e19ea42f587b344ee6865",
    "a0e9f5d64349fb13191bc781f81f42e1",
];
/// IP-level lengths of a 512-byte Tor cell in a TLS record.
pub const TOR_CELL_LENS: std::ops::RangeInclusive<u32> = super::padding::TOR_CELL_LENS;
/// Share of Tor-cell-sized packets that makes the cell pattern.
pub const TOR_CELL_RATIO: f64 = super::padding::TOR_CELL_RATIO;
/// The responder's first payload this long or longer after the
/// initiator's first payload is Tor's circuit latency.
pub const TOR_LATENCY_US: i64 = 500_000;
/// Tor factor weights (the page's): a Tor port…
pub const TOR_PORT_WEIGHT: f64 = 0.3;
/// Weight of a Tor client JA3.
pub const TOR_JA3_WEIGHT: f64 = 0.5;
/// Weight of the Tor-cell size pattern.
pub const TOR_CELL_WEIGHT: f64 = 0.2;
/// Weight of Tor's circuit latency.
pub const TOR_LATENCY_WEIGHT: f64 = 0.1;
/// `is_tor`: `tor_confidence` at least this.
pub const TOR_THRESHOLD: f64 = 0.5;

/// VPN ports (OpenVPN, WireGuard, IKE, IKE NAT traversal) as the
/// responder's port: adds [`VPN_PORT_WEIGHT`].
pub const VPN_PORTS: [(u16, &str); 4] = [
    (1194, "openvpn"),
    (51820, "wireguard"),
    (500, "ipsec-ike"),
    (4500, "ipsec-ike"),
];
/// L2TP's port: its header is a signature only there.
pub const L2TP_PORT: u16 = 1701;
/// IP-level lengths of full-MTU tunnel packets; more than
/// [`VPN_MTU_RATIO`] of the packets in this range is the VPN size pattern.
pub const VPN_MTU_LENS: std::ops::RangeInclusive<u32> = super::padding::MTU_LENS;
/// Share of full-MTU packets that makes the VPN size pattern.
pub const VPN_MTU_RATIO: f64 = 0.5;
/// Byte entropy is sampled from the first this many payload bytes of each
/// packet with at least as many…
pub const ENTROPY_SAMPLE: usize = 64;
/// …over the first this many such packets…
pub const ENTROPY_PACKETS: u8 = 8;
/// …and is high at a mean of at least this many bits per byte (64 random
/// bytes give about 5.7, English text about 4).
pub const HIGH_ENTROPY_BITS: f64 = 5.0;
/// VPN factor weights (the page's): a protocol signature…
pub const VPN_SIGNATURE_WEIGHT: f64 = 0.8;
/// Weight of a VPN port.
pub const VPN_PORT_WEIGHT: f64 = 0.2;
/// Weight of the full-MTU size pattern.
pub const VPN_SIZE_WEIGHT: f64 = 0.3;
/// Weight of high payload entropy.
pub const VPN_ENTROPY_WEIGHT: f64 = 0.2;
/// `is_vpn`: `vpn_confidence` at least this (sizes and entropy alone, as
/// in any bulk HTTPS download, are 0.5: not enough).
pub const VPN_THRESHOLD: f64 = 0.6;

/// DoH is HTTPS: only flows to this port get a DoH confidence.
pub const DOH_PORT: u16 = 443;
/// Public DoH resolvers' addresses (Cloudflare, Google, Quad9, AdGuard,
/// OpenDNS), IPv4 and IPv6: the responder here adds [`DOH_IP_WEIGHT`].
pub const DOH_IPS: [&str; 16] = [
    "1.1.1.1",
    "1.0.0.1",
    "8.8.8.8",
    "8.8.4.4",
    "9.9.9.9",
    "149.112.112.112",
    "94.140.14.14",
    "94.140.15.15",
    "208.67.222.222",
    "208.67.220.220",
    "2606:4700:4700::1111",
    "2606:4700:4700::1001",
    "2001:4860:4860::8888",
    "2001:4860:4860::8844",
    "2620:fe::fe",
    "2620:fe::9",
];
/// DoH services' server names: a ClientHello naming one of them (or a
/// subdomain) adds [`DOH_SNI_WEIGHT`].
pub const DOH_SNIS: [&str; 10] = [
    "cloudflare-dns.com",
    "dns.google",
    "dns.google.com",
    "dns.quad9.net",
    "doh.opendns.com",
    "dns.adguard.com",
    "dns.adguard-dns.com",
    "doh.cleanbrowsing.org",
    "dns.nextdns.io",
    "doh.dns.sb",
];
/// Small payloads: both sides sent payload and the mean payload of each
/// side's payload packets is at most this many bytes.
pub const DOH_SMALL_PAYLOAD: u64 = 400;
/// DoH factor weights (the page's): a DoH resolver's address…
pub const DOH_IP_WEIGHT: f64 = 0.7;
/// Weight of a DoH server name.
pub const DOH_SNI_WEIGHT: f64 = 0.2;
/// Weight of small payloads.
pub const DOH_SMALL_WEIGHT: f64 = 0.1;
/// `is_doh`: `doh_confidence` at least this.
pub const DOH_THRESHOLD: f64 = 0.5;

/// Bytes of the initiator's TCP stream read for the ClientHello.
pub const CLIENT_HELLO_BUDGET: u32 = 4096;

/// The `fingerprint` columns, in output order.
pub const COLUMNS: &[Column] = &[
    Column::always("is_tor", BOOL, "", "tor_confidence >= TOR_THRESHOLD = 0.5."),
    Column::always("is_vpn", BOOL, "", "vpn_confidence >= VPN_THRESHOLD = 0.6."),
    Column::always("is_doh", BOOL, "", "doh_confidence >= DOH_THRESHOLD = 0.5."),
    Column::always("tor_confidence", FLOAT, "", "Sum, at most 1, of: 0.3 responder port in TOR_PORTS (9001, 9030, 9050, 9051, 9150); 0.5 the ClientHello's JA3 in TOR_JA3; 0.2 Tor-cell pattern (at least 70 % of the packets 580-600 bytes IP-level); 0.1 the responder's first payload at least TOR_LATENCY_US = 500 ms after the initiator's first."),
    Column::always("vpn_confidence", FLOAT, "", "Sum, at most 1, of: 0.8 a VPN protocol signature (vpn_type from the packets, not the port); 0.2 responder port in VPN_PORTS (1194, 51820, 500, 4500); 0.3 more than half the packets 1400-1500 bytes IP-level; 0.2 high entropy (mean Shannon entropy of the first 64 payload bytes of the first 8 packets with that many, at least 5.0 bits per byte)."),
    Column::always("doh_confidence", FLOAT, "", "0 unless the responder port is 443; else the sum, at most 1, of: 0.7 responder address in DOH_IPS (public DoH resolvers); 0.2 the ClientHello's server name in DOH_SNIS (or a subdomain); 0.1 small payloads (both sides sent payload, each side's mean payload per payload packet at most 400 bytes)."),
    Column::always("likely_tor", BOOL, "", "The feature index's name for is_tor (always equal)."),
    Column::always("likely_vpn", BOOL, "", "The feature index's name for is_vpn (always equal)."),
    Column::nullable("vpn_type", STR, "", "The VPN protocol: from a signature in the packets (openvpn: hard-reset opcodes; wireguard: message type, zero reserved bytes and length; ipsec-esp: IP protocol 50 or ESP in UDP 4500; ipsec-ah: protocol 51; ipsec-ike: IKE header on UDP 500/4500; l2tp: L2TP header on UDP 1701), else from the responder's VPN port; null for neither."),
    Column::always("likely_doh", BOOL, "", "The feature index's name for is_doh (always equal)."),
    Column::nullable("traffic_type", STR, "", "tor if is_tor, else vpn:<vpn_type> (vpn without a type) if is_vpn, else doh if is_doh; null for none of these."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "fingerprint",
    summary: "Tor, VPN and DNS-over-HTTPS detection: ports, protocol signatures, sizes, entropy, JA3 and server names.",
    columns: COLUMNS,
    build: |_cfg: &Config| -> Arc<dyn Group> { Arc::new(Fingerprint) },
};

struct Fingerprint;

/// A VPN protocol recognised from the packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
enum Tunnel {
    #[default]
    None,
    OpenVpn,
    WireGuard,
    Esp,
    Ah,
    Ike,
    L2tp,
}

impl Tunnel {
    fn name(self) -> Option<&'static str> {
        Some(match self {
            Tunnel::None => return None,
            Tunnel::OpenVpn => "openvpn",
            Tunnel::WireGuard => "wireguard",
            Tunnel::Esp => "ipsec-esp",
            Tunnel::Ah => "ipsec-ah",
            Tunnel::Ike => "ipsec-ike",
            Tunnel::L2tp => "l2tp",
        })
    }
}

/// Per-flow state: 48 bytes.
#[derive(Debug, Default)]
pub(crate) struct FingerprintState {
    /// Packets of Tor-cell size and of full-MTU size.
    tor_cells: u32,
    mtu_sized: u32,
    /// Packets with payload, per direction (their bytes are the flow's).
    payload_pkts: [u32; 2],
    /// First payload timestamp per direction (µs; valid when
    /// `payload_pkts[d] > 0`).
    first_payload_us: [i64; 2],
    /// Sum of the sampled entropies and how many were sampled.
    entropy_sum: f64,
    entropy_n: u8,
    /// The signature of the first payload packet of each direction, as
    /// judged: the initiator's says what it looks like, the responder's
    /// may only confirm or refute it.
    sig: Tunnel,
    /// The responder's first payload refuted the initiator's signature.
    refuted: bool,
    /// The ClientHello was read (or the stream is not TLS).
    hello_done: bool,
    /// The ClientHello's JA3 is a Tor client's; its server name a DoH
    /// service's.
    tor_ja3: bool,
    doh_sni: bool,
}

/// The WireGuard message a UDP payload of `len` bytes starting with `p`
/// is, if any: its type.
fn wireguard(p: &[u8], len: usize) -> Option<u8> {
    let [t @ 1..=4, 0, 0, 0, ..] = p else {
        return None;
    };
    let ok = match t {
        1 => len == 148,
        2 => len == 92,
        3 => len == 64,
        _ => len >= 32 && len.is_multiple_of(16),
    };
    ok.then_some(*t)
}

/// The OpenVPN opcode of a payload of `len` bytes starting with `p`
/// (after the 2-byte packet length on TCP, which must cover the rest of
/// the segment), if it can hold an opcode and a session ID.
fn openvpn_opcode(p: &[u8], len: usize, tcp: bool) -> Option<u8> {
    let (p, len) = if tcp {
        let [a, b, rest @ ..] = p else { return None };
        let len = len.saturating_sub(2);
        if usize::from(u16::from_be_bytes([*a, *b])) < len {
            return None;
        }
        (rest, len)
    } else {
        (p, len)
    };
    let first = *p.first()?;
    (len >= 9 && first & 7 == 0).then_some(first >> 3)
}

/// OpenVPN's client and server hard-reset opcodes (v1, v2; v3 client).
const OPENVPN_CLIENT_RESET: [u8; 3] = [1, 7, 10];
const OPENVPN_SERVER_RESET: [u8; 2] = [2, 8];

/// An IKE header (RFC 7296 §3.1, IKEv1 alike) opening a payload of `len`
/// bytes that starts with `p`: a non-zero initiator SPI, version 1.0 or
/// 2.0, the length field equal to the payload's length.
fn ike(p: &[u8], len: usize) -> bool {
    p.len() >= 28
        && p[..8] != [0; 8]
        && matches!(p[17], 0x10 | 0x20)
        && u32::from_be_bytes([p[24], p[25], p[26], p[27]]) as usize == len
}

/// IKE on UDP 4500: after the 4-byte zero non-ESP marker.
fn ike_4500(p: &[u8], len: usize) -> bool {
    matches!(p, [0, 0, 0, 0, rest @ ..] if ike(rest, len.saturating_sub(4)))
}

/// An L2TP header: version 2 or 3 in the low nibble of the second byte,
/// and for a control message (T bit) the length bit too.
fn l2tp(p: &[u8]) -> bool {
    let [flags, ver, ..] = p else { return false };
    matches!(ver & 0x0f, 2 | 3) && (flags & 0x80 == 0 || flags & 0x40 != 0)
}

/// What the initiator's first payload (`len` bytes starting with `p`)
/// says, between ports `sport` and `dport`.
fn initiator_signature(p: &[u8], len: usize, proto: u8, sport: u16, dport: u16) -> Tunnel {
    let tcp = proto == 6;
    let port = |n: u16| sport == n || dport == n;
    if proto == 17 {
        if wireguard(p, len).is_some() {
            return Tunnel::WireGuard;
        }
        if port(500) && ike(p, len) {
            return Tunnel::Ike;
        }
        if port(4500) {
            if ike_4500(p, len) {
                return Tunnel::Ike;
            }
            return match p {
                [a, b, c, d, _, _, _, _, ..] if [*a, *b, *c, *d] != [0; 4] => Tunnel::Esp,
                _ => Tunnel::None,
            };
        }
        if port(L2TP_PORT) && l2tp(p) {
            return Tunnel::L2tp;
        }
    }
    if (tcp || proto == 17)
        && openvpn_opcode(p, len, tcp).is_some_and(|o| OPENVPN_CLIENT_RESET.contains(&o))
    {
        return Tunnel::OpenVpn;
    }
    Tunnel::None
}

/// Whether the responder's first payload (`len` bytes starting with `p`)
/// agrees with signature `sig`.
fn responder_agrees(sig: Tunnel, p: &[u8], len: usize, proto: u8) -> bool {
    match sig {
        Tunnel::WireGuard => matches!(wireguard(p, len), Some(2..=4)),
        Tunnel::OpenVpn => {
            openvpn_opcode(p, len, proto == 6).is_some_and(|o| OPENVPN_SERVER_RESET.contains(&o))
        }
        Tunnel::Ike => ike(p, len) || ike_4500(p, len),
        Tunnel::L2tp => l2tp(p),
        _ => true,
    }
}

/// Shannon entropy in bits per byte of `b`.
fn entropy(b: &[u8]) -> f64 {
    let mut counts = [0u16; 256];
    for &x in b {
        counts[x as usize] += 1;
    }
    let n = b.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Whether `ip` (the key's integer form; IPv4 in the low 32 bits) is in
/// [`DOH_IPS`].
fn doh_ip(ip: u128, v6: bool) -> bool {
    let addr: std::net::IpAddr = if v6 {
        std::net::Ipv6Addr::from(ip).into()
    } else {
        std::net::Ipv4Addr::from(ip as u32).into()
    };
    DOH_IPS
        .iter()
        .any(|s| s.parse::<std::net::IpAddr>().is_ok_and(|a| a == addr))
}

/// Whether server name `sni` is a DoH service's (or a subdomain's).
fn doh_sni(sni: &str) -> bool {
    let sni = sni.trim_end_matches('.').to_ascii_lowercase();
    DOH_SNIS
        .iter()
        .any(|d| sni == *d || sni.strip_suffix(d).is_some_and(|head| head.ends_with('.')))
}

impl Fingerprint {
    /// Read the ClientHello at the start of the initiator's stream
    /// (`tor_ja3`: the Tor clients' JA3 hashes, [`TOR_JA3`]).
    fn read_hello(st: &mut FingerprintState, b: &[u8], tor_ja3: &[&str]) {
        let hs = handshake_bytes(b);
        if hs.not_tls {
            st.hello_done = true;
            return;
        }
        let (msgs, _) = messages(&hs.bytes);
        if let Some(m) = msgs.first() {
            if m.kind == 1 {
                if let Some(ch) = ClientHello::parse_body(m.body) {
                    let ja3 = md5_hex(&ch.ja3_string());
                    st.tor_ja3 = tor_ja3.contains(&ja3.as_str());
                    st.doh_sni = ch.sni.as_deref().is_some_and(doh_sni);
                }
            }
            st.hello_done = true;
        } else if hs.ended || b.len() >= CLIENT_HELLO_BUDGET as usize {
            st.hello_done = true;
        }
    }
}

impl FeatureGroup for Fingerprint {
    type State = FingerprintState;

    fn needs(&self) -> Needs {
        Needs {
            payload_bytes: ENTROPY_SAMPLE as u32,
            stream_start: CLIENT_HELLO_BUDGET,
            ..Needs::SUMMARY
        }
    }

    fn new_state(&self) -> FingerprintState {
        FingerprintState::default()
    }

    fn update(&self, st: &mut FingerprintState, pkt: &PacketView<'_>) {
        let l = pkt.ip_len();
        st.tor_cells += u32::from(TOR_CELL_LENS.contains(&l));
        st.mtu_sized += u32::from(VPN_MTU_LENS.contains(&l));
        let d = pkt.dir as usize;
        let proto = pkt.proto();
        if d == 0 && !st.hello_done && proto == 6 {
            if let Some(s) = pkt.stream {
                Fingerprint::read_hello(st, s.bytes(), &TOR_JA3);
            }
        }
        if pkt.payload_len() == 0 {
            return;
        }
        let p = pkt.payload();
        let len = pkt.payload_len() as usize;
        if st.payload_pkts[d] == 0 {
            st.first_payload_us[d] = pkt.ts_us;
            let (sport, dport) = (pkt.decoded.sport, pkt.decoded.dport);
            if d == 0 && st.payload_pkts[1] == 0 {
                st.sig = initiator_signature(p, len, proto, sport, dport);
            } else if d == 1 && st.payload_pkts[0] > 0 {
                st.refuted = !responder_agrees(st.sig, p, len, proto);
            }
        }
        st.payload_pkts[d] = st.payload_pkts[d].saturating_add(1);
        if st.entropy_n < ENTROPY_PACKETS && p.len() >= ENTROPY_SAMPLE {
            st.entropy_sum += entropy(&p[..ENTROPY_SAMPLE]);
            st.entropy_n += 1;
        }
    }

    fn stream_done(&self, st: &FingerprintState, dir: Direction) -> bool {
        dir == Direction::Bwd || st.hello_done
    }

    fn write(&self, flow: &FlowView<'_>, st: &FingerprintState, out: &mut RowWriter<'_>) {
        let packets = (flow.packets[0] + flow.packets[1]).max(1) as f64;
        let (proto, dport) = (flow.key.proto, flow.dst().port);
        let sum = |terms: &[(bool, f64)]| -> f64 {
            let s = terms
                .iter()
                .filter(|t| t.0)
                .map(|t| t.1)
                .sum::<f64>()
                .min(1.0);
            // Every weight is a whole number of tenths: no 0.30000000000000004.
            (s * 10.0).round() / 10.0
        };
        let ported = proto == 6 || proto == 17;
        let both = st.payload_pkts[0] > 0 && st.payload_pkts[1] > 0;
        let tor = sum(&[
            (ported && TOR_PORTS.contains(&dport), TOR_PORT_WEIGHT),
            (st.tor_ja3, TOR_JA3_WEIGHT),
            (
                f64::from(st.tor_cells) / packets >= TOR_CELL_RATIO,
                TOR_CELL_WEIGHT,
            ),
            (
                both && st.first_payload_us[1].saturating_sub(st.first_payload_us[0])
                    >= TOR_LATENCY_US,
                TOR_LATENCY_WEIGHT,
            ),
        ]);
        let signature = match proto {
            50 => Tunnel::Esp,
            51 => Tunnel::Ah,
            _ if st.refuted => Tunnel::None,
            _ => st.sig,
        };
        let vpn_port = VPN_PORTS
            .iter()
            .find(|v| ported && v.0 == dport)
            .map(|v| v.1);
        let high_entropy =
            st.entropy_n > 0 && st.entropy_sum / f64::from(st.entropy_n) >= HIGH_ENTROPY_BITS;
        let vpn = sum(&[
            (signature != Tunnel::None, VPN_SIGNATURE_WEIGHT),
            (vpn_port.is_some(), VPN_PORT_WEIGHT),
            (
                f64::from(st.mtu_sized) / packets > VPN_MTU_RATIO,
                VPN_SIZE_WEIGHT,
            ),
            (high_entropy, VPN_ENTROPY_WEIGHT),
        ]);
        let small = |d: usize| {
            st.payload_pkts[d] > 0
                && flow.payload[d] <= DOH_SMALL_PAYLOAD * u64::from(st.payload_pkts[d])
        };
        let doh = if ported && dport == DOH_PORT {
            sum(&[
                (doh_ip(flow.dst().addr, flow.key.v6), DOH_IP_WEIGHT),
                (st.doh_sni, DOH_SNI_WEIGHT),
                (small(0) && small(1), DOH_SMALL_WEIGHT),
            ])
        } else {
            0.0
        };
        let vpn_type = signature.name().or(vpn_port);
        let (is_tor, is_vpn, is_doh) = (
            tor >= TOR_THRESHOLD,
            vpn >= VPN_THRESHOLD,
            doh >= DOH_THRESHOLD,
        );
        out.put(is_tor);
        out.put(is_vpn);
        out.put(is_doh);
        out.put(tor);
        out.put(vpn);
        out.put(doh);
        out.put(is_tor);
        out.put(is_vpn);
        out.put(vpn_type);
        out.put(is_doh);
        out.put_with(|| {
            if is_tor {
                Some("tor".to_string())
            } else if is_vpn {
                Some(vpn_type.map_or("vpn".to_string(), |t| format!("vpn:{t}")))
            } else if is_doh {
                Some("doh".to_string())
            } else {
                None
            }
        });
    }
}

#[cfg(test)]
mod tests;
