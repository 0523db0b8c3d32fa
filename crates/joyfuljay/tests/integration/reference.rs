//! `flow_id` and anonymized addresses equal the reference package's
//! (values in testdata/reference/, computed by joyfuljay 0.1.6.1 with
//! scripts/reference_values.py).

use crate::util::{meta, ns, pcap, run, text, T0};
use joyfuljay::features::flow_meta::{anonymize_ip, flow_id};
use joyfuljay::synth::Packet;
use joyfuljay::Config;
use joyfuljay_testkit::{reference_dir, Table};

/// The rows of a reference CSV file, without its header.
fn rows(name: &str) -> Vec<Vec<String>> {
    Table::read(&reference_dir().join(name)).rows
}

#[test]
fn flow_ids_match_the_reference_package() {
    let rows = rows("flow_id.csv");
    assert!(rows.len() >= 10);
    for r in &rows {
        let id = flow_id(
            &r[0],
            &r[1],
            r[2].parse().unwrap(),
            &r[3],
            r[4].parse().unwrap(),
            r[5].parse().unwrap(),
        );
        assert_eq!(id, r[6], "row {r:?}");
    }
}

#[test]
fn anonymized_addresses_match_the_reference_package() {
    let rows = rows("anonymize.csv");
    assert!(rows.len() >= 10);
    for r in &rows {
        assert_eq!(anonymize_ip(&r[0], &r[1]), r[2], "row {r:?}");
    }
}

/// End to end: the flow_id column of a real run equals the reference's value
/// for the same conversation, whichever side speaks first, with and without
/// anonymization (flow_id always hashes the real addresses).
#[test]
fn flow_id_column_end_to_end() {
    let rows = rows("flow_id.csv");
    let r = rows
        .iter()
        .find(|r| r[0] == "research-project-2025" && r[5] == "6")
        .expect("a salted TCP row");
    let (ip1, p1, ip2, p2) = (&r[1], r[2].parse().unwrap(), &r[3], r[4].parse().unwrap());
    for reverse in [false, true] {
        for anonymize in [false, true] {
            let pkt = if reverse {
                Packet::tcp(ip2, p2, ip1, p1, 0x10, 10)
            } else {
                Packet::tcp(ip1, p1, ip2, p2, 0x10, 10)
            };
            let cap = pcap(1, &[(T0 + ns(0.5), pkt.frame(1))]);
            let cfg = Config {
                include_flow_id: true,
                anonymize_ips: anonymize,
                anonymization_salt: r[0].clone(),
                ..meta()
            };
            let (s, _) = run(&cap.path, cfg);
            assert_eq!(text(&s, 0, "flow_id"), r[6]);
            if anonymize {
                let src = if reverse { ip2 } else { ip1 };
                assert_eq!(text(&s, 0, "src_ip"), anonymize_ip(&r[0], src));
            }
        }
    }
}
