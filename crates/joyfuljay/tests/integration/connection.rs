//! The `connection` group: every column of every row recomputed here from
//! the flow rows of the same run (flow_meta's src_ip, dst_ip, dst_port,
//! total_packets, total_bytes, start_time, end_time), with BTreeMaps, on
//! every shared capture, on a generated capture with many hosts, across
//! two files, at several thread counts.

use crate::util::{float, int, pcap_writer, text};
use joyfuljay::capture::CaptureReader;
use joyfuljay::features::Value;
use joyfuljay::output::VecSink;
use joyfuljay::pipeline::{Observer, Progress, Quiet};
use joyfuljay::synth::traffic::{generate, Mix, TrafficSpec};
use joyfuljay::{Config, Pipeline};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn cfg() -> Config {
    Config {
        features: vec!["flow_meta".into(), "connection".into()],
        connection_include_temporal: true,
        ..Config::default()
    }
}

fn run(paths: &[PathBuf], cfg: Config, threads: usize) -> VecSink {
    let p = Pipeline::new(cfg).unwrap();
    let readers = paths
        .iter()
        .map(|p| CaptureReader::open(p).unwrap())
        .collect();
    let mut sink = VecSink::default();
    p.run_readers(readers, &mut sink, &mut Quiet, threads)
        .unwrap();
    sink
}

fn us(s: f64) -> i64 {
    (s * 1e6).round() as i64
}

/// Recompute every connection column from the flow columns and compare
/// every row exactly. Returns the number of rows compared.
fn check(s: &VecSink, what: &str) -> usize {
    let n = s.rows.len();
    #[derive(Default)]
    struct Host {
        out_flows: i64,
        in_flows: i64,
        out_packets: i64,
        out_bytes: i64,
        in_packets: i64,
        in_bytes: i64,
        dsts: BTreeSet<String>,
        srcs: BTreeSet<String>,
        ports: BTreeSet<i64>,
        starts: Vec<i64>,
        ends: Vec<i64>,
    }
    let mut hosts: BTreeMap<String, Host> = BTreeMap::new();
    let mut pairs: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut pair_ports: BTreeMap<(String, String, i64), i64> = BTreeMap::new();
    for r in 0..n {
        let (src, dst, port) = (
            text(s, r, "src_ip"),
            text(s, r, "dst_ip"),
            int(s, r, "dst_port"),
        );
        let (p, b) = (int(s, r, "total_packets"), int(s, r, "total_bytes"));
        let h = hosts.entry(src.clone()).or_default();
        h.out_flows += 1;
        h.out_packets += p;
        h.out_bytes += b;
        h.dsts.insert(dst.clone());
        h.ports.insert(port);
        h.starts.push(us(float(s, r, "start_time")));
        h.ends.push(us(float(s, r, "end_time")));
        let h = hosts.entry(dst.clone()).or_default();
        h.in_flows += 1;
        h.in_packets += p;
        h.in_bytes += b;
        h.srcs.insert(src.clone());
        *pairs.entry((src.clone(), dst.clone())).or_default() += 1;
        *pair_ports.entry((src, dst, port)).or_default() += 1;
    }
    for r in 0..n {
        let (src, dst, port) = (
            text(s, r, "src_ip"),
            text(s, r, "dst_ip"),
            int(s, r, "dst_port"),
        );
        let hs = &hosts[&src];
        let hd = &hosts[&dst];
        let spread_us = hs.ends.iter().max().unwrap() - hs.starts.iter().min().unwrap();
        let spread = spread_us as f64 / 1e6;
        // Naive burst: for every start, the starts within 1 s after it.
        let burst = hs
            .starts
            .iter()
            .map(|&t| {
                hs.starts
                    .iter()
                    .filter(|&&u| u >= t && u - t <= 1_000_000)
                    .count()
            })
            .max()
            .unwrap() as i64;
        let want = [
            ("conn_src_unique_dsts", Value::Int(hs.dsts.len() as i64)),
            ("conn_dst_unique_srcs", Value::Int(hd.srcs.len() as i64)),
            (
                "conn_src_dst_flows",
                Value::Int(pairs[&(src.clone(), dst.clone())]),
            ),
            (
                "conn_src_port_flows",
                Value::Int(pair_ports[&(src.clone(), dst.clone(), port)]),
            ),
            ("conn_src_total_flows", Value::Int(hs.out_flows)),
            ("conn_dst_total_flows", Value::Int(hd.in_flows)),
            ("conn_src_total_packets", Value::Int(hs.out_packets)),
            ("conn_src_total_bytes", Value::Int(hs.out_bytes)),
            ("conn_dst_total_packets", Value::Int(hd.in_packets)),
            ("conn_dst_total_bytes", Value::Int(hd.in_bytes)),
            ("conn_src_unique_ports", Value::Int(hs.ports.len() as i64)),
            (
                "conn_src_flow_rate",
                if spread_us > 0 {
                    Value::Float(hs.out_flows as f64 / spread)
                } else {
                    Value::Null
                },
            ),
            ("conn_temporal_spread", Value::Float(spread)),
            ("conn_burst_connections", Value::Int(burst)),
        ];
        for (col, v) in want {
            assert_eq!(
                s.get(r, col),
                Some(&v),
                "{what}: row {r} ({src} -> {dst}:{port}), {col}"
            );
        }
    }
    n
}

