//! Arrow record batches: the schema of a run's columns, derived from the
//! column registry, and [`ArrowSink`], which builds [`RecordBatch`]es of
//! [`CHUNK_ROWS`] rows (for the Python binding and the Parquet writer).
//!
//! | column type | Arrow type |
//! |---|---|
//! | `int` | `Int64` |
//! | `float` | `Float64` (nullable: a non-finite value is null, as in CSV/JSON) |
//! | `str` | `Utf8` |
//! | `bool` | `Boolean` |
//! | `list[int]` | `List<Int64>` |
//! | `list[float]` | `List<Float64>` |
//! | `list[(int, float)]` | `List<Struct{length: Int64, iat: Float64}>` |
//!
//! A column marked nullable (`int|None`, …) has a nullable field and a null
//! where the flow has nothing to report.
//!
//! Each field carries the column's `unit` and `description` as metadata.

use super::Sink;
use crate::error::Result;
use crate::features::{Column, ColumnType, Value};
use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, Float64Builder, Int64Builder, ListBuilder, StringBuilder,
    StructBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, FieldRef, Fields, Schema, SchemaRef};
use std::collections::HashMap;
use std::sync::Arc;

/// Rows per record batch built by [`ArrowSink`].
pub const CHUNK_ROWS: usize = 65_536;

/// The fields of one `list[(int, float)]` element.
fn pair_fields() -> Fields {
    Fields::from(vec![
        Field::new("length", DataType::Int64, false),
        Field::new("iat", DataType::Float64, true),
    ])
}

/// The element field of a list column type, `None` for scalar types.
fn item_field(ty: ColumnType) -> Option<FieldRef> {
    let f = match ty {
        ColumnType::Int | ColumnType::Float | ColumnType::Str | ColumnType::Bool => return None,
        ColumnType::IntList => Field::new("item", DataType::Int64, false),
        ColumnType::FloatList => Field::new("item", DataType::Float64, true),
        ColumnType::PairList => Field::new("item", DataType::Struct(pair_fields()), false),
        ColumnType::StrList => Field::new("item", DataType::Utf8, false),
    };
    Some(Arc::new(f))
}

/// The Arrow data type of a column type.
pub fn data_type(ty: ColumnType) -> DataType {
    match ty {
        ColumnType::Int => DataType::Int64,
        ColumnType::Float => DataType::Float64,
        ColumnType::Str => DataType::Utf8,
        ColumnType::Bool => DataType::Boolean,
        ColumnType::IntList
        | ColumnType::FloatList
        | ColumnType::PairList
        | ColumnType::StrList => {
            DataType::List(item_field(ty).expect("list types have an element field"))
        }
    }
}

/// The Arrow field of a column: its name, type, nullability (floats, whose
/// non-finite values are null, and columns marked nullable) and, as
/// metadata, its unit and description.
pub fn field(c: &Column) -> Field {
    let mut meta = HashMap::new();
    if !c.unit.is_empty() {
        meta.insert("unit".to_string(), c.unit.to_string());
    }
    meta.insert("description".to_string(), c.description.to_string());
    Field::new(
        c.name,
        data_type(c.ty),
        c.nullable || c.ty == ColumnType::Float,
    )
    .with_metadata(meta)
}

