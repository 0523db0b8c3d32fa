//! The `ssh` group against Wireshark's SSH dissector, flow by flow, on real
//! OpenSSH sessions recorded by `scripts/make_ssh_captures.sh`.
//!
//! `testdata/expected/tshark-ssh/*.csv` were produced by
//! `scripts/tshark_ssh.py` from `tshark -T fields` output (never by this
//! crate); every column the script writes is compared. With TCP-close
//! splitting off and an infinite idle timeout every 5-tuple is one flow.
//!
//! One known difference: Wireshark 4.0 does not dissect a server that sends
//! other lines before its identification line (RFC 4253 §4.2 allows it),
//! so for the fake server on port 2200 of `ssh-fake.pcap` the server-side
//! columns are checked against what that server sends (the constants of
//! the capture script, hashed here with MD5) instead.

use crate::util::{int, row_key, run, text, truth_cell, truth_key, FlowKey};
use joyfuljay::features::Value;
use joyfuljay::output::VecSink;
use joyfuljay::Config;
use joyfuljay_testkit::{capture, expected_dir, Table};
use md5::{Digest, Md5};
use std::collections::HashMap;

const CAPTURES: &[&str] = &[
    "ssh-login.pcap",
    "ssh-password.pcap",
    "ssh-algos.pcap",
    "ssh-fake.pcap",
];

fn cfg() -> Config {
    Config {
        features: ["flow_meta", "ssh"].map(String::from).to_vec(),
        terminate_on_fin_rst: false,
        flow_timeout: 1e12,
        ..Config::default()
    }
}

fn ours(name: &str) -> (VecSink, HashMap<FlowKey, usize>) {
    let (sink, _) = run(&capture(name), cfg());
    let mut rows = HashMap::new();
    for r in 0..sink.rows.len() {
        assert!(
            rows.insert(row_key(&sink, r), r).is_none(),
            "{name}: 5-tuple twice"
        );
    }
    (sink, rows)
}

/// What the fake server of port 2200 sends: its identification line and
/// the server-to-client HASSH string of its KEXINIT lists.
const FAKE_BANNER: &str = "SSH-1.99-JJFake_0.1 test server";
const FAKE_HASSH_SERVER_STR: &str =
    "curve25519-sha256,diffie-hellman-group14-sha256;aes256-ctr;hmac-sha2-512;none,zlib";

#[test]
fn ssh_matches_wireshark_on_every_flow() {
    let (mut flows, mut cells, mut ssh_flows) = (0, 0, 0);
    for name in CAPTURES {
        let t = Table::read(&expected_dir().join(format!("tshark-ssh/{name}.csv")));
        let (sink, rows) = ours(name);
        assert_eq!(rows.len(), t.rows.len(), "{name}: flow count");
        let h = |c: &str| t.col(c);
        for r in &t.rows {
            let k = truth_key(
                &r[h("client_ip")],
                &r[h("client_port")],
                &r[h("server_ip")],
                &r[h("server_port")],
                6,
            );
            let &row = rows
                .get(&k)
                .unwrap_or_else(|| panic!("{name}: flow {r:?} missing"));
            assert_eq!(
                text(&sink, row, "src_ip"),
                r[h("client_ip")],
                "{name}: initiator"
            );
            assert_eq!(
                int(&sink, row, "src_port").to_string(),
                r[h("client_port")],
                "{name}: initiator"
            );
            flows += 1;
            ssh_flows += usize::from(r[h("is_ssh")] == "true");
            let fake_pre_lines = *name == "ssh-fake.pcap" && r[h("server_port")] == "2200";
            for (i, col) in t.header.iter().enumerate() {
                if i < 4 {
                    continue;
                }
                let got = truth_cell(&sink, row, col);
                let want = if fake_pre_lines {
                    match col.as_str() {
                        "ssh_server_banner" => FAKE_BANNER.to_string(),
                        "ssh_server_software" => "JJFake_0.1".to_string(),
                        "ssh_server_version" => "1.99".to_string(),
                        "hassh_server_str" => FAKE_HASSH_SERVER_STR.to_string(),
                        "hassh_server" => hex::encode(Md5::digest(FAKE_HASSH_SERVER_STR)),
                        // The server's KEXINIT, unseen by Wireshark.
                        "ssh_kex_packets" => (r[i].parse::<i64>().unwrap() + 1).to_string(),
                        _ => r[i].clone(),
                    }
                } else {
                    r[i].clone()
                };
                assert_eq!(
                    got,
                    want,
                    "{name} {}:{} {col}",
                    r[h("client_ip")],
                    r[h("client_port")]
                );
                cells += 1;
            }
        }
    }
    // Not vacuous: the captures hold this many flows, all but the refused
    // connection SSH.
    assert_eq!((flows, ssh_flows), (10, 9));
    assert!(cells >= 200, "{cells}");
}

