//! `tls`: what the cleartext TLS handshake of a TCP flow says — versions,
//! cipher suites, extensions, SNI, ALPN, the server certificate (TLS ≤
//! 1.2), key exchange, and the JA3/JA3S and JA4/JA4S fingerprints
//! (docs/semantics.md#tls).
//!
//! The group reads the first [`BUDGET`] bytes of each direction in
//! sequence order (the engine's stream-start reassembly: segments lost,
//! retransmitted or reordered are put right), frames TLS records and
//! handshake messages there (`proto::tls`), and stops looking at a
//! direction once its part of the handshake is read, the bytes are not
//! TLS, or the records turn encrypted. A message that is cut short (a gap
//! that never fills, the budget, the end of the capture) yields nulls for
//! what it would have said, never a guess.

use super::Value;
use super::{Column, ColumnType, FeatureGroup, FlowView, Group, GroupDef, Needs, RowWriter};
use crate::config::Config;
use crate::packet::PacketView;
use crate::proto::tls::{
    self as p, cipher_suite_name, group_name, handshake_bytes, md5_hex, messages, version_name,
    Certificates, ClientHello, ServerHello,
};
use std::sync::Arc;

const INT: ColumnType = ColumnType::Int;
const STR: ColumnType = ColumnType::Str;
const BOOL: ColumnType = ColumnType::Bool;
const INTS: ColumnType = ColumnType::IntList;
const STRS: ColumnType = ColumnType::StrList;

/// Bytes of each direction's stream read for the handshake: a ClientHello
/// (even with post-quantum key shares and padding), or a ServerHello with
/// a certificate chain of a few certificates. A handshake part that does
/// not fit is read as far as it is complete.
pub const BUDGET: u32 = 16 * 1024;

