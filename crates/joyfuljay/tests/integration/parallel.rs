//! Any number of threads gives the output of one thread.

use crate::util::{meta, pcap_writer};
use joyfuljay::capture::CaptureReader;
use joyfuljay::output::{Format, VecSink};
use joyfuljay::pipeline::Quiet;
use joyfuljay::synth::traffic::{generate, TrafficSpec};
use joyfuljay::{Config, Pipeline};
use joyfuljay_testkit::capture;
use std::path::PathBuf;

fn run(paths: &[PathBuf], cfg: Config, threads: usize) -> (VecSink, joyfuljay::Stats) {
    let p = Pipeline::new(cfg).unwrap();
    let readers = paths
        .iter()
        .map(|p| CaptureReader::open(p).unwrap())
        .collect();
    let mut sink = VecSink::default();
    let st = p
        .run_readers(readers, &mut sink, &mut Quiet, threads)
        .unwrap();
    (sink, st)
}

#[test]
fn one_file_on_one_two_and_four_threads() {
    // A generated capture bigger than several packet batches.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gen.pcap");
    let mut w = pcap_writer(&path);
    let spec = TrafficSpec {
        packets: 60_000,
        concurrent: 500,
        ..TrafficSpec::default()
    };
    generate(&spec, &mut w).unwrap();
    drop(w);
    for cfg in [
        meta(),
        Config {
            features: vec!["all".into()],
            flow_timeout: 0.05,
            ..Config::default()
        },
        Config {
            active_timeout: Some(0.02),
            terminate_on_fin_rst: false,
            ..meta()
        },
        // A global flow limit: the two-thread split instead of shards.
        Config {
            max_concurrent_flows: 300,
            ..meta()
        },
    ] {
        let (one, st1) = run(std::slice::from_ref(&path), cfg.clone(), 1);
        assert!(one.rows.len() > 1000);
        for t in [2, 3, 4, 7] {
            let (many, st) = run(std::slice::from_ref(&path), cfg.clone(), t);
            assert_eq!(one.rows, many.rows, "{t} threads, {cfg:?}");
            // Every counter, the peak of flows held at once included (the
            // shards' start and end moments merged), means the same.
            assert_eq!(st1, st, "{t} threads, {cfg:?}");
        }
    }
}

#[test]
fn several_files_on_one_two_and_four_threads() {
    let names = [
        "http.cap",
        "Obsolete_Packets.cap",
        "dns.cap",
        "vlan.cap",
        "v6-http.cap",
        "teardrop.cap",
        "pim-reg.cap",
    ];
    let paths: Vec<PathBuf> = names.iter().map(|n| capture(n)).collect();
    let (one, st1) = run(&paths, meta(), 1);
    for t in [2, 4] {
        let (many, st) = run(&paths, meta(), t);
        assert_eq!(one.rows, many.rows, "{t} threads");
        assert_eq!(st1, st);
    }
}

