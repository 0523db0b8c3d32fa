//! The `http2` group against Wireshark's HTTP/2 dissector, flow by flow.
//!
//! `http2-h2c.pcap` (recorded by `scripts/make_http2_captures.sh`: nghttp
//! and curl against nghttpd and nghttpx — prior knowledge, HTTP/1.1
//! Upgrade, several streams on one connection, server push, a 40 KB
//! download with WINDOW_UPDATEs, GOAWAY — and two HTTP/1.1 connections),
//! `http.cap` (Wireshark's HTTP/1.1 sample) and `tls-handshakes.pcap`
//! (TLS: no h2c): `testdata/expected/tshark-http2/*.csv` were produced by
//! `scripts/tshark_http2.py` from `tshark -T fields` output (never by this
//! crate); every column it writes is compared. `http3_detected` is checked
//! on `quic.pcap` against Wireshark's decrypted ALPN
//! (`testdata/expected/tshark-quic`, `quic_is_http3`). The same capture
//! with every packet duplicated (each byte retransmitted) must give the
//! same rows; with one segment of the download removed, that flow stops
//! counting at the hole (`http2_incomplete`) and the others are unchanged.
//! With TCP-close splitting off and an infinite idle timeout every 5-tuple
//! is one flow.

use crate::util::{row_key, run, truth_cell, truth_key, FlowKey};
use joyfuljay::output::VecSink;
use joyfuljay::Config;
use joyfuljay_testkit::{capture, expected_dir, pcap_record_offsets, Table};
use std::collections::HashMap;
use std::path::Path;

const CAPTURES: &[&str] = &["http2-h2c.pcap", "http.cap", "tls-handshakes.pcap"];

fn cfg() -> Config {
    Config {
        features: ["flow_meta", "http2"].map(String::from).to_vec(),
        terminate_on_fin_rst: false,
        flow_timeout: 1e12,
        ..Config::default()
    }
}

fn ours(path: &Path) -> (VecSink, HashMap<FlowKey, usize>) {
    let (sink, _) = run(path, cfg());
    let mut rows = HashMap::new();
    for r in 0..sink.rows.len() {
        assert!(rows.insert(row_key(&sink, r), r).is_none(), "5-tuple twice");
    }
    (sink, rows)
}

fn key(t: &Table, r: &[String]) -> FlowKey {
    let h = |c: &str| t.col(c);
    truth_key(
        &r[h("client_ip")],
        &r[h("client_port")],
        &r[h("server_ip")],
        &r[h("server_port")],
        r[h("protocol")].parse().unwrap(),
    )
}

/// Compares every truth column of every truth flow; returns the flows and
/// cells compared.
fn compare(name: &str, path: &Path, t: &Table) -> (usize, usize) {
    let (sink, rows) = ours(path);
    let (mut flows, mut cells) = (0, 0);
    for r in &t.rows {
        let &row = rows
            .get(&key(t, r))
            .unwrap_or_else(|| panic!("{name}: flow {r:?} missing"));
        flows += 1;
        for (i, col) in t.header.iter().enumerate().skip(5) {
            assert_eq!(truth_cell(&sink, row, col), r[i], "{name} {r:?} {col}");
            cells += 1;
        }
    }
    (flows, cells)
}