/// The Arrow schema of a run's columns (see [`crate::Pipeline::columns`]).
pub fn schema(columns: &[&Column]) -> Schema {
    let meta = HashMap::from([("joyfuljay_version".to_string(), crate::VERSION.to_string())]);
    Schema::new_with_metadata(columns.iter().map(|c| field(c)).collect::<Vec<_>>(), meta)
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// One column's builder.
enum ColumnBuilder {
    Int(Int64Builder),
    Float(Float64Builder),
    Str(StringBuilder),
    Bool(BooleanBuilder),
    IntList(ListBuilder<Int64Builder>),
    FloatList(ListBuilder<Float64Builder>),
    PairList(ListBuilder<StructBuilder>),
    StrList(ListBuilder<StringBuilder>),
}

impl ColumnBuilder {
    fn new(ty: ColumnType, rows: usize) -> Self {
        let item = item_field(ty);
        let item = || item.clone().expect("list types have an element field");
        match ty {
            ColumnType::Int => ColumnBuilder::Int(Int64Builder::with_capacity(rows)),
            ColumnType::Float => ColumnBuilder::Float(Float64Builder::with_capacity(rows)),
            ColumnType::Str => ColumnBuilder::Str(StringBuilder::with_capacity(rows, rows * 16)),
            ColumnType::Bool => ColumnBuilder::Bool(BooleanBuilder::with_capacity(rows)),
            ColumnType::IntList => ColumnBuilder::IntList(
                ListBuilder::with_capacity(Int64Builder::new(), rows).with_field(item()),
            ),
            ColumnType::FloatList => ColumnBuilder::FloatList(
                ListBuilder::with_capacity(Float64Builder::new(), rows).with_field(item()),
            ),
            ColumnType::StrList => ColumnBuilder::StrList(
                ListBuilder::with_capacity(StringBuilder::new(), rows).with_field(item()),
            ),
            ColumnType::PairList => {
                let values: Vec<Box<dyn ArrayBuilder>> = vec![
                    Box::new(Int64Builder::new()),
                    Box::new(Float64Builder::new()),
                ];
                let pairs = StructBuilder::new(pair_fields(), values);
                ColumnBuilder::PairList(ListBuilder::with_capacity(pairs, rows).with_field(item()))
            }
        }
    }

    /// Append one value. A value of another type than the column's is a bug
    /// in a feature group (the registry test writes every column), never input.
    fn append(&mut self, name: &str, v: &Value) {
        match (self, v) {
            (ColumnBuilder::Int(b), Value::Int(x)) => b.append_value(*x),
            (ColumnBuilder::Float(b), Value::Float(x)) => b.append_option(finite(*x)),
            (ColumnBuilder::Str(b), Value::Str(s)) => b.append_value(s),
            (ColumnBuilder::Bool(b), Value::Bool(x)) => b.append_value(*x),
            (b, Value::Null) => b.append_null(),
            (ColumnBuilder::IntList(b), Value::IntList(l)) => {
                b.values().append_slice(l);
                b.append(true);
            }
            (ColumnBuilder::FloatList(b), Value::FloatList(l)) => {
                for x in l {
                    b.values().append_option(finite(*x));
                }
                b.append(true);
            }
            (ColumnBuilder::StrList(b), Value::StrList(l)) => {
                for x in l {
                    b.values().append_value(x);
                }
                b.append(true);
            }
            (ColumnBuilder::PairList(b), Value::PairList(l)) => {
                let pairs = b.values();
                for (len, iat) in l {
                    pairs
                        .field_builder::<Int64Builder>(0)
                        .expect("length builder")
                        .append_value(*len);
                    pairs
                        .field_builder::<Float64Builder>(1)
                        .expect("iat builder")
                        .append_option(finite(*iat));
                    pairs.append(true);
                }
                b.append(true);
            }
            (_, v) => panic!("column {name}: value {v:?} does not match the column type"),
        }
    }

    fn append_null(&mut self) {
        match self {
            ColumnBuilder::Int(b) => b.append_null(),
            ColumnBuilder::Float(b) => b.append_null(),
            ColumnBuilder::Str(b) => b.append_null(),
            ColumnBuilder::Bool(b) => b.append_null(),
            ColumnBuilder::IntList(b) => b.append_null(),
            ColumnBuilder::FloatList(b) => b.append_null(),
            ColumnBuilder::PairList(b) => b.append_null(),
            ColumnBuilder::StrList(b) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Int(b) => Arc::new(b.finish()),
            ColumnBuilder::Float(b) => Arc::new(b.finish()),
            ColumnBuilder::Str(b) => Arc::new(b.finish()),
            ColumnBuilder::Bool(b) => Arc::new(b.finish()),
            ColumnBuilder::IntList(b) => Arc::new(b.finish()),
            ColumnBuilder::FloatList(b) => Arc::new(b.finish()),
            ColumnBuilder::PairList(b) => Arc::new(b.finish()),
            ColumnBuilder::StrList(b) => Arc::new(b.finish()),
        }
    }
}

/// A [`Sink`] that builds Arrow [`RecordBatch`]es of `chunk_rows` rows.
///
/// Completed batches wait in the sink until taken with
/// [`ArrowSink::take_ready`] (streaming consumers take them after each row)
/// or [`ArrowSink::into_batches`]. `finish` completes the last partial batch;
/// a run without rows still yields one empty batch, so the schema is always
/// known from the batches.
pub struct ArrowSink {
    chunk_rows: usize,
    names: Vec<&'static str>,
    schema: Option<SchemaRef>,
    builders: Vec<ColumnBuilder>,
    rows: usize,
    ready: Vec<RecordBatch>,
    batches_made: u64,
}

impl Default for ArrowSink {
    fn default() -> Self {
        ArrowSink::new(CHUNK_ROWS)
    }
}

impl ArrowSink {
    /// A sink making batches of `chunk_rows` rows (at least 1).
    pub fn new(chunk_rows: usize) -> Self {
        ArrowSink {
            chunk_rows: chunk_rows.max(1),
            names: Vec::new(),
            schema: None,
            builders: Vec::new(),
            rows: 0,
            ready: Vec::new(),
            batches_made: 0,
        }
    }

    /// The schema, known once `begin` has been called.
    pub fn schema(&self) -> Option<&SchemaRef> {
        self.schema.as_ref()
    }

    /// Whether completed batches are waiting.
    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Take the completed batches.
    pub fn take_ready(&mut self) -> Vec<RecordBatch> {
        std::mem::take(&mut self.ready)
    }

    /// Every completed batch not taken yet (call after `finish`).
    pub fn into_batches(self) -> Vec<RecordBatch> {
        self.ready
    }

    fn cut(&mut self) {
        let Some(schema) = &self.schema else { return };
        let arrays: Vec<ArrayRef> = self.builders.iter_mut().map(|b| b.finish()).collect();
        // The builders were made from the same column types as the schema and
        // received one value per row each: this cannot fail.
        let batch = RecordBatch::try_new(Arc::clone(schema), arrays)
            .expect("arrays are built to the schema");
        self.ready.push(batch);
        self.rows = 0;
        self.batches_made += 1;
    }
}

impl Sink for ArrowSink {
    fn begin(&mut self, columns: &[&'static Column]) -> Result<()> {
        self.names = columns.iter().map(|c| c.name).collect();
        self.schema = Some(Arc::new(schema(columns)));
        let rows = self.chunk_rows.min(CHUNK_ROWS);
        self.builders = columns
            .iter()
            .map(|c| ColumnBuilder::new(c.ty, rows))
            .collect();
        Ok(())
    }

    fn row(&mut self, values: &[Value]) -> Result<()> {
        debug_assert_eq!(values.len(), self.builders.len());
        for ((b, v), name) in self.builders.iter_mut().zip(values).zip(&self.names) {
            b.append(name, v);
        }
        self.rows += 1;
        if self.rows >= self.chunk_rows {
            self.cut();
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if self.rows > 0 || self.batches_made == 0 {
            self.cut();
        }
        Ok(())
    }

    /// The rows so far become a (short) batch: a live capture hands rows
    /// on as flows end.
    fn flush(&mut self) -> Result<()> {
        if self.rows > 0 {
            self.cut();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{Gate, GROUPS};
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type};
    use arrow_array::Array;

    const fn col(name: &'static str, ty: ColumnType) -> Column {
        Column {
            name,
            ty,
            unit: "",
            description: "test column",
            gate: Gate::ALWAYS,
            identifies: false,
            nullable: false,
        }
    }

    static COLS: [Column; 9] = [
        col("i", ColumnType::Int),
        col("f", ColumnType::Float),
        col("s", ColumnType::Str),
        col("il", ColumnType::IntList),
        col("fl", ColumnType::FloatList),
        col("pl", ColumnType::PairList),
        col("b", ColumnType::Bool),
        col("ni", ColumnType::Int).or_null(),
        col("sl", ColumnType::StrList).or_null(),
    ];

    fn row(n: i64) -> Vec<Value> {
        vec![
            Value::Int(n),
            Value::Float(if n == 1 { f64::NAN } else { n as f64 / 2.0 }),
            Value::Str(format!("s{n}")),
            Value::IntList((0..n).collect()),
            Value::FloatList(vec![0.5; n as usize]),
            Value::PairList((0..n).map(|k| (k, k as f64 * 0.25)).collect()),
            Value::Bool(n % 2 == 0),
            if n == 3 { Value::Null } else { Value::Int(-n) },
            if n == 2 {
                Value::Null
            } else {
                Value::StrList((0..n).map(|k| format!("p{k}")).collect())
            },
        ]
    }

    #[test]
    fn every_column_type_round_trips_in_chunks() {
        let cols: Vec<&'static Column> = COLS.iter().collect();
        let mut sink = ArrowSink::new(2);
        sink.begin(&cols).unwrap();
        for n in 0..5 {
            sink.row(&row(n)).unwrap();
            if n == 1 {
                assert!(sink.has_ready());
            }
        }
        sink.finish().unwrap();
        let batches = sink.into_batches();
        assert_eq!(
            batches.iter().map(|b| b.num_rows()).collect::<Vec<_>>(),
            [2, 2, 1]
        );
        let b = &batches[1];
        assert_eq!(b.schema().field(1).data_type(), &DataType::Float64);
        let i = b.column(0).as_primitive::<Int64Type>();
        assert_eq!(i.values(), &[2, 3]);
        let f = b.column(1).as_primitive::<Float64Type>();
        assert_eq!(f.value(0), 1.0);
        assert_eq!(b.column(2).as_string::<i32>().value(1), "s3");
        let il = b.column(3).as_list::<i32>();
        assert_eq!(il.value(1).as_primitive::<Int64Type>().values(), &[0, 1, 2]);
        let pl = b.column(5).as_list::<i32>();
        let pairs = pl.value(1);
        let pairs = pairs.as_struct();
        assert_eq!(pairs.len(), 3);
        assert_eq!(pairs.column(1).as_primitive::<Float64Type>().value(2), 0.5);
        // The NaN of row 1 is null, as the text formats leave it empty.
        let f0 = batches[0].column(1).as_primitive::<Float64Type>();
        assert!(f0.is_valid(0) && f0.is_null(1));
        // Booleans as Arrow booleans; a nullable column's null as a null.
        assert_eq!(b.schema().field(6).data_type(), &DataType::Boolean);
        assert!(!b.schema().field(0).is_nullable());
        assert!(b.schema().field(7).is_nullable());
        let bools = b.column(6).as_boolean();
        assert!(bools.value(0) && !bools.value(1));
        let ni = b.column(7).as_primitive::<Int64Type>();
        assert!(ni.is_valid(0) && ni.value(0) == -2 && ni.is_null(1));
        let sl = b.column(8).as_list::<i32>();
        assert!(sl.is_null(0) && sl.is_valid(1));
        let texts = sl.value(1);
        let texts = texts.as_string::<i32>();
        assert_eq!((texts.len(), texts.value(2)), (3, "p2"));
    }

    #[test]
    fn no_rows_still_give_the_schema() {
        let cols: Vec<&'static Column> = COLS.iter().collect();
        let mut sink = ArrowSink::default();
        sink.begin(&cols).unwrap();
        sink.finish().unwrap();
        let batches = sink.into_batches();
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].num_rows(), 0);
        assert_eq!(batches[0].num_columns(), 9);
    }

    #[test]
    fn every_registry_column_has_a_field_with_its_description() {
        for d in GROUPS {
            let cols: Vec<&Column> = d.columns.iter().collect();
            let s = schema(&cols);
            for (f, c) in s.fields().iter().zip(d.columns) {
                assert_eq!(f.name(), c.name);
                assert_eq!(f.metadata()["description"], c.description);
            }
        }
    }
}
