//! Bodies of the fuzz targets, one public function per target.
//!
//! `fuzz_targets/*.rs` hand each libFuzzer input to these functions, and
//! `crates/joyfuljay/tests/fuzz_corpus.rs` includes this very file to replay
//! the seed inputs and every committed regression input on each `cargo test`,
//! so a fix cannot silently regress when nobody runs the fuzzer.
//!
//! Every function panics when an invariant fails; none may panic, hang or
//! allocate without bound on any input (the library must not either).

use joyfuljay::capture::{CaptureReader, ReadEnd, MAX_PCAP_CAPLEN};
use joyfuljay::decode::{Decoded, Fragment, Layer, LinkType, MAX_STACK};
use joyfuljay::features::Value;
use joyfuljay::output::VecSink;
use joyfuljay::packet::{Direction, PacketView};
use joyfuljay::pipeline::Quiet;
use joyfuljay::{Config, Pipeline, SkipReason, Stats};
use std::io::Cursor;
use std::path::Path;

/// The four supported pcap magics as they appear in a file:
/// µs little-endian, µs big-endian, ns little-endian, ns big-endian.
const PCAP_MAGICS: [[u8; 4]; 4] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
];
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

fn open(bytes: Vec<u8>) -> joyfuljay::Result<CaptureReader> {
    CaptureReader::from_reader(Path::new("fuzz-input"), Box::new(Cursor::new(bytes)))
}

/// One frame as the reader delivered it.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    offset: u64,
    ts_us: i64,
    link_type: u32,
    orig_len: u32,
    data: Vec<u8>,
}

/// Read every frame; also returns the number of packets on unknown interfaces.
fn read_all(mut r: CaptureReader) -> (Vec<Seen>, u64, ReadEnd, u64) {
    let mut seen = Vec::new();
    let mut unknown = 0;
    let end = r
        .for_each(
            |f| {
                seen.push(Seen {
                    offset: f.offset,
                    ts_us: f.ts_us,
                    link_type: f.link_type,
                    orig_len: f.orig_len,
                    data: f.data.to_vec(),
                });
                true
            },
            || unknown += 1,
        )
        .expect("an in-memory stream cannot fail to read");
    (seen, unknown, end, r.offset())
}

/// Reading `input` in place (the path of a memory-mapped file) gives
/// exactly what streaming it gives: frames, ends, offsets, or the error.
fn same_in_place(input: &[u8]) {
    let read = |r: joyfuljay::Result<CaptureReader>| r.map(read_all).map_err(|e| e.to_string());
    let in_place = CaptureReader::from_bytes(Path::new("fuzz-input"), input.to_vec());
    assert!(in_place.as_ref().map_or(true, |r| r.reads_in_place()));
    assert_eq!(
        read(in_place),
        read(open(input.to_vec())),
        "in place vs streamed"
    );
}

// ------------------------------------------------------------ pcap_reader

/// What an independent walk over a legacy pcap file expects the reader to
/// deliver: the records, and how reading must end.
fn walk_pcap(b: &[u8]) -> (Vec<Seen>, ReadEnd) {
    let be = b[0] == 0xa1;
    let u32_at = |at: usize| {
        let w: [u8; 4] = b[at..at + 4].try_into().expect("4 bytes");
        if be {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        }
    };
    let nanos = b[0] == 0x4d || b[3] == 0x4d;
    let link_type = u32_at(20);
    let mut seen = Vec::new();
    let mut off = 24;
    loop {
        if off == b.len() {
            return (seen, ReadEnd::Complete);
        }
        let truncated = ReadEnd::Truncated { offset: off as u64 };
        // An impossible captured length is corrupt as soon as its field is
        // readable, even when the record header itself is cut short.
        if b.len() - off < 12 {
            return (seen, truncated);
        }
        let caplen = u32_at(off + 8);
        if caplen > MAX_PCAP_CAPLEN {
            let detail =
                format!("captured length {caplen} exceeds the maximum of {MAX_PCAP_CAPLEN}");
            let end = ReadEnd::Corrupt {
                offset: off as u64,
                detail,
            };
            return (seen, end);
        }
        let end = off + 16 + caplen as usize;
        if b.len() - off < 16 || end > b.len() {
            return (seen, truncated);
        }
        let frac = i64::from(u32_at(off + 4));
        let frac = if nanos { (frac + 500) / 1000 } else { frac };
        seen.push(Seen {
            offset: off as u64,
            ts_us: i64::from(u32_at(off)) * 1_000_000 + frac,
            link_type,
            orig_len: u32_at(off + 12),
            data: b[off + 16..end].to_vec(),
        });
        off = end;
    }
}

/// The legacy pcap reader against an independent record walk: the same
/// records, byte for byte, and the same ending (complete, cut short at the
/// offset of the incomplete record, or corrupt at the offset of the record
/// with an impossible length). Inputs not starting with a pcap magic get one
/// (chosen by their first byte), so the fuzzer explores records, not magics.
pub fn pcap_reader(data: &[u8]) {
    let mut input = data.to_vec();
    if input.len() >= 4 && !PCAP_MAGICS.iter().any(|m| input[..4] == *m) {
        let m = PCAP_MAGICS[usize::from(input[0] & 3)];
        input[..4].copy_from_slice(&m);
    }
    same_in_place(&input);
    let reader = open(input.clone());
    if input.len() < 24 {
        let e = reader
            .err()
            .expect("a file shorter than the pcap header is rejected");
        let msg = e.to_string();
        assert!(msg.contains("fuzz-input"), "{msg}");
        return;
    }
    let (want, want_end) = walk_pcap(&input);
    let (seen, unknown, end, consumed) = read_all(reader.expect("a whole pcap header is accepted"));
    assert_eq!(unknown, 0);
    assert_eq!(seen.len(), want.len(), "record count");
    for (s, w) in seen.iter().zip(&want) {
        assert_eq!(s, w);
    }
    assert_eq!(end, want_end);
    match end {
        ReadEnd::Complete => assert_eq!(consumed, input.len() as u64),
        ReadEnd::Truncated { offset } | ReadEnd::Corrupt { offset, .. } => {
            assert_eq!(consumed, offset)
        }
        ReadEnd::Stopped => panic!("nobody asked to stop"),
    }
    if let Some(w) = end.warning(Path::new("fuzz-input")) {
        assert!(!w.contains('\n'), "one-line warning: {w}");
    }
}

// ---------------------------------------------------------- pcapng_reader

