//! Eviction strategies, packet sampling and the memory budget.

use crate::util::{int, meta, pcap, pcap_writer, run, text, unsplit};
use joyfuljay::capture::CaptureReader;
use joyfuljay::error::SkipReason;
use joyfuljay::output::VecSink;
use joyfuljay::pipeline::Quiet;
use joyfuljay::synth::traffic::flood;
use joyfuljay::synth::Packet;
use joyfuljay::{Config, Pipeline};
use std::collections::BTreeSet;
use std::path::Path;

const T0: i64 = 1_600_000_000_000_000_000;

fn at(t: f64, p: Packet) -> (i64, Vec<u8>) {
    (T0 + (t * 1e9) as i64, p.frame(1))
}

fn udp(last: u8, port: u16) -> Packet {
    Packet::udp(&format!("10.0.0.{last}"), port, "10.0.0.99", 53, 0)
}

fn run_threads(path: &Path, cfg: Config, threads: usize) -> (VecSink, joyfuljay::Stats) {
    let p = Pipeline::new(cfg).unwrap();
    let mut sink = VecSink::default();
    let st = p
        .run_readers(
            vec![CaptureReader::open(path).unwrap()],
            &mut sink,
            &mut Quiet,
            threads,
        )
        .unwrap();
    (sink, st)
}

/// a starts, b starts, a is active again, c starts with room for two:
/// "lru" ends b (its latest packet is the oldest), "oldest" ends a (it
/// started first) — then d comes, and each strategy picks again.
#[test]
fn lru_and_oldest_evict_different_flows() {
    let cap = pcap(
        1,
        &[
            at(0.0, udp(1, 1)),
            at(0.1, udp(2, 2)),
            at(0.2, udp(1, 1)),
            at(0.3, udp(3, 3)),
            at(0.4, udp(1, 1)),
            at(0.5, udp(4, 4)),
        ],
    );
    let order = |strategy: &str| -> Vec<(String, i64, i64)> {
        let cfg = Config {
            max_concurrent_flows: 2,
            flow_eviction_strategy: strategy.to_string(),
            ..meta()
        };
        let (s, st) = run(&cap.path, cfg);
        assert_eq!(st.peak_active_flows, 2, "{strategy}");
        (0..s.rows.len())
            .map(|r| {
                (
                    text(&s, r, "src_ip"),
                    int(&s, r, "total_packets"),
                    int(&s, r, "flow_stat"),
                )
            })
            .collect()
    };
    let ip = |n: u8| format!("10.0.0.{n}");
    // lru: c evicts b (last seen 0.1 < a's 0.2); d evicts c (0.3 < a's 0.4);
    // a and d are flushed at the end, in start order.
    assert_eq!(
        order("lru"),
        vec![
            (ip(2), 1, 0x20),
            (ip(3), 1, 0x20),
            (ip(1), 3, 0),
            (ip(4), 1, 0)
        ]
    );
    // oldest: c evicts a (started 0.0 < b's 0.1); a's packet at 0.4 starts
    // a new flow a' evicting b; d evicts c (started 0.3 < a' at 0.4).
    assert_eq!(
        order("oldest"),
        vec![
            (ip(1), 2, 0x20),
            (ip(2), 1, 0x20),
            (ip(3), 1, 0x20),
            (ip(1), 1, 0),
            (ip(4), 1, 0)
        ]
    );
}