/// The fake server without pre-identification lines (port 2201) is the
/// same server as on port 2200: Wireshark's view of it agrees with the
/// constants checked above.
#[test]
fn the_fake_servers_constants_are_wiresharks() {
    let t = Table::read(&expected_dir().join("tshark-ssh/ssh-fake.pcap.csv"));
    let r = t
        .rows
        .iter()
        .find(|r| r[t.col("server_port")] == "2201")
        .unwrap();
    assert_eq!(r[t.col("ssh_server_banner")], FAKE_BANNER);
    assert_eq!(r[t.col("hassh_server_str")], FAKE_HASSH_SERVER_STR);
    assert_eq!(
        r[t.col("hassh_server")],
        hex::encode(Md5::digest(FAKE_HASSH_SERVER_STR))
    );
}

/// Wireshark finds no SSH in the other captures with TCP
/// (`tshark -Y ssh` prints nothing for any of them): no flow is SSH and
/// every other column is null.
#[test]
fn no_ssh_in_the_other_tcp_captures() {
    let mut n = 0;
    for name in [
        "http.cap",
        "v6-http.cap",
        "imap.cap",
        "sample.pcap",
        "tcp-ethereal-file1.trace",
        "tcp-impaired.pcap",
        "tcp-options.pcap",
        "mptcp.pcap",
    ] {
        let (sink, _) = ours(name);
        for r in 0..sink.rows.len() {
            assert_eq!(sink.get(r, "is_ssh"), Some(&Value::Bool(false)), "{name}");
            for c in joyfuljay::features::find("ssh")
                .unwrap()
                .columns
                .iter()
                .skip(1)
            {
                assert_eq!(sink.get(r, c.name), Some(&Value::Null), "{name} {}", c.name);
            }
            n += 1;
        }
    }
    assert!(n > 20, "{n}");
}

