//! The handshake reader on hand-built streams, fed as segments arrive.

use super::*;
use crate::proto::tls::tests::{
    alpn_ext, client_hello, ext, message, records, server_hello, sni_ext,
};

/// Feed `stream` to direction `d` in pieces of `step` bytes, as the
/// engine's stream start grows.
fn feed(st: &mut TlsState, d: usize, stream: &[u8], step: usize) {
    let mut n = 0;
    while n < stream.len() && !st.sides[d].done {
        n = (n + step).min(stream.len());
        st.sides[d].seen = n as u32;
        Tls::read(st, d, &stream[..n]);
    }
}

fn hello() -> Vec<u8> {
    client_hello(
        0x0303,
        &[0x1301, 0xc02f, 0x009c],
        &[
            sni_ext("a.example"),
            alpn_ext(&["h2"]),
            ext(0x0023, &[]),
            ext(0x002b, &[4, 3, 4, 3, 3]),
        ],
    )
}

fn cert_msg(certs: &[&[u8]]) -> Vec<u8> {
    let mut list = Vec::new();
    for c in certs {
        list.extend_from_slice(&(c.len() as u32).to_be_bytes()[1..]);
        list.extend_from_slice(c);
    }
    let mut body = (list.len() as u32).to_be_bytes()[1..].to_vec();
    body.extend_from_slice(&list);
    message(p::CERTIFICATE, &body)
}

#[test]
fn tls12_full_handshake_in_small_segments() {
    let sh = server_hello(0x0303, 0xc02f, &[ext(0xff01, &[0])]);
    let ske = message(p::SERVER_KEY_EXCHANGE, &[3, 0, 0x17, 65, 4]);
    let server = [
        sh.clone(),
        cert_msg(&[&[0x30; 40], &[0x30; 30]]),
        ske,
        message(p::SERVER_HELLO_DONE, &[]),
    ]
    .concat();
    for step in [1, 3, 50, 5000] {
        let mut st = TlsState::default();
        feed(&mut st, 0, &records(p::HANDSHAKE, &hello(), 100), step);
        feed(&mut st, 1, &records(p::HANDSHAKE, &server, 64), step);
        assert!(st.sides[0].done && st.sides[1].done, "step {step}");
        let h = st.hello.as_ref().unwrap();
        assert_eq!(h.client.as_ref().unwrap().sni.as_deref(), Some("a.example"));
        assert_eq!(h.server.as_ref().unwrap().cipher_suite, 0xc02f);
        let c = h.certs.as_ref().unwrap();
        assert_eq!((c.count, c.total_len, c.first_len), (2, 70, 40));
        assert_eq!(h.ske, Some((Some(0x17), 65)));
        assert_eq!(h.first, [Some(1), Some(2)]);
        assert!(!h.abbreviated);
    }
}

#[test]
fn tls12_abbreviated_handshake_is_a_resumption() {
    let sh = server_hello(0x0303, 0xc02f, &[]);
    let mut server = records(p::HANDSHAKE, &sh, 1000);
    server.extend_from_slice(&[p::CHANGE_CIPHER_SPEC, 3, 3, 0, 1, 1]);
    server.extend_from_slice(&records(p::HANDSHAKE, &[0x99; 40], 1000));
    let mut st = TlsState::default();
    feed(&mut st, 1, &server, 7);
    let h = st.hello.as_ref().unwrap();
    assert!(h.abbreviated && h.certs.is_none() && st.sides[1].done);
    // Without the ChangeCipherSpec yet, nothing is concluded.
    let mut st = TlsState::default();
    feed(&mut st, 1, &records(p::HANDSHAKE, &sh, 1000), 1000);
    assert!(!st.hello.as_ref().unwrap().abbreviated && !st.sides[1].done);
}

#[test]
fn tls13_stops_after_the_server_hello() {
    let sh = server_hello(0x0303, 0x1301, &[ext(0x002b, &[3, 4])]);
    let mut server = records(p::HANDSHAKE, &sh, 1000);
    server.extend_from_slice(&[p::CHANGE_CIPHER_SPEC, 3, 3, 0, 1, 1]);
    server.extend_from_slice(&[23, 3, 3, 0, 3, 1, 2, 3]);
    let mut st = TlsState::default();
    feed(&mut st, 1, &server, 10);
    let h = st.hello.as_ref().unwrap();
    assert_eq!(h.server.as_ref().unwrap().negotiated_version(), 0x0304);
    assert!(!h.abbreviated && st.sides[1].done);
}

#[test]
fn not_tls_and_cut_hellos() {
    let mut st = TlsState::default();
    feed(&mut st, 0, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 5);
    assert!(st.sides[0].done && st.hello.is_none());
    // A hello missing its last byte: type known, nothing parsed, not done.
    let s = records(p::HANDSHAKE, &hello(), 1000);
    let mut st = TlsState::default();
    feed(&mut st, 0, &s[..s.len() - 1], 13);
    let h = st.hello.as_ref().unwrap();
    assert!(h.client.is_none() && !st.sides[0].done);
    assert_eq!(h.first[0], Some(1));
}

#[test]
fn only_the_first_client_hello_counts() {
    let second = client_hello(0x0303, &[0x1302], &[sni_ext("b.example")]);
    let s = records(p::HANDSHAKE, &[hello(), second].concat(), 1000);
    let mut st = TlsState::default();
    feed(&mut st, 0, &s, s.len());
    let ch = st.hello.as_ref().unwrap().client.as_ref().unwrap();
    assert_eq!(ch.sni.as_deref(), Some("a.example"));
}
