use super::*;
use crate::features::Value;
use crate::synth::PcapWriter;
use etherparse::{IpNumber, PacketBuilder};
use md5::{Digest, Md5};

const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [10, 0, 0, 2];

/// A frame from `src`:`sp` to `dst`:`dp`: UDP (`proto` 17), TCP (6: a
/// PSH-ACK at `seq`, or a SYN when `payload` is empty and `seq` is 0) or
/// a bare IP payload of another protocol.
fn frame(
    src: [u8; 4],
    dst: [u8; 4],
    sp: u16,
    dp: u16,
    proto: u8,
    seq: u32,
    payload: &[u8],
) -> Vec<u8> {
    let ip = PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4(src, dst, 64);
    let mut v = Vec::new();
    match proto {
        17 => ip.udp(sp, dp).write(&mut v, payload).unwrap(),
        6 if seq == 0 => ip.tcp(sp, dp, 0, 64_000).syn().write(&mut v, &[]).unwrap(),
        6 => ip
            .tcp(sp, dp, seq, 64_000)
            .ack(1)
            .psh()
            .write(&mut v, payload)
            .unwrap(),
        p => ip.write(&mut v, IpNumber(p), payload).unwrap(),
    }
    v
}

/// The flow_meta + fingerprint rows of `frames` (µs timestamps), written
/// to a pcap and read back through the whole pipeline.
fn rows(frames: &[(i64, Vec<u8>)]) -> crate::output::VecSink {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.pcap");
    let mut w = PcapWriter::new(Vec::new(), 1, false, false, 65535).unwrap();
    for (ts, f) in frames {
        w.write(ts * 1000, f, f.len() as u32).unwrap();
    }
    std::fs::write(&path, w.into_inner()).unwrap();
    let cfg = Config {
        features: vec!["flow_meta".into(), "fingerprint".into()],
        ..Config::default()
    };
    let mut sink = crate::output::VecSink::default();
    crate::Pipeline::new(cfg)
        .unwrap()
        .run(&[path], &mut sink, &mut crate::pipeline::Quiet)
        .unwrap();
    sink
}

/// The one row's fingerprint values of `frames`, by column name.
fn one(frames: &[(i64, Vec<u8>)]) -> impl Fn(&str) -> Value {
    let sink = rows(frames);
    assert_eq!(sink.rows.len(), 1);
    move |c: &str| sink.get(0, c).unwrap().clone()
}

fn f(x: f64) -> Value {
    Value::Float(x)
}
fn s(x: &str) -> Value {
    Value::Str(x.into())
}

/// A WireGuard message of type `t`, `len` bytes (reserved bytes zero,
/// the rest zero too: no entropy term).
fn wg(t: u8, len: usize) -> Vec<u8> {
    let mut m = vec![t, 0, 0, 0];
    m.resize(len, 0);
    m
}

/// Bytes that look random (a multiplicative sequence), `n` of them.
fn noise(n: usize, seed: u8) -> Vec<u8> {
    let mut x = u32::from(seed) | 1;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) as u8
        })
        .collect()
}

