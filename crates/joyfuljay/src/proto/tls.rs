//! TLS handshakes: the ClientHello, ServerHello, Certificate and
//! ServerKeyExchange messages one side of a connection sends in the clear,
//! and the fingerprints computed from them (JA3/JA3S, JA4/JA4S).
//!
//! The message bodies are parsed by the `tls-parser` crate; this module
//! frames records and handshake messages (a message may span several
//! records, a record may hold several messages), picks the fields the
//! `tls` and `quic` groups report, and builds the fingerprints:
//!
//! - **JA3** (Salesforce): `version,ciphers,extensions,groups,point_formats`
//!   of the ClientHello, decimal, lists joined by `-`, GREASE values
//!   (RFC 8701: `0x?a?a` with both bytes equal) dropped; JA3 is the MD5 of
//!   that string in lowercase hex. **JA3S**: `version,cipher,extensions`
//!   of the ServerHello. As Wireshark's `tls.handshake.ja3(_full)` and
//!   `ja3s(_full)`.
//! - **JA4** (FoxIO): `a_b_c`. `a` = transport (`t` TCP, `q` QUIC), the
//!   highest non-GREASE version of the `supported_versions` extension (else
//!   the ClientHello's version) as `13`, `12`, `11`, `10`, `s3`, `s2` (`00`
//!   for others), `d` if an SNI extension is present else `i`, the number
//!   of cipher suites and of extensions (GREASE dropped, two digits, at most
//!   99), and the first and last character of the first ALPN value (`00`
//!   without ALPN; the first and last hex digit of the value when either
//!   character is not ASCII alphanumeric). `b` = the first 12 hex digits of
//!   the SHA-256 of the sorted cipher suites as 4-digit hex joined by `,`
//!   (`000000000000` when none). `c` = the same over the sorted extensions
//!   without SNI (0x0000) and ALPN (0x0010), then `_` and the signature
//!   algorithms in their original order (the `_` part left out when there
//!   are none). **JA4_r** is `a_b_c` with the lists themselves instead of
//!   their hashes. **JA4S**: `a` = transport, version (the ServerHello's
//!   selected `supported_versions`, else its version), number of
//!   extensions, first and last character of the chosen ALPN; `b` = the
//!   chosen cipher suite in 4-digit hex; `c` = the first 12 hex digits of
//!   the SHA-256 of the extensions in their order, 4-digit hex joined by
//!   `,`. **JA4S_r** has the list instead of the hash.
//!
//! No input makes any function here panic.

use md5::{Digest, Md5};
use sha2::Sha256;
use std::fmt::Write as _;
use tls_parser::{
    parse_tls_extension, parse_tls_handshake_client_hello, parse_tls_handshake_server_hello,
    TlsExtension,
};

/// Record content type: change_cipher_spec.
pub const CHANGE_CIPHER_SPEC: u8 = 20;
/// Record content type: handshake.
pub const HANDSHAKE: u8 = 22;
/// Handshake message type: client_hello.
pub const CLIENT_HELLO: u8 = 1;
/// Handshake message type: server_hello.
pub const SERVER_HELLO: u8 = 2;
/// Handshake message type: certificate.
pub const CERTIFICATE: u8 = 11;
/// Handshake message type: server_key_exchange.
pub const SERVER_KEY_EXCHANGE: u8 = 12;
/// Handshake message type: server_hello_done.
pub const SERVER_HELLO_DONE: u8 = 14;

/// Largest record body a peer may send (2^14 plus the expansion TLS 1.2
/// allows a protected record); longer lengths mean the bytes are not TLS.
pub const MAX_RECORD: usize = (1 << 14) + 2048;

/// The ServerHello random that marks a HelloRetryRequest (RFC 8446 §4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// A GREASE value (RFC 8701): `0x?a?a` with both bytes equal.
#[inline]
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// Whether `b` can start a TLS record: a known content type (20–24) and
/// major version 3. A stream that does not start so is not TLS.
pub fn looks_like_record(b: &[u8]) -> bool {
    match b {
        [t, 3, minor, ..] => (20..=24).contains(t) && *minor <= 4,
        [t, 3] | [t] => (20..=24).contains(t),
        [] => true,
        _ => false,
    }
}