/// The shared captures that a plain run reads (every file of
/// testdata/captures with a pcap or pcapng magic number).
fn captures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/captures");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            !name.ends_with(".md") && CaptureReader::open(p).is_ok()
        })
        .collect();
    v.sort();
    v
}

fn generated(dir: &Path, name: &str, seed: u64) -> PathBuf {
    let path = dir.join(name);
    let mut w = pcap_writer(&path);
    let spec = TrafficSpec {
        packets: 40_000,
        concurrent: 300,
        mix: Mix::Dense,
        seed,
        ..TrafficSpec::default()
    };
    generate(&spec, &mut w).unwrap();
    drop(w);
    path
}

#[test]
fn every_shared_capture_matches_counts_from_its_rows() {
    let mut rows = 0;
    let caps = captures();
    assert!(caps.len() >= 20, "{caps:?}");
    for p in &caps {
        let s = run(std::slice::from_ref(p), cfg(), 1);
        rows += check(&s, &p.display().to_string());
    }
    assert!(rows > 500, "{rows} rows");
}

#[test]
fn many_hosts_two_files_and_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let a = generated(dir.path(), "a.pcap", 11);
    let b = generated(dir.path(), "b.pcap", 12);
    let one = run(std::slice::from_ref(&a), cfg(), 1);
    check(&one, "generated");
    let srcs: BTreeSet<String> = (0..one.rows.len())
        .map(|r| text(&one, r, "src_ip"))
        .collect();
    assert!(srcs.len() > 1000, "{} sources", srcs.len());
    assert!(
        (0..one.rows.len()).any(|r| int(&one, r, "conn_src_total_flows") > 1),
        "some source has several flows"
    );
    for t in [2, 3] {
        assert_eq!(
            run(std::slice::from_ref(&a), cfg(), t).rows,
            one.rows,
            "{t} threads"
        );
    }
    // Two files: the counts span both (each still its own flow space).
    let both = run(&[a.clone(), b.clone()], cfg(), 1);
    check(&both, "two generated files");
    for t in [2, 3] {
        assert_eq!(
            run(&[a.clone(), b.clone()], cfg(), t).rows,
            both.rows,
            "{t} threads"
        );
    }
    // The same file twice: every flow is there twice, every count doubles.
    let twice = run(&[a.clone(), a.clone()], cfg(), 2);
    assert_eq!(twice.rows.len(), 2 * one.rows.len());
    for r in 0..one.rows.len() {
        for col in [
            "conn_src_total_flows",
            "conn_dst_total_bytes",
            "conn_src_dst_flows",
        ] {
            assert_eq!(int(&twice, r, col), 2 * int(&one, r, col), "{col}");
        }
        assert_eq!(
            int(&twice, r, "conn_src_unique_dsts"),
            int(&one, r, "conn_src_unique_dsts")
        );
    }
}

#[test]
fn other_columns_are_unchanged_and_temporal_columns_are_gated() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/captures/http.cap");
    let plain = run(
        std::slice::from_ref(&p),
        Config {
            features: vec!["flow_meta".into()],
            ..Config::default()
        },
        1,
    );
    let with = run(
        std::slice::from_ref(&p),
        Config {
            connection_include_temporal: false,
            ..cfg()
        },
        1,
    );
    let k = plain.columns.len();
    assert_eq!(&with.columns[..k], &plain.columns[..]);
    assert_eq!(with.columns.len(), k + 11);
    assert!(!with.columns.contains(&"conn_burst_connections"));
    for (x, y) in plain.rows.iter().zip(&with.rows) {
        assert_eq!(&y[..k], &x[..]);
    }
    let e = Pipeline::new(Config {
        connection_community_algorithm: "girvan".into(),
        ..cfg()
    })
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("louvain") && e.contains("girvan"), "{e}");
}