#[test]
fn http2_matches_wireshark_on_every_flow() {
    let mut detected = 0;
    let (mut flows, mut cells) = (0, 0);
    for name in CAPTURES {
        let t = Table::read(&expected_dir().join(format!("tshark-http2/{name}.csv")));
        let (f, c) = compare(name, &capture(name), &t);
        let (sink, _) = ours(&capture(name));
        let tcp = (0..sink.rows.len())
            .filter(|&r| truth_cell(&sink, r, "protocol") == "6")
            .count();
        assert_eq!(f, tcp, "{name}: TCP flow count");
        flows += f;
        cells += c;
        detected += t
            .column("http2_detected")
            .iter()
            .filter(|v| *v == "true")
            .count();
        if *name == "http2-h2c.pcap" {
            // Not vacuous: prior knowledge and Upgrade, push, window
            // updates, several streams, and two HTTP/1.1 connections.
            let yes = |c: &str| t.column(c).iter().filter(|v| *v == "true").count();
            assert_eq!(yes("http2_upgrade"), 2);
            assert_eq!(yes("http2_server_push"), 1);
            assert!(yes("http2_multiplexed") >= 3);
            assert!(t.ints("http2_window_update_frames").iter().any(|&n| n >= 2));
            assert_eq!(yes("http2_detected"), t.rows.len() - 2);
        }
    }
    assert_eq!(detected, 6);
    assert!(flows >= 10, "{flows}");
    assert_eq!(cells, flows * 22);
}

#[test]
fn http3_is_the_decrypted_alpn() {
    let t = Table::read(&expected_dir().join("tshark-quic/quic.pcap.csv"));
    let (sink, rows) = ours(&capture("quic.pcap"));
    // The truth covers the UDP flows; the others must say no.
    let mut truth_rows = Vec::new();
    let mut h3 = 0;
    for r in &t.rows {
        let h = |c: &str| t.col(c);
        let k = truth_key(
            &r[h("ip_a")],
            &r[h("port_a")],
            &r[h("ip_b")],
            &r[h("port_b")],
            17,
        );
        let &row = rows.get(&k).unwrap_or_else(|| panic!("{r:?} missing"));
        let want = &r[h("quic_is_http3")];
        assert_eq!(&truth_cell(&sink, row, "http3_detected"), want, "{r:?}");
        let version = if want == "true" { "h3" } else { "" };
        assert_eq!(truth_cell(&sink, row, "http_version"), version, "{r:?}");
        assert_eq!(truth_cell(&sink, row, "http2_detected"), "false");
        h3 += usize::from(want == "true");
        truth_rows.push(row);
    }
    for row in (0..sink.rows.len()).filter(|r| !truth_rows.contains(r)) {
        assert_eq!(truth_cell(&sink, row, "http3_detected"), "false");
        assert_eq!(truth_cell(&sink, row, "http_version"), "");
    }
    assert!(h3 >= 1 && h3 < t.rows.len(), "{h3}");
}

/// The pcap `b` with its records rewritten by `f` (record bytes in, the
/// records to write out).
fn rewrite(b: &[u8], mut f: impl FnMut(usize, &[u8]) -> Vec<Vec<u8>>) -> Vec<u8> {
    let offs = pcap_record_offsets(b);
    let mut out = b[..24].to_vec();
    for (i, &o) in offs.iter().enumerate() {
        let caplen = u32::from_le_bytes(b[o + 8..o + 12].try_into().unwrap()) as usize;
        for rec in f(i, &b[o..o + 16 + caplen]) {
            out.extend(rec);
        }
    }
    out
}

/// Source port and TCP payload length of an Ethernet/IPv4/TCP record.
fn tcp_of(rec: &[u8]) -> Option<(u16, usize)> {
    let f = &rec[16..];
    if f.len() < 34 || f[12..14] != [0x08, 0x00] || f[23] != 6 {
        return None;
    }
    let ihl = usize::from(f[14] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([f[16], f[17]]));
    let tcp = &f[14 + ihl..];
    let doff = usize::from(tcp[12] >> 4) * 4;
    Some((u16::from_be_bytes([tcp[0], tcp[1]]), total - ihl - doff))
}

