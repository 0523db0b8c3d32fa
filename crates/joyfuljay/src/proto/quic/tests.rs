use super::*;

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn data(name: &str) -> Vec<u8> {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/quic/");
    std::fs::read(format!("{p}{name}")).unwrap()
}

#[test]
fn varints_of_rfc9000_appendix_a1() {
    for (h, v, n) in [
        ("c2197c5eff14e88c", 151_288_809_941_952_652u64, 8),
        ("9d7f3e7d", 494_878_333, 4),
        ("7bbd", 15_293, 2),
        ("25", 37, 1),
        ("4025", 37, 2),
    ] {
        assert_eq!(varint(&unhex(h)), Some((v, n)), "{h}");
    }
    assert_eq!(varint(&unhex("c2197c")), None);
    assert_eq!(varint(&[]), None);
}

#[test]
fn version_names() {
    assert_eq!(version_name(1), "v1");
    assert_eq!(version_name(0x6b33_43cf), "v2");
    assert_eq!(version_name(0xff00_001d), "draft-29");
    assert_eq!(version_name(0xff00_0000), "0xff000000");
    assert_eq!(version_name(0x1a2a_3a4a), "0x1a2a3a4a");
    assert!(is_known_version(1) && is_known_version(VERSION_2) && is_known_version(0xff00_0022));
    assert!(
        !is_known_version(0) && !is_known_version(0xff00_0000) && !is_known_version(0xff00_0023)
    );
}

/// RFC 9001 Appendix A.1 (v1) and RFC 9369 Appendix A.1 (v2): the
/// client's Initial keys for DCID 8394c8f03e515708.
#[test]
fn initial_keys_of_the_rfcs() {
    let dcid = unhex("8394c8f03e515708");
    let k = InitialKeys::client(VERSION_1, &dcid).unwrap();
    assert_eq!(hex::encode(k.key), "1f369613dd76d5467730efcbe3b1a22d");
    assert_eq!(hex::encode(k.iv), "fa044b2f42a3fd3b46fb255c");
    assert_eq!(hex::encode(k.hp), "9f50449e04a0e810283a1e9933adedd2");
    let k = InitialKeys::client(VERSION_2, &dcid).unwrap();
    assert_eq!(hex::encode(k.key), "8b1a0bc121284290a29e0971b5cd045d");
    assert_eq!(hex::encode(k.iv), "91f73e2351d8fa91660e909f");
    assert_eq!(hex::encode(k.hp), "45b95e15235d6f45a6b19cbcb0294ba9");
    assert_eq!(InitialKeys::client(0xff00_001d, &dcid), None);
}

/// The protected client Initial packets of RFC 9001 A.2 and RFC 9369 A.2
/// (testdata/quic, scripts/make_quic_vectors.py): header fields, then the
/// plaintext: one CRYPTO frame with the 241-byte ClientHello, then PADDING.
#[test]
fn rfc_client_initials_decrypt() {
    let hello = data("rfc-client-hello.bin");
    assert_eq!(hello.len(), 241);
    assert_eq!(&hello[..4], &[1, 0, 0, 0xed]);
    for (file, version) in [
        ("rfc9001-client-initial.bin", VERSION_1),
        ("rfc9369-client-initial.bin", VERSION_2),
    ] {
        let dg = data(file);
        let ps: Vec<Packet<'_>> = packets(&dg).collect();
        assert_eq!(ps.len(), 1, "{file}");
        let p = &ps[0];
        assert_eq!(p.ty, PacketType::Initial, "{file}");
        assert_eq!(p.version, version);
        assert_eq!(p.dcid, unhex("8394c8f03e515708"));
        assert!(p.scid.is_empty() && p.token.is_empty() && p.complete);
        assert_eq!(p.bytes.len(), 1200);
        // Length 0x449e = 1182 after the 18-byte header.
        assert_eq!(p.pn_offset, 18);
        let keys = InitialKeys::client(version, p.dcid).unwrap();
        let mut buf = Vec::new();
        let d = decrypt_initial(p, &keys, &mut buf).unwrap();
        assert_eq!((d.pn_len, d.pn), (4, 2), "{file}");
        assert_eq!(d.len, 1200 - 22 - 16);
        let frames: Vec<(u64, &[u8])> = crypto_frames(&buf[..d.len]).collect();
        assert_eq!(frames, vec![(0u64, &hello[..])], "{file}");
        // The rest is PADDING.
        assert!(buf[4 + 241..d.len].iter().all(|&x| x == 0));
        // Any change breaks authentication (or the header).
        for i in [0usize, 5, 17, 30, 600, 1199] {
            let mut bad = dg.clone();
            bad[i] ^= 0x04;
            let ok = packets(&bad).next().and_then(|p| {
                InitialKeys::client(p.version, p.dcid)
                    .and_then(|k| decrypt_initial(&p, &k, &mut buf))
            });
            assert!(ok.is_none(), "{file}: byte {i} flipped still decrypts");
        }
        // The other version's keys do not open it.
        let other = if version == VERSION_1 {
            VERSION_2
        } else {
            VERSION_1
        };
        let k = InitialKeys::client(other, p.dcid).unwrap();
        assert!(decrypt_initial(p, &k, &mut buf).is_none());
    }
}