/// A TLS version as text: `SSL 3.0`, `TLS 1.0` … `TLS 1.3`, otherwise
/// `0x` and four hex digits.
pub fn version_name(v: u16) -> String {
    match v {
        0x0200 => "SSL 2.0".into(),
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        _ => format!("0x{v:04x}"),
    }
}

/// The IANA name of a cipher suite, when known.
pub fn cipher_suite_name(id: u16) -> Option<&'static str> {
    tls_parser::TlsCipherSuite::from_id(id).map(|c| c.name)
}

/// The name of a named group (RFC 8446 §4.2.7, RFC 7919, the hybrid
/// post-quantum groups), when known.
pub fn group_name(id: u16) -> Option<&'static str> {
    Some(match id {
        0x0017 => "secp256r1",
        0x0018 => "secp384r1",
        0x0019 => "secp521r1",
        0x001d => "x25519",
        0x001e => "x448",
        0x0100 => "ffdhe2048",
        0x0101 => "ffdhe3072",
        0x0102 => "ffdhe4096",
        0x0103 => "ffdhe6144",
        0x0104 => "ffdhe8192",
        0x11ec => "X25519MLKEM768",
        0x11eb => "SecP256r1MLKEM768",
        0x11ed => "SecP384r1MLKEM1024",
        0x6399 => "X25519Kyber768Draft00",
        _ => return None,
    })
}

/// The handshake bytes at the start of one direction of a connection: the
/// bodies of its handshake records, concatenated, up to the first record
/// of another type (after a ChangeCipherSpec, handshake records are
/// encrypted) or the end of the bytes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct HandshakeBytes {
    /// The concatenated handshake record bodies.
    pub bytes: Vec<u8>,
    /// Whether the records ended (a record of another type followed), so
    /// no more handshake bytes will come in the clear.
    pub ended: bool,
    /// Whether the bytes are not TLS records (bad header or length).
    pub not_tls: bool,
}

/// Read the handshake records at the start of `stream` (one direction's
/// first bytes, in order). A record cut by the end of `stream` contributes
/// the bytes it has.
pub fn handshake_bytes(stream: &[u8]) -> HandshakeBytes {
    let mut out = HandshakeBytes::default();
    let mut at = 0;
    while at < stream.len() {
        let rest = &stream[at..];
        if !looks_like_record(rest) {
            out.not_tls = true;
            return out;
        }
        if rest.len() < 5 {
            break;
        }
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        if len > MAX_RECORD {
            out.not_tls = true;
            return out;
        }
        if rest[0] != HANDSHAKE {
            if at == 0 && rest[0] != CHANGE_CIPHER_SPEC {
                out.not_tls = true;
            }
            out.ended = true;
            return out;
        }
        let body = &rest[5..rest.len().min(5 + len)];
        out.bytes.extend_from_slice(body);
        if body.len() < len {
            break;
        }
        at += 5 + len;
    }
    out
}

/// One handshake message: its type and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// Handshake type (1 ClientHello, 2 ServerHello, …).
    pub kind: u8,
    /// The body (without the 4-byte header).
    pub body: &'a [u8],
}

/// The complete handshake messages at the start of `hs` (concatenated
/// handshake bytes), in order, and the type of the first incomplete one.
pub fn messages(hs: &[u8]) -> (Vec<Message<'_>>, Option<u8>) {
    let mut out = Vec::new();
    let mut at = 0;
    while at < hs.len() {
        let rest = &hs[at..];
        if rest.len() < 4 {
            return (out, Some(rest[0]));
        }
        let len = (usize::from(rest[1]) << 16) | (usize::from(rest[2]) << 8) | usize::from(rest[3]);
        if rest.len() < 4 + len {
            return (out, Some(rest[0]));
        }
        out.push(Message {
            kind: rest[0],
            body: &rest[4..4 + len],
        });
        at += 4 + len;
    }
    (out, None)
}

