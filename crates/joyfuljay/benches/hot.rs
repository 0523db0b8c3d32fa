//! Criterion benchmarks of the hot parts: capture reading, decoding, the
//! flow-table update alone, and the whole extraction path the product runs
//! (batched lookahead, group states, rows) with one group and with three,
//! on a generated capture held in memory. Each benchmark asserts its packet
//! or flow count, so a broken parser cannot look fast.
//!
//! `cargo bench -p joyfuljay --bench hot`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use joyfuljay::capture::CaptureReader;
use joyfuljay::decode::decode;
use joyfuljay::features::{Column, Value};
use joyfuljay::flow::{FlowTable, NoStates, TableConfig};
use joyfuljay::output::Sink;
use joyfuljay::pipeline::Quiet;
use joyfuljay::synth::traffic::{generate, Mix, TrafficSpec};
use joyfuljay::synth::PcapWriter;
use joyfuljay::{Config, Pipeline};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

const PACKETS: u64 = 200_000;

fn capture(mix: Mix, concurrent: usize) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), 1, false, false, 65535).unwrap();
    let spec = TrafficSpec {
        packets: PACKETS,
        concurrent,
        mix,
        ..TrafficSpec::default()
    };
    generate(&spec, &mut w).unwrap();
    w.into_inner()
}

/// The capture bytes, shared without copying between iterations.
#[derive(Clone)]
struct Shared(Arc<Vec<u8>>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A streaming reader (the path of stdin, pipes, compressed files).
fn reader(bytes: &Arc<Vec<u8>>) -> CaptureReader {
    let stream = std::io::Cursor::new(Shared(Arc::clone(bytes)));
    CaptureReader::from_reader(Path::new("bench.pcap"), Box::new(stream)).unwrap()
}

/// An in-place reader (bytes in memory; files go through a window).
fn in_place(bytes: &Arc<Vec<u8>>) -> CaptureReader {
    CaptureReader::from_bytes(Path::new("bench.pcap"), Shared(Arc::clone(bytes))).unwrap()
}

/// Packets read, touching each frame.
fn count(mut r: CaptureReader) -> u64 {
    let mut n = 0u64;
    r.for_each(
        |f| {
            n += f.data.len() as u64 & 1 | 1;
            true
        },
        || {},
    )
    .unwrap();
    n
}

/// Frames decoded once, for the table benchmark.
fn decoded(bytes: &Arc<Vec<u8>>) -> Vec<(i64, joyfuljay::decode::Decoded)> {
    let mut v = Vec::new();
    reader(bytes)
        .for_each(
            |f| {
                v.push((f.ts_us, decode(f.link_type, f.data, f.orig_len).unwrap()));
                true
            },
            || {},
        )
        .unwrap();
    v
}

/// A sink that counts rows and touches their values.
#[derive(Default)]
struct Counting {
    rows: u64,
    cells: u64,
}

impl Sink for Counting {
    fn begin(&mut self, _columns: &[&'static Column]) -> joyfuljay::Result<()> {
        Ok(())
    }
    fn row(&mut self, values: &[Value]) -> joyfuljay::Result<()> {
        self.rows += 1;
        self.cells += black_box(values).len() as u64;
        Ok(())
    }
    fn finish(&mut self) -> joyfuljay::Result<()> {
        Ok(())
    }
}

fn benches(c: &mut Criterion) {
    for (name, mix, flows) in [
        ("small_10k", Mix::Small, 10_000),
        ("default_1k", Mix::Default, 1_000),
        ("dense_20k", Mix::Dense, 20_000),
    ] {
        let bytes = Arc::new(capture(mix, flows));
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(PACKETS));
        g.sample_size(10);

        g.bench_function("read", |b| {
            b.iter(|| assert_eq!(count(reader(&bytes)), PACKETS))
        });
        g.bench_function("read_in_place", |b| {
            b.iter(|| assert_eq!(count(in_place(&bytes)), PACKETS))
        });

        g.bench_function("read_decode", |b| {
            b.iter(|| {
                let mut n = 0u64;
                reader(&bytes)
                    .for_each(
                        |f| {
                            if decode(f.link_type, f.data, f.orig_len).is_ok() {
                                n += 1;
                            }
                            true
                        },
                        || {},
                    )
                    .unwrap();
                assert_eq!(n, PACKETS);
            })
        });

        let pkts = decoded(&bytes);
        g.bench_function("flow_update", |b| {
            b.iter(|| {
                let mut t = FlowTable::new(
                    TableConfig {
                        idle_us: 60_000_000,
                        active_us: None,
                        tcp_close: true,
                        max_flows: 0,
                        evict_oldest: false,
                        memory_flows: 0,
                        memory_bytes: 0,
                        per_flow_bytes: 0,
                    },
                    NoStates,
                );
                let mut flows = 0u64;
                for (i, (ts, d)) in pkts.iter().enumerate() {
                    t.process(i as u64, *ts, black_box(d), &[]);
                    flows += t.finished().iter().map(|f| f.total_packets()).sum::<u64>();
                    t.clear_finished();
                }
                t.flush();
                flows += t.finished().iter().map(|f| f.total_packets()).sum::<u64>();
                assert_eq!(flows, PACKETS);
            })
        });

        // The product's path: reader, decode, batched lookahead, group
        // states, rows (into a sink that only counts them).
        for (bench, groups) in [
            ("extract_flow_meta", "flow_meta"),
            ("extract_flow_meta_timing_size", "flow_meta,timing,size"),
        ] {
            let p = Pipeline::new(Config {
                features: groups.split(',').map(String::from).collect(),
                ..Config::default()
            })
            .unwrap();
            let want = {
                let mut sink = Counting::default();
                p.process(in_place(&bytes), &mut sink, &mut Quiet).unwrap();
                sink.rows
            };
            g.bench_function(bench, |b| {
                b.iter(|| {
                    let mut sink = Counting::default();
                    let st = p.process(in_place(&bytes), &mut sink, &mut Quiet).unwrap();
                    assert_eq!(st.packets, PACKETS);
                    assert_eq!(sink.rows, want);
                })
            });
        }
        g.finish();
    }
}

criterion_group!(hot, benches);
criterion_main!(hot);