#[test]
fn truncated_and_garbage_inputs_never_panic() {
    let dg = data("rfc9001-client-initial.bin");
    let mut buf = Vec::new();
    for n in 0..dg.len() {
        let cut = &dg[..n];
        for p in packets(cut) {
            if n >= 18 {
                assert_eq!(p.ty, PacketType::Initial);
                assert!(!p.complete, "{n}");
            }
            if let Some(k) = InitialKeys::client(p.version, p.dcid) {
                assert!(decrypt_initial(&p, &k, &mut buf).is_none());
            }
        }
        let _ = crypto_frames(cut).count();
    }
    // Header cut inside the connection IDs: nothing.
    assert_eq!(packets(&dg[..10]).count(), 0);
    // Pseudo-random bytes.
    let mut x: u32 = 12345;
    for _ in 0..2000 {
        let n = (x % 90) as usize;
        let v: Vec<u8> = (0..n)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        for p in packets(&v) {
            if let Some(k) = InitialKeys::client(p.version, p.dcid) {
                let _ = decrypt_initial(&p, &k, &mut buf);
            }
        }
        let _ = crypto_frames(&v).count();
    }
}

/// A long header of `version` with type bits `bits`, the connection IDs,
/// (Initial: an empty token,) a Length and `body`.
fn long(
    first: u8,
    version: u32,
    dcid: &[u8],
    scid: &[u8],
    token: Option<&[u8]>,
    body: &[u8],
) -> Vec<u8> {
    let mut v = vec![first];
    v.extend_from_slice(&version.to_be_bytes());
    v.push(dcid.len() as u8);
    v.extend_from_slice(dcid);
    v.push(scid.len() as u8);
    v.extend_from_slice(scid);
    if let Some(t) = token {
        v.push(t.len() as u8);
        v.extend_from_slice(t);
    }
    // Two-byte varint Length.
    v.extend_from_slice(&(0x4000u16 | body.len() as u16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

#[test]
fn coalesced_packets_walk_by_length() {
    // v1: Initial (0xc0), Handshake (0xe0), then a short header.
    let mut dg = long(0xc3, VERSION_1, b"abcd", b"xy", Some(b"tk"), &[7; 30]);
    dg.extend(long(0xe1, VERSION_1, b"abcd", b"xy", None, &[8; 25]));
    dg.extend([0x41, 1, 2, 3, 4, 5]);
    let ps: Vec<Packet<'_>> = packets(&dg).collect();
    let tys: Vec<PacketType> = ps.iter().map(|p| p.ty).collect();
    assert_eq!(
        tys,
        [
            PacketType::Initial,
            PacketType::Handshake,
            PacketType::Short
        ]
    );
    assert_eq!(ps[0].token, b"tk");
    assert_eq!((ps[0].dcid, ps[0].scid), (&b"abcd"[..], &b"xy"[..]));
    assert_eq!(ps[0].bytes.len(), 1 + 4 + 1 + 4 + 1 + 2 + 1 + 2 + 2 + 30);
    assert_eq!(ps[1].bytes.len(), 1 + 4 + 1 + 4 + 1 + 2 + 2 + 25);
    assert_eq!(ps[2].bytes, &[0x41, 1, 2, 3, 4, 5]);
    // Zero padding after the packets ends the walk (no fixed bit).
    let mut padded = long(0xc3, VERSION_1, b"abcd", b"", Some(b""), &[7; 30]);
    padded.extend([0u8; 40]);
    assert_eq!(packets(&padded).count(), 1);
    // v2 rotates the type bits: 0x90 Initial, 0xa0 0-RTT, 0xb0 Handshake,
    // 0x80 Retry (RFC 9369 §3.2); in v1 0xd0 is 0-RTT.
    let mut dg = long(0xd0, VERSION_2, b"c", b"", Some(b""), &[1; 20]);
    dg.extend(long(0xe0, VERSION_2, b"c", b"", None, &[2; 20]));
    dg.extend(long(0xf0, VERSION_2, b"c", b"", None, &[3; 20]));
    let tys: Vec<PacketType> = packets(&dg).map(|p| p.ty).collect();
    assert_eq!(
        tys,
        [
            PacketType::Initial,
            PacketType::ZeroRtt,
            PacketType::Handshake
        ]
    );
    let z = long(0xd0, VERSION_1, b"c", b"", None, &[1; 20]);
    assert_eq!(packets(&z).next().unwrap().ty, PacketType::ZeroRtt);
    // A Length past the datagram: one incomplete packet.
    let mut cut = long(0xe0, VERSION_1, b"c", b"", None, &[1; 20]);
    cut.truncate(cut.len() - 5);
    let ps: Vec<Packet<'_>> = packets(&cut).collect();
    assert_eq!(ps.len(), 1);
    assert!(!ps[0].complete);
    // Connection IDs longer than 20 bytes are not v1.
    let big = long(0xe0, VERSION_1, &[9; 21], b"", None, &[1; 20]);
    assert_eq!(packets(&big).count(), 0);
}

#[test]
fn retry_version_negotiation_and_unknown_versions() {
    // Retry (v1 type 3; v2 type 0): token then 16-byte tag.
    for (first, version) in [(0xf0u8, VERSION_1), (0xc0, VERSION_2)] {
        let mut r = vec![first];
        r.extend_from_slice(&version.to_be_bytes());
        r.extend([2, 1, 2, 3, 7, 7, 7]);
        r.extend(b"token!");
        r.extend([0xee; 16]);
        let p = packets(&r).next().unwrap();
        assert_eq!(p.ty, PacketType::Retry);
        assert_eq!(
            (p.dcid, p.scid, p.token),
            (&[1u8, 2][..], &[7u8, 7, 7][..], &b"token!"[..])
        );
        assert!(packets(&r[..r.len() - 20]).next().is_none());
    }
    // Version Negotiation: version 0, then the supported versions.
    let mut vn = vec![0x80, 0, 0, 0, 0, 1, 9, 2, 8, 8];
    vn.extend(VERSION_1.to_be_bytes());
    let p = packets(&vn).next().unwrap();
    assert_eq!((p.ty, p.version), (PacketType::VersionNegotiation, 0));
    // Unknown version: the invariant header only.
    let u = [0xc0, 0x0a, 0x0b, 0x0c, 0x0d, 1, 5, 1, 6, 0, 0, 0];
    let p = packets(&u).next().unwrap();
    assert_eq!(
        (p.ty, p.dcid, p.scid),
        (PacketType::UnknownLong, &[5u8][..], &[6u8][..])
    );
}

#[test]
fn crypto_frames_skip_padding_ping_ack() {
    // PADDING, PING, ACK (largest 5, delay 0, 1 range, first 2, gap 0, len 1),
    // ACK_ECN (3 counts), CRYPTO(10, "ab"), CRYPTO(0, "xyz"), then
    // CONNECTION_CLOSE ends it.
    let f = [
        0, 0, 1, 2, 5, 0, 1, 2, 0, 1, 3, 5, 0, 0, 0, 1, 2, 3, 6, 10, 2, b'a', b'b', 6, 0, 3, b'x',
        b'y', b'z', 0x1c, 0, 0, 0, 6, 0, 1, b'q',
    ];
    let v: Vec<(u64, &[u8])> = crypto_frames(&f).collect();
    assert_eq!(v, vec![(10, &b"ab"[..]), (0, &b"xyz"[..])]);
    // A CRYPTO frame running past the end: nothing.
    assert_eq!(crypto_frames(&[6, 0, 9, 1, 2]).count(), 0);
}

#[test]
fn crypto_stream_reassembles_out_of_order_within_budget() {
    let msg: Vec<u8> = {
        let mut m = vec![1, 0, 0, 96];
        m.extend((0..96).map(|i| i as u8));
        m
    };
    let mut s = CryptoStream::new(4096);
    assert_eq!(s.first_message(), Ok(None));
    s.add(50, &msg[50..]);
    assert_eq!(s.first_message(), Ok(None));
    assert!(s.contiguous().is_empty());
    s.add(10, &msg[10..30]);
    s.add(20, &msg[20..60]); // overlapping
    assert_eq!(s.first_message(), Ok(None));
    s.add(0, &msg[..12]);
    assert_eq!(s.first_message(), Ok(Some(&msg[..])));
    assert_eq!(s.contiguous(), &msg[..]);
    // A message longer than the budget: an error, not a wait.
    let mut s = CryptoStream::new(64);
    s.add(0, &msg[..70]);
    assert_eq!(s.first_message(), Err(()));
    assert_eq!(s.contiguous().len(), 64);
    // Offsets past the budget are dropped.
    let mut s = CryptoStream::new(16);
    s.add(u64::MAX, b"x");
    s.add(16, b"x");
    assert!(s.contiguous().is_empty());
}