/// The extensions of a hello message: their types in order, and the
/// parsed extensions (an extension whose content does not parse keeps its
/// type and is left out of the second list).
fn extensions(block: Option<&[u8]>) -> (Vec<u16>, Vec<TlsExtension<'_>>, usize) {
    let Some(mut b) = block else {
        return (Vec::new(), Vec::new(), 0);
    };
    let total = b.len();
    let mut types = Vec::new();
    let mut parsed = Vec::new();
    while b.len() >= 4 {
        let ty = u16::from_be_bytes([b[0], b[1]]);
        let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
        if b.len() < 4 + len {
            break;
        }
        types.push(ty);
        if let Ok((_, e)) = parse_tls_extension(&b[..4 + len]) {
            parsed.push(e);
        }
        b = &b[4 + len..];
    }
    (types, parsed, total)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The first key share of a `key_share` extension body that is not GREASE:
/// its group and key length in bytes. `client` tells the ClientHello's
/// form (a list) from the ServerHello's (one entry).
fn key_share(mut b: &[u8], client: bool) -> Option<(u16, usize)> {
    if client {
        if b.len() < 2 {
            return None;
        }
        let n = usize::from(u16::from_be_bytes([b[0], b[1]]));
        b = b.get(2..2 + n)?;
    }
    while b.len() >= 4 {
        let group = u16::from_be_bytes([b[0], b[1]]);
        let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
        if b.len() < 4 + len {
            return None;
        }
        if !is_grease(group) {
            return Some((group, len));
        }
        b = &b[4 + len..];
    }
    None
}

/// What a ClientHello offers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientHello {
    /// `legacy_version` (0x0303 for TLS 1.2 and 1.3).
    pub version: u16,
    /// Length of the session ID, bytes.
    pub session_id_len: usize,
    /// Cipher suites in offered order, GREASE included.
    pub cipher_suites: Vec<u16>,
    /// Extension types in order, GREASE included.
    pub extensions: Vec<u16>,
    /// Length of the extensions block, bytes (without its 2-byte length).
    pub extensions_len: usize,
    /// The first host name of the `server_name` extension.
    pub sni: Option<String>,
    /// The ALPN protocol names offered, in order.
    pub alpn: Option<Vec<String>>,
    /// The `supported_versions` extension, in order, GREASE included.
    pub supported_versions: Option<Vec<u16>>,
    /// The `supported_groups` extension, in order, GREASE included.
    pub supported_groups: Option<Vec<u16>>,
    /// The `ec_point_formats` extension.
    pub ec_point_formats: Option<Vec<u8>>,
    /// The `signature_algorithms` extension, in order.
    pub signature_algorithms: Option<Vec<u16>>,
    /// The first non-GREASE key share: group and key length in bytes.
    pub key_share: Option<(u16, usize)>,
}

impl ClientHello {
    /// Parse a ClientHello from one handshake message (its 4-byte header
    /// included), as TLS records and QUIC CRYPTO frames carry it. `None`
    /// if it is not a complete, well-formed ClientHello.
    pub fn parse(msg: &[u8]) -> Option<ClientHello> {
        let (msgs, _) = messages(msg);
        match msgs.first() {
            Some(m) if m.kind == CLIENT_HELLO => ClientHello::parse_body(m.body),
            _ => None,
        }
    }

