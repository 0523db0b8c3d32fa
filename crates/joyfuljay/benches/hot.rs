//! Criterion benchmarks of the hot parts: capture reading, decoding and the
//! flow-table update, on a generated capture held in memory. Each benchmark
//! asserts its packet count, so a broken parser cannot look fast.
//!
//! `cargo bench -p joyfuljay --bench hot`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use joyfuljay::capture::CaptureReader;
use joyfuljay::decode::decode;
use joyfuljay::flow::{FlowTable, TableConfig};
use joyfuljay::synth::traffic::{generate, Mix, TrafficSpec};
use joyfuljay::synth::PcapWriter;
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

/// An in-place reader (the path of a memory-mapped file).
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

fn benches(c: &mut Criterion) {
    for (name, mix, flows) in [
        ("small_10k", Mix::Small, 10_000),
        ("default_1k", Mix::Default, 1_000),
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
                    },
                    Box::new(Vec::new),
                );
                let mut flows = 0u64;
                for (i, (ts, d)) in pkts.iter().enumerate() {
                    t.process(i as u64, *ts, black_box(d));
                    flows += t
                        .finished()
                        .drain(..)
                        .map(|f| f.total_packets())
                        .sum::<u64>();
                }
                t.flush();
                flows += t
                    .finished()
                    .drain(..)
                    .map(|f| f.total_packets())
                    .sum::<u64>();
                assert_eq!(flows, PACKETS);
            })
        });
        g.finish();
    }
}

criterion_group!(hot, benches);
criterion_main!(hot);