/// The pcapng reader: whatever the blocks say, every frame lies inside the
/// file at the offset it claims (enhanced packet data at +28, simple packet
/// data at +12), offsets increase, and reading ends at the offset where it
/// stopped. Inputs get the section header magic if they lack it.
pub fn pcapng_reader(data: &[u8]) {
    let mut input = data.to_vec();
    if input.len() >= 4 {
        input[..4].copy_from_slice(&PCAPNG_MAGIC);
    }
    same_in_place(&input);
    let Ok(reader) = open(input.clone()) else {
        // A section header that cannot be read: a one-line error (checked
        // by the pipeline target); nothing else to check here.
        return;
    };
    let (seen, _unknown, end, consumed) = read_all(reader);
    let mut last: Option<u64> = None;
    for s in &seen {
        if let Some(l) = last {
            assert!(s.offset > l, "offsets increase: {l} then {}", s.offset);
        }
        last = Some(s.offset);
        let at = s.offset as usize;
        let epb = input.get(at + 28..at + 28 + s.data.len()) == Some(&s.data[..]);
        let spb = input.get(at + 12..at + 12 + s.data.len()) == Some(&s.data[..]);
        assert!(epb || spb, "frame at {at} is not the file's bytes");
        assert!(
            s.offset < consumed,
            "frame at {at} before the end {consumed}"
        );
    }
    assert!(consumed <= input.len() as u64);
    match end {
        ReadEnd::Complete => assert_eq!(consumed, input.len() as u64),
        ReadEnd::Truncated { offset } | ReadEnd::Corrupt { offset, .. } => {
            assert_eq!(consumed, offset)
        }
        ReadEnd::Stopped => panic!("nobody asked to stop"),
    }
}

// ----------------------------------------------------------------- decode

/// The link type an input selects with its first byte: one of the supported
/// ones, or (for bytes ≥ 240) an unsupported number.
fn link_type_of(sel: u8) -> u32 {
    if sel >= 240 {
        1000 + u32::from(sel)
    } else {
        LinkType::SUPPORTED[usize::from(sel) % LinkType::SUPPORTED.len()].0
    }
}

/// Invariants of one successful decode. `wire` is the packet's length on the
/// wire (at least the captured length).
fn check_decoded(lt: u32, d: &Decoded, wire: usize) {
    let min_ip = if d.v6 { 40 } else { 20 };
    let ip = d.ip_len as usize;
    assert!(ip >= min_ip, "ip_len {ip} below the IP header: {d:?}");
    assert!(
        ip <= wire,
        "ip_len {ip} beyond the wire length {wire}: {d:?}"
    );
    assert!(
        d.payload_len as usize <= ip - min_ip,
        "payload beyond the IP payload: {d:?}"
    );
    if !d.v6 {
        assert!(d.src >> 32 == 0 && d.dst >> 32 == 0, "IPv4 address: {d:?}");
    }
    let later = matches!(d.fragment, Fragment::Later { .. });
    if later || !matches!(d.proto, 6 | 17 | 132) {
        assert_eq!((d.sport, d.dport), (0, 0), "ports: {d:?}");
    }
    if d.tcp_flags != 0 {
        assert!(d.proto == 6 && !later, "TCP flags: {d:?}");
    }
    if d.proto == 6 && !later {
        assert!(
            d.payload_len as usize + 20 <= ip - min_ip,
            "TCP header: {d:?}"
        );
    }
    // Layer offsets: IP header, transport header, payload in order; the
    // payload ends where the IP packet does.
    let (l3, l4, pl) = (d.l3_off as usize, d.l4_off as usize, d.payload_off as usize);
    assert!(l3 + min_ip <= l4 && l4 <= pl, "offsets: {d:?}");
    assert_eq!(pl + d.payload_len as usize, l3 + ip, "payload end: {d:?}");
    let layers: Vec<Layer> = d.stack.layers().collect();
    assert_eq!(layers.len(), d.stack.len());
    assert!(!layers.is_empty() && layers.len() <= MAX_STACK);
    if layers.len() < MAX_STACK {
        let ip_layer = if d.v6 { Layer::Ip6 } else { Layer::Ip };
        assert_eq!(layers.last(), Some(&ip_layer), "{d:?}");
        let ips = layers
            .iter()
            .filter(|l| matches!(l, Layer::Ip | Layer::Ip6))
            .count();
        assert_eq!(ips, 1, "{d:?}");
    }
    let first = match lt {
        1 => Some(Layer::Eth),
        113 => Some(Layer::Sll),
        276 => Some(Layer::Sll2),
        0 | 108 => Some(Layer::Null),
        9 | 50 => Some(Layer::Ppp),
        _ => None,
    };
    if let Some(f) = first {
        assert_eq!(layers[0], f, "{d:?}");
    }
}

/// Every header accessor of a [`PacketView`] of decoded packet `d` over
/// the captured bytes `frame` (the whole frame or a prefix): none may
/// panic, and what they read stays within the headers' bounds.
fn read_headers(d: &Decoded, frame: &[u8]) {
    let v = PacketView::new(0, Direction::Fwd, d, frame);
    if let Some(h) = v.ipv4() {
        assert!(20 + h.options.len() <= usize::from(h.header_len));
        assert_eq!(v.ttl(), Some(h.ttl));
    }
    if let Some(h) = v.ipv6() {
        let captured: usize = h.ext.iter().map(|e| e.bytes.len()).sum();
        assert!(captured <= h.ext.wire_len(), "{d:?}");
        assert_eq!(v.ttl(), Some(h.hop_limit));
    }
    if let Some(t) = v.tcp() {
        assert!(20 + t.options.len() <= usize::from(t.header_len));
        let o = t.options();
        assert!(o.kinds().len() <= t.options.len() && o.sack().len() <= 4);
    }
    let _ = (v.icmp(), v.macs());
    assert!(v.payload().len() <= d.payload_len as usize);
}

/// The decoder on one frame of any supported link type. Input: byte 0 picks
/// the link type, bytes 1–2 (little-endian) are how many bytes the wire
/// packet had beyond the captured ones, the rest is the frame.
///
/// Checks: no panic; lengths consistent (`payload ≤ ip_len − IP header`,
/// `ip_len ≤ wire length`); ports and flags only where the protocol has them;
/// the stack ends in the IP layer; the header accessors never panic, on
/// the frame or any prefix; and snaplen monotonicity: every captured
/// prefix of the frame (same wire length) decodes to the same result or is
/// skipped, and a frame that is skipped has no prefix that decodes.
pub fn decode(data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let lt = link_type_of(data[0]);
    let extra = u32::from(u16::from_le_bytes([data[1], data[2]]));
    let frame = &data[3..];
    let orig_len = (frame.len() as u32).saturating_add(extra);
    let wire = (orig_len as usize).max(frame.len());
    let full = joyfuljay::decode::decode(lt, frame, orig_len);
    if lt >= 1000 {
        assert_eq!(full, Err(SkipReason::UnsupportedLinkType));
        return;
    }
    if let Ok(d) = &full {
        check_decoded(lt, d, wire);
        read_headers(d, frame);
    }
    // Headers end early in the frame: prefixes past 600 bytes change nothing.
    for cut in 0..frame.len().min(600) {
        if let Ok(d) = &full {
            read_headers(d, &frame[..cut]);
        }
        let p = joyfuljay::decode::decode(lt, &frame[..cut], wire as u32);
        match (&full, &p) {
            (_, Err(_)) => {}
            (Ok(f), Ok(q)) => assert_eq!(f, q, "prefix of {cut} bytes"),
            (Err(r), Ok(q)) => {
                panic!("frame skipped ({r:?}) but its {cut}-byte prefix decodes: {q:?}")
            }
        }
    }
}

// --------------------------------------------------- decode_vs_etherparse

