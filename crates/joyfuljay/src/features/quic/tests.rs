use super::*;
use crate::proto::quic::VERSION_1;

fn data(name: &str) -> Vec<u8> {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/quic/");
    std::fs::read(format!("{p}{name}")).unwrap()
}

fn flow_of(first: &[u8]) -> QuicFlow {
    let (v, d, s) = starts_quic(first).unwrap();
    QuicFlow::new(v, d, s)
}

#[test]
fn rfc_initials_give_sni_and_alpn() {
    for file in ["rfc9001-client-initial.bin", "rfc9369-client-initial.bin"] {
        let dg = data(file);
        let mut q = flow_of(&dg);
        assert_eq!(q.dcid_len, 8);
        assert_eq!(q.scid_len, 0);
        q.datagram(&dg, Direction::Fwd);
        assert_eq!((q.initial, q.long, q.short), (1, 1, 0));
        assert_eq!(q.pn_len, 4);
        let Hello::Done(Some(h)) = &q.hello else {
            panic!("{file}: {:?}", q.hello)
        };
        // RFC 9001 A.2's ClientHello: SNI example.com, ALPN "alpn".
        assert_eq!(h.sni.as_deref(), Some("example.com"));
        assert_eq!(h.alpn, Some(vec!["alpn".to_string()]));
        // QUIC, TLS 1.3, SNI, 2 cipher suites (1301, 1302), 11 extensions
        // (0, ff01, a, 10, 5, 33, 2b, d, 2d, 1c, 39), ALPN "alpn" -> "an".
        assert!(h.ja4.starts_with("q13d0211an_"), "{}", h.ja4);
    }
}

#[test]
fn server_initials_are_not_decrypted() {
    let dg = data("rfc9001-client-initial.bin");
    let mut q = flow_of(&dg);
    q.datagram(&dg, Direction::Bwd);
    assert_eq!(q.initial, 1);
    assert_eq!(q.pn_len, 0);
    assert!(matches!(q.hello, Hello::Pending { tried: 0, .. }));
}

#[test]
fn non_quic_payloads_do_not_start_quic() {
    // DNS queries whose first byte has both top bits set; short-header
    // look-alike; unknown version; too-long connection ID; empty.
    let dns =
        b"\xc3\x00\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x04test\x00\x00\x01\x00\x01";
    let dns2 =
        b"\xff\x00\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x04test\x00\x00\x01\x00\x01";
    let mut long_cid = vec![0xc0, 0, 0, 0, 1, 21];
    long_cid.extend([0u8; 40]);
    for p in [
        &dns[..],
        &dns2[..],
        b"\x40not quic",
        b"\xc0\x0a\x0b\x0c\x0d\x04abcd\x04efgh",
        &long_cid,
        b"",
        b"\x80\x00\x00\x00\x01\x00\x00",
    ] {
        assert!(starts_quic(p).is_none(), "{p:?}");
    }
}

#[test]
fn counts_spin_and_retry() {
    // A v1 Handshake packet, then short headers with both spin values, a
    // Retry, a Version Negotiation.
    let mut hs = vec![0xe0];
    hs.extend(VERSION_1.to_be_bytes());
    hs.extend([1, 0xaa, 1, 0xbb, 0x40, 20]);
    hs.extend([0u8; 20]);
    let mut q = flow_of(&hs);
    assert_eq!((q.version, q.dcid_len, q.scid_len), (1, 1, 1));
    assert_eq!(&q.cids[..1], &[0xaa]);
    assert_eq!(&q.cids[20..21], &[0xbb]);
    q.datagram(&hs, Direction::Fwd);
    q.datagram(&[0x41, 1, 2, 3], Direction::Bwd);
    assert_eq!(q.spin, 1);
    q.datagram(&[0x61, 1, 2, 3], Direction::Fwd);
    assert_eq!(q.spin, 3);
    let mut retry = vec![0xf0];
    retry.extend(VERSION_1.to_be_bytes());
    retry.extend([0, 0]);
    retry.extend([9u8; 20]);
    q.datagram(&retry, Direction::Bwd);
    q.datagram(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], Direction::Bwd);
    assert_eq!((q.handshake, q.retry, q.short, q.long), (1, 1, 2, 3));
    // Handshake packets are never decrypted.
    assert!(matches!(q.hello, Hello::Pending { tried: 0, .. }));
}

#[test]
fn hello_search_gives_up_after_the_budget_of_packets() {
    // Client Initials that do not authenticate (a flipped byte).
    let mut dg = data("rfc9001-client-initial.bin");
    dg[700] ^= 1;
    let mut q = flow_of(&dg);
    for i in 0..MAX_INITIALS_TRIED {
        assert!(matches!(q.hello, Hello::Pending { tried, .. } if tried == i));
        q.datagram(&dg, Direction::Fwd);
    }
    assert!(matches!(q.hello, Hello::GaveUp));
    assert_eq!(q.initial, u32::from(MAX_INITIALS_TRIED));
    assert_eq!(q.pn_len, 0);
}

#[test]
fn state_sizes_are_as_documented() {
    // docs/semantics.md#quic: 8 bytes per flow; a QUIC flow's box.
    assert_eq!(std::mem::size_of::<QuicState>(), 8);
    assert!(
        std::mem::size_of::<QuicFlow>() <= 160,
        "{}",
        std::mem::size_of::<QuicFlow>()
    );
    eprintln!("QuicFlow {} bytes", std::mem::size_of::<QuicFlow>());
}
