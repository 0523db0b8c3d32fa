//! `quic`: QUIC packets of a UDP flow (RFC 8999/9000, RFC 9369 for v2):
//! version and connection IDs of the first long header, packet counts by
//! header form and type, and the TLS ClientHello carried in the client's
//! Initial packets, decrypted with the version's initial keys (RFC 9001
//! §5) — its ALPN, SNI and JA4 (docs/semantics.md#quic).
//!
//! A UDP flow becomes QUIC at its first datagram whose first packet is a
//! long header of a known version (v1, v2, drafts 1–34) with connection IDs
//! of at most 20 bytes; from then on every datagram of the flow counts,
//! each coalesced packet on its own. Until then a packet costs a test of
//! its first byte.

use super::{Column, ColumnType, FeatureGroup, FlowView, Group, GroupDef, Needs, RowWriter, Value};
use crate::config::Config;
use crate::flow::Direction;
use crate::packet::PacketView;
use crate::proto::quic::{
    crypto_frames, decrypt_initial, is_known_version, packets, parse_packet, version_name,
    CryptoStream, InitialKeys, PacketType,
};
use crate::proto::tls::ClientHello;
use std::sync::Arc;

const INT: ColumnType = ColumnType::Int;
const STR: ColumnType = ColumnType::Str;
const BOOL: ColumnType = ColumnType::Bool;

/// Bytes of each UDP payload the group reads: a whole datagram of the
/// usual path MTUs (QUIC's Initial datagrams are at least 1200 bytes; the
/// packets of a longer datagram past this are not seen).
pub const DATAGRAM_BYTES: u32 = 2048;

/// Bytes of the client's CRYPTO stream kept to find the ClientHello: a
/// ClientHello longer than this is not parsed (ALPN, SNI, JA4 null).
pub const CRYPTO_BUDGET: u32 = 4096;

/// The client's Initial packets decrypted at most while looking for the
/// ClientHello.
pub const MAX_INITIALS_TRIED: u8 = 8;

/// The `quic` columns, in output order: the page's, then the reference
/// code's others, then ours.
pub const COLUMNS: &[Column] = &[
    Column::always("is_quic", BOOL, "", "The flow is UDP and one of its datagrams starts with a QUIC long header of a known version (v1, v2 or draft 1-34) with connection IDs of at most 20 bytes."),
    Column::nullable("quic_version", INT, "", "Version field of the flow's first long-header packet (the client's first Initial), as an unsigned 32-bit integer; null if not QUIC."),
    Column::nullable("quic_version_str", STR, "", "quic_version as text: v1 (0x00000001), v2 (0x6b3343cf), draft-N (0xff0000NN), otherwise 0x and 8 hex digits; null if not QUIC."),
    Column::nullable("quic_dcid_len", INT, "bytes", "Destination Connection ID length of the first long-header packet; null if not QUIC."),
    Column::nullable("quic_scid_len", INT, "bytes", "Source Connection ID length of the first long-header packet; null if not QUIC."),
    Column::nullable("quic_dcid", STR, "", "Destination Connection ID of the first long-header packet, lowercase hex (empty text for a zero-length ID); null if not QUIC."),
    Column::nullable("quic_scid", STR, "", "Source Connection ID of the first long-header packet, lowercase hex (empty text for a zero-length ID); null if not QUIC."),
    Column::always("quic_initial_packets", INT, "packets", "Initial packets, both directions, each coalesced packet counted."),
    Column::always("quic_handshake_packets", INT, "packets", "Handshake packets, both directions."),
    Column::always("quic_retry_count", INT, "packets", "Retry packets."),
    Column::always("quic_0rtt_packets", INT, "packets", "0-RTT packets."),
    Column::nullable("quic_alpn", ColumnType::StrList, "", "ALPN protocol names offered in the client's ClientHello (CRYPTO frames of its Initial packets, decrypted), in order; null without a parsed ClientHello or without the ALPN extension."),
    Column::always("quic_is_http3", BOOL, "", "Some offered ALPN name starts with h3 (h3, h3-29, ...)."),
    Column::always("quic_packet_count", INT, "packets", "QUIC packets of the flow from its first QUIC datagram on, both directions, each coalesced packet counted."),
    Column::always("quic_long_header_count", INT, "packets", "Long-header packets (Initial, 0-RTT, Handshake, Retry, Version Negotiation, unknown version)."),
    Column::always("quic_short_header_count", INT, "packets", "Short-header (1-RTT) packets: datagrams of a QUIC flow whose first bit is 0, or such a packet after coalesced long-header ones."),
    Column::nullable("quic_pn_length", INT, "bytes", "Packet number length (1-4) of the client's first decrypted Initial packet, after header protection is removed; null if none was decrypted."),
    Column::always("quic_0rtt_detected", BOOL, "", "The flow has a 0-RTT packet (quic_0rtt_packets > 0)."),
    Column::always("quic_retry_detected", BOOL, "", "The flow has a Retry packet (quic_retry_count > 0)."),
    Column::always("quic_spin_bit", BOOL, "", "The latency spin bit (0x20 of a short header's first byte) takes both values among the flow's short-header packets."),
    Column::nullable("quic_sni", STR, "", "Server name (SNI host_name) of the client's ClientHello; null without a parsed ClientHello or without the extension."),
    Column::nullable("quic_ja4", STR, "", "JA4 fingerprint (FoxIO) of the client's ClientHello, with the q (QUIC) prefix; null without a parsed ClientHello."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "quic",
    summary: "QUIC: version, connection IDs, packet counts by type, and ALPN/SNI/JA4 of the ClientHello in the decrypted client Initial packets.",
    columns: COLUMNS,
    build: |_cfg: &Config| -> Arc<dyn Group> { Arc::new(Quic) },
};

struct Quic;

/// What the ClientHello gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct HelloInfo {
    sni: Option<String>,
    alpn: Option<Vec<String>>,
    ja4: String,
}