/// What etherparse makes of an Ethernet frame, in the decoder's terms. The
/// one etherparse oracle of the repository: this target and the
/// differential tests in `crates/joyfuljay/tests/fuzz_corpus.rs` use it.
#[derive(Debug)]
struct Reference {
    src: u128,
    dst: u128,
    v6: bool,
    proto: u8,
    ip_len: u32,
    /// Bytes after the IP header and any extension headers.
    ip_payload: u32,
    fragmented: bool,
    /// Ports and payload after the transport header, when etherparse parsed it.
    transport: Option<(u16, u16, u32)>,
    icmp_type: Option<u8>,
    udp_len: Option<u16>,
    /// IPv4 carrying AH, which etherparse skips as an extension.
    ipv4_ah: bool,
    /// IPv6 with an extension header etherparse does not skip.
    ipv6_unskipped_ext: bool,
    /// IPv6 payload length 0 behind a next header that may be empty: the
    /// decoder reads no payload, etherparse runs to the end of the frame.
    ipv6_empty: bool,
}

/// Why a frame was not compared.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Both decoders agree on addresses, protocol, lengths and ports.
    Compared,
    /// etherparse finds no IP, and the decoder agrees or has a documented reason to differ.
    NoIp,
    /// etherparse rejects the frame, or it falls in a documented exclusion.
    Excluded,
}

fn reference(data: &[u8]) -> Result<Option<Reference>, ()> {
    use etherparse::{LinkExtSlice, NetSlice, SlicedPacket, TransportSlice};
    let p = SlicedPacket::from_ethernet(data).map_err(|_| ())?;
    // MACsec (0x88e5) is not decoded by joyfuljay: not IP for it.
    if p.link_exts
        .iter()
        .any(|e| matches!(e, LinkExtSlice::Macsec(_)))
    {
        return Err(());
    }
    let Some(net) = p.net.as_ref() else {
        return Ok(None);
    };
    let mut r = match net {
        NetSlice::Ipv4(ip) => {
            let h = ip.header();
            Reference {
                src: u128::from(u32::from_be_bytes(h.source())),
                dst: u128::from(u32::from_be_bytes(h.destination())),
                v6: false,
                proto: ip.payload().ip_number.0,
                ip_len: u32::from(h.total_len()),
                ip_payload: ip.payload().payload.len() as u32,
                fragmented: ip.payload().fragmented,
                transport: None,
                icmp_type: None,
                udp_len: None,
                ipv4_ah: h.protocol().0 == 51,
                ipv6_unskipped_ext: false,
                ipv6_empty: false,
            }
        }
        NetSlice::Ipv6(ip) => {
            let h = ip.header();
            let proto = ip.payload().ip_number.0;
            // Payload length 0 behind a header that cannot be empty
            // (jumbogram, segmentation offload): both decoders take the
            // packet to run to the end of the frame. Behind another next
            // header the decoder reads an empty payload (excluded below).
            let ip_len = if h.payload_length() == 0 {
                let payload = ip.payload().payload;
                let end = payload.as_ptr() as usize + payload.len();
                (end - h.slice().as_ptr() as usize) as u32
            } else {
                u32::from(h.payload_length()) + 40
            };
            Reference {
                src: u128::from_be_bytes(h.source()),
                dst: u128::from_be_bytes(h.destination()),
                v6: true,
                proto,
                ip_len,
                ip_payload: ip.payload().payload.len() as u32,
                fragmented: ip.payload().fragmented,
                transport: None,
                icmp_type: None,
                udp_len: None,
                ipv4_ah: false,
                // Mobility (135), HIP (139) and Shim6 (140) are extension
                // headers joyfuljay skips and etherparse does not.
                ipv6_unskipped_ext: matches!(proto, 135 | 139 | 140),
                ipv6_empty: h.payload_length() == 0
                    && !matches!(h.next_header().0, 0 | 6 | 17 | 43 | 44 | 51 | 58 | 60 | 132),
            }
        }
        NetSlice::Arp(_) => return Ok(None),
    };
    r.transport = match &p.transport {
        Some(TransportSlice::Tcp(t)) => Some((
            t.source_port(),
            t.destination_port(),
            t.payload().len() as u32,
        )),
        Some(TransportSlice::Udp(u)) => {
            r.udp_len = Some(u.length());
            Some((
                u.source_port(),
                u.destination_port(),
                u.payload().len() as u32,
            ))
        }
        Some(TransportSlice::Icmpv4(i)) => {
            r.icmp_type = Some(i.type_u8());
            Some((0, 0, i.payload().len() as u32))
        }
        Some(TransportSlice::Icmpv6(i)) => Some((0, 0, i.payload().len() as u32)),
        Some(TransportSlice::Igmp(_)) | None => None,
    };
    Ok(Some(r))
}

/// True when the Ethernet frame reaches IP through something etherparse
/// does not follow: MPLS, PPPoE, 802.3 LLC/SNAP, the 0x9200 tag, or more
/// VLAN tags than etherparse keeps.
fn beyond_etherparse(data: &[u8], d: &Decoded) -> bool {
    let layers: Vec<Layer> = d.stack.layers().collect();
    if layers
        .iter()
        .any(|l| matches!(l, Layer::Mpls | Layer::Pppoe))
    {
        return true;
    }
    let vlans = layers.iter().filter(|l| **l == Layer::Vlan).count();
    if vlans >= etherparse::SlicedPacket::LINK_EXTS_CAP {
        return true;
    }
    let mut off = 12;
    while let Some(b) = data.get(off..off + 2) {
        let et = u16::from_be_bytes([b[0], b[1]]);
        match et {
            0x8100 | 0x88a8 | 0x9100 => off += 4,
            0x9200 => return true,
            n if n < 0x0600 => return true,
            _ => return false,
        }
    }
    false
}

