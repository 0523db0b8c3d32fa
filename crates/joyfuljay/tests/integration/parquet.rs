//! Parquet output (cargo feature `parquet`): files read back with the
//! `parquet` crate's Arrow reader hold exactly the rows of the CSV writer.

use crate::util::{pcap_with, T0};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchReader};
use arrow_schema::DataType;
use joyfuljay::features::{Column, Value};
use joyfuljay::output::arrow::schema;
use joyfuljay::output::parquet::{ParquetSink, ROW_GROUP_ROWS};
use joyfuljay::output::{CsvSink, Format, Sink, VecSink};
use joyfuljay::pipeline::Quiet;
use joyfuljay::synth::Packet;
use joyfuljay::{Config, Pipeline};
use joyfuljay_testkit::capture;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use std::path::{Path, PathBuf};

/// Every column of every group.
fn everything() -> Config {
    Config {
        include_flow_id: true,
        include_raw_sequences: true,
        include_splt: true,
        bidirectional_split: true,
        ..Config::default()
    }
}

/// The value in row `i` of an Arrow column, as the pipeline wrote it: a
/// null is `Value::Null` in a nullable column, a non-finite float (never
/// in these captures) in a float column that is not.
fn value(a: &ArrayRef, i: usize, nullable: bool) -> Value {
    if nullable && a.is_null(i) {
        return Value::Null;
    }
    let float = |a: &dyn Array, i: usize| {
        if a.is_null(i) {
            f64::NAN
        } else {
            a.as_primitive::<Float64Type>().value(i)
        }
    };
    match a.data_type() {
        DataType::Int64 => Value::Int(a.as_primitive::<Int64Type>().value(i)),
        DataType::Float64 => Value::Float(float(a, i)),
        DataType::Utf8 => Value::Str(a.as_string::<i32>().value(i).to_string()),
        DataType::Boolean => Value::Bool(a.as_boolean().value(i)),
        DataType::List(item) => {
            let l = a.as_list::<i32>().value(i);
            match item.data_type() {
                DataType::Int64 => Value::IntList(l.as_primitive::<Int64Type>().values().to_vec()),
                DataType::Float64 => Value::FloatList((0..l.len()).map(|k| float(&l, k)).collect()),
                DataType::Utf8 => {
                    let s = l.as_string::<i32>();
                    Value::StrList((0..s.len()).map(|k| s.value(k).to_string()).collect())
                }
                DataType::Struct(_) => {
                    let s = l.as_struct();
                    let len = s.column(0).as_primitive::<Int64Type>();
                    Value::PairList(
                        (0..s.len())
                            .map(|k| (len.value(k), float(s.column(1), k)))
                            .collect(),
                    )
                }
                other => panic!("unexpected list item type {other}"),
            }
        }
        other => panic!("unexpected column type {other}"),
    }
}

fn rows_of(batches: &[RecordBatch], columns: &[&Column]) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for b in batches {
        for i in 0..b.num_rows() {
            rows.push(
                b.columns()
                    .iter()
                    .zip(columns)
                    .map(|(a, c)| value(a, i, c.nullable))
                    .collect(),
            );
        }
    }
    rows
}

