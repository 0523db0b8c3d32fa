//! CSV, JSON and JSON Lines writers.

use super::Sink;
use crate::error::{Error, Result};
use crate::features::{Column, Value};
use std::io::{BufWriter, Write};

const BUF: usize = 256 * 1024;

fn io_err(target: &str, e: std::io::Error) -> Error {
    Error::Output {
        target: target.to_string(),
        source: e,
    }
}

/// Append a float: shortest text that reads back to the same value
/// (`2.0`, `0.1`, `1704067200.123456`); non-finite values as `null`.
/// Append the shortest text that reads back as `v` (`null` when not
/// finite), in ryu's notation (`1e16`, `1.5e-7`). zmij computes the same
/// digits as ryu at about twice the speed (the timestamps of every row);
/// it writes positive exponents as `e+16`, so the `+` is dropped.
fn push_float(out: &mut Vec<u8>, v: f64, buf: &mut zmij::Buffer) {
    if v.is_finite() {
        let s = buf.format_finite(v).as_bytes();
        match s.iter().position(|&b| b == b'+') {
            Some(plus) => {
                out.extend_from_slice(&s[..plus]);
                out.extend_from_slice(&s[plus + 1..]);
            }
            None => out.extend_from_slice(s),
        }
    } else {
        out.extend_from_slice(b"null");
    }
}

fn push_int(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
}

/// Append a list value as a JSON array.
fn push_list(out: &mut Vec<u8>, v: &Value, fb: &mut zmij::Buffer) {
    out.push(b'[');
    match v {
        Value::IntList(l) => {
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_int(out, *x);
            }
        }
        Value::FloatList(l) => {
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_float(out, *x, fb);
            }
        }
        Value::PairList(l) => {
            for (i, (a, b)) in l.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.push(b'[');
                push_int(out, *a);
                out.push(b',');
                push_float(out, *b, fb);
                out.push(b']');
            }
        }
        _ => {}
    }
    out.push(b']');
}

/// Append a value as JSON.
fn push_json(out: &mut Vec<u8>, v: &Value, fb: &mut zmij::Buffer) {
    match v {
        Value::Int(x) => push_int(out, *x),
        Value::Float(x) => push_float(out, *x, fb),
        Value::Str(s) => push_json_str(out, s),
        _ => push_list(out, v, fb),
    }
}

fn push_csv_field(out: &mut Vec<u8>, s: &[u8]) {
    if s.iter().any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        for &b in s {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(s);
    }
}

/// Comma-separated values, RFC 4180 quoting, a header line; list columns as
/// JSON arrays in the cell.
pub struct CsvSink<W: Write> {
    w: BufWriter<W>,
    line: Vec<u8>,
    scratch: Vec<u8>,
    fb: zmij::Buffer,
    target: String,
}

impl<W: Write> CsvSink<W> {
    /// A CSV writer; `target` names the destination in error messages.
    pub fn new(w: W, target: &str) -> Self {
        CsvSink {
            w: BufWriter::with_capacity(BUF, w),
            line: Vec::with_capacity(1024),
            scratch: Vec::new(),
            fb: zmij::Buffer::new(),
            target: target.to_string(),
        }
    }
}

impl<W: Write> Sink for CsvSink<W> {
    fn begin(&mut self, columns: &[&'static Column]) -> Result<()> {
        self.line.clear();
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                self.line.push(b',');
            }
            push_csv_field(&mut self.line, c.name.as_bytes());
        }
        self.line.push(b'\n');
        self.w
            .write_all(&self.line)
            .map_err(|e| io_err(&self.target, e))
    }

    fn row(&mut self, values: &[Value]) -> Result<()> {
        self.line.clear();
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.line.push(b',');
            }
            match v {
                Value::Int(x) => push_int(&mut self.line, *x),
                Value::Float(x) => {
                    if x.is_finite() {
                        push_float(&mut self.line, *x, &mut self.fb)
                    }
                }
                Value::Str(s) => push_csv_field(&mut self.line, s.as_bytes()),
                _ => {
                    self.scratch.clear();
                    push_list(&mut self.scratch, v, &mut self.fb);
                    push_csv_field(&mut self.line, &self.scratch);
                }
            }
        }
        self.line.push(b'\n');
        self.w
            .write_all(&self.line)
            .map_err(|e| io_err(&self.target, e))
    }

    fn finish(&mut self) -> Result<()> {
        self.w.flush().map_err(|e| io_err(&self.target, e))
    }
}

