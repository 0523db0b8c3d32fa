//! Columns and rows: how a column is described, which configuration
//! option gates it, and how a group writes its values.

use crate::config::Config;

/// The type of a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// 64-bit signed integer.
    Int,
    /// 64-bit float.
    Float,
    /// Text.
    Str,
    /// Boolean (`true`/`false` in CSV and JSON, Arrow boolean).
    Bool,
    /// List of integers.
    IntList,
    /// List of floats.
    FloatList,
    /// List of (length, inter-arrival time) pairs.
    PairList,
    /// List of texts (ALPN protocols, algorithm names).
    StrList,
}

impl ColumnType {
    /// The name used in docs and `jj features` (`int`, `float`, `str`, `list[int]`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Int => "int",
            ColumnType::Float => "float",
            ColumnType::Str => "str",
            ColumnType::Bool => "bool",
            ColumnType::IntList => "list[int]",
            ColumnType::FloatList => "list[float]",
            ColumnType::PairList => "list[(int, float)]",
            ColumnType::StrList => "list[str]",
        }
    }
}

/// When a column is present in the output: always, or when a boolean
/// configuration option is on.
#[derive(Clone, Copy)]
pub struct Gate {
    option: Option<&'static str>,
    test: fn(&Config) -> bool,
}

impl Gate {
    /// Present whenever its group is selected.
    pub const ALWAYS: Gate = Gate {
        option: None,
        test: |_| true,
    };

    /// Present when the option named `option` is on; `test` reads it.
    pub const fn on(option: &'static str, test: fn(&Config) -> bool) -> Gate {
        Gate {
            option: Some(option),
            test,
        }
    }

    /// Whether the column is present under `cfg`.
    pub fn enabled(self, cfg: &Config) -> bool {
        (self.test)(cfg)
    }

    /// The option that controls the column, if any.
    pub fn option(self) -> Option<&'static str> {
        self.option
    }
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.option {
            None => f.write_str("always"),
            Some(o) => write!(f, "with {o}"),
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
    /// True when a flow may have nothing to report in this column (no SYN,
    /// no RTT sample, not an ICMP flow): the cell is then null — an empty
    /// CSV field, JSON `null`, Arrow null — never a sentinel value.
    pub nullable: bool,
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
            nullable: false,
        }
    }

    /// A column present whenever its group is selected, never null: the
    /// usual case for a header group's table.
    pub const fn always(
        name: &'static str,
        ty: ColumnType,
        unit: &'static str,
        description: &'static str,
    ) -> Column {
        Column::describe(name, ty, unit, Gate::ALWAYS, description)
    }

    /// A column present whenever its group is selected that may be null
    /// (see the field [`Column::nullable`]).
    pub const fn nullable(
        name: &'static str,
        ty: ColumnType,
        unit: &'static str,
        description: &'static str,
    ) -> Column {
        Column::always(name, ty, unit, description).or_null()
    }

    /// The same column, marked nullable (see the field [`Column::nullable`]).
    pub const fn or_null(self) -> Column {
        Column {
            nullable: true,
            ..self
        }
    }

    /// The type as docs and `jj features` show it: `int`, or `int|None`
    /// for a nullable column.
    pub fn type_label(&self) -> String {
        if self.nullable {
            format!("{}|None", self.ty.as_str())
        } else {
            self.ty.as_str().to_string()
        }
    }
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
    /// Boolean.
    Bool(bool),
    /// Nothing to report (only in nullable columns).
    Null,
    /// List of integers.
    IntList(Vec<i64>),
    /// List of floats.
    FloatList(Vec<f64>),
    /// List of (length, IAT) pairs.
    PairList(Vec<(i64, f64)>),
    /// List of texts.
    StrList(Vec<String>),
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
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
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

/// Where a row's cells go: a vector of [`Value`]s (for sinks that take
/// whole rows: Arrow, Parquet, JSON, Python, other threads), or straight
/// into a text sink's line (CSV), with no `Value` built.
pub trait Cells {
    /// An integer cell.
    fn int(&mut self, v: i64);
    /// A float cell.
    fn float(&mut self, v: f64);
    /// A text cell.
    fn text(&mut self, s: &str);
    /// A text cell that the caller gives away (kept without a copy where
    /// cells are stored).
    fn owned_text(&mut self, s: String) {
        self.text(&s);
    }
    /// A boolean cell.
    fn bool(&mut self, v: bool) {
        self.value(Value::Bool(v));
    }
    /// A null cell: nothing to report.
    fn null(&mut self) {
        self.value(Value::Null);
    }
    /// Any other cell (lists).
    fn value(&mut self, v: Value);
}