/// A hand-built SSH connection through the whole pipeline: the server's
/// identification follows another line, its KEXINIT arrives in three
/// segments out of order with a retransmission, the client's in two; a
/// naive expectation (the lists joined and hashed here) must come out.
#[test]
fn reordered_split_kexinit_through_the_pipeline() {
    use crate::util::pcap;

    fn namelists(lists: &[&str; 10]) -> Vec<u8> {
        let mut p = vec![20];
        p.extend([0x5a; 16]);
        for l in lists {
            p.extend((l.len() as u32).to_be_bytes());
            p.extend(l.as_bytes());
        }
        p.extend([0; 5]);
        let pad = 8 - (p.len() + 5) % 8 + 8;
        let mut v = ((p.len() + pad + 1) as u32).to_be_bytes().to_vec();
        v.push(pad as u8);
        v.extend(p);
        v.extend(vec![0; pad]);
        v
    }
    let client_lists = [
        "curve25519-sha256,diffie-hellman-group14-sha256,ext-info-c",
        "ssh-ed25519,rsa-sha2-512",
        "chacha20-poly1305@openssh.com,aes128-ctr",
        "aes256-ctr",
        "hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
        "hmac-sha1",
        "none,zlib@openssh.com",
        "zlib",
        "",
        "",
    ];
    let server_lists = [
        "curve25519-sha256",
        "ssh-ed25519",
        "aes128-ctr",
        "aes192-ctr,aes256-ctr",
        "hmac-sha2-256",
        "hmac-sha2-512",
        "none",
        "none,zlib@openssh.com",
        "",
        "",
    ];
    let mut client = b"SSH-2.0-Hand_1.0\r\n".to_vec();
    client.extend(namelists(&client_lists));
    let mut server = b"hello there\r\nSSH-1.99-HandSrv_2 x\r\n".to_vec();
    server.extend(namelists(&server_lists));

    let framep = |port: u16, fwd: bool, seq: u32, flags: &str, payload: &[u8]| {
        let (a, b) = ([10, 9, 0, 1], [10, 9, 0, 2]);
        let (src, dst, sp, dp) = if fwd {
            (a, b, port, 22)
        } else {
            (b, a, 22, port)
        };
        let mut t = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4(src, dst, 64)
            .tcp(sp, dp, seq, 64000);
        if flags.contains('S') {
            t = t.syn();
        }
        if flags.contains('A') {
            t = t.ack(1);
        }
        let mut v = Vec::new();
        t.write(&mut v, payload).unwrap();
        v
    };
    let frame =
        |fwd: bool, seq: u32, flags: &str, payload: &[u8]| framep(40000, fwd, seq, flags, payload);
    let (ci, si) = (1000u32, 5000u32);
    let c = |from: usize, to: usize| (ci + 1 + from as u32, &client[from..to]);
    let s = |from: usize, to: usize| (si + 1 + from as u32, &server[from..to]);
    let (n, m) = (client.len(), server.len());
    let mut frames = vec![
        frame(true, ci, "S", b""),
        frame(false, si, "SA", b""),
        frame(true, ci + 1, "A", b""),
    ];
    let segs: Vec<(bool, (u32, &[u8]))> = vec![
        (false, s(0, 13)),  // "hello there\r\n"
        (false, s(60, m)),  // the KEXINIT's end, early
        (true, c(0, 100)),  // banner and the KEXINIT's start
        (false, s(13, 60)), // identification, KEXINIT's start
        (false, s(13, 60)), // retransmitted
        (true, c(100, n)),
    ];
    for (fwd, (seq, p)) in segs {
        frames.push(frame(fwd, seq, "A", p));
    }
    // Port 40001: the client's banner, then a hole, then the rest of its
    // KEXINIT (the bytes read end at a packet boundary: only the hole
    // makes the count unknown).
    // Port 40002: the client's stream ends inside its KEXINIT.
    for (port, pieces) in [
        (40001, &[(0, 18), (150, n)][..]),
        (40002, &[(0, n - 10)][..]),
    ] {
        frames.push(framep(port, true, ci, "S", b""));
        frames.push(framep(port, false, si, "SA", b""));
        for &(a, b) in pieces {
            let (seq, p) = c(a, b);
            frames.push(framep(port, true, seq, "A", p));
        }
    }
    let frames: Vec<(i64, Vec<u8>)> = frames
        .into_iter()
        .enumerate()
        .map(|(i, f)| (1_700_000_000_000_000 + i as i64 * 1000, f))
        .collect();
    let cap = pcap(1, &frames);
    let (sink, _) = run(&cap.path, cfg());
    assert_eq!(sink.rows.len(), 3);
    // The client's KEXINIT incomplete: banner, no HASSH, no count.
    for r in 1..3 {
        assert_eq!(
            truth_cell(&sink, r, "ssh_client_banner"),
            "SSH-2.0-Hand_1.0"
        );
        for col in [
            "hassh",
            "ssh_kex_algorithms",
            "ssh_auth_attempts",
            "ssh_channels_opened",
        ] {
            assert_eq!(truth_cell(&sink, r, col), "", "{col} of row {r}");
        }
        assert_eq!(truth_cell(&sink, r, "ssh_kex_packets"), "0");
    }
    let hs = |l: &[&str; 10], o: usize| format!("{};{};{};{}", l[0], l[2 + o], l[4 + o], l[6 + o]);
    let (chs, shs) = (hs(&client_lists, 0), hs(&server_lists, 1));
    let want = [
        ("is_ssh", "true".to_string()),
        ("ssh_version", "2.0".into()),
        ("ssh_client_banner", "SSH-2.0-Hand_1.0".into()),
        ("ssh_server_banner", "SSH-1.99-HandSrv_2 x".into()),
        ("hassh", hex::encode(Md5::digest(&chs))),
        ("hassh_str", chs.clone()),
        ("hassh_server", hex::encode(Md5::digest(&shs))),
        ("hassh_server_str", shs.clone()),
        (
            "ssh_kex_algorithms",
            r#"["curve25519-sha256","diffie-hellman-group14-sha256","ext-info-c"]"#.into(),
        ),
        (
            "ssh_encryption_algorithms",
            r#"["chacha20-poly1305@openssh.com","aes128-ctr"]"#.into(),
        ),
        (
            "ssh_mac_algorithms",
            r#"["hmac-sha2-256-etm@openssh.com","hmac-sha2-256"]"#.into(),
        ),
        (
            "ssh_compression_algorithms",
            r#"["none","zlib@openssh.com"]"#.into(),
        ),
        ("ssh_auth_attempts", "0".into()),
        ("ssh_channels_opened", "0".into()),
        ("ssh_client_software", "Hand_1.0".into()),
        ("ssh_server_software", "HandSrv_2".into()),
        ("ssh_client_version", "2.0".into()),
        ("ssh_server_version", "1.99".into()),
        ("ssh_kex_packets", "2".into()),
        ("ssh_encrypted_packets", "0".into()),
    ];
    for (col, v) in want {
        assert_eq!(truth_cell(&sink, 0, col), v, "{col}");
    }
}