fn object(line: &mut Vec<u8>, names: &[Vec<u8>], values: &[Value], fb: &mut zmij::Buffer) {
    line.push(b'{');
    for (i, (n, v)) in names.iter().zip(values).enumerate() {
        if i > 0 {
            line.push(b',');
        }
        line.extend_from_slice(n);
        line.push(b':');
        push_json(line, v, fb);
    }
    line.push(b'}');
}

fn quoted_names(columns: &[&'static Column]) -> Vec<Vec<u8>> {
    columns
        .iter()
        .map(|c| {
            let mut v = Vec::new();
            push_json_str(&mut v, c.name);
            v
        })
        .collect()
}

/// One JSON object per line.
pub struct JsonlSink<W: Write> {
    w: BufWriter<W>,
    names: Vec<Vec<u8>>,
    line: Vec<u8>,
    fb: zmij::Buffer,
    target: String,
}

impl<W: Write> JsonlSink<W> {
    /// A JSON Lines writer.
    pub fn new(w: W, target: &str) -> Self {
        JsonlSink {
            w: BufWriter::with_capacity(BUF, w),
            names: Vec::new(),
            line: Vec::with_capacity(2048),
            fb: zmij::Buffer::new(),
            target: target.to_string(),
        }
    }
}

impl<W: Write> Sink for JsonlSink<W> {
    fn begin(&mut self, columns: &[&'static Column]) -> Result<()> {
        self.names = quoted_names(columns);
        Ok(())
    }

    fn row(&mut self, values: &[Value]) -> Result<()> {
        self.line.clear();
        object(&mut self.line, &self.names, values, &mut self.fb);
        self.line.push(b'\n');
        self.w
            .write_all(&self.line)
            .map_err(|e| io_err(&self.target, e))
    }

    fn finish(&mut self) -> Result<()> {
        self.w.flush().map_err(|e| io_err(&self.target, e))
    }
}

/// A single JSON array of objects, one object per line inside it.
pub struct JsonSink<W: Write> {
    inner: JsonlSink<W>,
    rows: u64,
}

impl<W: Write> JsonSink<W> {
    /// A JSON array writer.
    pub fn new(w: W, target: &str) -> Self {
        JsonSink {
            inner: JsonlSink::new(w, target),
            rows: 0,
        }
    }
}

impl<W: Write> Sink for JsonSink<W> {
    fn begin(&mut self, columns: &[&'static Column]) -> Result<()> {
        self.inner.begin(columns)?;
        self.inner
            .w
            .write_all(b"[")
            .map_err(|e| io_err(&self.inner.target, e))
    }

    fn row(&mut self, values: &[Value]) -> Result<()> {
        let s = &mut self.inner;
        s.line.clear();
        s.line
            .extend_from_slice(if self.rows == 0 { b"\n" } else { b",\n" });
        object(&mut s.line, &s.names, values, &mut s.fb);
        self.rows += 1;
        s.w.write_all(&s.line).map_err(|e| io_err(&s.target, e))
    }

    fn finish(&mut self) -> Result<()> {
        self.inner
            .w
            .write_all(b"\n]\n")
            .map_err(|e| io_err(&self.inner.target, e))?;
        self.inner.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{ColumnType, Gate};
    use joyfuljay_testkit::XorShift64;

    /// Floats read exactly as ryu (the previous formatter, and serde_json's)
    /// writes them: random bit patterns, every power of ten and the
    /// notation switch points, timestamps and rates.
    #[test]
    fn floats_are_written_as_ryu_writes_them() {
        let mut fb = zmij::Buffer::new();
        let mut reference = ryu::Buffer::new();
        let mut values: Vec<f64> = vec![0.0, -0.0, 0.1, 0.3, f64::MAX, f64::MIN_POSITIVE, 5e-324];
        values.extend((-320..=308).map(|e| 10f64.powi(e)));
        values.extend((-320..=308).map(|e| -1.5 * 10f64.powi(e)));
        values.extend((0..100_000).map(|i| 1.7e9 + f64::from(i) * 1.000_001e-3));
        let mut rng = XorShift64(0x2545_f491_4f6c_dd1d);
        values.extend((0..1_000_000).map(|_| f64::from_bits(rng.next_u64())));
        let mut out = Vec::new();
        let mut checked = 0;
        for v in values.into_iter().filter(|v| v.is_finite()) {
            out.clear();
            push_float(&mut out, v, &mut fb);
            assert_eq!(
                std::str::from_utf8(&out).unwrap(),
                reference.format_finite(v),
                "{v:e}"
            );
            checked += 1;
        }
        assert!(checked > 900_000);
        out.clear();
        push_float(&mut out, f64::NAN, &mut fb);
        assert_eq!(out, b"null");
    }

    static COLS: [Column; 4] = [
        Column {
            name: "a",
            ty: ColumnType::Int,
            unit: "",
            description: "",
            gate: Gate::ALWAYS,
            identifies: false,
        },
        Column {
            name: "b",
            ty: ColumnType::Float,
            unit: "",
            description: "",
            gate: Gate::ALWAYS,
            identifies: false,
        },
        Column {
            name: "c",
            ty: ColumnType::Str,
            unit: "",
            description: "",
            gate: Gate::ALWAYS,
            identifies: false,
        },
        Column {
            name: "d",
            ty: ColumnType::PairList,
            unit: "",
            description: "",
            gate: Gate::ALWAYS,
            identifies: false,
        },
    ];

    fn row() -> Vec<Value> {
        vec![
            Value::Int(-3),
            Value::Float(2.0),
            Value::Str("x,\"y\"".into()),
            Value::PairList(vec![(52, 0.0), (1500, 0.0012)]),
        ]
    }

    fn cols() -> Vec<&'static Column> {
        COLS.iter().collect()
    }

    #[test]
    fn csv_quotes_and_formats() {
        let mut out = Vec::new();
        {
            let mut s = CsvSink::new(&mut out, "t");
            s.begin(&cols()).unwrap();
            s.row(&row()).unwrap();
            s.finish().unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a,b,c,d\n-3,2.0,\"x,\"\"y\"\"\",\"[[52,0.0],[1500,0.0012]]\"\n"
        );
    }

    #[test]
    fn json_and_jsonl_parse_back() {
        let mut out = Vec::new();
        {
            let mut s = JsonSink::new(&mut out, "t");
            s.begin(&cols()).unwrap();
            s.row(&row()).unwrap();
            s.row(&row()).unwrap();
            s.finish().unwrap();
        }
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 2);
        assert_eq!(v[0]["c"], "x,\"y\"");
        assert_eq!(v[1]["d"][1][0], 1500);
        assert_eq!(v[1]["b"].as_f64(), Some(2.0));

        let mut out = Vec::new();
        {
            let mut s = JsonlSink::new(&mut out, "t");
            s.begin(&cols()).unwrap();
            s.row(&row()).unwrap();
            s.finish().unwrap();
        }
        let line = String::from_utf8(out).unwrap();
        let v: serde_json::Value = serde_json::from_str(line.trim_end()).unwrap();
        assert_eq!(v["a"], -3);

        let mut out = Vec::new();
        {
            let mut s = JsonSink::new(&mut out, "t");
            s.begin(&cols()).unwrap();
            s.finish().unwrap();
        }
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert!(v.as_array().unwrap().is_empty());
    }
}
