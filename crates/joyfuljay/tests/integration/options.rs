//! The document's configuration options and column set.

use crate::util::{int, meta, run, text};
use joyfuljay::features::flow_meta::anonymize_ip;
use joyfuljay::{Config, Pipeline};
use joyfuljay_testkit::capture;

/// The document's "Example Output", in order.
const DOCUMENT_ORDER: [&str; 30] = [
    "flow_id",
    "src_ip",
    "dst_ip",
    "src_port",
    "dst_port",
    "dst_port_class",
    "dst_port_class_num",
    "protocol",
    "start_time",
    "end_time",
    "duration",
    "total_packets",
    "packets_fwd",
    "packets_bwd",
    "total_bytes",
    "bytes_fwd",
    "bytes_bwd",
    "payload_bytes_fwd",
    "payload_bytes_bwd",
    "payload_bytes_total",
    "packets_ratio",
    "bytes_ratio",
    "packets_per_second",
    "bytes_per_second",
    "avg_packet_size",
    "time_first",
    "time_last",
    "flow_stat",
    "num_hdrs",
    "hdr_desc",
];

fn names(cfg: Config) -> Vec<&'static str> {
    Pipeline::new(cfg)
        .unwrap()
        .columns()
        .iter()
        .map(|c| c.name)
        .collect()
}

#[test]
fn columns_follow_the_documents_example_output() {
    let with_id = names(Config {
        include_flow_id: true,
        ..meta()
    });
    assert_eq!(with_id, DOCUMENT_ORDER);
    assert_eq!(names(meta()), DOCUMENT_ORDER[1..]);
}

#[test]
fn excluding_identifiers_for_ml() {
    let cols = names(Config {
        include_ip_addresses: false,
        include_ports: false,
        ..meta()
    });
    let expect: Vec<&str> = DOCUMENT_ORDER
        .iter()
        .copied()
        .filter(|c| {
            !matches!(
                *c,
                "flow_id"
                    | "src_ip"
                    | "dst_ip"
                    | "src_port"
                    | "dst_port"
                    | "dst_port_class"
                    | "dst_port_class_num"
            )
        })
        .collect();
    assert_eq!(cols, expect);
    assert_eq!(cols[0], "protocol");
    // Values still line up with the names.
    let (s, _) = run(
        &capture("http.cap"),
        Config {
            include_ip_addresses: false,
            include_ports: false,
            ..meta()
        },
    );
    assert_eq!(int(&s, 0, "protocol"), 6);
    assert!(s.rows.iter().all(|r| r.len() == cols.len()));
}

#[test]
fn anonymized_addresses_are_stable_salted_hashes() {
    let path = capture("http.cap");
    let (plain, _) = run(&path, meta());
    let anon = |salt: &str| {
        run(
            &path,
            Config {
                anonymize_ips: true,
                anonymization_salt: salt.into(),
                ..meta()
            },
        )
        .0
    };
    let a1 = anon("research-project-2025");
    let a2 = anon("research-project-2025");
    let b = anon("other-salt");
    assert_eq!(a1.rows, a2.rows);
    for r in 0..plain.rows.len() {
        for col in ["src_ip", "dst_ip"] {
            let v = text(&a1, r, col);
            assert_eq!(v.len(), 16);
            assert!(v
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
            assert_eq!(
                v,
                anonymize_ip("research-project-2025", &text(&plain, r, col))
            );
            assert_ne!(v, text(&b, r, col));
        }
    }
}

#[test]
fn flow_id_links_flows_across_captures() {
    let cfg = Config {
        include_flow_id: true,
        anonymization_salt: "consistent-salt".into(),
        ..meta()
    };
    let (a, _) = run(&capture("http.cap"), cfg.clone());
    let (b, _) = run(&capture("http.cap"), cfg.clone());
    let (c, _) = run(&capture("dns.cap"), cfg);
    let ids = |s: &joyfuljay::output::VecSink| -> Vec<String> {
        (0..s.rows.len()).map(|r| text(s, r, "flow_id")).collect()
    };
    assert_eq!(ids(&a), ids(&b));
    assert!(ids(&a).iter().all(|i| i.len() == 32));
    assert!(!ids(&a).iter().any(|i| ids(&c).contains(i)));
}

#[test]
fn all_selects_every_group_and_unknown_groups_are_named() {
    let all = names(Config {
        features: vec!["all".into()],
        ..Config::default()
    });
    assert!(all.starts_with(&DOCUMENT_ORDER[1..]));
    let e = Pipeline::new(Config {
        features: vec!["flow_meta".into(), "nope".into()],
        ..Config::default()
    })
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("'nope'") && e.contains("flow_meta"), "{e}");
}