/// Compare the decoder with etherparse on one Ethernet frame that was
/// `orig_len` bytes on the wire (`data.len()` when not cut by a snaplen).
pub fn compare_with_etherparse(data: &[u8], orig_len: u32) -> Result<Outcome, String> {
    let ours = joyfuljay::decode::decode(1, data, orig_len);
    let r = match reference(data) {
        Err(()) => return Ok(Outcome::Excluded),
        Ok(None) => {
            return match ours {
                Ok(d) if !beyond_etherparse(data, &d) => {
                    Err(format!("etherparse finds no IP, the decoder {d:?}"))
                }
                _ => Ok(Outcome::NoIp),
            }
        }
        Ok(Some(r)) => r,
    };
    // Documented differences (see fuzz/README.md):
    // - IPv4 AH: etherparse skips it as an extension; the spec keys IPv4
    //   flows on the outermost header, so AH is the flow protocol.
    // - IPv6 mobility/HIP/Shim6: skipped here, not by etherparse.
    // - IPv6 payload length 0 behind a next header that may be empty: an
    //   empty packet for the decoder (never Ethernet padding), the rest of
    //   the frame for etherparse.
    if r.ipv4_ah || r.ipv6_unskipped_ext || r.ipv6_empty {
        return Ok(Outcome::Excluded);
    }
    // - SCTP: etherparse does not parse it, so it accepts an IP payload too
    //   short for SCTP's 12-byte common header; the decoder rejects it.
    let sctp_short = r.proto == 132 && !r.fragmented && r.ip_payload < 12;
    // - A first fragment too short for its transport header (RFC 1858 tiny
    //   fragments): etherparse stops at IP for every fragment; the decoder
    //   needs the ports, so it skips the packet.
    if (sctp_short || r.fragmented) && ours == Err(SkipReason::BadTransportHeader) {
        return Ok(Outcome::Excluded);
    }
    let d = ours.map_err(|e| format!("decoder skipped ({e:?}): {r:?}"))?;
    // - An IPv6 later fragment whose fragment header names an extension
    //   header: what follows a non-first fragment header is fragment data,
    //   so the decoder reports that next-header value as the protocol;
    //   etherparse parses on into the data.
    let ext_header = matches!(d.proto, 0 | 43 | 44 | 51 | 60 | 135 | 139 | 140);
    if d.v6 && ext_header && matches!(d.fragment, Fragment::Later { .. }) {
        return Ok(Outcome::Excluded);
    }
    let want = (d.src, d.dst, d.v6, d.proto, d.ip_len);
    let got = (r.src, r.dst, r.v6, r.proto, r.ip_len);
    if want != got {
        return Err(format!("{d:?} vs {r:?}"));
    }
    let (ports, payload) = match (r.transport, r.fragmented) {
        (_, true) => match d.fragment {
            Fragment::Later { .. } => (Some((0, 0)), Some(r.ip_payload)),
            _ => (None, None),
        },
        (Some((sp, dp, pl)), false) => {
            // ICMP timestamp messages: etherparse counts a 20-byte header,
            // the spec always 8.
            let pl = match r.icmp_type {
                Some(13 | 14) => r.ip_payload - 8,
                _ => pl,
            };
            // UDP: etherparse bounds the data by the UDP length field, the
            // spec by the IP length.
            let pl = match r.udp_len {
                Some(ul) if u32::from(ul) != r.ip_payload => r.ip_payload - 8,
                _ => pl,
            };
            (Some((sp, dp)), Some(pl))
        }
        (None, false) => {
            if r.proto == 132 {
                (None, Some(r.ip_payload.wrapping_sub(12)))
            } else {
                (Some((0, 0)), Some(r.ip_payload))
            }
        }
    };
    if let Some(p) = ports {
        if (d.sport, d.dport) != p {
            return Err(format!(
                "ports {:?} vs {p:?}: {d:?} {r:?}",
                (d.sport, d.dport)
            ));
        }
    }
    if let Some(pl) = payload {
        if d.payload_len != pl {
            return Err(format!("payload {} vs {pl}: {d:?} {r:?}", d.payload_len));
        }
    }
    Ok(Outcome::Compared)
}

/// Differential target: the whole input is an Ethernet frame; whenever
/// etherparse decodes it, the decoder must agree (or the difference is one
/// of the documented exclusions).
pub fn decode_vs_etherparse(data: &[u8]) {
    if let Err(e) = compare_with_etherparse(data, data.len() as u32) {
        panic!("decoder and etherparse disagree: {e}");
    }
}

// --------------------------------------------------------------- pipeline

thread_local! {
    static PIPELINES: Vec<Pipeline> = pipeline_configs()
        .into_iter()
        .map(|c| Pipeline::new(c).expect("valid fuzz config"))
        .collect();
}

/// The configurations every pipeline input runs with: the defaults (all
/// groups), and one with short timeouts, a tiny flow limit, TCP close off
/// and every optional column on.
pub fn pipeline_configs() -> Vec<Config> {
    vec![
        Config::default(),
        Config {
            flow_timeout: 0.5,
            active_timeout: Some(0.25),
            terminate_on_fin_rst: false,
            max_concurrent_flows: 3,
            anonymize_ips: true,
            anonymization_salt: "fuzz".into(),
            include_flow_id: true,
            max_sequence_length: 4,
            include_raw_sequences: true,
            include_splt: true,
            bidirectional_split: true,
            ..Config::default()
        },
    ]
}

fn int(s: &VecSink, i: usize, c: &str) -> i64 {
    match s.get(i, c) {
        Some(Value::Int(v)) => *v,
        other => panic!("{c} of row {i}: {other:?}"),
    }
}

fn float(s: &VecSink, i: usize, c: &str) -> f64 {
    match s.get(i, c) {
        Some(Value::Float(v)) => *v,
        other => panic!("{c} of row {i}: {other:?}"),
    }
}

/// The row invariants of a finished run (also used by the property tests).
pub fn check_rows(cfg: &Config, sink: &VecSink, st: &Stats) {
    assert_eq!(sink.rows.len() as u64, st.flows, "one row per flow");
    assert_eq!(
        st.decoded + st.skipped_total(),
        st.packets + st.skipped[SkipReason::UnknownInterface as usize],
        "every packet decoded or skipped: {st:?}"
    );
    if cfg.max_concurrent_flows > 0 {
        assert!(st.peak_active_flows <= cfg.max_concurrent_flows, "{st:?}");
    }
    let mut packets = 0i64;
    for i in 0..sink.rows.len() {
        let (tp, pf, pb) = (
            int(sink, i, "total_packets"),
            int(sink, i, "packets_fwd"),
            int(sink, i, "packets_bwd"),
        );
        let (tb, bf, bb) = (
            int(sink, i, "total_bytes"),
            int(sink, i, "bytes_fwd"),
            int(sink, i, "bytes_bwd"),
        );
        let (plt, plf, plb) = (
            int(sink, i, "payload_bytes_total"),
            int(sink, i, "payload_bytes_fwd"),
            int(sink, i, "payload_bytes_bwd"),
        );
        assert_eq!(pf + pb, tp, "row {i} packets");
        assert_eq!(bf + bb, tb, "row {i} bytes");
        assert_eq!(plf + plb, plt, "row {i} payload");
        assert!(pf >= 1, "row {i}: the initiator sent the first packet");
        assert!(plf <= bf && plb <= bb, "row {i}: payload within bytes");
        assert!(tb >= 20 * tp, "row {i}: at least an IP header per packet");
        let (start, end, dur) = (
            float(sink, i, "start_time"),
            float(sink, i, "end_time"),
            float(sink, i, "duration"),
        );
        assert!(start <= end, "row {i}: start {start} after end {end}");
        assert!(dur >= 0.0, "row {i}: duration {dur}");
        let tol = 1e-6 * end.abs().max(1.0);
        assert!((dur - (end - start)).abs() <= tol, "row {i}: duration");
        assert_eq!(float(sink, i, "time_first").to_bits(), start.to_bits());
        assert_eq!(float(sink, i, "time_last").to_bits(), end.to_bits());
        let fs = int(sink, i, "flow_stat");
        assert!((0..0x80).contains(&fs), "row {i}: flow_stat {fs:#x}");
        if fs & 0x40 != 0 {
            assert!(
                fs & 0x03 == 0x03 && (fs & 0x0c == 0x0c || fs & 0x10 != 0),
                "row {i}: proper close without handshake and close: {fs:#x}"
            );
        }
        if int(sink, i, "protocol") != 6 {
            assert_eq!(fs & !0x20, 0, "row {i}: TCP bits on a non-TCP flow");
        }
        if cfg.terminate_on_fin_rst && fs & 0x20 != 0 {
            assert!(
                fs & 0x10 == 0 && fs & 0x0c != 0x0c,
                "row {i}: a closed TCP flow cannot end by timeout: {fs:#x}"
            );
        }
        if let Some(Value::Str(h)) = sink.get(i, "hdr_desc") {
            let n = int(sink, i, "num_hdrs");
            assert_eq!(h.split('-').count() as i64, n, "row {i}: {h}");
        }
        for (c, v) in sink.columns.iter().zip(&sink.rows[i]) {
            if let Value::Float(x) = v {
                assert!(x.is_finite(), "row {i}: {c} = {x}");
            }
        }
        packets += tp;
    }
    assert_eq!(
        packets as u64, st.decoded,
        "every decoded packet in one flow"
    );
}