    /// Parse a ClientHello from its body (without the handshake header).
    pub fn parse_body(body: &[u8]) -> Option<ClientHello> {
        let (_, ch) = parse_tls_handshake_client_hello(body).ok()?;
        let (extensions, parsed, extensions_len) = extensions(ch.ext);
        let mut out = ClientHello {
            version: ch.version.0,
            session_id_len: ch.session_id.map_or(0, <[u8]>::len),
            cipher_suites: ch.ciphers.iter().map(|c| c.0).collect(),
            extensions,
            extensions_len,
            ..ClientHello::default()
        };
        for e in &parsed {
            match e {
                TlsExtension::SNI(names) if out.sni.is_none() => {
                    out.sni = names.iter().find(|(t, _)| t.0 == 0).map(|(_, n)| text(n));
                }
                TlsExtension::ALPN(p) if out.alpn.is_none() => {
                    out.alpn = Some(p.iter().map(|x| text(x)).collect());
                }
                TlsExtension::SupportedVersions(v) if out.supported_versions.is_none() => {
                    out.supported_versions = Some(v.iter().map(|x| x.0).collect());
                }
                TlsExtension::EllipticCurves(g) if out.supported_groups.is_none() => {
                    out.supported_groups = Some(g.iter().map(|x| x.0).collect());
                }
                TlsExtension::EcPointFormats(f) if out.ec_point_formats.is_none() => {
                    out.ec_point_formats = Some(f.to_vec());
                }
                TlsExtension::SignatureAlgorithms(s) if out.signature_algorithms.is_none() => {
                    out.signature_algorithms = Some(s.clone());
                }
                TlsExtension::KeyShare(b) if out.key_share.is_none() => {
                    out.key_share = key_share(b, true);
                }
                _ => {}
            }
        }
        Some(out)
    }

    /// Whether the extension of this type was offered.
    pub fn has_extension(&self, ty: u16) -> bool {
        self.extensions.contains(&ty)
    }

    /// The JA3 string.
    pub fn ja3_string(&self) -> String {
        let mut s = format!("{},", self.version);
        join_dec(&mut s, self.cipher_suites.iter().copied());
        s.push(',');
        join_dec(&mut s, self.extensions.iter().copied());
        s.push(',');
        join_dec(&mut s, self.supported_groups.iter().flatten().copied());
        s.push(',');
        join_dec(
            &mut s,
            self.ec_point_formats
                .iter()
                .flatten()
                .map(|&x| u16::from(x)),
        );
        s
    }

    /// The JA4 fingerprint (`quic`: the `q` transport prefix, else `t`).
    pub fn ja4(&self, quic: bool) -> String {
        self.ja4_parts(quic, true)
    }

    /// The raw JA4 (`JA4_r`): the sorted lists instead of their hashes.
    pub fn ja4_r(&self, quic: bool) -> String {
        self.ja4_parts(quic, false)
    }

    fn ja4_parts(&self, quic: bool, hashed: bool) -> String {
        let version = self
            .supported_versions
            .iter()
            .flatten()
            .copied()
            .filter(|&v| !is_grease(v))
            .max()
            .unwrap_or(self.version);
        let mut ciphers: Vec<u16> = self
            .cipher_suites
            .iter()
            .copied()
            .filter(|&c| !is_grease(c))
            .collect();
        let exts: Vec<u16> = self
            .extensions
            .iter()
            .copied()
            .filter(|&e| !is_grease(e))
            .collect();
        let mut a = String::with_capacity(10);
        a.push(if quic { 'q' } else { 't' });
        a.push_str(ja4_version(version));
        a.push(if self.has_extension(0) { 'd' } else { 'i' });
        let _ = write!(a, "{:02}{:02}", ciphers.len().min(99), exts.len().min(99));
        a.push_str(&alpn_chars(
            self.alpn
                .as_ref()
                .and_then(|l| l.first())
                .map(String::as_bytes),
        ));
        ciphers.sort_unstable();
        let mut sorted_exts: Vec<u16> = exts
            .iter()
            .copied()
            .filter(|&e| e != 0x0000 && e != 0x0010)
            .collect();
        sorted_exts.sort_unstable();
        let b = hex_list(&ciphers);
        let mut c = hex_list(&sorted_exts);
        if let Some(sig) = self.signature_algorithms.as_ref().filter(|s| !s.is_empty()) {
            c.push('_');
            c.push_str(&hex_list(sig));
        }
        if hashed {
            let b = if ciphers.is_empty() {
                zero12()
            } else {
                sha12(&b)
            };
            let c = if sorted_exts.is_empty() {
                zero12()
            } else {
                sha12(&c)
            };
            format!("{a}_{b}_{c}")
        } else {
            format!("{a}_{b}_{c}")
        }
    }
}