/// The text formats' bytes at `threads` threads (rows formatted on the
/// worker threads through the sink's row formatter), and the same rows
/// written value by value through `Sink::row` on this thread.
fn text_run(paths: &[PathBuf], cfg: &Config, format: Format, threads: usize) -> (Vec<u8>, Vec<u8>) {
    let p = Pipeline::new(cfg.clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let readers = |paths: &[PathBuf]| {
        paths
            .iter()
            .map(|p| CaptureReader::open(p).unwrap())
            .collect::<Vec<_>>()
    };
    let mut sink = format.sink(std::fs::File::create(&out).unwrap(), "out");
    p.run_readers(readers(paths), sink.as_mut(), &mut Quiet, threads)
        .unwrap();
    drop(sink);
    let text = std::fs::read(&out).unwrap();
    // The same rows as values, through `row`.
    let (rows, _) = run(paths, cfg.clone(), 1);
    let mut sink = format.sink(std::fs::File::create(&out).unwrap(), "out");
    sink.begin(p.columns()).unwrap();
    for r in &rows.rows {
        sink.row(r).unwrap();
    }
    sink.finish().unwrap();
    drop(sink);
    (text, std::fs::read(&out).unwrap())
}

#[test]
fn text_outputs_are_byte_identical_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gen.pcap");
    let mut w = pcap_writer(&path);
    let spec = TrafficSpec {
        packets: 40_000,
        concurrent: 400,
        ..TrafficSpec::default()
    };
    generate(&spec, &mut w).unwrap();
    drop(w);
    let files: Vec<PathBuf> = ["http.cap", "dns.cap", "v6-http.cap", "tls-handshakes.pcap"]
        .iter()
        .map(|n| capture(n))
        .collect();
    // Every group: lists, texts, nulls and floats in the rows.
    let all = Config {
        features: vec!["all".into()],
        flow_timeout: 0.05,
        ..Config::default()
    };
    for (inputs, cfg) in [
        (vec![path.clone()], all.clone()),
        (vec![path.clone()], meta()),
        (files.clone(), all.clone()),
    ] {
        for format in [Format::Csv, Format::Json, Format::Jsonl] {
            let (one, by_value) = text_run(&inputs, &cfg, format, 1);
            assert_eq!(one, by_value, "{format:?}: cells and values differ");
            assert!(one.len() > 1000);
            for t in [2, 3, 4] {
                let (many, _) = text_run(&inputs, &cfg, format, t);
                assert!(
                    one == many,
                    "{format:?}, {t} threads, {} inputs: {} vs {} bytes",
                    inputs.len(),
                    one.len(),
                    many.len()
                );
            }
        }
    }
}

/// Flow-dense traffic with most flows still open at the end of input: on
/// two threads their rows are formatted on both threads in alternate chunks
/// (`Ended::Shared` in parallel.rs) and read in first-packet order through
/// their positions (`FlowTable::flush_ordered`). The bytes must be those of
/// one thread and of the rows written value by value; the rows must come in
/// first-packet order (checked on the start times, which the generator
/// makes increase with the first packet).
/// The byte comparisons also run with TCP close on (rows ended early
/// first).
#[test]
fn flows_open_at_the_end_are_written_alike_on_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dense.pcap");
    let mut w = pcap_writer(&path);
    let spec = TrafficSpec {
        packets: 60_000,
        concurrent: 20_000,
        mix: joyfuljay::synth::traffic::Mix::Dense,
        ..TrafficSpec::default()
    };
    generate(&spec, &mut w).unwrap();
    drop(w);
    // No TCP close: every flow ends at the end of input (the capture
    // lasts well under the idle timeout), so rows follow first packets.
    let stateful = Config {
        features: vec!["flow_meta".into(), "timing".into(), "size".into()],
        terminate_on_fin_rst: false,
        ..Config::default()
    };
    let plain = Config {
        terminate_on_fin_rst: false,
        ..meta()
    };
    for cfg in [plain, stateful] {
        let (rows, stats) = run(std::slice::from_ref(&path), cfg.clone(), 1);
        // Far more open flows than two chunks of 4096 rows.
        assert!(stats.flows > 3 * 4096, "{} flows", stats.flows);
        let starts: Vec<f64> = rows
            .rows
            .iter()
            .map(|r| match r[7] {
                joyfuljay::features::Value::Float(x) => x,
                ref v => panic!("start_time {v:?}"),
            })
            .collect();
        assert!(starts.windows(2).all(|w| w[0] <= w[1]), "rows out of order");
        for format in [Format::Csv, Format::Jsonl] {
            let (one, by_value) = text_run(std::slice::from_ref(&path), &cfg, format, 1);
            assert_eq!(one, by_value, "{format:?}: cells and values differ");
            let (two, _) = text_run(std::slice::from_ref(&path), &cfg, format, 2);
            assert!(
                one == two,
                "{format:?}: {} vs {} bytes",
                one.len(),
                two.len()
            );
        }
        let closing = Config {
            terminate_on_fin_rst: true,
            ..cfg
        };
        let (one, by_value) = text_run(std::slice::from_ref(&path), &closing, Format::Csv, 1);
        assert_eq!(one, by_value);
        let (two, _) = text_run(std::slice::from_ref(&path), &closing, Format::Csv, 2);
        assert!(
            one == two,
            "TCP close: {} vs {} bytes",
            one.len(),
            two.len()
        );
    }
}