/// The whole pipeline, bytes in → rows out, with each configuration of
/// [`pipeline_configs`]: no panic, and the rows keep their invariants.
pub fn pipeline(data: &[u8]) {
    let configs = pipeline_configs();
    PIPELINES.with(|pipes| {
        for (cfg, p) in configs.iter().zip(pipes) {
            let reader = match open(data.to_vec()) {
                Ok(r) => r,
                Err(e) => {
                    let msg = e.to_string();
                    assert!(!msg.contains('\n') && msg.contains("fuzz-input"), "{msg}");
                    return;
                }
            };
            let mut sink = VecSink::default();
            use joyfuljay::output::Sink;
            sink.begin(p.columns()).expect("VecSink");
            let st = p
                .process(reader, &mut sink, &mut Quiet)
                .expect("an in-memory capture reads without a fatal error");
            check_rows(cfg, &sink, &st);
        }
    });
}

// -------------------------------------------------------------------- ssh

/// The SSH parsers (`joyfuljay::proto::ssh`) on arbitrary bytes, as one
/// direction's stream start: never a panic; every result lies within the
/// input; a result found in a prefix is the same in the whole input; the
/// identification, then the cleartext packets, read in sequence as the
/// `ssh` group does.
pub fn ssh(data: &[u8]) {
    use joyfuljay::proto::ssh::{binary_packet, identification, kexinit, names, Scan};
    for other_lines in [false, true] {
        match identification(data, other_lines) {
            Scan::Found(id, end) => {
                assert!(end <= data.len() && data[end - 1] == b'\n');
                assert!(id.line.starts_with(b"SSH-") && id.line.len() < end);
                assert_eq!(
                    identification(&data[..end], other_lines),
                    Scan::Found(id, end)
                );
                if !other_lines {
                    assert_eq!(identification(data, true), Scan::Found(id, end));
                }
                // The packets after it, as the group reads them.
                let mut pos = end;
                for _ in 0..data.len() {
                    match binary_packet(&data[pos..]) {
                        Scan::Found(p, n) => {
                            assert!(n >= 6 && pos + n <= data.len() && !p.payload.is_empty());
                            if let Some(k) = kexinit(p.payload) {
                                check_kexinit(&k, p.payload);
                            }
                            pos += n;
                        }
                        _ => break,
                    }
                }
            }
            Scan::NeedMore { resume } => assert!(resume <= data.len()),
            Scan::Invalid => assert!(other_lines || !data.starts_with(b"SSH-")),
        }
    }
    if let Scan::Found(p, n) = binary_packet(data) {
        assert!(n <= data.len() && p.payload.len() < n);
        assert_eq!(binary_packet(&data[..n]), Scan::Found(p, n));
    }
    let mut k = vec![20];
    k.extend_from_slice(data);
    for payload in [data, &k[..]] {
        if let Some(x) = kexinit(payload) {
            check_kexinit(&x, payload);
        }
    }
    let _ = names(data).count();

    fn check_kexinit(k: &joyfuljay::proto::ssh::KexInit<'_>, payload: &[u8]) {
        let total: usize = k.lists.iter().map(|l| l.len() + 4).sum();
        assert!(17 + total + 5 <= payload.len());
        for c2s in [true, false] {
            let h = k.hassh_string(c2s);
            let [e, m, c] = k.enc_mac_cmp(c2s);
            assert_eq!(h.len(), k.kex().len() + e.len() + m.len() + c.len() + 3);
        }
    }
}

// -------------------------------------------------------------------- dns

/// The DNS parser (`joyfuljay::proto::dns`) on arbitrary bytes, read as
/// one message (a UDP payload) and as a TCP stream of length-prefixed
/// messages, as the `dns` group reads them: never a panic; a message that
/// parses has all its questions, at most ANCOUNT answers, names within
/// the bounds; the framing stays within the input.
pub fn dns(data: &[u8]) {
    use joyfuljay::proto::dns::{name, record, tcp_message, Message, MAX_NAME_LEN};
    let check = |msg: &[u8]| {
        let Some(m) = Message::parse(msg) else { return };
        let mut n = 0;
        for q in m.questions() {
            n += 1;
            assert!(q.name.wire_len as usize <= MAX_NAME_LEN && q.name.labels <= 127);
            let t = q.name.text();
            assert!(t.len() <= 4 * MAX_NAME_LEN);
            assert_eq!(t.is_empty(), q.name.labels == 0);
        }
        assert_eq!(n, usize::from(m.header.qdcount));
        assert_eq!(m.first_question().is_some(), m.header.qdcount > 0);
        let a = m.answers().inspect(|r| {
            let _ = r.name.text();
            assert!(r.rdata.len() < msg.len());
        });
        assert!(a.count() <= usize::from(m.header.ancount));
    };
    check(data);
    let mut pos = 0;
    for _ in 0..data.len() {
        let Some((msg, used)) = tcp_message(&data[pos..]) else {
            break;
        };
        assert_eq!(used, msg.len() + 2);
        pos += used;
        assert!(pos <= data.len());
        check(msg);
    }
    for off in 0..data.len().min(64) {
        if let Some((n, end)) = name(data, off) {
            assert!(end <= data.len() && end > off);
            let _ = n.text();
        }
        if let Some((_, end)) = record(data, off) {
            assert!(end <= data.len());
        }
    }
}

// ------------------------------------------------------------------ http2