/// Oldest eviction over many flows ends them in start order, however
/// recently they were active, and never scans: a flood with a limit.
#[test]
fn oldest_eviction_follows_start_order() {
    // 200 flows; each new flow also refreshes the flow 3 before it.
    let mut frames = Vec::new();
    let mut t = 0.0;
    for i in 0..200u16 {
        frames.push(at(t, udp(1, 1000 + i)));
        t += 0.001;
        if i >= 3 {
            frames.push(at(t, udp(1, 1000 + i - 3)));
            t += 0.001;
        }
    }
    let cap = pcap(1, &frames);
    let cfg = Config {
        max_concurrent_flows: 10,
        flow_eviction_strategy: "oldest".into(),
        ..unsplit()
    };
    let (s, _) = run(&cap.path, cfg);
    let evicted: Vec<i64> = (0..s.rows.len())
        .filter(|&r| int(&s, r, "flow_stat") == 0x20)
        .map(|r| int(&s, r, "src_port"))
        .collect();
    // Every evicted flow started before every later-evicted one.
    assert!(evicted.len() > 150, "{}", evicted.len());
    // A flow refreshed after its eviction starts again, so ports repeat;
    // the first evictions are the first flows, in order.
    assert_eq!(&evicted[..5], &[1000, 1001, 1002, 1003, 1004]);
}

/// The sampling rule, written out independently of the crate: SplitMix64's
/// finalizer of (index XOR "JJSAMPLE"), kept when below rate · 2⁶⁴.
fn kept_by_rule(index: u64, rate: f64) -> bool {
    let mut z = index ^ u64::from_be_bytes(*b"JJSAMPLE");
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
    z ^= z >> 31;
    (z as f64) < rate * 2f64.powi(64)
}

#[test]
fn sampling_keeps_the_packets_the_rule_says_on_any_thread_count() {
    // 20 000 one-packet flows: packet i has source port 1024 + i.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one.pcap");
    let n = 20_000u64;
    {
        let mut w = pcap_writer(&path);
        for i in 0..n {
            let f = Packet::udp("10.1.0.1", 1024 + i as u16, "10.1.0.2", 53, 4).frame(1);
            w.write(T0 + i as i64 * 1000, &f, f.len() as u32).unwrap();
        }
    }
    for rate in [0.1, 0.5, 0.9] {
        let want: BTreeSet<i64> = (0..n)
            .filter(|&i| kept_by_rule(i, rate))
            .map(|i| 1024 + i as i64)
            .collect();
        // Roughly the rate (binomial: 6 sigma is under 0.022 · n).
        let share = want.len() as f64 / n as f64;
        assert!((share - rate).abs() < 0.022, "{rate}: {share}");
        let cfg = Config {
            sampling_rate: Some(rate),
            ..unsplit()
        };
        let (one, st1) = run_threads(&path, cfg.clone(), 1);
        let got: BTreeSet<i64> = (0..one.rows.len())
            .map(|r| int(&one, r, "src_port"))
            .collect();
        assert_eq!(got, want, "rate {rate}");
        assert_eq!(st1.packets, n);
        assert_eq!(st1.decoded, want.len() as u64);
        assert_eq!(
            st1.skipped[SkipReason::SampledOut as usize],
            n - want.len() as u64
        );
        for t in [2, 3] {
            let (many, st) = run_threads(&path, cfg.clone(), t);
            assert_eq!(one.rows, many.rows, "rate {rate}, {t} threads");
            assert_eq!(st1, st, "rate {rate}, {t} threads");
        }
    }
    // Rate 1 keeps everything.
    let (all, st) = run_threads(
        &path,
        Config {
            sampling_rate: Some(1.0),
            ..unsplit()
        },
        1,
    );
    assert_eq!(all.rows.len() as u64, n);
    assert_eq!(st.skipped_total(), 0);
}

