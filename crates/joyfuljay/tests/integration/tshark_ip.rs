//! The header groups `ip_extended`, `ipv6_options`, `mac` and `icmp`
//! against Wireshark's dissectors.
//!
//! `testdata/expected/tshark-ip/*.csv` were produced by
//! `scripts/tshark_ip.py` from `tshark -T fields` output (never by this
//! crate): the same flows as `tshark_flows.py`, and every column of the
//! four groups computed per flow in Python from tshark's per-packet fields
//! (TTL, ToS, flags, identification, flow label, traffic class, MAC
//! addresses, EtherType, VLAN ID, ICMP type/code/identifier/sequence). With
//! TCP-close splitting off and an infinite idle timeout every 5-tuple is one
//! flow; every column of every flow must agree (floats within 1e-9
//! relative).

use crate::util::{row_key, run, truth_key, unsplit};
use joyfuljay::features::Value;
use joyfuljay::Config;
use joyfuljay_testkit::{capture, expected_dir, Table};
use std::collections::BTreeMap;

const GROUPS: [&str; 4] = ["ip_extended", "ipv6_options", "mac", "icmp"];

/// Whether our cell `got` is the expected CSV text `want`.
fn same(got: &Value, want: &str) -> bool {
    match got {
        Value::Null => want.is_empty(),
        Value::Bool(b) => want == if *b { "true" } else { "false" },
        Value::Int(n) => want.parse::<i64>() == Ok(*n),
        Value::Float(x) => want.parse::<f64>().is_ok_and(|w| {
            let scale = w.abs().max(x.abs());
            (x - w).abs() <= 1e-9 * scale || x == &w
        }),
        Value::Str(s) => s == want,
        _ => false,
    }
}

/// Compare every flow and column; returns the number of flows compared.
fn compare(name: &str) -> usize {
    let t = Table::read(&expected_dir().join(format!("tshark-ip/{name}.csv")));
    assert_eq!(t.header[..5].join(","), "ip_a,port_a,ip_b,port_b,protocol");
    let cols = &t.header[5..];
    let cfg = Config {
        features: std::iter::once("flow_meta")
            .chain(GROUPS)
            .map(String::from)
            .collect(),
        ..unsplit()
    };
    let (s, _) = run(&capture(name), cfg);
    // Every column of the four groups is in the expected file, in order.
    let ours: Vec<&str> = s
        .columns
        .iter()
        .copied()
        .filter(|c| {
            GROUPS.iter().any(|g| {
                joyfuljay::features::find(g)
                    .unwrap()
                    .columns
                    .iter()
                    .any(|k| k.name == *c)
            })
        })
        .collect();
    assert_eq!(ours, cols, "{name}: columns");
    let mut got = BTreeMap::new();
    for r in 0..s.rows.len() {
        let key = row_key(&s, r);
        assert!(got.insert(key, r).is_none(), "{name}: {key:?} twice");
    }
    assert_eq!(got.len(), t.rows.len(), "{name}: flow count");
    for f in &t.rows {
        let key = truth_key(&f[0], &f[1], &f[2], &f[3], f[4].parse().unwrap());
        let r = *got
            .get(&key)
            .unwrap_or_else(|| panic!("{name}: flow {key:?} missing"));
        for (c, want) in cols.iter().zip(&f[5..]) {
            let v = s.get(r, c).unwrap();
            assert!(
                same(v, want),
                "{name}: flow {key:?}, {c}: ours {v:?}, Wireshark's {want:?}"
            );
        }
    }
    t.rows.len()
}

macro_rules! wireshark_tests {
    ($($test:ident => $file:literal,)*) => {$(
        #[test]
        fn $test() {
            let n = compare($file);
            assert!(n > 0);
            eprintln!("{}: {n} flows", $file);
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
    icmp_mix => "icmp-mix.pcap",
    tcp_impaired => "tcp-impaired.pcap",
    tcp_options => "tcp-options.pcap",
    mptcp => "mptcp.pcap",
}
