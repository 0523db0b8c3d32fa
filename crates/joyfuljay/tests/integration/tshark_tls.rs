//! The `tls` group against Wireshark, flow by flow, on every capture with
//! TCP: every column the truth files hold, cell by cell.
//!
//! `testdata/expected/tshark-tls/*.csv` were produced by
//! `scripts/tshark_tls.py` from `tshark -T fields` output (certificate
//! names and dates by `openssl x509`; JA4/JA4S computed in that script from
//! Wireshark's fields), never by this crate. With TCP-close splitting off
//! and an infinite idle timeout every 5-tuple is one flow.

use crate::util::{int, row_key, run, text, truth_cell, truth_key, unsplit, FlowKey};
use joyfuljay::features::Value;
use joyfuljay::Config;
use joyfuljay_testkit::{capture, expected_dir, Table};
use std::collections::HashMap;

/// Captures with TCP flows, each with a truth file.
const CAPTURES: &[&str] = &[
    "tls-handshakes.pcap",
    "http.cap",
    "v6-http.cap",
    "vlan.cap",
    "mpls-basic.cap",
    "Obsolete_Packets.cap",
    "sample.pcap",
    "imap.cap",
    "tcp-ethereal-file1.trace",
    "http_PPI.cap",
    "tcp-impaired.pcap",
    "tcp-options.pcap",
    "mptcp.pcap",
];

fn cfg() -> Config {
    Config {
        features: vec!["flow_meta".into(), "tls".into()],
        ..unsplit()
    }
}

/// Compare every flow of `name`; returns (flows, flows with a hello, cells).
fn compare(name: &str) -> (usize, usize, usize) {
    let t = Table::read(&expected_dir().join(format!("tshark-tls/{name}.csv")));
    let (sink, _) = run(&capture(name), cfg());
    let mut ours: HashMap<FlowKey, usize> = HashMap::new();
    for r in 0..sink.rows.len() {
        if int(&sink, r, "protocol") == 6 {
            assert!(ours.insert(row_key(&sink, r), r).is_none());
        }
    }
    let h = |c: &str| t.col(c);
    let (mut cells, mut hellos) = (0, 0);
    for r in &t.rows {
        let k = truth_key(
            &r[h("src_ip")],
            &r[h("src_port")],
            &r[h("dst_ip")],
            &r[h("dst_port")],
            6,
        );
        let &row = ours
            .get(&k)
            .unwrap_or_else(|| panic!("{name}: flow {:?} missing", &r[..4]));
        // Same initiator as Wireshark's first frame.
        assert_eq!(text(&sink, row, "src_ip"), r[h("src_ip")], "{name}");
        let flow = format!("{name} {}:{} -> {}:{}", r[0], r[1], r[2], r[3]);
        for (i, col) in t.header.iter().enumerate().skip(4) {
            assert_eq!(truth_cell(&sink, row, col), r[i], "{flow}: {col}");
            cells += 1;
        }
        if r[h("tls_detected")] == "true" {
            hellos += 1;
        }
    }
    (t.rows.len(), hellos, cells)
}

#[test]
fn tls_columns_equal_wiresharks_on_every_flow() {
    let mut total = (0, 0, 0);
    for name in CAPTURES {
        let (f, hl, c) = compare(name);
        total = (total.0 + f, total.1 + hl, total.2 + c);
    }
    // The recorded handshakes: 12 TLS connections and one plain one.
    let (f, hl, _) = compare("tls-handshakes.pcap");
    assert_eq!((f, hl), (13, 12));
    assert!(total.0 > 350 && total.2 > 10_000, "{total:?}");
}

/// What the recording script set up, read back: certificate names and
/// validity periods, the resumed session, the HelloRetryRequest.
#[test]
fn recorded_handshakes_show_what_was_set_up() {
    let (s, _) = run(&capture("tls-handshakes.pcap"), cfg());
    let by_sni = |sni: &str| {
        (0..s.rows.len())
            .filter(|&r| s.get(r, "sni") == Some(&Value::Str(sni.into())))
            .collect::<Vec<_>>()
    };
    // tls12.jj.test: full ECDHE handshake, then the same session resumed.
    let t12 = by_sni("tls12.jj.test");
    assert_eq!(t12.len(), 3);
    let resumed: Vec<bool> = t12
        .iter()
        .map(|&r| s.get(r, "tls_session_resumed") == Some(&Value::Bool(true)))
        .collect();
    assert_eq!(resumed, [false, false, true]);
    let full = t12[0];
    assert_eq!(text(&s, full, "tls_cert_subject"), "server.jj.test");
    assert_eq!(text(&s, full, "tls_cert_issuer"), "jj-test-ca");
    assert_eq!(int(&s, full, "tls_cert_validity_days"), 90);
    assert_eq!(int(&s, full, "tls_cert_count"), 2);
    assert_eq!(
        text(&s, full, "tls_cipher_suite_name"),
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    );
    assert_eq!(text(&s, full, "tls_server_alpn"), "h2");
    let own = by_sni("self.jj.test")[0];
    assert_eq!(
        s.get(own, "tls_cert_is_self_signed"),
        Some(&Value::Bool(true))
    );
    assert_eq!(int(&s, own, "tls_cert_validity_days"), 30);
    let t13 = by_sni("tls13.jj.test")[0];
    assert_eq!(text(&s, t13, "tls_version_str"), "TLS 1.3");
    assert_eq!(s.get(t13, "tls_cert_subject"), Some(&Value::Null));
    assert_eq!(text(&s, t13, "tls_key_exchange_group_name"), "x25519");
    // The HelloRetryRequest connection: the first ClientHello offered a
    // key share for X25519 only; its JA4 counts its 4 ciphers.
    let hrr = by_sni("hrr.jj.test")[0];
    assert!(text(&s, hrr, "ja4").starts_with("t13d04"));
}