/// `http2`: one direction of a TCP connection through the h2c reader
/// (`joyfuljay::proto::http2`): never a panic; the frame headers and
/// payload pieces reported do not depend on how the bytes are cut into
/// segments, a frame's pieces never exceed its length, headers and pieces
/// never exceed the input; the same bytes read as segments (4-byte sequence number, SYN
/// flag, length byte, payload) through the sequence tracker give no more
/// bytes than the segments hold, and a stopped tracker gives nothing.
pub fn http2(data: &[u8]) {
    use joyfuljay::proto::http2::{settings, DirParser, Event, FrameHeader, Segment, SeqTracker};
    let read = |pieces: &mut dyn Iterator<Item = &[u8]>| {
        let mut p = DirParser::new();
        let mut v: Vec<(FrameHeader, Vec<u8>)> = Vec::new();
        for piece in pieces {
            p.feed(piece, &mut |e| match e {
                Event::Frame(h) => v.push((h, Vec::new())),
                Event::Payload(b) => {
                    let (h, got) = v.last_mut().expect("payload after a header");
                    got.extend_from_slice(b);
                    assert!(got.len() <= h.length as usize);
                }
            });
        }
        (v, p.preface_seen(), p.is_http2(), p.upgraded(), p.is_done())
    };
    let whole = read(&mut std::iter::once(data));
    assert!(whole.0.len() <= data.len() / 9);
    let payload: usize = whole.0.iter().map(|f| f.1.len()).sum();
    assert!(whole.0.len() * 9 + payload <= data.len());
    for (h, b) in &whole.0 {
        if h.ty == 4 {
            assert_eq!(settings(b).count(), b.len() / 6);
        }
    }
    assert!(whole.0.is_empty() || whole.2);
    let step = 1 + data.first().map_or(0, |&b| usize::from(b) % 13);
    assert_eq!(read(&mut data.chunks(step)), whole);
    let mut t = SeqTracker::new();
    let mut p = DirParser::new();
    let mut rest = data;
    while rest.len() >= 6 {
        let seq = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let syn = rest[4] & 1 != 0;
        let wire = u32::from(rest[5]);
        let have = (rest[5] as usize).min(rest.len() - 6);
        let payload = &rest[6..6 + have];
        let was_stopped = t.stopped();
        match t.segment(seq, syn, payload, wire) {
            Segment::New(b) => {
                assert!(!was_stopped && b.len() <= payload.len());
                p.feed(b, &mut |_| {});
            }
            Segment::Last(b) => {
                assert!(!was_stopped && b.len() <= payload.len() && t.stopped());
                p.feed(b, &mut |_| {});
            }
            Segment::Gap => assert!(!was_stopped && t.stopped()),
            Segment::Stopped => assert!(was_stopped),
        }
        rest = &rest[6 + have..];
    }
}

// ------------------------------------------------------------------ seeds

/// The `tls` target: `data` is the start of one direction of a TCP
/// connection. Records and handshake messages are framed, every hello,
/// certificate list and key exchange found is parsed and every fingerprint
/// built; the same bytes are also read as one bare handshake message (as
/// QUIC's CRYPTO frames carry it). Nothing may panic, and the fingerprints
/// keep their fixed shapes.
pub fn tls(data: &[u8]) {
    use joyfuljay::proto::tls::{
        handshake_bytes, md5_hex, messages, server_key_exchange, Certificates, ClientHello,
        ServerHello, CERTIFICATE, CLIENT_HELLO, SERVER_HELLO, SERVER_KEY_EXCHANGE,
    };
    let check_client = |c: &ClientHello| {
        assert_eq!(md5_hex(&c.ja3_string()).len(), 32);
        let j = c.ja4(false);
        assert_eq!(j.len(), 36, "{j}");
        assert!(c.ja4_r(true).starts_with('q'));
    };
    let hs = handshake_bytes(data);
    assert!(hs.bytes.len() <= data.len());
    let (msgs, _) = messages(&hs.bytes);
    for m in msgs {
        match m.kind {
            CLIENT_HELLO => {
                if let Some(c) = ClientHello::parse_body(m.body) {
                    check_client(&c);
                }
            }
            SERVER_HELLO => {
                if let Some(s) = ServerHello::parse_body(m.body) {
                    assert_eq!(s.ja4s(false).len(), 25, "{}", s.ja4s(false));
                    let _ = (s.ja3s_string(), s.ja4s_r(false));
                }
            }
            CERTIFICATE => {
                if let Some(c) = Certificates::parse_body(m.body) {
                    assert!(c.first_len <= c.total_len && c.total_len <= m.body.len());
                }
            }
            SERVER_KEY_EXCHANGE => {
                let _ = server_key_exchange(m.body);
            }
            _ => {}
        }
    }
    if let Some(c) = ClientHello::parse(data) {
        check_client(&c);
    }
}

/// `quic`: one UDP datagram through the QUIC parser
/// (`joyfuljay::proto::quic`): the coalesced-packet walk stays inside the
/// datagram and ends; each complete Initial is decrypted with its
/// version's client keys (and with v1's and v2's keys whatever its
/// version), a plaintext has the length the header implies, and its
/// CRYPTO frames go through the bounded reassembly, whose buffer never
/// exceeds its budget.
pub fn quic(data: &[u8]) {
    use joyfuljay::proto::quic::{
        crypto_frames, decrypt_initial, packets, CryptoStream, InitialKeys, PacketType, VERSION_1,
        VERSION_2,
    };
    const BUDGET: u32 = 4096;
    let mut buf = Vec::new();
    let mut stream = CryptoStream::new(BUDGET);
    let mut total = 0usize;
    for p in packets(data) {
        total += p.bytes.len();
        assert!(total <= data.len(), "packets past the datagram");
        assert!(p.dcid.len() <= 255 && p.scid.len() <= 255);
        if p.ty == PacketType::Initial && p.complete {
            for v in [p.version, VERSION_1, VERSION_2] {
                let Some(k) = InitialKeys::client(v, p.dcid) else {
                    continue;
                };
                if let Some(d) = decrypt_initial(&p, &k, &mut buf) {
                    assert_eq!(
                        d.len + p.pn_offset + usize::from(d.pn_len) + 16,
                        p.bytes.len()
                    );
                    assert!((1..=4).contains(&d.pn_len));
                    for (off, c) in crypto_frames(&buf[..d.len]) {
                        stream.add(off, c);
                    }
                }
            }
        }
    }
    // The datagram's bytes as frames too (the parser must not care).
    for (off, c) in crypto_frames(data) {
        stream.add(off, c);
    }
    assert!(stream.contiguous().len() <= BUDGET as usize);
    if let Ok(Some(m)) = stream.first_message() {
        assert!(m.len() >= 4 && m.len() <= BUDGET as usize);
    }
}

/// The fuzz targets, by name.
pub const TARGETS: [&str; 10] = [
    "pcap_reader",
    "pcapng_reader",
    "decode",
    "decode_vs_etherparse",
    "pipeline",
    "tls",
    "ssh",
    "quic",
    "dns",
    "http2",
];

/// Run the body of the target called `name` on one input.
pub fn run_target(name: &str, data: &[u8]) {
    match name {
        "pcap_reader" => pcap_reader(data),
        "pcapng_reader" => pcapng_reader(data),
        "decode" => decode(data),
        "decode_vs_etherparse" => decode_vs_etherparse(data),
        "pipeline" => pipeline(data),
        "tls" => tls(data),
        "ssh" => ssh(data),
        "quic" => quic(data),
        "dns" => dns(data),
        "http2" => http2(data),
        other => panic!("no fuzz target {other}"),
    }
}

/// Seed inputs are cut to about this size: long enough for a few dozen
/// packets, short enough for fast fuzzing.
const SEED_BYTES: usize = 8 << 10;