/// The `tls` columns, in output order: the documentation page's, then the
/// reference package's extras, then ours (JA4, JA4S, the chosen ALPN).
pub const COLUMNS: &[Column] = &[
    Column::nullable("tls_version", INT, "", "Negotiated TLS version as a number (771 = 0x0303 TLS 1.2, 772 = 0x0304 TLS 1.3): the ServerHello's supported_versions choice, else its version; without a ServerHello, the ClientHello's version."),
    Column::nullable("tls_version_str", STR, "", "tls_version as text: SSL 3.0, TLS 1.0 … TLS 1.3 (0x and four hex digits for other values)."),
    Column::nullable("tls_handshake_type", INT, "", "Type of the first handshake message of the flow (1 ClientHello, 2 ServerHello, …): the initiator's first, else the responder's."),
    Column::nullable("tls_cipher_suite", INT, "", "Cipher suite the ServerHello chose."),
    Column::nullable("tls_cipher_suite_name", STR, "", "IANA name of tls_cipher_suite (null when not in the table)."),
    Column::nullable("sni", STR, "", "Server Name Indication: the first host name of the ClientHello's server_name extension."),
    Column::always("sni_len", INT, "bytes", "Length of sni (0 without one)."),
    Column::nullable("ja3_hash", STR, "", "JA3: MD5 (lowercase hex) of ja3_str."),
    Column::nullable("ja3_str", STR, "", "JA3 string of the ClientHello: version,ciphers,extensions,groups,point formats (decimal, lists joined by -, GREASE values dropped)."),
    Column::nullable("ja3s_hash", STR, "", "JA3S: MD5 (lowercase hex) of ja3s_str."),
    Column::nullable("ja3s_str", STR, "", "JA3S string of the ServerHello: version,cipher,extensions."),
    Column::always("tls_extensions_count", INT, "extensions", "Extensions in the ClientHello, GREASE included (0 without one)."),
    Column::always("tls_extensions_len", INT, "bytes", "Length of the ClientHello's extensions block (0 without one)."),
    Column::nullable("tls_supported_versions", INTS, "", "The ClientHello's supported_versions extension, in order, GREASE included."),
    Column::nullable("tls_supported_groups", INTS, "", "The ClientHello's supported_groups (elliptic curves) extension, in order, GREASE included."),
    Column::nullable("tls_ec_point_formats", INTS, "", "The ClientHello's ec_point_formats extension."),
    Column::nullable("tls_alpn", STRS, "", "ALPN protocols the ClientHello offered, in order."),
    Column::always("tls_cipher_suites_count", INT, "suites", "Cipher suites the ClientHello offered, GREASE included (0 without one)."),
    Column::nullable("tls_cipher_suites", INTS, "", "Cipher suites the ClientHello offered, in order, GREASE included."),
    Column::nullable("tls_cert_issuer", STR, "", "Issuer common name of the server's certificate (the first of the chain; TLS 1.2 and earlier, where it is sent in the clear)."),
    Column::nullable("tls_cert_subject", STR, "", "Subject common name of the server's certificate."),
    Column::nullable("tls_cert_validity_days", INT, "days", "Validity period of the server's certificate, notAfter minus notBefore, whole days."),
    Column::always("tls_cert_is_self_signed", BOOL, "", "The server's certificate has equal issuer and subject names (false without a readable certificate)."),
    Column::always("tls_detected", BOOL, "", "A ClientHello or ServerHello was read."),
    Column::always("tls_handshake_packets", INT, "packets", "TCP packets whose payload starts with a TLS handshake record header (content type 22, major version 3)."),
    Column::nullable("tls_cert_count", INT, "certificates", "Certificates in the server's Certificate message (null when none was read)."),
    Column::nullable("tls_cert_total_length", INT, "bytes", "DER lengths of those certificates, summed."),
    Column::nullable("tls_cert_first_length", INT, "bytes", "DER length of the first (the server's own) certificate."),
    Column::nullable("tls_cert_chain_length", INT, "certificates", "Length of the certificate chain (the reference package's name; equal to tls_cert_count)."),
    Column::nullable("tls_session_id_len", INT, "bytes", "Length of the ClientHello's session ID."),
    Column::always("tls_session_ticket_ext", BOOL, "", "The ClientHello carried the session_ticket extension (35)."),
    Column::always("tls_session_resumed", BOOL, "", "The server resumed a session: a TLS 1.3 ServerHello with pre_shared_key (41), or a TLS 1.2-and-earlier ServerHello followed directly by ChangeCipherSpec (abbreviated handshake)."),
    Column::always("tls_psk_ext", BOOL, "", "The ClientHello carried the pre_shared_key extension (41)."),
    Column::always("tls_early_data_ext", BOOL, "", "The ClientHello carried the early_data extension (42)."),
    Column::nullable("tls_key_exchange_group", INT, "", "Key exchange group the server chose: its TLS 1.3 key_share, else the named curve of its ServerKeyExchange (null for finite-field DHE)."),
    Column::nullable("tls_key_exchange_group_name", STR, "", "Name of tls_key_exchange_group (x25519, secp256r1, X25519MLKEM768, …; null when not in the table)."),
    Column::nullable("tls_key_exchange_length", INT, "bits", "Size of the server's key exchange value: its public key share (ECDHE, TLS 1.3) or DH prime p (DHE), bits."),
    Column::nullable("ja4", STR, "", "JA4 fingerprint of the ClientHello (FoxIO's definition, t prefix)."),
    Column::nullable("ja4_r", STR, "", "Raw JA4: the sorted cipher and extension lists and the signature algorithms instead of their hashes."),
    Column::nullable("ja4s", STR, "", "JA4S fingerprint of the ServerHello (FoxIO's definition)."),
    Column::nullable("ja4s_r", STR, "", "Raw JA4S: the extension list instead of its hash."),
    Column::nullable("tls_server_alpn", STR, "", "ALPN protocol the ServerHello chose."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "tls",
    summary:
        "TLS handshake: versions, ciphers, extensions, SNI, ALPN, certificate, JA3/JA3S, JA4/JA4S.",
    columns: COLUMNS,
    build: |_cfg: &Config| -> Arc<dyn Group> { Arc::new(Tls) },
};

struct Tls;

/// What was read of one direction so far.
#[derive(Debug, Default, Clone, Copy)]
struct Side {
    /// Nothing more to read here.
    done: bool,
    /// Contiguous stream bytes at the last attempt.
    seen: u32,
}

/// What the handshake said, allocated at the first handshake message.
#[derive(Debug, Default)]
struct Hello {
    client: Option<ClientHello>,
    server: Option<ServerHello>,
    certs: Option<Certificates>,
    /// ServerKeyExchange: named group (ECDHE) and key length, bytes.
    ske: Option<(Option<u16>, usize)>,
    /// First handshake message type of each direction.
    first: [Option<u8>; 2],
    /// A TLS ≤ 1.2 ServerHello followed directly by ChangeCipherSpec.
    abbreviated: bool,
}

/// Per-flow state: 24 bytes, plus the parsed handshake (boxed) for flows
/// that carry one.
#[derive(Debug, Default)]
pub struct TlsState {
    handshake_packets: u32,
    sides: [Side; 2],
    hello: Option<Box<Hello>>,
}

impl Tls {
    /// Read direction `d`'s handshake from its stream start `b`.
    fn read(st: &mut TlsState, d: usize, b: &[u8]) {
        let hs = handshake_bytes(b);
        if hs.not_tls {
            st.sides[d].done = true;
            return;
        }
        let (msgs, pending) = messages(&hs.bytes);
        let Some(first) = msgs.first().map(|m| m.kind).or(pending) else {
            return;
        };
        let h = st.hello.get_or_insert_with(Default::default);
        h.first[d].get_or_insert(first);
        let mut done = hs.ended || b.len() >= BUDGET as usize;
        for (i, m) in msgs.iter().enumerate() {
            match m.kind {
                p::CLIENT_HELLO => {
                    if h.client.is_none() {
                        h.client = ClientHello::parse_body(m.body);
                    }
                    // Only the first ClientHello counts (a second one
                    // follows a HelloRetryRequest).
                    done = true;
                    break;
                }
                p::SERVER_HELLO => {
                    if h.server.is_none() {
                        h.server = ServerHello::parse_body(m.body);
                    }
                    match &h.server {
                        // TLS 1.3: the rest of the server's flight is
                        // encrypted; after a HelloRetryRequest, the next
                        // ServerHello is not the first.
                        Some(s) if s.negotiated_version() >= 0x0304 || s.hello_retry => {
                            h.abbreviated = false;
                            done = true;
                            break;
                        }
                        None => {
                            done = true;
                            break;
                        }
                        _ => {}
                    }
                    if hs.ended && i + 1 == msgs.len() && pending.is_none() {
                        h.abbreviated = true;
                    }
                }
                p::CERTIFICATE if h.certs.is_none() => {
                    h.certs = Certificates::parse_body(m.body);
                }
                p::SERVER_KEY_EXCHANGE if h.ske.is_none() => {
                    h.ske = p::server_key_exchange(m.body);
                }
                p::SERVER_HELLO_DONE => {
                    done = true;
                    break;
                }
                _ => {}
            }
        }
        st.sides[d].done = done;
    }
}

impl FeatureGroup for Tls {
    type State = TlsState;

    fn needs(&self) -> Needs {
        Needs {
            headers: true,
            stream_start: BUDGET,
            ..Needs::SUMMARY
        }
    }

    fn new_state(&self) -> TlsState {
        TlsState::default()
    }

    #[inline]
    fn update(&self, st: &mut TlsState, pkt: &PacketView<'_>) {
        if pkt.proto() != 6 {
            return;
        }
        if let [p::HANDSHAKE, 3, ..] = pkt.payload() {
            st.handshake_packets += 1;
        }
        let d = pkt.dir as usize;
        if st.sides[d].done {
            return;
        }
        let Some(s) = pkt.stream else { return };
        let b = s.bytes();
        let n = u32::try_from(b.len()).unwrap_or(u32::MAX);
        if n == st.sides[d].seen {
            return;
        }
        st.sides[d].seen = n;
        Tls::read(st, d, b);
    }

    fn write(&self, _flow: &FlowView<'_>, st: &TlsState, out: &mut RowWriter<'_>) {
        let none = Hello::default();
        let h = st.hello.as_deref().unwrap_or(&none);
        let ch = h.client.as_ref();
        let sh = h.server.as_ref();
        let certs = h.certs.as_ref();
        let version = sh
            .map(ServerHello::negotiated_version)
            .or(ch.map(|c| c.version));
        out.put(version.map(i64::from));
        out.put_with(|| version.map(version_name));
        out.put(h.first[0].or(h.first[1]).map(i64::from));
        let cipher = sh.map(|s| s.cipher_suite);
        out.put(cipher.map(i64::from));
        out.put(cipher.and_then(cipher_suite_name));
        let sni = ch.and_then(|c| c.sni.as_deref());
        out.put(sni);
        out.put(sni.map_or(0, |s| s.len() as i64));
        let ja3 = ch.map(ClientHello::ja3_string);
        out.put_with(|| ja3.as_deref().map(md5_hex));
        out.put(ja3.as_deref());
        let ja3s = sh.map(ServerHello::ja3s_string);
        out.put_with(|| ja3s.as_deref().map(md5_hex));
        out.put(ja3s.as_deref());
        out.put(ch.map_or(0, |c| c.extensions.len() as i64));
        out.put(ch.map_or(0, |c| c.extensions_len as i64));
        let ints = |l: Option<&Vec<u16>>| {
            l.map(|l| Value::IntList(l.iter().map(|&x| i64::from(x)).collect()))
        };
        out.put_with(|| ints(ch.and_then(|c| c.supported_versions.as_ref())));
        out.put_with(|| ints(ch.and_then(|c| c.supported_groups.as_ref())));
        out.put_with(|| {
            ch.and_then(|c| c.ec_point_formats.as_ref())
                .map(|l| Value::IntList(l.iter().map(|&x| i64::from(x)).collect()))
        });
        out.put_with(|| ch.and_then(|c| c.alpn.clone()).map(Value::StrList));
        out.put(ch.map_or(0, |c| c.cipher_suites.len() as i64));
        out.put_with(|| ints(ch.map(|c| &c.cipher_suites)));
        out.put(certs.and_then(|c| c.issuer_cn.as_deref()));
        out.put(certs.and_then(|c| c.subject_cn.as_deref()));
        out.put(certs.and_then(|c| c.validity_days));
        out.put(certs.and_then(|c| c.self_signed).unwrap_or(false));
        out.put(ch.is_some() || sh.is_some());
        out.put(i64::from(st.handshake_packets));
        out.put(certs.map(|c| c.count as i64));
        out.put(certs.map(|c| c.total_len as i64));
        out.put(certs.map(|c| c.first_len as i64));
        out.put(certs.map(|c| c.count as i64));
        out.put(ch.map(|c| c.session_id_len as i64));
        out.put(ch.is_some_and(|c| c.has_extension(35)));
        let resumed = sh.is_some_and(|s| {
            if s.negotiated_version() >= 0x0304 {
                s.extensions.contains(&41)
            } else {
                h.abbreviated
            }
        });
        out.put(resumed);
        out.put(ch.is_some_and(|c| c.has_extension(41)));
        out.put(ch.is_some_and(|c| c.has_extension(42)));
        // The server's key exchange: TLS 1.3 key share, else the
        // ServerKeyExchange of TLS 1.2 (ECDHE curve or DHE prime).
        let (group, key_bytes) = match (sh.and_then(|s| s.key_share), h.ske) {
            (Some((g, n)), _) => (Some(g), Some(n)),
            (None, Some((g, n))) => (g, Some(n)),
            (None, None) => (None, None),
        };
        out.put(group.map(i64::from));
        out.put(group.and_then(group_name));
        out.put(key_bytes.map(|n| n as i64 * 8));
        out.put_with(|| ch.map(|c| c.ja4(false)));
        out.put_with(|| ch.map(|c| c.ja4_r(false)));
        out.put_with(|| sh.map(|s| s.ja4s(false)));
        out.put_with(|| sh.map(|s| s.ja4s_r(false)));
        out.put(sh.and_then(|s| s.alpn.as_deref()));
    }
}

#[cfg(test)]
mod tests;