/// What a ServerHello chose.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerHello {
    /// `legacy_version`.
    pub version: u16,
    /// Length of the session ID, bytes.
    pub session_id_len: usize,
    /// The chosen cipher suite.
    pub cipher_suite: u16,
    /// Extension types in order.
    pub extensions: Vec<u16>,
    /// The version selected with `supported_versions` (TLS 1.3).
    pub selected_version: Option<u16>,
    /// The ALPN protocol chosen.
    pub alpn: Option<String>,
    /// The server's key share: group and key length in bytes.
    pub key_share: Option<(u16, usize)>,
    /// Whether this is a HelloRetryRequest (RFC 8446 §4.1.3).
    pub hello_retry: bool,
}

impl ServerHello {
    /// Parse a ServerHello from its body (without the handshake header).
    pub fn parse_body(body: &[u8]) -> Option<ServerHello> {
        let (_, sh) = parse_tls_handshake_server_hello(body).ok()?;
        let (extensions, parsed, _) = extensions(sh.ext);
        let mut out = ServerHello {
            version: sh.version.0,
            session_id_len: sh.session_id.map_or(0, <[u8]>::len),
            cipher_suite: sh.cipher.0,
            extensions,
            hello_retry: sh.random == HRR_RANDOM,
            ..ServerHello::default()
        };
        for e in &parsed {
            match e {
                TlsExtension::SupportedVersions(v) if out.selected_version.is_none() => {
                    out.selected_version = v.first().map(|x| x.0);
                }
                TlsExtension::ALPN(p) if out.alpn.is_none() => {
                    out.alpn = p.first().map(|x| text(x));
                }
                TlsExtension::KeyShare(b) if out.key_share.is_none() => {
                    out.key_share = key_share(b, false);
                }
                _ => {}
            }
        }
        // tls-parser reads a 2-byte selected_version as a one-entry list
        // only in some versions; read it directly when it did not.
        if out.selected_version.is_none() && out.extensions.contains(&0x002b) {
            out.selected_version = raw_extension(sh.ext, 0x002b)
                .filter(|b| b.len() == 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]));
        }
        if out.key_share.is_none() && out.extensions.contains(&0x0033) {
            out.key_share = raw_extension(sh.ext, 0x0033).and_then(|b| key_share(b, false));
        }
        Some(out)
    }

    /// The negotiated version: the selected `supported_versions` entry,
    /// else `legacy_version`.
    pub fn negotiated_version(&self) -> u16 {
        self.selected_version.unwrap_or(self.version)
    }

    /// The JA3S string.
    pub fn ja3s_string(&self) -> String {
        let mut s = format!("{},{},", self.version, self.cipher_suite);
        join_dec(&mut s, self.extensions.iter().copied());
        s
    }

    /// The JA4S fingerprint.
    pub fn ja4s(&self, quic: bool) -> String {
        self.ja4s_parts(quic, true)
    }

    /// The raw JA4S (`JA4S_r`).
    pub fn ja4s_r(&self, quic: bool) -> String {
        self.ja4s_parts(quic, false)
    }

    fn ja4s_parts(&self, quic: bool, hashed: bool) -> String {
        let exts = hex_list(&self.extensions);
        let c = if !hashed {
            exts
        } else if self.extensions.is_empty() {
            zero12()
        } else {
            sha12(&exts)
        };
        format!(
            "{}{}{:02}{}_{:04x}_{c}",
            if quic { 'q' } else { 't' },
            ja4_version(self.negotiated_version()),
            self.extensions.len().min(99),
            alpn_chars(self.alpn.as_deref().map(str::as_bytes)),
            self.cipher_suite,
        )
    }
}

/// The body of the first extension of type `ty` in an extensions block.
fn raw_extension(block: Option<&[u8]>, ty: u16) -> Option<&[u8]> {
    let mut b = block?;
    while b.len() >= 4 {
        let t = u16::from_be_bytes([b[0], b[1]]);
        let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
        let body = b.get(4..4 + len)?;
        if t == ty {
            return Some(body);
        }
        b = &b[4 + len..];
    }
    None
}