#[test]
fn graph_metrics_are_gated_consistent_and_thread_independent() {
    // Values against NetworkX: tests/python/test_connection.py; here the
    // wiring: gating, column order, degrees = the Tier 1 counts, the
    // community flag, and the same rows at any thread count.
    let dir = tempfile::tempdir().unwrap();
    let a = generated(dir.path(), "a.pcap", 21);
    let plain = run(std::slice::from_ref(&a), cfg(), 1);
    for algo in ["louvain", "greedy", "label_propagation"] {
        let g = Config {
            connection_include_graph_metrics: true,
            connection_community_algorithm: algo.into(),
            ..cfg()
        };
        let one = run(std::slice::from_ref(&a), g.clone(), 1);
        let at = |name: &str| one.columns.iter().position(|c| *c == name).unwrap();
        assert_eq!(
            at("conn_src_out_degree"),
            at("conn_src_unique_ports") + 1,
            "Tier 2 follows Tier 1"
        );
        assert_eq!(at("conn_src_flow_rate"), at("conn_dst_clustering") + 1);
        assert_eq!(one.columns.len(), plain.columns.len() + 9);
        let mut communities = BTreeSet::new();
        for r in 0..one.rows.len() {
            assert_eq!(
                int(&one, r, "conn_src_out_degree"),
                int(&one, r, "conn_src_unique_dsts")
            );
            assert_eq!(
                int(&one, r, "conn_dst_in_degree"),
                int(&one, r, "conn_dst_unique_srcs")
            );
            let (cs, cd) = (
                int(&one, r, "conn_src_community"),
                int(&one, r, "conn_dst_community"),
            );
            communities.insert(cs);
            assert_eq!(
                one.rows[r][at("conn_same_community")],
                Value::Bool(cs == cd)
            );
            for c in [
                "conn_src_betweenness",
                "conn_dst_betweenness",
                "conn_src_clustering",
                "conn_dst_clustering",
            ] {
                let v = float(&one, r, c);
                assert!((0.0..=1.0).contains(&v), "{c} {v}");
            }
            // every other column as without the graph metrics
            for (k, name) in plain.columns.iter().enumerate() {
                assert_eq!(one.rows[r][at(name)], plain.rows[r][k], "{name}");
            }
        }
        assert!(communities.len() > 1, "{algo}: {communities:?}");
        for t in [2, 3] {
            assert_eq!(
                run(std::slice::from_ref(&a), g.clone(), t).rows,
                one.rows,
                "{algo}, {t} threads"
            );
        }
    }
}

/// Records the passes and the progress reports.
#[derive(Default)]
struct Passes(Vec<String>);

impl Observer for Passes {
    fn pass(&mut self, n: u32, of: u32) {
        self.0.push(format!("pass {n}/{of}"));
    }
    fn progress(&mut self, p: &Progress<'_>) {
        if self.0.last().is_some_and(|l| l.starts_with("pass")) {
            self.0.push(format!("progress {}", p.path.display()));
        }
    }
    fn warning(&mut self, msg: &str) {
        self.0.push(format!("warning {msg}"));
    }
}

#[test]
fn both_passes_are_reported_and_unreadable_twice_inputs_are_errors() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/captures/http.cap");
    let pipe = Pipeline::new(cfg()).unwrap();
    let mut obs = Passes::default();
    let mut sink = VecSink::default();
    let st = pipe
        .run_readers(
            vec![CaptureReader::open(&p).unwrap()],
            &mut sink,
            &mut obs,
            1,
        )
        .unwrap();
    let prog = format!("progress {}", p.display());
    assert_eq!(
        obs.0,
        ["pass 1/2", prog.as_str(), "pass 2/2", prog.as_str()]
    );
    // The counters are those of one pass.
    assert_eq!(st.files, 1);
    assert_eq!(st.flows as usize, sink.rows.len());
    // Bytes in memory cannot be read again: an error that says why.
    let bytes = std::fs::read(&p).unwrap();
    let r = CaptureReader::from_bytes(Path::new("mem"), bytes).unwrap();
    let e = pipe
        .run_readers(vec![r], &mut VecSink::default(), &mut Quiet, 1)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("mem") && e.contains("twice"), "{e}");
    // A compressed file is opened again (and decompressed twice).
    let gz = p.with_extension("cap.gz");
    let z = run(std::slice::from_ref(&gz), cfg(), 1);
    assert_eq!(z.rows, sink.rows);
    // Pipeline::process alone reads its file twice too.
    let mut one = VecSink::default();
    use joyfuljay::output::Sink;
    one.begin(pipe.columns()).unwrap();
    pipe.process(CaptureReader::open(&p).unwrap(), &mut one, &mut Quiet)
        .unwrap();
    assert_eq!(one.rows, sink.rows);
}