/// The search for the client's ClientHello.
#[derive(Debug)]
enum Hello {
    /// Reassembling the CRYPTO stream of the client's Initial packets
    /// (`scratch` holds each decrypted packet in turn).
    Pending {
        stream: CryptoStream,
        scratch: Vec<u8>,
        tried: u8,
    },
    /// Parsed (`None`: the message was not a ClientHello we could read).
    Done(Option<Box<HelloInfo>>),
    /// Given up (too long, too many Initial packets, no keys).
    GaveUp,
}

/// A QUIC flow's state.
#[derive(Debug)]
pub(crate) struct QuicFlow {
    version: u32,
    dcid_len: u8,
    scid_len: u8,
    /// DCID then SCID of the first long header.
    cids: [u8; 40],
    initial: u32,
    handshake: u32,
    retry: u32,
    zero_rtt: u32,
    long: u32,
    short: u32,
    /// Bit 0: a short header with the spin bit clear; bit 1: set.
    spin: u8,
    /// Packet number length of the first decrypted client Initial (0: none).
    pn_len: u8,
    hello: Hello,
}

/// Per-flow state: nothing (8 bytes) until the flow's first QUIC
/// datagram; then a box of about 120 bytes, plus the CRYPTO reassembly
/// (at most `CRYPTO_BUDGET` bytes and one decrypted datagram) until the
/// ClientHello is parsed or given up.
#[derive(Debug, Default)]
pub(crate) struct QuicState(Option<Box<QuicFlow>>);

const _: () = assert!(std::mem::size_of::<QuicState>() == 8);

impl QuicFlow {
    pub(crate) fn new(version: u32, dcid: &[u8], scid: &[u8]) -> QuicFlow {
        let mut cids = [0u8; 40];
        cids[..dcid.len()].copy_from_slice(dcid);
        cids[20..20 + scid.len()].copy_from_slice(scid);
        QuicFlow {
            version,
            dcid_len: dcid.len() as u8,
            scid_len: scid.len() as u8,
            cids,
            initial: 0,
            handshake: 0,
            retry: 0,
            zero_rtt: 0,
            long: 0,
            short: 0,
            spin: 0,
            pn_len: 0,
            hello: Hello::Pending {
                stream: CryptoStream::new(CRYPTO_BUDGET),
                scratch: Vec::new(),
                tried: 0,
            },
        }
    }

    pub(crate) fn datagram(&mut self, d: &[u8], dir: Direction) {
        for p in packets(d) {
            match p.ty {
                PacketType::Short => {
                    self.short += 1;
                    self.spin |= 1 << (p.first >> 5 & 1);
                    continue;
                }
                PacketType::Initial => self.initial += 1,
                PacketType::Handshake => self.handshake += 1,
                PacketType::Retry => self.retry += 1,
                PacketType::ZeroRtt => self.zero_rtt += 1,
                PacketType::VersionNegotiation | PacketType::UnknownLong => {}
            }
            self.long += 1;
            if p.ty == PacketType::Initial && dir == Direction::Fwd {
                self.client_initial(&p);
            }
        }
    }

    /// Whether the client's ClientHello offers an ALPN name starting with
    /// `h3` (as `quic_is_http3`): `None` while the ClientHello is still
    /// looked for, `Some(false)` when it was parsed without such a name or
    /// given up.
    pub(crate) fn offers_h3(&self) -> Option<bool> {
        match &self.hello {
            Hello::Pending { .. } => None,
            Hello::Done(h) => Some(
                h.as_ref()
                    .and_then(|h| h.alpn.as_ref())
                    .is_some_and(|a| a.iter().any(|p| p.starts_with("h3"))),
            ),
            Hello::GaveUp => Some(false),
        }
    }