/// The prefix of a legacy pcap file ending at the last record boundary at or
/// before `limit` bytes.
fn pcap_prefix(b: &[u8], limit: usize) -> &[u8] {
    let be = b[0] == 0xa1;
    let mut off = 24;
    while off + 16 <= b.len() {
        let w: [u8; 4] = b[off + 8..off + 12].try_into().expect("4 bytes");
        let caplen = if be {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        } as usize;
        let next = off + 16 + caplen;
        if next > limit || next > b.len() {
            break;
        }
        off = next;
    }
    &b[..off]
}

/// The prefix of a little-endian pcapng file ending at the last block
/// boundary at or before `limit` bytes.
fn pcapng_prefix(b: &[u8], limit: usize) -> &[u8] {
    let mut off = 0;
    while off + 12 <= b.len() {
        let w: [u8; 4] = b[off + 4..off + 8].try_into().expect("4 bytes");
        let next = off + u32::from_le_bytes(w) as usize;
        if next <= off || next > limit || next > b.len() {
            break;
        }
        off = next;
    }
    &b[..off]
}

/// Frames of a capture: (link type, orig_len, bytes).
fn frames_of(path: &Path, most: usize) -> Vec<(u32, u32, Vec<u8>)> {
    let mut v = Vec::new();
    if let Ok(mut r) = CaptureReader::open(path) {
        let _ = r.for_each(
            |f| {
                v.push((f.link_type, f.orig_len, f.data.to_vec()));
                v.len() < most
            },
            || {},
        );
    }
    v
}

/// The file name of `p`.
fn file_name(p: &Path) -> String {
    p.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string()
}

/// Each TCP direction's payload bytes of the captures whose names start
/// with `prefix`, in capture order (these captures have no loss or
/// reordering), cut at 4 KiB: seeds for the stream parsers.
fn tcp_streams(files: &[std::path::PathBuf], prefix: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for f in files.iter().filter(|f| file_name(f).starts_with(prefix)) {
        let mut streams: Vec<((u16, u16), Vec<u8>)> = Vec::new();
        for (lt, orig, data) in frames_of(f, 400) {
            let Ok(d) = joyfuljay::decode::decode(lt, &data, orig) else {
                continue;
            };
            let payload = data.get(d.payload_off as usize..).unwrap_or(&[]);
            if d.proto != 6 || payload.is_empty() {
                continue;
            }
            let k = (d.sport, d.dport);
            let i = match streams.iter().position(|s| s.0 == k) {
                Some(i) => i,
                None => {
                    streams.push((k, Vec::new()));
                    streams.len() - 1
                }
            };
            let s = &mut streams[i].1;
            let room = 4096usize.saturating_sub(s.len());
            s.extend_from_slice(&payload[..payload.len().min(room)]);
        }
        for (k, s) in streams {
            out.push((format!("{}-{}-{}", file_name(f), k.0, k.1), s));
        }
    }
    out
}

/// Synthetic packets of every kind the decoder knows.
fn synthetic_packets() -> Vec<joyfuljay::synth::Packet> {
    use joyfuljay::synth::{Packet, L4};
    let mut v = vec![
        Packet::tcp("10.0.0.1", 40000, "10.0.0.2", 80, 0x02, 0),
        Packet::tcp("10.0.0.2", 80, "10.0.0.1", 40000, 0x12, 0),
        Packet::tcp("10.0.0.1", 40000, "10.0.0.2", 80, 0x18, 100),
        Packet::tcp("10.0.0.1", 40000, "10.0.0.2", 80, 0x11, 0),
        Packet::tcp("10.0.0.2", 80, "10.0.0.1", 40000, 0x04, 0),
        Packet::udp("10.0.0.1", 5353, "224.0.0.251", 5353, 40),
        Packet::udp("2001:db8::1", 53000, "2001:db8::2", 53, 30),
        Packet::tcp("2001:db8::1", 50000, "2001:db8::2", 443, 0x02, 0),
        Packet::new("10.0.0.1", "10.0.0.2", L4::Icmp { payload: 56 }),
        Packet::new("fe80::1", "fe80::2", L4::Icmp { payload: 8 }),
        Packet::new(
            "10.0.0.1",
            "10.0.0.2",
            L4::Sctp {
                sport: 5000,
                dport: 5001,
                payload: 20,
            },
        ),
        Packet::new("10.0.0.1", "10.0.0.2", L4::Other { proto: 47, len: 24 }),
    ];
    let mut p = Packet::tcp("2001:db8::1", 50000, "2001:db8::2", 443, 0x10, 10);
    p.ipv6_ext = vec![0, 43, 60, 51];
    v.push(p);
    let mut p = Packet::udp("10.0.0.1", 1000, "10.0.0.2", 2000, 1400);
    p.fragment = Some((7, 0, true));
    v.push(p);
    let mut p = Packet::udp("10.0.0.1", 1000, "10.0.0.2", 2000, 600);
    p.fragment = Some((7, 185, false));
    v.push(p);
    let mut p = Packet::udp("2001:db8::1", 1000, "2001:db8::2", 2000, 100);
    p.fragment = Some((9, 0, true));
    v.push(p);
    let mut p = Packet::tcp("10.0.0.1", 1, "10.0.0.2", 2, 0x18, 30);
    p.ipv4_options = 8;
    p.zero_total_length = true;
    v.push(p);
    v
}

