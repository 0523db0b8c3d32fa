//! The TCP header groups (`tcp_window`, `tcp_options`, `tcp_fingerprint`,
//! `tcp_mptcp`) against Wireshark, flow by flow, on every capture with TCP,
//! and their SYN-derived columns against the reference package.
//!
//! `testdata/expected/tshark-tcpopts/*.csv` were produced by
//! `scripts/tshark_tcp_options.py` from `tshark -T fields` output (never by
//! this crate); `testdata/reference/tcp_syn.csv` by
//! `scripts/reference_tcpopts.py` with joyfuljay 0.1.6.1. With TCP-close
//! splitting off and an infinite idle timeout every 5-tuple is one flow.

use crate::util::{int, row_key, run, text, truth_key, FlowKey};
use joyfuljay::features::Value;
use joyfuljay::output::VecSink;
use joyfuljay::Config;
use joyfuljay_testkit::{capture, expected_dir, reference_dir, Table};
use std::collections::HashMap;
use std::net::IpAddr;

/// Captures with TCP flows, all of which have a truth file.
const CAPTURES: &[&str] = &[
    "http.cap",
    "v6-http.cap",
    "vlan.cap",
    "mpls-basic.cap",
    "Obsolete_Packets.cap",
    "RawPacketIPv6Tunnel-UK6x.cap",
    "sample.pcap",
    "imap.cap",
    "tcp-ethereal-file1.trace",
    "http_PPI.cap",
    "tcp-options-edges.pcap",
    "tcp-impaired.pcap",
    "tcp-options.pcap",
    "mptcp.pcap",
];

fn cfg() -> Config {
    Config {
        features: [
            "flow_meta",
            "tcp_window",
            "tcp_options",
            "tcp_fingerprint",
            "tcp_mptcp",
        ]
        .map(String::from)
        .to_vec(),
        terminate_on_fin_rst: false,
        flow_timeout: 1e12,
        ..Config::default()
    }
}

/// An endpoint: address and port.
type End = (IpAddr, u16);

fn end(ip: &str, port: &str) -> End {
    (ip.parse().unwrap(), port.parse().unwrap())
}

/// The key of a TCP flow between two endpoints given as text.
fn key(a: [&str; 2], b: [&str; 2]) -> FlowKey {
    truth_key(a[0], a[1], b[0], b[1], 6)
}

/// Our rows of `name`'s TCP flows by 5-tuple, with the initiator.
struct Ours {
    sink: VecSink,
    rows: HashMap<FlowKey, (usize, End)>,
}

fn ours(name: &str) -> Ours {
    let (sink, _) = run(&capture(name), cfg());
    let mut rows = HashMap::new();
    for r in 0..sink.rows.len() {
        if cell(&sink, r, "protocol") != "6" {
            continue;
        }
        let init = (
            text(&sink, r, "src_ip").parse().unwrap(),
            int(&sink, r, "src_port") as u16,
        );
        assert!(
            rows.insert(row_key(&sink, r), (r, init)).is_none(),
            "{name}: 5-tuple twice"
        );
    }
    Ours { sink, rows }
}

/// A cell as the truth files write it: integers in decimal, booleans
/// `true`/`false`, null empty.
fn cell(s: &VecSink, row: usize, col: &str) -> String {
    match s.get(row, col) {
        Some(Value::Int(v)) => v.to_string(),
        Some(Value::Float(v)) => format!("{v:?}"),
        Some(Value::Str(v)) => v.clone(),
        Some(Value::Bool(v)) => v.to_string(),
        Some(Value::Null) => String::new(),
        other => panic!("{col} of row {row}: {other:?}"),
    }
}

fn same(col: &str, got: &str, want: &str) -> bool {
    if got == want {
        return true;
    }
    let is_float =
        col.ends_with("_mean") || col.ends_with("_ratio") || col.starts_with("tcp_uptime");
    match (got.parse::<f64>(), want.parse::<f64>()) {
        (Ok(g), Ok(w)) if is_float => (g - w).abs() <= 1e-9 * w.abs(),
        _ => false,
    }
}