    /// Feed a client Initial packet to the ClientHello search.
    fn client_initial(&mut self, p: &crate::proto::quic::Packet<'_>) {
        let Hello::Pending {
            stream,
            scratch,
            tried,
        } = &mut self.hello
        else {
            return;
        };
        if !p.complete {
            return;
        }
        let Some(keys) = InitialKeys::client(p.version, p.dcid) else {
            self.hello = Hello::GaveUp;
            return;
        };
        *tried += 1;
        if let Some(d) = decrypt_initial(p, &keys, scratch) {
            if self.pn_len == 0 {
                self.pn_len = d.pn_len;
            }
            for (off, data) in crypto_frames(&scratch[..d.len]) {
                stream.add(off, data);
            }
        }
        let next = match stream.first_message() {
            Ok(Some(msg)) => Some(Hello::Done(parse_hello(msg).map(Box::new))),
            Ok(None) if *tried < MAX_INITIALS_TRIED => None,
            _ => Some(Hello::GaveUp),
        };
        if let Some(n) = next {
            // Drops the reassembly buffers.
            self.hello = n;
        }
    }
}

/// SNI, ALPN and JA4 of a ClientHello handshake message.
fn parse_hello(msg: &[u8]) -> Option<HelloInfo> {
    let ch = ClientHello::parse(msg)?;
    Some(HelloInfo {
        ja4: ch.ja4(true),
        sni: ch.sni,
        alpn: ch.alpn,
    })
}

/// A first QUIC datagram: its first packet is a long header of a known
/// version whose connection IDs fit v1's limits.
pub(crate) fn starts_quic(payload: &[u8]) -> Option<(u32, &[u8], &[u8])> {
    // Long header form bit, fixed bit.
    if payload.first()? & 0xc0 != 0xc0 {
        return None;
    }
    let (p, _) = parse_packet(payload)?;
    if !is_known_version(p.version) {
        return None;
    }
    Some((p.version, p.dcid, p.scid))
}

impl FeatureGroup for Quic {
    type State = QuicState;

    fn needs(&self) -> Needs {
        Needs {
            payload_bytes: DATAGRAM_BYTES,
            ..Needs::SUMMARY
        }
    }

    fn new_state(&self) -> QuicState {
        QuicState::default()
    }

    #[inline]
    fn update(&self, st: &mut QuicState, pkt: &PacketView<'_>) {
        if pkt.proto() != 17 {
            return;
        }
        let payload = pkt.payload();
        let q = match &mut st.0 {
            Some(q) => q,
            None => {
                let Some((v, dcid, scid)) = starts_quic(payload) else {
                    return;
                };
                st.0.insert(Box::new(QuicFlow::new(v, dcid, scid)))
            }
        };
        q.datagram(payload, pkt.dir);
    }

    fn write(&self, _flow: &FlowView<'_>, st: &QuicState, out: &mut RowWriter<'_>) {
        let q = st.0.as_deref();
        let hello = q.and_then(|q| match &q.hello {
            Hello::Done(Some(h)) => Some(&**h),
            _ => None,
        });
        let count = |f: fn(&QuicFlow) -> u32| q.map_or(0, f);
        out.put(q.is_some());
        out.put(q.map(|q| q.version));
        out.put_with(|| q.map(|q| version_name(q.version)));
        out.put(q.map(|q| u32::from(q.dcid_len)));
        out.put(q.map(|q| u32::from(q.scid_len)));
        out.put_with(|| q.map(|q| hex::encode(&q.cids[..q.dcid_len as usize])));
        out.put_with(|| q.map(|q| hex::encode(&q.cids[20..20 + q.scid_len as usize])));
        out.put(count(|q| q.initial));
        out.put(count(|q| q.handshake));
        out.put(count(|q| q.retry));
        out.put(count(|q| q.zero_rtt));
        out.put_with(|| match hello.and_then(|h| h.alpn.clone()) {
            Some(v) => Value::StrList(v),
            None => Value::Null,
        });
        out.put(
            hello
                .and_then(|h| h.alpn.as_ref())
                .is_some_and(|a| a.iter().any(|p| p.starts_with("h3"))),
        );
        out.put(count(|q| q.long + q.short));
        out.put(count(|q| q.long));
        out.put(count(|q| q.short));
        out.put(q.and_then(|q| (q.pn_len > 0).then_some(u32::from(q.pn_len))));
        out.put(count(|q| q.zero_rtt) > 0);
        out.put(count(|q| q.retry) > 0);
        out.put(q.is_some_and(|q| q.spin == 3));
        out.put_with(|| hello.and_then(|h| h.sni.clone()));
        out.put_with(|| hello.map(|h| h.ja4.clone()));
    }
}

#[cfg(test)]
mod tests;