/// What the first certificate of a Certificate message says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Certificates {
    /// Certificates in the chain.
    pub count: usize,
    /// Their DER lengths, summed, bytes.
    pub total_len: usize,
    /// The first (the server's own) certificate's DER length, bytes.
    pub first_len: usize,
    /// The first certificate's issuer common name.
    pub issuer_cn: Option<String>,
    /// The first certificate's subject common name.
    pub subject_cn: Option<String>,
    /// The first certificate's validity period (notAfter − notBefore) in
    /// whole days.
    pub validity_days: Option<i64>,
    /// Whether the first certificate's issuer and subject names are equal.
    pub self_signed: Option<bool>,
}

impl Certificates {
    /// Parse a TLS ≤ 1.2 Certificate message body (a 3-byte list length,
    /// then 3-byte-length-prefixed DER certificates). `None` if the list
    /// is malformed.
    pub fn parse_body(body: &[u8]) -> Option<Certificates> {
        if body.len() < 3 {
            return None;
        }
        let n = (usize::from(body[0]) << 16) | (usize::from(body[1]) << 8) | usize::from(body[2]);
        let mut list = body.get(3..3 + n)?;
        let mut out = Certificates::default();
        let mut first: Option<&[u8]> = None;
        while !list.is_empty() {
            if list.len() < 3 {
                return None;
            }
            let len =
                (usize::from(list[0]) << 16) | (usize::from(list[1]) << 8) | usize::from(list[2]);
            let der = list.get(3..3 + len)?;
            out.count += 1;
            out.total_len += len;
            if first.is_none() {
                first = Some(der);
                out.first_len = len;
            }
            list = &list[3 + len..];
        }
        if let Some(der) = first {
            if let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) {
                let cn = |name: &x509_parser::x509::X509Name<'_>| {
                    name.iter_common_name()
                        .next()
                        .and_then(|a| a.as_str().ok())
                        .map(str::to_string)
                };
                out.issuer_cn = cn(cert.issuer());
                out.subject_cn = cn(cert.subject());
                let v = cert.validity();
                out.validity_days =
                    Some((v.not_after.timestamp() - v.not_before.timestamp()).div_euclid(86_400));
                out.self_signed = Some(cert.issuer().as_raw() == cert.subject().as_raw());
            }
        }
        Some(out)
    }
}

/// The named group and public key length (bytes) of a TLS 1.2
/// ServerKeyExchange body: ECDHE with a named curve (`3`, group, length,
/// key), else finite-field DHE (`p` length first: the group is `None`, the
/// length is that of `p`).
pub fn server_key_exchange(body: &[u8]) -> Option<(Option<u16>, usize)> {
    match body {
        [3, g0, g1, len, ..] => Some((Some(u16::from_be_bytes([*g0, *g1])), usize::from(*len))),
        [p0, p1, ..] => Some((None, usize::from(u16::from_be_bytes([*p0, *p1])))),
        _ => None,
    }
}

fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0200 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

fn alpn_chars(first: Option<&[u8]>) -> String {
    let Some(v) = first.filter(|v| !v.is_empty()) else {
        return "00".into();
    };
    let (a, z) = (v[0], v[v.len() - 1]);
    if a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric() {
        format!("{}{}", a as char, z as char)
    } else {
        let h = hex::encode(v);
        let h = h.as_bytes();
        format!("{}{}", h[0] as char, h[h.len() - 1] as char)
    }
}

fn join_dec(s: &mut String, values: impl Iterator<Item = u16>) {
    let mut first = true;
    for v in values.filter(|&v| !is_grease(v)) {
        if !first {
            s.push('-');
        }
        first = false;
        let _ = write!(s, "{v}");
    }
}

fn hex_list(values: &[u16]) -> String {
    let mut s = String::with_capacity(values.len() * 5);
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{v:04x}");
    }
    s
}

fn sha12(s: &str) -> String {
    let d = Sha256::digest(s.as_bytes());
    hex::encode(&d[..6])
}

fn zero12() -> String {
    "000000000000".into()
}

/// Lowercase hex MD5 of `s` (JA3, JA3S).
pub fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

#[cfg(test)]
pub(crate) mod tests;