#[test]
fn retransmissions_count_once_and_a_hole_stops_the_direction() {
    let name = "http2-h2c.pcap";
    let t = Table::read(&expected_dir().join(format!("tshark-http2/{name}.csv")));
    let b = std::fs::read(capture(name)).unwrap();
    assert_eq!(&b[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "little-endian pcap");
    let dir = tempfile::tempdir().unwrap();

    // Every packet twice.
    let p = dir.path().join("twice.pcap");
    std::fs::write(&p, rewrite(&b, |_, r| vec![r.to_vec(), r.to_vec()])).unwrap();
    let (flows, _) = compare("twice", &p, &t);
    assert_eq!(flows, t.rows.len());

    // The flow with the most DATA frames: drop its server's third data
    // segment.
    let data = t.ints("http2_data_frames");
    let big = (0..t.rows.len()).max_by_key(|&i| data[i]).unwrap();
    let server_port: u16 = t.rows[big][t.col("server_port")].parse().unwrap();
    let client_port: u16 = t.rows[big][t.col("client_port")].parse().unwrap();
    let mut seen = 0;
    let mut dropped = false;
    let cut = rewrite(&b, |_, r| {
        if let Some((sport, len)) = tcp_of(r) {
            let dport = u16::from_be_bytes([r[16 + 36], r[16 + 37]]);
            if sport == server_port && dport == client_port && len > 0 {
                seen += 1;
                if seen == 3 {
                    dropped = true;
                    return vec![];
                }
            }
        }
        vec![r.to_vec()]
    });
    assert!(dropped);
    let p = dir.path().join("hole.pcap");
    std::fs::write(&p, cut).unwrap();
    let (sink, rows) = ours(&p);
    for (i, r) in t.rows.iter().enumerate() {
        let row = rows[&key(&t, r)];
        for (j, col) in t.header.iter().enumerate().skip(5) {
            let got = truth_cell(&sink, row, col);
            if i != big {
                assert_eq!(got, r[j], "{r:?} {col}");
            } else if col == "http2_incomplete" {
                assert_eq!(got, "true");
            } else if col.ends_with("_frames") || col == "http2_frame_count" {
                let (g, w): (i64, i64) = (got.parse().unwrap(), r[j].parse().unwrap());
                assert!(g <= w, "{col}: {g} > {w}");
            }
        }
        if i == big {
            let g: i64 = truth_cell(&sink, row, "http2_data_frames").parse().unwrap();
            assert!(g < data[big], "{g}");
            assert_eq!(truth_cell(&sink, row, "http2_detected"), "true");
        }
    }
}

/// The reference package (its HTTP2Extractor, which its pipeline never
/// runs, appended by `scripts/reference_http2.py`) on the same captures:
/// every flow it finds not HTTP/2 we find not HTTP/2 either; the one flow
/// it calls HTTP/2 and we do not is the HTTP/1.1 client talking to the
/// prior-knowledge server (whose SETTINGS frame it takes for HTTP/2, as
/// it takes any segment whose fourth byte is at most 9); it never finds
/// HTTP/3 (it greps for ALPN bytes that QUIC encrypts). Frame counts
/// differ by design (docs/semantics.md#http2: it parses each segment on
/// its own, counts stream 0, and stops at 100 frames per segment).
#[test]
fn reference_package_detection() {
    let mut differ = Vec::new();
    for name in ["http2-h2c.pcap", "quic.pcap", "http.cap"] {
        let t = Table::read(&joyfuljay_testkit::reference_dir().join(format!("http2/{name}.csv")));
        let (sink, rows) = ours(&capture(name));
        assert_eq!(rows.len(), t.rows.len(), "{name}");
        for r in &t.rows {
            let h = |c: &str| t.col(c);
            let k = truth_key(
                &r[h("src_ip")],
                &r[h("src_port")],
                &r[h("dst_ip")],
                &r[h("dst_port")],
                r[h("protocol")].parse().unwrap(),
            );
            let row = rows[&k];
            let theirs = r[h("http2_detected")] == "True";
            let mine = truth_cell(&sink, row, "http2_detected") == "true";
            assert!(theirs || !mine, "{name} {r:?}");
            assert_eq!(r[h("http3_detected")], "False");
            if theirs != mine {
                differ.push(truth_cell(&sink, row, "dst_port"));
            }
        }
    }
    // The HTTP/1.1 request to nghttpd's port.
    assert_eq!(differ, ["8080"]);
}