/// The signature of an opening SYN from Wireshark's fields, written out
/// as docs/semantics.md#tcp_fingerprint states it.
fn naive_signature(ver: &str, ttl: &str, window: &str, mss: &str, ws: &str, kinds: &str) -> String {
    let ttl: u32 = ttl.parse().unwrap();
    let ittl = if ttl <= 64 {
        64
    } else if ttl <= 128 {
        128
    } else {
        255
    };
    let dash = |s: &str| {
        if s.is_empty() {
            "-".to_string()
        } else {
            s.to_string()
        }
    };
    let layout: Vec<String> = kinds
        .split('-')
        .filter(|k| !k.is_empty())
        .map(|k| {
            match k {
                "0" => "eol",
                "1" => "nop",
                "2" => "mss",
                "3" => "ws",
                "4" => "sok",
                "5" => "sack",
                "8" => "ts",
                "30" => "mptcp",
                other => return format!("?{other}"),
            }
            .to_string()
        })
        .collect();
    let layout = if layout.is_empty() {
        "-".to_string()
    } else if layout.len() > 16 {
        format!("{},+", layout[..16].join(","))
    } else {
        layout.join(",")
    };
    format!("{ver}:{ittl}:{window}:{}:{}:{layout}", dash(mss), dash(ws))
}

/// The reference package's OS hint rules, written out.
fn naive_hint(ttl: &str, window: &str) -> &'static str {
    let ttl: u32 = ttl.parse().unwrap();
    let w: u32 = window.parse().unwrap();
    match (ttl, w) {
        (0..=64, 29200 | 65535) => "linux",
        (0..=64, 5840) => "linux-old",
        (65..=128, 65535 | 8192) => "windows",
        (65..=128, 65520) => "windows-10",
        (129.., _) => "bsd",
        _ => "unknown",
    }
}

/// Compare every flow of `name` with Wireshark's; returns the number of
/// flows and of cells compared.
fn compare_with_wireshark(name: &str) -> (usize, usize) {
    let t = Table::read(&expected_dir().join(format!("tshark-tcpopts/{name}.csv")));
    let o = ours(name);
    let h = |c: &str| t.col(c);
    let mut cells = 0;
    for r in &t.rows {
        let k = key(
            [&r[h("ip_a")], &r[h("port_a")]],
            [&r[h("ip_b")], &r[h("port_b")]],
        );
        let &(row, init) = o
            .rows
            .get(&k)
            .unwrap_or_else(|| panic!("{name}: flow {r:?} missing"));
        assert_eq!(
            init,
            end(&r[h("init_ip")], &r[h("init_port")]),
            "{name}: initiator"
        );
        let flow = format!("{name} {}:{} - {}:{}", r[0], r[1], r[2], r[3]);
        for (i, col) in t.header.iter().enumerate() {
            if o.sink.get(row, col).is_none() || r[i] == "-" {
                continue;
            }
            let got = cell(&o.sink, row, col);
            assert!(
                same(col, &got, &r[i]),
                "{flow}: {col} = {got:?}, Wireshark {:?}",
                r[i]
            );
            cells += 1;
        }
        for d in ["fwd", "bwd"] {
            let f = |c: &str| r[h(&c.replace('D', d))].as_str();
            let (want_fp, want_hint) = if f("syn_D_ver").is_empty() {
                (String::new(), "")
            } else {
                (
                    naive_signature(
                        f("syn_D_ver"),
                        f("tcp_fp_D_ttl"),
                        f("tcp_fp_D_window"),
                        f("tcp_fp_D_mss"),
                        f("tcp_fp_D_ws"),
                        f("syn_D_kinds"),
                    ),
                    naive_hint(f("tcp_fp_D_ttl"), f("tcp_fp_D_window")),
                )
            };
            assert_eq!(
                cell(&o.sink, row, &format!("tcp_fp_{d}")),
                want_fp,
                "{flow}: tcp_fp_{d}"
            );
            assert_eq!(
                cell(&o.sink, row, &format!("tcp_os_hint_{d}")),
                want_hint,
                "{flow}"
            );
            let uptime = cell(&o.sink, row, &format!("tcp_uptime_{d}"));
            match f("tcp_ts_D_first") {
                "" => assert_eq!(uptime, "", "{flow}"),
                ts => {
                    let want = ts.parse::<f64>().unwrap() / 100.0 / 3600.0;
                    assert!(
                        same("tcp_uptime", &uptime, &format!("{want:?}")),
                        "{flow}: {uptime}"
                    );
                }
            }
            cells += 3;
        }
    }
    assert_eq!(
        o.rows.len(),
        t.rows.len(),
        "{name}: TCP flows that Wireshark does not have"
    );
    (t.rows.len(), cells)
}