#[test]
fn signatures() {
    assert_eq!(wireguard(&wg(1, 148), 148), Some(1));
    assert_eq!(wireguard(&wg(1, 148), 149), None);
    assert_eq!(wireguard(&wg(2, 92), 92), Some(2));
    assert_eq!(wireguard(&wg(3, 64), 64), Some(3));
    assert_eq!(wireguard(&wg(4, 48), 48), Some(4));
    assert_eq!(wireguard(&wg(4, 50), 50), None);
    assert_eq!(wireguard(&wg(5, 148), 148), None);
    let mut bad = wg(1, 148);
    bad[2] = 1;
    assert_eq!(wireguard(&bad, 148), None);
    // OpenVPN: opcode 7 key 0 (0x38) on UDP; on TCP after the length.
    let mut reset = vec![0x38];
    reset.extend(noise(13, 1));
    assert_eq!(openvpn_opcode(&reset, 14, false), Some(7));
    assert_eq!(openvpn_opcode(&reset[..5], 5, false), None);
    let mut tcp = 14u16.to_be_bytes().to_vec();
    tcp.extend(&reset);
    assert_eq!(openvpn_opcode(&tcp, 16, true), Some(7));
    assert_eq!(
        openvpn_opcode(&tcp, 40, true),
        None,
        "length short of the segment"
    );
    // Key ID 1: not a first reset.
    assert_eq!(
        openvpn_opcode(&[0x39, 0, 0, 0, 0, 0, 0, 0, 0, 0], 10, false),
        None
    );
    // IKEv2 IKE_SA_INIT: SPI, zero responder SPI, next payload 33,
    // version 0x20, exchange 34, flags 8, message ID 0, length.
    let mut ike2 = noise(8, 3);
    ike2.extend([0; 8]);
    ike2.extend([33, 0x20, 34, 0x08, 0, 0, 0, 0]);
    ike2.extend(300u32.to_be_bytes());
    ike2.resize(300, 0);
    assert!(ike(&ike2, 300));
    assert!(!ike(&ike2, 301));
    let mut natt = vec![0; 4];
    natt.extend(&ike2);
    assert!(ike_4500(&natt, 304));
    assert_eq!(initiator_signature(&ike2, 300, 17, 500, 500), Tunnel::Ike);
    assert_eq!(
        initiator_signature(&ike2, 300, 17, 5000, 5001),
        Tunnel::None
    );
    assert_eq!(initiator_signature(&natt, 304, 17, 4500, 4500), Tunnel::Ike);
    assert_eq!(
        initiator_signature(&noise(100, 9), 100, 17, 4500, 4500),
        Tunnel::Esp
    );
    // L2TPv2 control message: T and L bits, version 2.
    assert_eq!(
        initiator_signature(&[0xc8, 0x02, 0, 20], 20, 17, 1701, 1701),
        Tunnel::L2tp
    );
    assert_eq!(
        initiator_signature(&[0x80, 0x02, 0, 20], 20, 17, 1701, 1701),
        Tunnel::None
    );
}

#[test]
fn entropy_of_known_bytes() {
    assert_eq!(entropy(&[7; 64]), 0.0);
    let all: Vec<u8> = (0..64).collect();
    assert_eq!(entropy(&all), 6.0);
    let two: Vec<u8> = (0..64).map(|i| (i % 2) as u8).collect();
    assert_eq!(entropy(&two), 1.0);
}

#[test]
fn wireguard_tunnel() {
    let mut frames = vec![
        (0, frame(A, B, 40_000, 51820, 17, 0, &wg(1, 148))),
        (1_000, frame(B, A, 51820, 40_000, 17, 0, &wg(2, 92))),
    ];
    for i in 0..10 {
        let (src, dst, sp, dp) = if i % 3 == 2 {
            (B, A, 51820, 40_000)
        } else {
            (A, B, 40_000, 51820)
        };
        let mut m = vec![4, 0, 0, 0];
        m.extend(noise(1408 - 4, i as u8));
        frames.push((2_000 + i * 100, frame(src, dst, sp, dp, 17, 0, &m)));
    }
    let get = one(&frames);
    assert_eq!(get("vpn_type"), s("wireguard"));
    // Signature 0.8 + port 0.2 (+ sizes and entropy): capped at 1.
    assert_eq!(get("vpn_confidence"), f(1.0));
    assert_eq!(get("is_vpn"), Value::Bool(true));
    assert_eq!(get("likely_vpn"), Value::Bool(true));
    assert_eq!(get("traffic_type"), s("vpn:wireguard"));
    assert_eq!(get("is_tor"), Value::Bool(false));
    assert_eq!(get("doh_confidence"), f(0.0));
}

#[test]
fn wireguard_port_without_wireguard() {
    // A response that is not a WireGuard response refutes the signature:
    // only the port counts.
    let frames = [
        (0, frame(A, B, 40_000, 51820, 17, 0, &wg(1, 148))),
        (
            1_000,
            frame(B, A, 51820, 40_000, 17, 0, b"hello, this is not wireguard"),
        ),
    ];
    let get = one(&frames);
    assert_eq!(get("vpn_type"), s("wireguard"));
    assert_eq!(get("vpn_confidence"), f(0.2));
    assert_eq!(get("is_vpn"), Value::Bool(false));
    assert_eq!(get("traffic_type"), Value::Null);
    // The same signature on another port, unanswered: 0.8.
    let get = one(&[(0, frame(A, B, 40_000, 7777, 17, 0, &wg(1, 148)))]);
    assert_eq!(get("vpn_type"), s("wireguard"));
    assert_eq!(get("vpn_confidence"), f(0.8));
}

