//! Hand-built handshakes whose fields are known, and the JA4/JA4S examples
//! FoxIO publishes with the definition.

use super::*;

/// Build an extension.
pub(crate) fn ext(ty: u16, body: &[u8]) -> Vec<u8> {
    let mut v = ty.to_be_bytes().to_vec();
    v.extend_from_slice(&(body.len() as u16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn u16s(prefix_len: usize, values: &[u16]) -> Vec<u8> {
    let mut v = Vec::new();
    let n = values.len() * 2;
    if prefix_len == 2 {
        v.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        v.push(n as u8);
    }
    for x in values {
        v.extend_from_slice(&x.to_be_bytes());
    }
    v
}

pub(crate) fn sni_ext(name: &str) -> Vec<u8> {
    let mut b = ((name.len() + 3) as u16).to_be_bytes().to_vec();
    b.push(0);
    b.extend_from_slice(&(name.len() as u16).to_be_bytes());
    b.extend_from_slice(name.as_bytes());
    ext(0, &b)
}

pub(crate) fn alpn_ext(protos: &[&str]) -> Vec<u8> {
    let mut l = Vec::new();
    for p in protos {
        l.push(p.len() as u8);
        l.extend_from_slice(p.as_bytes());
    }
    let mut b = (l.len() as u16).to_be_bytes().to_vec();
    b.extend_from_slice(&l);
    ext(16, &b)
}

/// A ClientHello handshake message (header included).
pub(crate) fn client_hello(version: u16, ciphers: &[u16], exts: &[Vec<u8>]) -> Vec<u8> {
    let mut body = version.to_be_bytes().to_vec();
    body.extend_from_slice(&[7; 32]);
    body.push(32);
    body.extend_from_slice(&[9; 32]);
    body.extend_from_slice(&u16s(2, ciphers));
    body.extend_from_slice(&[1, 0]);
    let e: Vec<u8> = exts.concat();
    body.extend_from_slice(&(e.len() as u16).to_be_bytes());
    body.extend_from_slice(&e);
    message(CLIENT_HELLO, &body)
}

pub(crate) fn server_hello(version: u16, cipher: u16, exts: &[Vec<u8>]) -> Vec<u8> {
    let mut body = version.to_be_bytes().to_vec();
    body.extend_from_slice(&[5; 32]);
    body.push(0);
    body.extend_from_slice(&cipher.to_be_bytes());
    body.push(0);
    let e: Vec<u8> = exts.concat();
    body.extend_from_slice(&(e.len() as u16).to_be_bytes());
    body.extend_from_slice(&e);
    message(SERVER_HELLO, &body)
}

pub(crate) fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![kind];
    v.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    v.extend_from_slice(body);
    v
}

/// Wrap handshake bytes in records of at most `chunk` bytes.
pub(crate) fn records(ty: u8, hs: &[u8], chunk: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for c in hs.chunks(chunk.max(1)) {
        v.extend_from_slice(&[ty, 3, 1]);
        v.extend_from_slice(&(c.len() as u16).to_be_bytes());
        v.extend_from_slice(c);
    }
    v
}

/// The JA4 example of FoxIO's definition: a Chrome ClientHello with 15
/// cipher suites and 16 extensions (SNI and ALPN h2 among them), GREASE
/// values mixed in, in the browser's order. Published: `JA4 =
/// t13d1516h2_8daaf6152771_e5627efa2ab1`, and the raw form below.
fn chrome_hello() -> Vec<u8> {
    let ciphers = [
        0x2a2a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
        0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
    ];
    let sigs = [
        0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
    ];
    let exts = vec![
        ext(0x3a3a, &[]),
        sni_ext("example.com"),
        ext(0x0017, &[]),
        ext(0xff01, &[0]),
        ext(0x000a, &u16s(2, &[0x4a4a, 0x001d, 0x0017, 0x0018])),
        ext(0x000b, &[1, 0]),
        ext(0x0023, &[]),
        alpn_ext(&["h2", "http/1.1"]),
        ext(0x0005, &[1, 0, 0, 0, 0]),
        ext(0x000d, &u16s(2, &sigs)),
        ext(0x0012, &[]),
        ext(0x0033, &[0, 9, 0x4a, 0x4a, 0, 1, 0, 0x00, 0x1d, 0, 0]),
        ext(0x002d, &[1, 1]),
        ext(0x002b, &u16s(1, &[0x6a6a, 0x0304, 0x0303])),
        ext(0x001b, &[2, 0, 2]),
        ext(0x4469, &[0, 3, 2, b'h', b'2']),
        ext(0x0015, &[0; 8]),
        ext(0x9a9a, &[0]),
    ];
    client_hello(0x0303, &ciphers, &exts)
}

#[test]
fn ja4_matches_the_published_example() {
    let ch = ClientHello::parse(&chrome_hello()).expect("parses");
    assert_eq!(ch.ja4(false), "t13d1516h2_8daaf6152771_e5627efa2ab1");
    assert_eq!(
        ch.ja4_r(false),
        "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_\
         0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_\
         0403,0804,0401,0503,0805,0501,0806,0601"
    );
    assert_eq!(&ch.ja4(true)[..1], "q");
    assert_eq!(ch.sni.as_deref(), Some("example.com"));
    assert_eq!(
        ch.alpn,
        Some(vec!["h2".to_string(), "http/1.1".to_string()])
    );
    assert_eq!(ch.supported_versions, Some(vec![0x6a6a, 0x0304, 0x0303]));
    assert_eq!(ch.key_share, Some((0x001d, 0)));
    assert_eq!(ch.cipher_suites.len(), 16);
    assert_eq!(ch.extensions.len(), 18);
}

#[test]
fn ja3_drops_grease_and_joins_decimal() {
    let ch = ClientHello::parse(&chrome_hello()).unwrap();
    // Written out from the hello built above, by hand.
    let want = "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,\
                0-23-65281-10-11-35-16-5-13-18-51-45-43-27-17513-21,29-23-24,0";
    assert_eq!(ch.ja3_string(), want);
    assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(md5_hex(want).len(), 32);
}

#[test]
fn ja4s_matches_the_published_example() {
    // FoxIO's JA4S example: TLS 1.2, cipher c030, extensions 0005, 0017,
    // ff01, 0000 in that order, no ALPN: t120400_c030_4e8089b08790.
    let sh = server_hello(
        0x0303,
        0xc030,
        &[
            ext(0x0005, &[]),
            ext(0x0017, &[]),
            ext(0xff01, &[0]),
            ext(0x0000, &[]),
        ],
    );
    let (msgs, rest) = messages(&sh);
    assert_eq!(rest, None);
    let sh = ServerHello::parse_body(msgs[0].body).unwrap();
    assert_eq!(sh.ja4s(false), "t120400_c030_4e8089b08790");
    assert_eq!(sh.ja4s_r(false), "t120400_c030_0005,0017,ff01,0000");
    assert_eq!(sh.ja3s_string(), "771,49200,5-23-65281-0");
}

#[test]
fn server_hello_of_tls13_selects_its_version() {
    let sh = server_hello(
        0x0303,
        0x1301,
        &[
            ext(0x002b, &[3, 4]),
            ext(
                0x0033,
                &[0, 0x1d, 0, 32]
                    .iter()
                    .copied()
                    .chain([1; 32])
                    .collect::<Vec<_>>(),
            ),
            alpn_ext(&["h2"]),
        ],
    );
    let (msgs, _) = messages(&sh);
    let sh = ServerHello::parse_body(msgs[0].body).unwrap();
    assert_eq!(sh.negotiated_version(), 0x0304);
    assert_eq!(sh.key_share, Some((0x001d, 32)));
    assert_eq!(sh.alpn.as_deref(), Some("h2"));
    assert!(sh.ja4s(false).starts_with("t1303h2_1301_"));
    assert!(!sh.hello_retry);
}

#[test]
fn alpn_characters_fall_back_to_hex() {
    assert_eq!(alpn_chars(None), "00");
    assert_eq!(alpn_chars(Some(b"h3")), "h3");
    assert_eq!(alpn_chars(Some(b"x")), "xx");
    assert_eq!(alpn_chars(Some(&[0xab, b'z', 0xcd])), "ad");
    assert_eq!(alpn_chars(Some(b"http/1.1")), "h1");
}

#[test]
fn grease_values_are_exactly_the_sixteen() {
    let all: Vec<u16> = (0..=u16::MAX).filter(|&v| is_grease(v)).collect();
    assert_eq!(all.len(), 16);
    assert_eq!(all[0], 0x0a0a);
    assert_eq!(all[15], 0xfafa);
    assert!(!is_grease(0x0a1a));
}

#[test]
fn a_hello_split_over_records_and_cut_anywhere() {
    let hs = chrome_hello();
    let whole = ClientHello::parse(&hs).unwrap();
    for chunk in [1, 7, 100, 16_384] {
        let stream = records(HANDSHAKE, &hs, chunk);
        let got = handshake_bytes(&stream);
        assert!(!got.not_tls && !got.ended);
        assert_eq!(got.bytes, hs);
        let (m, pending) = messages(&got.bytes);
        assert_eq!(pending, None);
        assert_eq!(ClientHello::parse_body(m[0].body).as_ref(), Some(&whole));
        // Every prefix: the message is complete only at the very end.
        for cut in 0..stream.len() {
            let got = handshake_bytes(&stream[..cut]);
            let (m, _) = messages(&got.bytes);
            assert!(m.is_empty(), "chunk {chunk} cut {cut}");
        }
    }
}

#[test]
fn records_of_other_types_end_the_handshake() {
    let mut s = records(HANDSHAKE, &chrome_hello(), 300);
    s.extend_from_slice(&[CHANGE_CIPHER_SPEC, 3, 3, 0, 1, 1]);
    s.extend_from_slice(&records(HANDSHAKE, &[20, 0, 0, 1, 9], 100));
    let got = handshake_bytes(&s);
    assert!(got.ended && !got.not_tls);
    assert_eq!(got.bytes, chrome_hello());
    // Not TLS: HTTP, SSH, a record longer than any TLS record.
    assert!(handshake_bytes(b"GET / HTTP/1.1\r\n").not_tls);
    assert!(handshake_bytes(b"SSH-2.0-x").not_tls);
    assert!(handshake_bytes(&[22, 3, 1, 0xff, 0xff, 1]).not_tls);
    assert!(handshake_bytes(&[23, 3, 3, 0, 2, 1, 1]).not_tls);
}

#[test]
fn certificate_list_counts_and_bounds() {
    // Two opaque "certificates" that are not DER: counted, not parsed.
    let mut list = Vec::new();
    for len in [5usize, 3] {
        list.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
        list.extend(std::iter::repeat_n(0x30, len));
    }
    let mut body = (list.len() as u32).to_be_bytes()[1..].to_vec();
    body.extend_from_slice(&list);
    let c = Certificates::parse_body(&body).unwrap();
    assert_eq!((c.count, c.total_len, c.first_len), (2, 8, 5));
    assert_eq!(c.subject_cn, None);
    for cut in 0..body.len() {
        assert!(
            Certificates::parse_body(&body[..cut]).is_none(),
            "cut {cut}"
        );
    }
}

#[test]
fn no_input_panics() {
    let hs = chrome_hello();
    let mut rng = 0x1234_5678_9abc_def0u64;
    for i in 0..20_000 {
        let mut b = hs.clone();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let at = (rng as usize) % b.len();
        b[at] = (rng >> 32) as u8;
        b.truncate(b.len() - i % 7);
        if let Some(ch) = ClientHello::parse(&b) {
            let _ = (ch.ja3_string(), ch.ja4(false), ch.ja4_r(true));
        }
        let _ = ServerHello::parse_body(&b[4..]).map(|s| s.ja4s(false));
        let _ = Certificates::parse_body(&b[4..]);
        let _ = handshake_bytes(&b);
        let _ = server_key_exchange(&b[..at.min(b.len())]);
    }
}