#[test]
fn tcp_header_groups_match_wireshark_on_every_capture() {
    let (mut flows, mut cells) = (0, 0);
    for name in CAPTURES {
        let (f, c) = compare_with_wireshark(name);
        assert!(f > 0, "{name}");
        flows += f;
        cells += c;
    }
    eprintln!("Wireshark: {flows} flows, {cells} cells compared");
    // 376 TCP flows in these captures; about 70 cells each.
    assert_eq!(flows, 376);
    assert!(cells > 20_000, "{cells}");
}

/// Where the reference package (Scapy's option parser) and Wireshark part:
/// (capture, initiator port, column). Ours follows Wireshark.
const REFERENCE_DIFFERS: &[(&str, &str, &str)] = &[
    // A SACK-permitted option of length 0 ends Wireshark's option list (and
    // ours); Scapy reads the window scale option after it.
    ("tcp-options-edges.pcap", "40007", "tcp_fp_bwd_ws"),
    ("tcp-options-edges.pcap", "40007", "tcp_fp_bwd"),
];

/// The SYN-derived columns equal the reference package's on the first flow
/// of each 5-tuple (the reference ends a flow at the first FIN, so later
/// flows of a 5-tuple have no handshake). The reference writes 0 (or
/// "unknown", or "") where we write null. Its `tcp_fp_*` is
/// `t{window}_{mss}_{ws}_{hash}`: the three fields are compared, the hash
/// part (a truncated MD5 that also covers the observed TTL) is not
/// reproduced — our signature is documented instead.
#[test]
fn syn_columns_match_the_reference_package() {
    let t = Table::read(&reference_dir().join("tcp_syn.csv"));
    let mut by_capture: HashMap<String, Ours> = HashMap::new();
    let (mut compared, mut skipped) = (0, 0);
    for r in &t.rows {
        let name = &r[0];
        let o = by_capture.entry(name.clone()).or_insert_with(|| ours(name));
        let a = end(&r[1], &r[2]);
        let &(row, init) = o
            .rows
            .get(&key([&r[1], &r[2]], [&r[3], &r[4]]))
            .expect("flow");
        if init != a {
            // The reference's first flow of this 5-tuple started elsewhere
            // (its flows are cut at a FIN).
            skipped += 1;
            continue;
        }
        for (i, col) in t.header.iter().enumerate().skip(5) {
            if REFERENCE_DIFFERS.contains(&(name.as_str(), r[2].as_str(), col.as_str())) {
                continue;
            }
            let got = cell(&o.sink, row, col);
            let want = &r[i];
            let ok = if let Some(d) = col.strip_prefix("tcp_fp_").filter(|d| d.len() == 3) {
                // t{window}_{mss}_{ws}_{hash}: the fields, from our columns.
                let f = |c: &str| {
                    let v = cell(&o.sink, row, &format!("tcp_fp_{d}_{c}"));
                    if v.is_empty() {
                        "0".to_string()
                    } else {
                        v
                    }
                };
                let prefix = format!("t{}_{}_{}_", f("window"), f("mss"), f("ws"));
                (got.is_empty() && want.is_empty())
                    || (!got.is_empty() && want.starts_with(&prefix))
            } else if col.starts_with("tcp_os_hint") {
                got == *want || (got.is_empty() && want == "unknown")
            } else if col.starts_with("tcp_uptime") {
                same(col, &got, want) || (got.is_empty() && want == "0.0")
            } else {
                got == *want || (got.is_empty() && want == "0")
            };
            assert!(
                ok,
                "{name} {}:{}: {col} = {got:?}, reference {want:?}",
                r[1], r[2]
            );
            compared += 1;
        }
    }
    eprintln!("reference: {compared} cells compared, {skipped} flows skipped");
    assert!(compared > 3000, "{compared} compared, {skipped} skipped");
}