#[test]
fn ipsec_and_plain_traffic() {
    let esp: Vec<(i64, Vec<u8>)> = (0..4)
        .map(|i| (i * 10, frame(A, B, 0, 0, 50, 0, &noise(120, i as u8))))
        .collect();
    let get = one(&esp);
    assert_eq!(get("vpn_type"), s("ipsec-esp"));
    assert_eq!(get("vpn_confidence"), f(1.0), "signature 0.8 + entropy 0.2");
    assert_eq!(get("traffic_type"), s("vpn:ipsec-esp"));
    // Plain text over UDP on no special port: nothing at all.
    let text = b"GET / HTTP/1.1\r\nHost: example.org\r\nUser-Agent: test\r\nAccept: */*\r\n\r\n";
    let get = one(&[
        (0, frame(A, B, 40_000, 8080, 17, 0, text)),
        (5, frame(B, A, 8080, 40_000, 17, 0, text)),
    ]);
    for c in ["tor_confidence", "vpn_confidence", "doh_confidence"] {
        assert_eq!(get(c), f(0.0), "{c}");
    }
    for c in ["vpn_type", "traffic_type"] {
        assert_eq!(get(c), Value::Null, "{c}");
    }
    for c in [
        "is_tor",
        "is_vpn",
        "is_doh",
        "likely_tor",
        "likely_vpn",
        "likely_doh",
    ] {
        assert_eq!(get(c), Value::Bool(false), "{c}");
    }
}

/// A TCP connection from A:41000 to `dst`:`port`: SYN, SYN-ACK-less data
/// (each `(from initiator, payload)` a PSH-ACK at the running sequence
/// number), `gap_us` apart.
fn tcp_flow(dst: [u8; 4], port: u16, msgs: &[(bool, Vec<u8>)], gap_us: i64) -> Vec<(i64, Vec<u8>)> {
    let mut out = vec![(0, frame(A, dst, 41_000, port, 6, 0, &[]))];
    let mut seq = [1u32, 1u32];
    for (i, (fwd, p)) in msgs.iter().enumerate() {
        let d = usize::from(!fwd);
        let f = if *fwd {
            frame(A, dst, 41_000, port, 6, seq[d], p)
        } else {
            frame(dst, A, port, 41_000, 6, seq[d], p)
        };
        seq[d] += p.len() as u32;
        out.push(((i as i64 + 1) * gap_us, f));
    }
    out
}

#[test]
fn tor_port_cells_and_latency() {
    // Port 9001, every data packet a 586-byte cell: port 0.3 + cells 0.2.
    let cells: Vec<(bool, Vec<u8>)> = (0..12).map(|i| (i % 2 == 0, noise(586 - 40, i))).collect();
    let get = one(&tcp_flow(B, 9001, &cells, 1_000));
    assert_eq!(get("tor_confidence"), f(0.5));
    assert_eq!(get("is_tor"), Value::Bool(true));
    assert_eq!(get("traffic_type"), s("tor"));
    // The same 600 ms apart: the responder answers 600 ms later, + 0.1.
    let get = one(&tcp_flow(B, 9001, &cells, 600_000));
    assert_eq!(get("tor_confidence"), f(0.6));
    // On port 443: cells and latency only, 0.3.
    let get = one(&tcp_flow(B, 443, &cells, 600_000));
    assert_eq!(get("tor_confidence"), f(0.3));
    assert_eq!(get("is_tor"), Value::Bool(false));
}

