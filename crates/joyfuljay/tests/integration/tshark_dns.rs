//! The `dns` group against Wireshark's DNS dissector, flow by flow:
//! `dns.cap` (Wireshark's sample) and `dns-local.pcap` (dig asking
//! dnsmasq, recorded by `scripts/make_dns_captures.sh`: NOERROR,
//! NXDOMAIN, REFUSED, a truncated UDP answer retried over TCP, several
//! queries on one UDP 5-tuple and on one TCP connection, two queries in
//! one TCP segment, a response over two TCP segments, port 5353, IPv6,
//! an unanswered query).
//!
//! `testdata/expected/tshark-dns/*.csv` were produced by
//! `scripts/tshark_dns.py` from `tshark -T fields` output (never by this
//! crate); every column the script writes is compared (floats within
//! 1e-9, response times within 1e-6 ms: tshark prints `dns.time` in
//! nanoseconds from microsecond timestamps). The two mnemonic columns are
//! checked against the RFC 1035 / IANA names of the codes tshark gave,
//! written out here. With TCP-close splitting off and an infinite idle
//! timeout every 5-tuple is one flow. Captures without DNS give every
//! flow zeros, false and nulls.

use crate::util::{row_key, run, truth_cell, truth_key, FlowKey};
use joyfuljay::features::Value;
use joyfuljay::output::VecSink;
use joyfuljay::Config;
use joyfuljay_testkit::{capture, expected_dir, Table};
use std::collections::HashMap;

const CAPTURES: &[&str] = &["dns.cap", "dns-local.pcap"];

fn cfg() -> Config {
    Config {
        features: ["flow_meta", "dns"].map(String::from).to_vec(),
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

const FLOATS: &[&str] = &[
    "dns_response_time_mean",
    "dns_query_len_mean",
    "dns_subdomain_depth",
    "dns_query_entropy",
];

fn type_mnemonic(t: &str) -> String {
    let m = match t {
        "1" => "A",
        "2" => "NS",
        "5" => "CNAME",
        "6" => "SOA",
        "12" => "PTR",
        "15" => "MX",
        "16" => "TXT",
        "28" => "AAAA",
        "33" => "SRV",
        "65" => "HTTPS",
        "255" => "ANY",
        "" => return String::new(),
        other => return format!("TYPE{other}"),
    };
    m.to_string()
}

fn rcode_mnemonic(r: &str) -> String {
    let m = match r {
        "0" => "NOERROR",
        "1" => "FORMERR",
        "2" => "SERVFAIL",
        "3" => "NXDOMAIN",
        "4" => "NOTIMP",
        "5" => "REFUSED",
        "" => return String::new(),
        other => return format!("RCODE{other}"),
    };
    m.to_string()
}

#[test]
fn dns_matches_wireshark_on_every_flow() {
    let (mut flows, mut cells, mut tcp, mut udp_multi) = (0, 0, 0, 0);
    for name in CAPTURES {
        let t = Table::read(&expected_dir().join(format!("tshark-dns/{name}.csv")));
        let (sink, rows) = ours(name);
        assert_eq!(rows.len(), t.rows.len(), "{name}: flow count");
        let h = |c: &str| t.col(c);
        for r in &t.rows {
            let proto: u8 = r[h("protocol")].parse().unwrap();
            let k = truth_key(
                &r[h("client_ip")],
                &r[h("client_port")],
                &r[h("server_ip")],
                &r[h("server_port")],
                proto,
            );
            let &row = rows
                .get(&k)
                .unwrap_or_else(|| panic!("{name}: flow {r:?} missing"));
            flows += 1;
            let count: i64 = r[h("dns_query_count")].parse().unwrap();
            tcp += usize::from(proto == 6 && count > 0);
            udp_multi += usize::from(proto == 17 && count > 1);
            let at = format!("{name} {}:{}", r[h("client_ip")], r[h("client_port")]);
            for (i, col) in t.header.iter().enumerate() {
                if i < 5 {
                    continue;
                }
                let got = truth_cell(&sink, row, col);
                let want = &r[i];
                if FLOATS.contains(&col.as_str()) && !want.is_empty() {
                    let (g, w): (f64, f64) = (got.parse().unwrap(), want.parse().unwrap());
                    let tol = if col == "dns_response_time_mean" {
                        1e-6
                    } else {
                        1e-9
                    };
                    assert!((g - w).abs() <= tol, "{at} {col}: {g} vs {w}");
                } else {
                    assert_eq!(&got, want, "{at} {col}");
                }
                cells += 1;
            }
            assert_eq!(
                truth_cell(&sink, row, "dns_query_type_str"),
                type_mnemonic(&r[h("dns_query_type")]),
                "{at}"
            );
            assert_eq!(
                truth_cell(&sink, row, "dns_response_code_str"),
                rcode_mnemonic(&r[h("dns_response_code")]),
                "{at}"
            );
        }
    }
    // Not vacuous: the captures hold this many flows, three of them DNS
    // over TCP, and UDP 5-tuples with several queries.
    assert_eq!((flows, tcp), (25, 3));
    assert!(udp_multi >= 2, "{udp_multi}");
    assert!(cells >= 25 * 32, "{cells}");
}

#[test]
fn flows_without_dns_are_zero_false_and_null() {
    for name in ["tls-handshakes.pcap", "ssh-login.pcap"] {
        let (sink, _) = run(&capture(name), cfg());
        assert!(!sink.rows.is_empty());
        for row in 0..sink.rows.len() {
            for c in joyfuljay::features::find("dns").unwrap().columns {
                let v = sink.get(row, c.name).unwrap();
                let ok = matches!(v, Value::Null | Value::Int(0) | Value::Bool(false));
                assert!(ok, "{name} row {row} {}: {v:?}", c.name);
            }
        }
    }
}
