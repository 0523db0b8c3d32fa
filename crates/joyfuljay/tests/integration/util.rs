//! Shared helpers that need joyfuljay's types: synthetic captures, running
//! the pipeline, reading row values, collecting warnings. The other test
//! binaries (`sweep.rs`, `bounds.rs`, `properties.rs`) include this file
//! with `#[path]`. Helpers on plain types (paths, generators, CSV) are in
//! `joyfuljay-testkit`.

use joyfuljay::features::Value;
use joyfuljay::output::VecSink;
use joyfuljay::pipeline::{Observer, Quiet};
use joyfuljay::synth::{PcapNgWriter, PcapWriter};
use joyfuljay::{Config, Pipeline, Stats};
use std::path::{Path, PathBuf};

/// A pcap file in a temp dir holding `frames` (timestamp in ns, bytes).
pub struct TempCapture {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub fn pcap(link_type: u32, frames: &[(i64, Vec<u8>)]) -> TempCapture {
    pcap_with(
        link_type,
        false,
        false,
        frames.iter().map(|(t, f)| (*t, f.clone(), f.len() as u32)),
    )
}

pub fn pcap_with(
    link_type: u32,
    nanos: bool,
    big_endian: bool,
    frames: impl IntoIterator<Item = (i64, Vec<u8>, u32)>,
) -> TempCapture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.pcap");
    let f = std::fs::File::create(&path).unwrap();
    let mut w = PcapWriter::new(f, link_type, nanos, big_endian, 65535).unwrap();
    for (ts, data, orig) in frames {
        w.write(ts, &data, orig).unwrap();
    }
    TempCapture { _dir: dir, path }
}

/// A pcapng file: interfaces (link type, tsresol), then packets (interface, ts ns, bytes).
pub fn pcapng(ifaces: &[(u32, Option<u8>)], frames: &[(u32, i64, Vec<u8>)]) -> TempCapture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.pcapng");
    let f = std::fs::File::create(&path).unwrap();
    let mut w = PcapNgWriter::new(f).unwrap();
    for (lt, r) in ifaces {
        w.add_interface(*lt, *r).unwrap();
    }
    for (i, ts, data) in frames {
        w.write(*i, *ts, data, data.len() as u32).unwrap();
    }
    TempCapture { _dir: dir, path }
}

/// Rows of running `cfg` over `path`.
pub fn run(path: &Path, cfg: Config) -> (VecSink, Stats) {
    let p = Pipeline::new(cfg).unwrap();
    let mut sink = VecSink::default();
    let st = p.run(&[path.to_path_buf()], &mut sink, &mut Quiet).unwrap();
    (sink, st)
}

/// Collects warnings.
#[derive(Default)]
pub struct Warnings(pub Vec<String>);
impl Observer for Warnings {
    fn warning(&mut self, msg: &str) {
        self.0.push(msg.to_string());
    }
}

pub fn meta() -> Config {
    Config {
        features: vec!["flow_meta".into()],
        ..Config::default()
    }
}

/// Every 5-tuple one flow: no TCP close, a huge idle timeout.
pub fn unsplit() -> Config {
    Config {
        terminate_on_fin_rst: false,
        flow_timeout: 1e12,
        ..meta()
    }
}

pub fn int(s: &VecSink, row: usize, col: &str) -> i64 {
    match s.get(row, col) {
        Some(Value::Int(v)) => *v,
        other => panic!("{col} of row {row}: {other:?}"),
    }
}

pub fn float(s: &VecSink, row: usize, col: &str) -> f64 {
    match s.get(row, col) {
        Some(Value::Float(v)) => *v,
        other => panic!("{col} of row {row}: {other:?}"),
    }
}

pub fn text(s: &VecSink, row: usize, col: &str) -> String {
    match s.get(row, col) {
        Some(Value::Str(v)) => v.clone(),
        other => panic!("{col} of row {row}: {other:?}"),
    }
}

/// Seconds to nanoseconds.
pub fn ns(s: f64) -> i64 {
    (s * 1e9).round() as i64
}

pub const T0: i64 = 1_700_000_000_000_000_000;