/// Write `inputs` as Parquet and as CSV; read the Parquet file back. Returns
/// (the Parquet rows as CSV text, the CSV writer's text, the Parquet rows,
/// the number of row groups).
fn round_trip(inputs: &[PathBuf], cfg: Config) -> (String, String, Vec<Vec<Value>>, usize) {
    let p = Pipeline::new(cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flows.parquet");
    let file = std::fs::File::create(&path).unwrap();
    let mut pq = ParquetSink::new(file, "flows.parquet");
    p.run(inputs, &mut pq, &mut Quiet).unwrap();
    drop(pq);

    let mut csv = Vec::new();
    let mut sink = CsvSink::new(&mut csv, "csv");
    p.run(inputs, &mut sink, &mut Quiet).unwrap();
    drop(sink);
    let mut vec = VecSink::default();
    p.run(inputs, &mut vec, &mut Quiet).unwrap();

    let reader =
        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap()).unwrap();
    let meta = reader.metadata().clone();
    for rg in meta.row_groups() {
        for c in rg.columns() {
            assert!(
                matches!(c.compression(), Compression::ZSTD(_)),
                "{:?}",
                c.compression()
            );
        }
    }
    let expected_schema = schema(p.columns());
    let reader = reader.build().unwrap();
    let read_schema = reader.schema();
    assert_eq!(read_schema.fields(), expected_schema.fields());
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    let rows = rows_of(&batches, p.columns());
    assert_eq!(rows.len(), vec.rows.len());
    // Values are equal bit for bit (NaN never occurs in these captures).
    assert_eq!(rows, vec.rows);

    let mut again = Vec::new();
    let mut sink = CsvSink::new(&mut again, "csv");
    sink.begin(p.columns()).unwrap();
    for r in &rows {
        sink.row(r).unwrap();
    }
    sink.finish().unwrap();
    drop(sink);
    (
        String::from_utf8(again).unwrap(),
        String::from_utf8(csv).unwrap(),
        rows,
        meta.num_row_groups(),
    )
}

#[test]
fn parquet_holds_the_csv_rows_of_real_captures() {
    let (mut nulls, mut trues) = (false, false);
    for name in [
        "http.cap",
        "dns.cap",
        "v6-http.cap",
        "vlan.cap",
        "sctp.cap",
        "tcp-impaired.pcap",
        "icmp-mix.pcap",
    ] {
        let (from_parquet, csv, rows, _) = round_trip(&[capture(name)], everything());
        assert!(!rows.is_empty(), "{name}");
        nulls |= rows.iter().flatten().any(|v| *v == Value::Null);
        trues |= rows
            .iter()
            .flatten()
            .any(|v| matches!(v, Value::Bool(true)));
        assert_eq!(from_parquet, csv, "{name}");
    }
    // Booleans and nulls went through (the header groups have both).
    assert!(nulls && trues);
    // Several files into one file.
    let (from_parquet, csv, _, _) = round_trip(
        &[capture("http.cap"), capture("dns.cap")],
        Config {
            features: vec!["flow_meta".into()],
            anonymize_ips: true,
            anonymization_salt: "s".into(),
            ..Config::default()
        },
    );
    assert_eq!(from_parquet, csv);
}

#[test]
fn many_flows_make_several_batches_and_row_groups() {
    let n = ROW_GROUP_ROWS + 10_000;
    let frames = (0..n).map(|i| {
        let src = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        let f = Packet::udp(&src, 40_000, "192.0.2.1", 53, 20).ethernet(&[], &[]);
        let len = f.len() as u32;
        (T0 + i as i64 * 1_000, f, len)
    });
    let cap = pcap_with(1, false, false, frames);
    let cfg = Config {
        features: vec!["flow_meta".into()],
        ..Config::default()
    };
    let (from_parquet, csv, rows, groups) = round_trip(std::slice::from_ref(&cap.path), cfg);
    assert_eq!(rows.len(), n);
    assert_eq!(groups, 2);
    assert_eq!(from_parquet, csv);
}

#[test]
fn no_flows_still_write_a_file_with_the_schema() {
    let cap = pcap_with(1, false, false, std::iter::empty());
    let (from_parquet, csv, rows, _) = round_trip(std::slice::from_ref(&cap.path), everything());
    assert!(rows.is_empty());
    assert_eq!(from_parquet, csv);
}

#[test]
fn parquet_is_a_format_by_name_and_extension() {
    assert_eq!(Format::from_name("parquet"), Some(Format::Parquet));
    assert_eq!(
        Format::from_path(Path::new("flows.parquet")),
        Some(Format::Parquet)
    );
    assert!(Format::NAMES.contains(&"parquet"));
}
