//! The `quic` group against Wireshark, flow by flow.
//!
//! `testdata/expected/tshark-quic/quic.pcap.csv` was produced by
//! `scripts/tshark_quic.py` from `tshark -T fields` output (never by this
//! crate): Wireshark parses the QUIC headers and decrypts the Initial
//! packets itself, and the script computes JA4 from Wireshark's
//! ClientHello fields. Every column of the group is compared on every UDP
//! flow of the capture (QUIC v1 and v2, Version Negotiation, Retry, a
//! ClientHello spanning two Initial datagrams, a closed port, and non-QUIC
//! UDP on ports 53 and 443). Every 5-tuple is one flow (infinite idle
//! timeout).

use crate::util::{int, row_key, run, text, truth_cell, truth_key, FlowKey};
use joyfuljay::features::Value;
use joyfuljay::Config;
use joyfuljay_testkit::{capture, expected_dir, Table};
use std::collections::HashMap;

fn cfg() -> Config {
    Config {
        features: ["flow_meta", "quic"].map(String::from).to_vec(),
        terminate_on_fin_rst: false,
        flow_timeout: 1e12,
        ..Config::default()
    }
}

#[test]
fn quic_matches_wireshark_on_every_flow() {
    let name = "quic.pcap";
    let t = Table::read(&expected_dir().join(format!("tshark-quic/{name}.csv")));
    let (sink, _) = run(&capture(name), cfg());
    let h = |c: &str| t.col(c);
    let mut rows: HashMap<FlowKey, usize> = HashMap::new();
    for r in 0..sink.rows.len() {
        if int(&sink, r, "protocol") == 17 {
            assert!(rows.insert(row_key(&sink, r), r).is_none());
        } else {
            // ICMP errors quoting QUIC packets are not QUIC flows.
            assert_eq!(sink.get(r, "is_quic"), Some(&Value::Bool(false)));
        }
    }
    assert_eq!(rows.len(), t.rows.len(), "UDP flows");
    let cols: Vec<&String> = t
        .header
        .iter()
        .filter(|c| *c == "is_quic" || c.starts_with("quic_"))
        .collect();
    assert_eq!(
        cols.len(),
        joyfuljay::features::find("quic").unwrap().columns.len()
    );
    let (mut cells, mut quic_flows, mut bad) = (0, 0, Vec::new());
    for r in &t.rows {
        let k = truth_key(
            &r[h("ip_a")],
            &r[h("port_a")],
            &r[h("ip_b")],
            &r[h("port_b")],
            17,
        );
        let row = *rows.get(&k).unwrap_or_else(|| panic!("flow {r:?} missing"));
        assert_eq!(text(&sink, row, "src_ip"), r[h("init_ip")]);
        assert_eq!(int(&sink, row, "src_port").to_string(), r[h("init_port")]);
        quic_flows += usize::from(r[h("is_quic")] == "true");
        for c in &cols {
            let got = truth_cell(&sink, row, c);
            let want = &r[h(c)];
            cells += 1;
            if &got != want {
                bad.push(format!(
                    "{}:{} {c}: ours {got:?}, tshark {want:?}",
                    r[2], r[3]
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
    // The capture's 8 QUIC connections and 2 non-QUIC UDP flows (DNS-shaped
    // on 53, non-QUIC datagrams to 443).
    assert_eq!((t.rows.len(), quic_flows), (10, 8));
    assert_eq!(cells, 10 * 22);
}