/// Seed inputs for the target called `name`, built from the captures in
/// `captures` (testdata/captures) and from synthetic packets.
pub fn seeds(name: &str, captures: &Path) -> Vec<(String, Vec<u8>)> {
    use joyfuljay::synth::{PcapNgWriter, PcapWriter};
    let mut files: Vec<_> = std::fs::read_dir(captures)
        .expect("captures directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let fname = |p: &Path| file_name(p);
    let mut out = Vec::new();
    let legacy = |out: &mut Vec<(String, Vec<u8>)>| {
        for f in &files {
            let b = std::fs::read(f).expect("capture");
            if b.len() >= 24 && PCAP_MAGICS.iter().any(|m| b[..4] == *m) {
                out.push((fname(f), pcap_prefix(&b, SEED_BYTES).to_vec()));
            }
        }
        // Nanosecond big-endian, which no bundled capture is.
        let mut w = PcapWriter::new(Vec::new(), 1, true, true, 65535).expect("in memory");
        for (i, p) in synthetic_packets().iter().enumerate() {
            w.write(
                1_700_000_000_000_000_000 + i as i64 * 1_234_567,
                &p.frame(1),
                0,
            )
            .expect("in memory");
        }
        out.push(("synthetic-ns-be.pcap".into(), w.into_inner()));
    };
    let ng = |out: &mut Vec<(String, Vec<u8>)>| {
        for f in &files {
            let b = std::fs::read(f).expect("capture");
            if b.len() >= 4 && b[..4] == PCAPNG_MAGIC {
                out.push((fname(f), pcapng_prefix(&b, SEED_BYTES).to_vec()));
            }
        }
        // http.cap's first frames on two interfaces with different
        // resolutions, and a raw-IP interface.
        let mut w = PcapNgWriter::new(Vec::new()).expect("in memory");
        w.add_interface(1, None).expect("in memory");
        w.add_interface(1, Some(9)).expect("in memory");
        w.add_interface(101, Some(0x80 | 20)).expect("in memory");
        let http = frames_of(&captures.join("http.cap"), 24);
        for (i, (_, orig, data)) in http.iter().enumerate() {
            let ts = 1_100_000_000_000_000_000 + i as i64 * 10_000_000;
            w.write((i % 2) as u32, ts, data, *orig).expect("in memory");
        }
        for (i, p) in synthetic_packets().iter().enumerate() {
            w.write(2, 1_100_000_001_000_000_000 + i as i64, &p.frame(101), 0)
                .expect("in memory");
        }
        out.push(("synthetic-http.pcapng".into(), w.into_inner()));
        // Other captures, one interface each, with assorted resolutions.
        let others = [
            ("dns.cap", None),
            ("v6-http.cap", Some(9)),
            ("vlan.cap", Some(3)),
            ("sctp.cap", Some(0x80 | 10)),
            ("tcp-ethereal-file1.trace", Some(6)),
        ];
        for (name, resol) in others {
            let frames = frames_of(&captures.join(name), 24);
            let Some(lt) = frames.first().map(|f| f.0) else {
                continue;
            };
            let mut w = PcapNgWriter::new(Vec::new()).expect("in memory");
            w.add_interface(lt, resol).expect("in memory");
            for (i, (_, orig, data)) in frames.iter().enumerate() {
                let ts = 1_200_000_000_000_000_000 + i as i64 * 3_000_000;
                w.write(0, ts, data, *orig).expect("in memory");
            }
            out.push((format!("{name}.pcapng"), w.into_inner()));
        }
    };
    match name {
        "pcap_reader" => legacy(&mut out),
        "pcapng_reader" => ng(&mut out),
        "pipeline" => {
            legacy(&mut out);
            ng(&mut out);
        }
        "decode" => {
            for f in &files {
                for (i, (lt, orig, data)) in frames_of(f, 40).into_iter().enumerate() {
                    let Some(sel) = LinkType::SUPPORTED.iter().position(|s| s.0 == lt) else {
                        continue;
                    };
                    let extra = (orig as usize).saturating_sub(data.len()).min(0xffff) as u16;
                    let mut s = vec![sel as u8];
                    s.extend_from_slice(&extra.to_le_bytes());
                    s.extend_from_slice(&data);
                    out.push((format!("{}-{i}", fname(f)), s));
                }
            }
            for (sel, lt) in LinkType::SUPPORTED.iter().enumerate() {
                for (i, p) in synthetic_packets().iter().enumerate() {
                    let mut s = vec![sel as u8, 0, 0];
                    s.extend_from_slice(&p.frame(lt.0));
                    out.push((format!("synthetic-{}-{i}", lt.0), s));
                }
            }
        }
        "decode_vs_etherparse" => {
            for f in &files {
                for (i, (lt, _, data)) in frames_of(f, 40).into_iter().enumerate() {
                    if lt == 1 {
                        out.push((format!("{}-{i}", fname(f)), data));
                    }
                }
            }
            for (i, p) in synthetic_packets().iter().enumerate() {
                out.push((format!("synthetic-{i}"), p.ethernet(&[], &[])));
                out.push((format!("synthetic-vlan-{i}"), p.ethernet(&[5, 6], &[])));
                out.push((format!("synthetic-mpls-{i}"), p.ethernet(&[], &[16, 17])));
                out.push((format!("synthetic-pppoe-{i}"), p.pppoe()));
            }
        }
        "tls" => {
            // Each frame of the recorded handshakes from its first TLS
            // record header on (the TCP payload, near enough), and the
            // payloads of frames that continue a record.
            for f in &files {
                for (i, (_, _, data)) in frames_of(f, 400).into_iter().enumerate() {
                    let at = data
                        .windows(3)
                        .position(|w| matches!(w, [22, 3, 0..=4]) || matches!(w, [20, 3, 3]));
                    if let Some(at) = at {
                        out.push((format!("{}-{i}", fname(f)), data[at..].to_vec()));
                    }
                }
            }
        }
        "ssh" => {
            out.extend(tcp_streams(&files, "ssh-"));
            for (i, s) in [
                &b"SSH-1.99-x\r\n"[..],
                b"hello\r\nSSH-2.0-y z\r\n\0\0\0\x0c\x0a\x15",
                b"SSH-2.0-\n",
                b"\0\0\0\x02\0\x15",
            ]
            .into_iter()
            .enumerate()
            {
                out.push((format!("synthetic-{i}"), s.to_vec()));
            }
        }
        "quic" => {
            // UDP payloads of the QUIC capture (Ethernet, IPv4 without
            // options) and the RFC 9001/9369 client Initials.
            for (i, (_, _, f)) in frames_of(&captures.join("quic.pcap"), 80)
                .into_iter()
                .enumerate()
            {
                if f.len() > 42 && f[12..14] == [8, 0] && f[23] == 17 {
                    out.push((format!("quic.pcap-{i}"), f[42..].to_vec()));
                }
            }
            let vectors = captures.join("../quic");
            for v in ["rfc9001-client-initial.bin", "rfc9369-client-initial.bin"] {
                if let Ok(b) = std::fs::read(vectors.join(v)) {
                    out.push((v.to_string(), b));
                }
            }
        }
        "dns" => {
            // The transport payload of each frame to or from port 53 or
            // 5353 of the DNS captures (a UDP message, or a piece of a TCP
            // stream of length-prefixed messages).
            for f in files.iter().filter(|f| fname(f).starts_with("dns")) {
                for (i, (lt, orig, data)) in frames_of(f, 400).into_iter().enumerate() {
                    let Ok(d) = joyfuljay::decode::decode(lt, &data, orig) else {
                        continue;
                    };
                    let dns_port = |p: u16| p == 53 || p == 5353;
                    let payload = data.get(d.payload_off as usize..).unwrap_or(&[]);
                    if !payload.is_empty() && (dns_port(d.sport) || dns_port(d.dport)) {
                        out.push((format!("{}-{i}", fname(f)), payload.to_vec()));
                    }
                }
            }
            for (i, s) in [
                &[0u8, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1][..],
                &[
                    0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 1, b'a', 0, 0, 1, 0, 1, 0xc0, 12, 0,
                    1, 0, 1, 0, 0, 0, 9, 0, 0,
                ],
                &[0, 14, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ]
            .into_iter()
            .enumerate()
            {
                out.push((format!("synthetic-{i}"), s.to_vec()));
            }
        }
        "http2" => {
            out.extend(tcp_streams(&files, "http2"));
            for (i, s) in [
                &b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0"[..],
                b"HTTP/1.1 101 Switching Protocols\r\n\r\n\0\0\x06\x04\0\0\0\0\0\0\x03\0\0\0\x64",
                b"GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
                b"\0\0\0\x04\0\0\0\0\0\xff\xff\xff\0\0\0\0\0\x01",
            ]
            .into_iter()
            .enumerate()
            {
                out.push((format!("synthetic-{i}"), s.to_vec()));
            }
        }
        other => panic!("no fuzz target {other}"),
    }
    out
}
