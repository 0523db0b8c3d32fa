//! Feature extractors and the column registry.
//!
//! Every column is described once, in its extractor's `COLUMNS` table: name,
//! type, unit and meaning. The CSV header, JSON output, `jj features`, the
//! generated docs and the Python side all read that description.
//!
//! Adding a group means one file with a [`ExtractorDef`] and one line in
//! [`EXTRACTORS`].

pub mod flow_meta;
pub mod size;
pub mod timing;

use crate::config::Config;
use crate::flow::{Direction, Flow};
use std::any::Any;

/// The type of a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// 64-bit signed integer.
    Int,
    /// 64-bit float.
    Float,
    /// Text.
    Str,
    /// List of integers.
    IntList,
    /// List of floats.
    FloatList,
    /// List of (length, inter-arrival time) pairs.
    PairList,
}

impl ColumnType {
    /// The name used in docs and `jj features` (`int`, `float`, `str`, `list[int]`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Int => "int",
            ColumnType::Float => "float",
            ColumnType::Str => "str",
            ColumnType::IntList => "list[int]",
            ColumnType::FloatList => "list[float]",
            ColumnType::PairList => "list[(int, float)]",
        }
    }
}

/// When a column is present in the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Always, when its group is selected.
    Always,
    /// Only with `include_flow_id`.
    FlowId,
    /// Only with `include_ip_addresses`.
    IpAddresses,
    /// Only with `include_ports`.
    Ports,
    /// Only with `bidirectional_split`.
    BidirectionalSplit,
    /// Only with `include_raw_sequences` (the per-direction sequence columns
    /// too: `EXTRACTORS.md` gates them on that option alone).
    RawSequences,
    /// Only with `include_splt`.
    Splt,
}

impl Gate {
    /// Whether the column is present under `cfg`.
    pub fn enabled(self, cfg: &Config) -> bool {
        match self {
            Gate::Always => true,
            Gate::FlowId => cfg.include_flow_id,
            Gate::IpAddresses => cfg.include_ip_addresses,
            Gate::Ports => cfg.include_ports,
            Gate::BidirectionalSplit => cfg.bidirectional_split,
            Gate::RawSequences => cfg.include_raw_sequences,
            Gate::Splt => cfg.include_splt,
        }
    }

    /// The option that controls the column, if any.
    pub fn option(self) -> Option<&'static str> {
        match self {
            Gate::Always => None,
            Gate::FlowId => Some("include_flow_id"),
            Gate::IpAddresses => Some("include_ip_addresses"),
            Gate::Ports => Some("include_ports"),
            Gate::BidirectionalSplit => Some("bidirectional_split"),
            Gate::RawSequences => Some("include_raw_sequences"),
            Gate::Splt => Some("include_splt"),
        }
    }
}

/// The description of one output column.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Column name.
    pub name: &'static str,
    /// Value type.
    pub ty: ColumnType,
    /// Unit (`""` when dimensionless).
    pub unit: &'static str,
    /// One-sentence meaning.
    pub description: &'static str,
    /// When the column is present.
    pub gate: Gate,
    /// True when the column identifies the flow (addresses, ports, ids)
    /// rather than describing its behaviour; ML users usually drop these.
    pub identifies: bool,
}

impl Column {
    /// A column describing the flow (not identifying it).
    pub const fn describe(
        name: &'static str,
        ty: ColumnType,
        unit: &'static str,
        gate: Gate,
        description: &'static str,
    ) -> Column {
        Column {
            name,
            ty,
            unit,
            description,
            gate,
            identifies: false,
        }
    }
}

/// A feature group: its id, its columns and how to build it for a run.
pub struct ExtractorDef {
    /// Group id as used in `features=[…]`.
    pub id: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// Every column the group can write, in output order.
    pub columns: &'static [Column],
    /// Build the group's extractor for a configuration.
    pub build: fn(&Config) -> Box<dyn Extractor>,
}

/// The registry: every feature group, in output column order.
pub static EXTRACTORS: &[&ExtractorDef] = &[&flow_meta::DEF, &timing::DEF, &size::DEF];

/// Find a group by id.
pub fn find(id: &str) -> Option<&'static ExtractorDef> {
    EXTRACTORS.iter().copied().find(|d| d.id == id)
}

/// One packet as extractors see it.
#[derive(Debug, Clone, Copy)]
pub struct PacketObs {
    /// Timestamp, µs since the epoch.
    pub ts_us: i64,
    /// Direction relative to the initiator.
    pub dir: Direction,
    /// IP-level length.
    pub ip_len: u32,
    /// Bytes after the transport header.
    pub payload_len: u32,
    /// TCP flags byte (0 for other protocols).
    pub tcp_flags: u8,
}

/// Per-flow state of a stateful extractor.
pub trait FlowState: Send + Any {
    /// Account one packet of the flow.
    fn update(&mut self, pkt: &PacketObs);