/// A TLS record holding a ClientHello: version 0x0303, the given cipher
/// suites, null compression, and extensions server_name (`sni`),
/// supported_groups and ec_point_formats. Returns the record and its JA3
/// string as the JA3 definition builds it.
fn client_hello(sni: &str, ciphers: &[u16]) -> (Vec<u8>, String) {
    let mut ext = Vec::new();
    let name = sni.as_bytes();
    let mut sn = Vec::new();
    sn.extend(((name.len() + 3) as u16).to_be_bytes());
    sn.push(0);
    sn.extend((name.len() as u16).to_be_bytes());
    sn.extend(name);
    let groups: [u16; 2] = [29, 23];
    let mut sg = (4u16).to_be_bytes().to_vec();
    for g in groups {
        sg.extend(g.to_be_bytes());
    }
    let pf = vec![1u8, 0];
    for (ty, body) in [(0u16, sn), (10, sg), (11, pf)] {
        ext.extend(ty.to_be_bytes());
        ext.extend((body.len() as u16).to_be_bytes());
        ext.extend(body);
    }
    let mut body = vec![3, 3];
    body.extend([0x42; 32]);
    body.push(0);
    body.extend(((ciphers.len() * 2) as u16).to_be_bytes());
    for c in ciphers {
        body.extend(c.to_be_bytes());
    }
    body.extend([1, 0]);
    body.extend((ext.len() as u16).to_be_bytes());
    body.extend(ext);
    let mut hs = vec![1];
    hs.extend(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend(body);
    let mut rec = vec![22, 3, 1];
    rec.extend((hs.len() as u16).to_be_bytes());
    rec.extend(hs);
    let list = |v: &[u16]| v.iter().map(u16::to_string).collect::<Vec<_>>().join("-");
    let ja3 = format!("771,{},0-10-11,{},0", list(ciphers), list(&groups));
    (rec, ja3)
}

fn md5(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

#[test]
fn client_hello_ja3_and_server_name() {
    let (rec, ja3) = client_hello("example.org", &[0x1301, 0xc02f, 0x009c]);
    let hash = md5(&ja3);
    let mut st = FingerprintState::default();
    Fingerprint::read_hello(&mut st, &rec, &[hash.as_str()]);
    assert!(st.hello_done && st.tor_ja3 && !st.doh_sni);
    let mut st = FingerprintState::default();
    Fingerprint::read_hello(&mut st, &rec, &TOR_JA3);
    assert!(st.hello_done && !st.tor_ja3);
    // Cut short: not done until the budget or the record's end.
    let mut st = FingerprintState::default();
    Fingerprint::read_hello(&mut st, &rec[..40], &TOR_JA3);
    assert!(!st.hello_done);
    // Not TLS: done at once.
    Fingerprint::read_hello(&mut st, b"SSH-2.0-OpenSSH_9.2\r\n", &TOR_JA3);
    assert!(st.hello_done);
    for (name, doh) in [
        ("dns.google", true),
        ("DNS.Google.", true),
        ("eu.dns.nextdns.io", true),
        ("notdns.google", false),
        ("dns.google.evil.example", false),
    ] {
        assert_eq!(doh_sni(name), doh, "{name}");
    }
}

#[test]
fn doh_by_address_name_and_payload_sizes() {
    let (hello, _) = client_hello("dns.google", &[0x1301]);
    let small = |n: usize| -> Vec<(bool, Vec<u8>)> {
        let mut m = vec![(true, hello.clone())];
        m.extend((0..n).map(|i| (i % 2 == 1, noise(150, i as u8))));
        m
    };
    // To 8.8.8.8:443 with the DoH name and small payloads: 0.7 + 0.2 + 0.1.
    let get = one(&tcp_flow([8, 8, 8, 8], 443, &small(6), 1_000));
    assert_eq!(get("doh_confidence"), f(1.0));
    assert_eq!(get("is_doh"), Value::Bool(true));
    assert_eq!(get("traffic_type"), s("doh"));
    // The name alone, to a private address: 0.2 + 0.1, not DoH.
    let get = one(&tcp_flow(B, 443, &small(6), 1_000));
    assert_eq!(get("doh_confidence"), f(0.3));
    assert_eq!(get("is_doh"), Value::Bool(false));
    // Large responses: no small-payload term.
    let mut big = small(0);
    big.extend((0..4).map(|i| (false, noise(1400, i))));
    let get = one(&tcp_flow(B, 443, &big, 1_000));
    assert_eq!(get("doh_confidence"), f(0.2));
    // 8.8.8.8 on port 53 (plain DNS over TCP) is not DoH at all.
    let get = one(&tcp_flow([8, 8, 8, 8], 53, &small(6), 1_000));
    assert_eq!(get("doh_confidence"), f(0.0));
    // IPv6 addresses in the list are recognised.
    assert!(doh_ip(
        u128::from(std::net::Ipv6Addr::new(
            0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8888
        )),
        true
    ));
    assert!(!doh_ip(u128::from(u32::from_be_bytes([8, 8, 8, 8])), true));
    assert!(doh_ip(u128::from(u32::from_be_bytes([8, 8, 8, 8])), false));
}

#[test]
fn state_size() {
    assert_eq!(std::mem::size_of::<FingerprintState>(), 48);
}
