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
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// A new Ethernet, microsecond, little-endian pcap file at `path`.
pub fn pcap_writer(path: &Path) -> PcapWriter<std::fs::File> {
    PcapWriter::new(std::fs::File::create(path).unwrap(), 1, false, false, 65535).unwrap()
}

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

/// A 5-tuple in the order of the tshark truth files
/// (`scripts/tshark_flows.py`): (ip_a, port_a) the smaller endpoint.
pub type FlowKey = (IpAddr, u16, IpAddr, u16, u8);

/// The truth files' endpoint order: IPv4 before IPv6, then the address as
/// an integer, then the port.
pub fn canon(a: (IpAddr, u16), b: (IpAddr, u16), proto: u8) -> FlowKey {
    let rank = |x: &(IpAddr, u16)| {
        let (fam, n) = match x.0 {
            IpAddr::V4(v) => (0u8, u128::from(u32::from(v))),
            IpAddr::V6(v) => (1u8, u128::from(v)),
        };
        (fam, n, x.1)
    };
    if rank(&a) <= rank(&b) {
        (a.0, a.1, b.0, b.1, proto)
    } else {
        (b.0, b.1, a.0, a.1, proto)
    }
}

/// The key of our row `r` (from `flow_meta`'s addresses, ports and protocol).
pub fn row_key(s: &VecSink, r: usize) -> FlowKey {
    canon(
        (
            text(s, r, "src_ip").parse().unwrap(),
            int(s, r, "src_port") as u16,
        ),
        (
            text(s, r, "dst_ip").parse().unwrap(),
            int(s, r, "dst_port") as u16,
        ),
        int(s, r, "protocol") as u8,
    )
}

/// The key of a truth-file row from its two endpoints' address and port
/// text and its protocol.
pub fn truth_key(ip_a: &str, port_a: &str, ip_b: &str, port_b: &str, proto: u8) -> FlowKey {
    canon(
        (ip_a.parse().unwrap(), port_a.parse().unwrap()),
        (ip_b.parse().unwrap(), port_b.parse().unwrap()),
        proto,
    )
}

/// Seconds to nanoseconds.
pub fn ns(s: f64) -> i64 {
    (s * 1e9).round() as i64
}

pub const T0: i64 = 1_700_000_000_000_000_000;

/// A cell as the payload groups' truth files write it (scripts/tshark_tls.py,
/// tshark_ssh.py, tshark_quic.py, tshark_dns.py): integers in decimal,
/// floats as Rust's shortest text (compared as numbers by the caller),
/// booleans `true`/`false`, lists as compact JSON arrays, null empty.
pub fn truth_cell(s: &VecSink, row: usize, col: &str) -> String {
    match s.get(row, col) {
        Some(Value::Int(v)) => v.to_string(),
        Some(Value::Float(v)) => v.to_string(),
        Some(Value::Str(v)) => v.clone(),
        Some(Value::Bool(v)) => v.to_string(),
        Some(Value::Null) => String::new(),
        Some(Value::IntList(l)) => serde_json::to_string(l).expect("a list of integers"),
        Some(Value::StrList(l)) => serde_json::to_string(l).expect("a list of texts"),
        other => panic!("{col} of row {row}: {other:?}"),
    }
}