    /// Start loading memory the next [`FlowState::update`] reads outside
    /// the state itself (the end of a growing list, …), so that the cache
    /// miss overlaps other packets' work. A hint only: the default does
    /// nothing.
    fn prefetch(&self) {}
}

/// A feature group configured for one run.
pub trait Extractor: Send + Sync {
    /// State for a new flow; `None` for groups computed from the flow's
    /// common accumulators alone.
    fn new_state(&self) -> Option<Box<dyn FlowState>> {
        None
    }

    /// Write the group's values for a finished flow, in `COLUMNS` order
    /// (one `put` per column, present or not).
    fn write(&self, flow: &Flow, state: Option<&dyn FlowState>, out: &mut RowWriter<'_>);
}

/// A value of one output cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Integer.
    Int(i64),
    /// Float.
    Float(f64),
    /// Text.
    Str(String),
    /// List of integers.
    IntList(Vec<i64>),
    /// List of floats.
    FloatList(Vec<f64>),
    /// List of (length, IAT) pairs.
    PairList(Vec<(i64, f64)>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_string())
    }
}

/// Collects one group's values into a row, dropping the columns that the
/// configuration leaves out.
pub struct RowWriter<'a> {
    row: &'a mut Vec<Value>,
    mask: &'a [bool],
    pos: usize,
}

impl<'a> RowWriter<'a> {
    /// A writer appending to `row`; `mask[i]` says whether column `i` is kept.
    pub fn new(row: &'a mut Vec<Value>, mask: &'a [bool]) -> Self {
        RowWriter { row, mask, pos: 0 }
    }

    /// Whether the next column is kept (to skip computing dropped values).
    pub fn wants(&self) -> bool {
        self.mask.get(self.pos).copied().unwrap_or(false)
    }

    /// Write the next column's value.
    pub fn put(&mut self, v: impl Into<Value>) {
        if self.wants() {
            self.row.push(v.into());
        }
        self.pos += 1;
    }

    /// Write the next column's value, computing it only when kept.
    pub fn put_with<V: Into<Value>>(&mut self, f: impl FnOnce() -> V) {
        if self.wants() {
            self.row.push(f().into());
        }
        self.pos += 1;
    }

    /// Number of columns written so far (kept or not).
    pub fn written(&self) -> usize {
        self.pos
    }
}

/// Ratio as `SPEC.md` defines it: `a / b`, or `a` when `b` is 0.
pub fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        a
    } else {
        a / b
    }
}

/// The percentiles the `timing` and `size` groups report, as fractions:
/// p25, median (p50), p75, p90, p95.
pub(crate) const QUANTILES: [f64; 5] = [0.25, 0.5, 0.75, 0.9, 0.95];

/// The two order statistics (0-based ranks) that numpy's default
/// (`linear`) percentile interpolates between for `n > 0` values and
/// quantile `q` in [0, 1], and the weight of the upper one.
pub(crate) fn linear_ranks(n: u64, q: f64) -> (u64, u64, f64) {
    let last = n.saturating_sub(1);
    let virtual_index = last as f64 * q;
    let lo = virtual_index.floor();
    let t = virtual_index - lo;
    let lo = (lo as u64).min(last);
    (lo, (lo + 1).min(last), t)
}

/// numpy's `_lerp`: `a + (b - a) * t`, computed from `b` when `t >= 0.5`,
/// so that results agree with `numpy.percentile` to the last bit.
pub(crate) fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

/// Skewness g1 and excess kurtosis g2 without bias correction (scipy's
/// defaults) from the count `n` and the central sums `Σ(x-mean)^k`,
/// k = 2, 3, 4; both 0.0 when undefined (no values or zero variance).
pub(crate) fn shape(n: f64, s2: f64, s3: f64, s4: f64) -> (f64, f64) {
    if n <= 0.0 || s2 <= 0.0 {
        return (0.0, 0.0);
    }
    let m2 = s2 / n;
    let skew = (s3 / n) / (m2 * m2.sqrt());
    let kurtosis = (s4 / n) / (m2 * m2) - 3.0;
    (skew, kurtosis)
}