/// A flood of one-packet flows under a small budget: the table never holds
/// more flows than the budget allows, every flow still has its row, and
/// the evictions are counted.
#[test]
fn memory_budget_caps_the_table_and_keeps_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flood.pcap");
    let n = 100_000u64;
    {
        let mut w = pcap_writer(&path);
        flood(n, 1.0, &mut w).unwrap();
    }
    let cfg = Config {
        features: vec!["all".into()],
        max_memory: Some(8 << 20),
        ..Config::default()
    };
    let p = Pipeline::new(cfg.clone()).unwrap();
    let (per_flow, cap) = p.flow_cost_and_cap(1);
    // 8 MiB less a 2 MiB reserve, over the per-flow cost.
    assert_eq!(cap, (6 << 20) / per_flow);
    assert!(cap < n as usize / 4, "cap {cap}");
    let (s, st) = run_threads(&path, cfg.clone(), 1);
    assert_eq!(s.rows.len() as u64, n);
    assert_eq!(st.peak_active_flows, cap as u64);
    assert_eq!(st.evicted_for_memory, n - cap as u64);
    let evicted = (0..s.rows.len())
        .filter(|&r| int(&s, r, "flow_stat") == 0x20)
        .count() as u64;
    assert_eq!(evicted, st.evicted_for_memory);
    // The least recently active go first: the first rows are the first flows.
    assert_eq!(int(&s, 0, "src_port"), 1024);
    assert_eq!(int(&s, 1, "src_port"), 1025);
    // Two threads (reader + table, one table) give the same rows.
    let (two, st2) = run_threads(&path, cfg, 2);
    assert_eq!(s.rows, two.rows);
    assert_eq!(st, st2);
    // Without a binding budget nothing is evicted.
    let (s, st) = run_threads(
        &path,
        Config {
            max_memory: Some(4 << 30),
            ..meta()
        },
        1,
    );
    assert_eq!(s.rows.len() as u64, n);
    assert_eq!(st.evicted_for_memory, 0);
    assert_eq!(st.peak_active_flows, n);
}

/// The reckoned cost of one flow, per group alone (printed; `--nocapture`).
#[test]
fn per_flow_costs() {
    let base = Pipeline::new(meta()).unwrap().flow_cost_and_cap(1).0;
    eprintln!("flow_meta (the table alone): {base} B");
    for g in joyfuljay::features::GROUPS {
        let cfg = Config {
            features: vec!["flow_meta".into(), g.id.into()],
            ..Config::default()
        };
        let c = Pipeline::new(cfg).unwrap().flow_cost_and_cap(1).0;
        eprintln!("+ {}: {} B", g.id, c - base);
        assert!(c >= base);
    }
    let all = Pipeline::new(Config::default())
        .unwrap()
        .flow_cost_and_cap(1)
        .0;
    eprintln!("all: {all} B");
}

/// Stream-start buffers are counted as they grow: TCP flows carrying
/// payload are evicted once their buffers fill the budget, before the
/// fixed-cost cap is reached; every packet still lands in a row.
#[test]
fn stream_bytes_count_against_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tcp.pcap");
    let n = 20_000u64;
    {
        let mut w = pcap_writer(&path);
        for i in 0..n {
            let src = format!("10.2.{}.{}", i / 250, i % 250 + 1);
            let f = Packet::tcp(&src, 40000, "10.9.0.1", 53, 0x18, 1400).frame(1);
            w.write(T0 + i as i64 * 1000, &f, f.len() as u32).unwrap();
        }
    }
    let cfg = Config {
        features: vec!["flow_meta".into(), "dns".into()],
        max_memory: Some(40 << 20),
        ..unsplit()
    };
    let p = Pipeline::new(cfg.clone()).unwrap();
    let (per_flow, cap) = p.flow_cost_and_cap(1);
    let share = p.table_share(1);
    // The fixed cost alone would hold every flow; with 1400 stream bytes
    // each they do not fit.
    assert!(cap as u64 > n, "cap {cap}");
    assert!(n as usize * (per_flow + 1400) > share);
    let (s, st) = run_threads(&path, cfg.clone(), 1);
    assert_eq!(s.rows.len() as u64, n);
    assert!(st.evicted_for_memory > 0);
    assert!(st.peak_active_flows < n);
    // Held flows × (fixed cost + their stream bytes) stayed within the share.
    assert!(st.peak_active_flows as usize * (per_flow + 1400) <= share + per_flow + 2048);
    let (two, st2) = run_threads(&path, cfg, 2);
    assert_eq!(s.rows, two.rows);
    assert_eq!(st, st2);
}