impl Cells for Vec<Value> {
    #[inline]
    fn int(&mut self, v: i64) {
        self.push(Value::Int(v));
    }
    #[inline]
    fn float(&mut self, v: f64) {
        self.push(Value::Float(v));
    }
    #[inline]
    fn text(&mut self, s: &str) {
        self.push(Value::Str(s.to_string()));
    }
    #[inline]
    fn owned_text(&mut self, s: String) {
        self.push(Value::Str(s));
    }
    #[inline]
    fn value(&mut self, v: Value) {
        self.push(v);
    }
}

/// A value a group writes into a cell.
pub trait Cell {
    /// Write `self` into `out`.
    fn put_into(self, out: &mut dyn Cells);
}

impl Cell for i64 {
    #[inline]
    fn put_into(self, out: &mut dyn Cells) {
        out.int(self);
    }
}
impl Cell for u64 {
    #[inline]
    fn put_into(self, out: &mut dyn Cells) {
        out.int(i64::try_from(self).unwrap_or(i64::MAX));
    }
}
impl Cell for f64 {
    #[inline]
    fn put_into(self, out: &mut dyn Cells) {
        out.float(self);
    }
}
impl Cell for bool {
    #[inline]
    fn put_into(self, out: &mut dyn Cells) {
        out.bool(self);
    }
}
impl Cell for u32 {
    #[inline]
    fn put_into(self, out: &mut dyn Cells) {
        out.int(i64::from(self));
    }
}
impl<T: Cell> Cell for Option<T> {
    #[inline]
    fn put_into(self, out: &mut dyn Cells) {
        match self {
            Some(v) => v.put_into(out),
            None => out.null(),
        }
    }
}
impl Cell for &str {
    #[inline]
    fn put_into(self, out: &mut dyn Cells) {
        out.text(self);
    }
}
impl Cell for String {
    #[inline]
    fn put_into(self, out: &mut dyn Cells) {
        out.owned_text(self);
    }
}
impl Cell for Value {
    #[inline]
    fn put_into(self, out: &mut dyn Cells) {
        match self {
            Value::Int(v) => out.int(v),
            Value::Float(v) => out.float(v),
            Value::Str(s) => out.owned_text(s),
            Value::Bool(b) => out.bool(b),
            Value::Null => out.null(),
            v => out.value(v),
        }
    }
}

/// Collects one group's values into a row, dropping the columns that the
/// configuration leaves out.
pub struct RowWriter<'a> {
    out: &'a mut dyn Cells,
    mask: &'a [bool],
    pos: usize,
}

impl<'a> RowWriter<'a> {
    /// A writer appending to `row`; `mask[i]` says whether column `i` is kept.
    pub fn new(row: &'a mut Vec<Value>, mask: &'a [bool]) -> Self {
        RowWriter {
            out: row,
            mask,
            pos: 0,
        }
    }

    /// A writer into any [`Cells`].
    pub fn into_cells(out: &'a mut dyn Cells, mask: &'a [bool]) -> Self {
        RowWriter { out, mask, pos: 0 }
    }

    /// Whether the next column is kept (to skip computing dropped values).
    #[inline]
    pub fn wants(&self) -> bool {
        self.mask.get(self.pos).copied().unwrap_or(false)
    }

    /// Write the next column's value.
    #[inline]
    pub fn put(&mut self, v: impl Cell) {
        if self.wants() {
            v.put_into(self.out);
        }
        self.pos += 1;
    }

    /// Write the next column's value, computing it only when kept.
    #[inline]
    pub fn put_with<V: Cell>(&mut self, f: impl FnOnce() -> V) {
        if self.wants() {
            f().put_into(self.out);
        }
        self.pos += 1;
    }

    /// Number of columns written so far (kept or not).
    pub fn written(&self) -> usize {
        self.pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn always_and_nullable_are_describe_with_gate_always() {
        let a = Column::always("x", ColumnType::Int, "bytes", "An x.");
        let d = Column::describe("x", ColumnType::Int, "bytes", Gate::ALWAYS, "An x.");
        for c in [a, Column::nullable("x", ColumnType::Int, "bytes", "An x.")] {
            assert_eq!(
                (c.name, c.ty, c.unit, c.description),
                (d.name, d.ty, d.unit, d.description)
            );
            assert!(c.gate.option().is_none() && !c.identifies);
        }
        assert!(!a.nullable);
        assert!(Column::nullable("x", ColumnType::Int, "", "").nullable);
        assert_eq!(
            Column::nullable("x", ColumnType::Float, "", "").type_label(),
            "float|None"
        );
    }
}
