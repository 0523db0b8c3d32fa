//! Feature extractors and the column registry.
//!
//! Every column is described once, in its extractor's `COLUMNS` table: name,
//! type, unit and meaning. The CSV header, JSON output, `jj features`, the
//! generated docs and the Python side all read that description.
//!
//! Adding a group means one file with a [`ExtractorDef`] and one line in
//! [`EXTRACTORS`].

pub mod flow_meta;

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
    /// Only with `include_raw_sequences`.
    RawSequences,
    /// Only with both `include_raw_sequences` and `bidirectional_split`.
    RawSequencesSplit,
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
            Gate::RawSequencesSplit => cfg.include_raw_sequences && cfg.bidirectional_split,
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
            Gate::RawSequencesSplit => Some("include_raw_sequences + bidirectional_split"),
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
pub static EXTRACTORS: &[&ExtractorDef] = &[&flow_meta::DEF];

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

    #[test]
    fn group_ids_are_unique_and_not_all() {
        let mut seen = std::collections::HashSet::new();
        for d in EXTRACTORS {
            assert!(seen.insert(d.id));
            assert_ne!(d.id, "all");
        }
    }
}
