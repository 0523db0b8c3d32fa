//! Per-5-tuple counts against Wireshark's own dissectors.
//!
//! `testdata/expected/tshark/*.csv` were produced by `scripts/tshark_flows.py`
//! from `tshark -T fields` output (never by this crate). With TCP-close
//! splitting off and an infinite idle timeout every 5-tuple is one flow, so
//! packets, IP bytes, payload bytes and first/last times must agree exactly.

use crate::util::{float, int, row_key, run, truth_key, unsplit, FlowKey as Key};
use joyfuljay_testkit::{capture, expected_dir, Table};
use std::collections::BTreeMap;

#[derive(Debug, PartialEq)]
struct Counts {
    packets: i64,
    bytes: i64,
    payload: i64,
    first_us: i64,
    last_us: i64,
}

fn us(s: &str) -> i64 {
    let (i, f) = s.split_once('.').unwrap_or((s, "0"));
    let f = format!("{f:0<6}");
    i.parse::<i64>().unwrap() * 1_000_000 + f[..6].parse::<i64>().unwrap()
}

fn expected(name: &str) -> BTreeMap<Key, Counts> {
    let t = Table::read(&expected_dir().join(format!("tshark/{name}.csv")));
    let mut m = BTreeMap::new();
    assert_eq!(
        t.header.join(","),
        "ip_a,port_a,ip_b,port_b,protocol,packets,bytes,payload,first_time,last_time"
    );
    for f in &t.rows {
        let key = truth_key(&f[0], &f[1], &f[2], &f[3], f[4].parse().unwrap());
        m.insert(
            key,
            Counts {
                packets: f[5].parse().unwrap(),
                bytes: f[6].parse().unwrap(),
                payload: f[7].parse().unwrap(),
                first_us: us(&f[8]),
                last_us: us(&f[9]),
            },
        );
    }
    m
}

fn ours(name: &str) -> BTreeMap<Key, Counts> {
    let (s, _) = run(&capture(name), unsplit());
    let mut m = BTreeMap::new();
    for r in 0..s.rows.len() {
        let key = row_key(&s, r);
        let c = Counts {
            packets: int(&s, r, "total_packets"),
            bytes: int(&s, r, "total_bytes"),
            payload: int(&s, r, "payload_bytes_total"),
            first_us: (float(&s, r, "start_time") * 1e6).round() as i64,
            last_us: (float(&s, r, "end_time") * 1e6).round() as i64,
        };
        assert!(
            m.insert(key, c).is_none(),
            "{name}: 5-tuple {key:?} appears twice"
        );
    }
    m
}

fn compare(name: &str) {
    let exp = expected(name);
    let got = ours(name);
    assert!(!exp.is_empty());
    for (k, e) in &exp {
        match got.get(k) {
            Some(g) => assert_eq!(g, e, "{name}: flow {k:?}"),
            None => panic!("{name}: flow {k:?} missing (we have {} flows)", got.len()),
        }
    }
    for k in got.keys() {
        assert!(
            exp.contains_key(k),
            "{name}: flow {k:?} not in Wireshark's view"
        );
    }
}

macro_rules! wireshark_tests {
    ($($test:ident => $file:literal,)*) => {$(
        #[test]
        fn $test() {
            compare($file);
        }
    )*};
}

wireshark_tests! {
    http_cap => "http.cap",
    dns_cap => "dns.cap",
    v6_http_cap => "v6-http.cap",
    vlan_cap => "vlan.cap",
    mpls_basic_cap => "mpls-basic.cap",
    teardrop_fragments => "teardrop.cap",
    sctp_cap => "sctp.cap",
    obsolete_packets_sll => "Obsolete_Packets.cap",
    pim_reg_null_link => "pim-reg.cap",
    raw_ip_link => "RawPacketIPv6Tunnel-UK6x.cap",
    sample_pcap => "sample.pcap",
    imap_cap => "imap.cap",
    tcp_ethereal_trace => "tcp-ethereal-file1.trace",
    ppi_wifi => "http_PPI.cap",
    tcp_impaired_snaplen => "tcp-impaired.pcap",
    icmp_mix => "icmp-mix.pcap",
    tcp_options => "tcp-options.pcap",
    mptcp_subflows => "mptcp.pcap",
}