/// `a / b`, or 0.0 when `b` is 0 (the `cv` and `mean` convention of the
/// `timing` and `size` groups).
pub(crate) fn div_or_zero(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

/// Helpers for extractor tests: packets, flows and rows built by hand.
#[cfg(test)]
pub(crate) mod testutil {
    use super::*;
    use crate::decode::Stack;
    use crate::flow::{EndReason, Endpoint, FlowKey};

    // ---- Naive two-pass statistics over full lists: the independent
    // ---- reference the streaming extractors are tested against.

    pub(crate) fn mean(v: &[f64]) -> f64 {
        if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    }

    pub(crate) fn central(v: &[f64], k: i32) -> f64 {
        let m = mean(v);
        v.iter().map(|x| (x - m).powi(k)).sum::<f64>() / v.len() as f64
    }

    pub(crate) fn pstd(v: &[f64]) -> f64 {
        if v.is_empty() {
            0.0
        } else {
            central(v, 2).sqrt()
        }
    }

    pub(crate) fn skew(v: &[f64]) -> f64 {
        if v.is_empty() || central(v, 2) == 0.0 {
            0.0
        } else {
            central(v, 3) / central(v, 2).powf(1.5)
        }
    }

    pub(crate) fn kurt(v: &[f64]) -> f64 {
        if v.is_empty() || central(v, 2) == 0.0 {
            0.0
        } else {
            central(v, 4) / central(v, 2).powi(2) - 3.0
        }
    }

    pub(crate) fn pct(v: &[f64], q: f64) -> f64 {
        if v.is_empty() {
            return 0.0;
        }
        let mut s = v.to_vec();
        s.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let r = q * (s.len() - 1) as f64;
        let lo = r.floor() as usize;
        let hi = (lo + 1).min(s.len() - 1);
        s[lo] + (s[hi] - s[lo]) * (r - lo as f64)
    }

    /// A packet at `ts_us` in direction `dir`.
    pub(crate) fn obs(ts_us: i64, dir: Direction, ip_len: u32, payload_len: u32) -> PacketObs {
        PacketObs {
            ts_us,
            dir,
            ip_len,
            payload_len,
            tcp_flags: 0,
        }
    }

    /// A flow with the accumulators `FlowTable` would have after `pkts`
    /// (initiator 10.0.0.1:1000, responder 10.0.0.2:80, TCP).
    pub(crate) fn flow_of(pkts: &[PacketObs]) -> Flow {
        let (key, _) = FlowKey::new(
            Endpoint {
                addr: 0x0a00_0001,
                port: 1000,
            },
            Endpoint {
                addr: 0x0a00_0002,
                port: 80,
            },
            6,
            false,
        );
        let t0 = pkts.first().map_or(0, |p| p.ts_us);
        let mut f = Flow {
            key,
            initiator_is_a: true,
            start_us: t0,
            end_us: t0,
            first_us: t0,
            packets: [0; 2],
            bytes: [0; 2],
            payload: [0; 2],
            stat: 0,
            closed: false,
            stack: Stack::default(),
            first_index: 0,
            last_index: 0,
            end_reason: EndReason::EndOfInput,
            end_event: (u64::MAX, 0),
            states: Vec::new(),
            index_tag: 0,
        };
        for p in pkts {
            let d = p.dir as usize;
            f.packets[d] += 1;
            f.bytes[d] += u64::from(p.ip_len);
            f.payload[d] += u64::from(p.payload_len);
            f.start_us = f.start_us.min(p.ts_us);
            f.end_us = f.end_us.max(p.ts_us);
        }
        f
    }

    /// Build `def` for `cfg`, feed `pkts` to a new state in order, and
    /// write the flow with every column kept. Checks the column count.
    pub(crate) fn row_of(def: &ExtractorDef, cfg: &Config, pkts: &[PacketObs]) -> Vec<Value> {
        let ext = (def.build)(cfg);
        let mut state = ext.new_state();
        for p in pkts {
            if let Some(s) = state.as_mut() {
                s.update(p);
            }
        }
        let flow = flow_of(pkts);
        let mask = vec![true; def.columns.len()];
        let mut row = Vec::new();
        let mut w = RowWriter::new(&mut row, &mask);
        ext.write(&flow, state.as_deref(), &mut w);
        assert_eq!(w.written(), def.columns.len(), "{}: puts", def.id);
        assert_eq!(row.len(), def.columns.len(), "{}: values", def.id);
        row
    }

    /// The value of column `name` in a full row of `def`.
    pub(crate) fn get<'a>(def: &ExtractorDef, row: &'a [Value], name: &str) -> &'a Value {
        let i = def
            .columns
            .iter()
            .position(|c| c.name == name)
            .unwrap_or_else(|| panic!("no column {name} in {}", def.id));
        &row[i]
    }

    /// `a` is within `rel`·|`b`| + 1e-12 of `b`.
    pub(crate) fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs() + 1e-12
    }

    /// Compare two full rows of `def` column by column: integers exactly,
    /// floats within a relative 1e-9; columns named in `skip` are left out.
    pub(crate) fn assert_row(def: &ExtractorDef, got: &[Value], want: &[Value], skip: &[&str]) {
        assert_eq!(got.len(), want.len());
        for ((c, g), w) in def.columns.iter().zip(got).zip(want) {
            if skip.contains(&c.name) {
                continue;
            }
            let ok = match (g, w) {
                (Value::Float(a), Value::Float(b)) => close(*a, *b, 1e-9),
                (Value::FloatList(a), Value::FloatList(b)) => {
                    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| close(*x, *y, 1e-9))
                }
                (Value::PairList(a), Value::PairList(b)) => {
                    a.len() == b.len()
                        && a.iter()
                            .zip(b)
                            .all(|(x, y)| x.0 == y.0 && close(x.1, y.1, 1e-9))
                }
                (a, b) => a == b,
            };
            assert!(ok, "{}.{}: got {g:?}, want {w:?}", def.id, c.name);
        }
    }

    /// A small deterministic PRNG (SplitMix64) for test data.
    pub(crate) struct SplitMix(pub(crate) u64);

    impl SplitMix {
        /// The next 64 random bits.
        pub(crate) fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform in [0, 1).
        pub(crate) fn unit(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_are_unique_across_groups() {
        let mut seen = std::collections::HashSet::new();
        for d in EXTRACTORS {
            for c in d.columns {
                assert!(seen.insert(c.name), "duplicate column {}", c.name);
            }
        }
    }

    fn matches_type(v: &Value, ty: ColumnType) -> bool {
        matches!(
            (v, ty),
            (Value::Int(_), ColumnType::Int)
                | (Value::Float(_), ColumnType::Float)
                | (Value::Str(_), ColumnType::Str)
                | (Value::IntList(_), ColumnType::IntList)
                | (Value::FloatList(_), ColumnType::FloatList)
                | (Value::PairList(_), ColumnType::PairList)
        )
    }

    #[test]
    fn every_extractor_writes_exactly_its_columns() {
        use crate::flow::Direction::{Bwd, Fwd};
        let cfg = Config {
            include_raw_sequences: true,
            include_splt: true,
            bidirectional_split: true,
            include_flow_id: true,
            ..Config::default()
        };
        let pkts = [
            testutil::obs(1_000_000, Fwd, 60, 0),
            testutil::obs(1_000_500, Bwd, 60, 0),
            testutil::obs(1_200_000, Fwd, 1500, 1460),
        ];
        for d in EXTRACTORS {
            for n in [0, 1, pkts.len()] {
                // `row_of` asserts `written() == columns.len()`.
                let row = testutil::row_of(d, &cfg, &pkts[..n]);
                for (c, v) in d.columns.iter().zip(&row) {
                    assert!(matches_type(v, c.ty), "{}.{}: {v:?}", d.id, c.name);
                }
            }
        }
    }

    #[test]
    fn pipeline_rows_have_one_value_per_column() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/captures/http.cap");
        let all = Config {
            features: vec!["all".into()],
            include_raw_sequences: true,
            include_splt: true,
            bidirectional_split: true,
            include_flow_id: true,
            ..Default::default()
        };
        let some = Config {
            features: vec!["size".into(), "timing".into()],
            ..Default::default()
        };
        for cfg in [all, some] {
            let p = crate::Pipeline::new(cfg).unwrap();
            let mut sink = crate::output::VecSink::default();
            let stats = p
                .run(
                    std::slice::from_ref(&path),
                    &mut sink,
                    &mut crate::pipeline::Quiet,
                )
                .unwrap();
            assert!(stats.flows > 0);
            assert_eq!(sink.rows.len() as u64, stats.flows);
            assert_eq!(sink.columns.len(), p.columns().len());
            for row in &sink.rows {
                assert_eq!(row.len(), sink.columns.len());
                for (c, v) in p.columns().iter().zip(row) {
                    assert!(matches_type(v, c.ty), "{}: {v:?}", c.name);
                }
            }
            // Registry order: flow_meta, timing, size.
            let first = |id: &str| {
                let d = find(id).unwrap();
                sink.columns.iter().position(|n| *n == d.columns[0].name)
            };
            assert!(first("timing") < first("size"));
        }
    }

    #[test]
    fn timing_and_size_agree_with_flow_meta_on_a_capture() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/captures/http.cap");
        let p = crate::Pipeline::new(Config::default()).unwrap();
        let mut sink = crate::output::VecSink::default();
        p.run(&[path], &mut sink, &mut crate::pipeline::Quiet)
            .unwrap();
        for i in 0..sink.rows.len() {
            assert_eq!(
                sink.get(i, "payload_len_total"),
                sink.get(i, "payload_bytes_total")
            );
            let (Some(Value::Int(n)), Some(Value::Int(b))) =
                (sink.get(i, "total_packets"), sink.get(i, "burst_count"))
            else {
                panic!("types");
            };
            assert!(*b >= 1 && b <= n);
        }
    }

    #[test]
    fn group_ids_are_unique_and_not_all() {
        let mut seen = std::collections::HashSet::new();
        for d in EXTRACTORS {
            assert!(seen.insert(d.id));
            assert_ne!(d.id, "all");
        }
    }
}
