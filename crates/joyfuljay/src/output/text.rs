//! CSV, JSON and JSON Lines writers.

use super::{DirectRows, RowFormatter, Sink, FORMATTED_CHUNK};
use crate::error::{Error, Result};
use crate::features::{Cells, Column, Value};
use std::io::{BufWriter, Write};

const BUF: usize = 256 * 1024;

fn io_err(target: &str, e: std::io::Error) -> Error {
    Error::Output {
        target: target.to_string(),
        source: e,
    }
}

/// Append the shortest text that reads back as `v` (`null` when not
/// finite), in ryu's notation (`1e16`, `1.5e-7`). zmij computes the same
/// digits as ryu at about twice the speed (the timestamps of every row);
/// it writes positive exponents as `e+16`, so the `+` is dropped.
///
/// Multiples of 1/8 below 10^12 in magnitude (counts, byte lengths, zeros,
/// means of a few lengths: most values of short flows) take a fast path:
/// integer digits and one of `.0`, `.125`, …, `.875`, which is what ryu
/// writes for them (tested against it). A value equal to
/// the previous one formatted reuses its text.
#[inline]
fn push_float(out: &mut Vec<u8>, v: f64, fmt: &mut FloatFmt) {
    const EIGHTHS_BELOW: f64 = 1e12;
    const FRACTIONS: [&[u8]; 8] = [
        b".0", b".125", b".25", b".375", b".5", b".625", b".75", b".875",
    ];
    let bits = v.to_bits();
    let eighths = v * 8.0;
    if v.abs() < EIGHTHS_BELOW && (eighths as i64) as f64 == eighths && bits != (-0.0f64).to_bits()
    {
        // A multiple of 1/8 (whole numbers, means of 2, 4 or 8 lengths):
        // exact in 3 decimals, which is also the shortest text.
        let e = eighths as i64;
        let at = text_room(out);
        let mut t = Text::at(out, at);
        if e < 0 {
            t.push(b'-');
        }
        let e = e.unsigned_abs();
        t.digits(e / 8);
        for &b in FRACTIONS[(e % 8) as usize] {
            t.push(b);
        }
        let n = t.len;
        out.truncate(at + n);
    } else if let Some(micros) = whole_micros(v) {
        // A whole number of microseconds (timestamps, durations, IATs):
        // exactly its six decimals, trailing zeros dropped.
        let at = text_room(out);
        let mut t = Text::at(out, at);
        if v < 0.0 {
            t.push(b'-');
        }
        t.digits(micros / 1_000_000);
        t.push(b'.');
        let mut frac = micros % 1_000_000;
        if frac == 0 {
            t.push(b'0');
        } else {
            let mut width = 6;
            while frac % 10 == 0 {
                frac /= 10;
                width -= 1;
            }
            t.digits_width(frac, width);
        }
        let n = t.len;
        out.truncate(at + n);
    } else if bits == fmt.last_bits && fmt.last_len > 0 {
        // The same value as the previous one (a short flow's equal
        // percentiles): its text again.
        out.extend_from_slice(&fmt.last[..fmt.last_len]);
    } else if v.is_finite() {
        let s = fmt.buf.format_finite(v).as_bytes();
        let start = out.len();
        match s.iter().position(|&b| b == b'+') {
            Some(plus) => {
                out.extend_from_slice(&s[..plus]);
                out.extend_from_slice(&s[plus + 1..]);
            }
            None => out.extend_from_slice(s),
        }
        let text = &out[start..];
        if text.len() <= fmt.last.len() {
            fmt.last[..text.len()].copy_from_slice(text);
            fmt.last_len = text.len();
            fmt.last_bits = bits;
        }
    } else {
        out.extend_from_slice(b"null");
    }
}

/// A short text (a number) built in place at the end of the output: 32
/// zero bytes are appended (one fixed-size store), the digits written over
/// them, and the vector cut to the text's length. No `memcpy` call per
/// value (which variable-length copies of a few bytes cost), and no copy
/// from a stack buffer either: reading back freshly written single bytes
/// as one wide load stalls store-to-load forwarding, which cost a fifth
/// of the float formatter's time.
struct Text<'a> {
    buf: &'a mut [u8; 32],
    len: usize,
}

/// Append 32 bytes of room for a [`Text`]; returns where it starts.
#[inline]
fn text_room(out: &mut Vec<u8>) -> usize {
    let at = out.len();
    out.extend_from_slice(&[0; 32]);
    at
}

impl<'a> Text<'a> {
    /// The text in the room made by [`text_room`] at `at`.
    #[inline]
    fn at(out: &'a mut [u8], at: usize) -> Text<'a> {
        let buf = (&mut out[at..at + 32])
            .try_into()
            .expect("text_room made 32 bytes");
        Text { buf, len: 0 }
    }

    #[inline]
    fn push(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
    }

    /// The decimal digits of `v`.
    #[inline]
    fn digits(&mut self, v: u64) {
        let width = v.checked_ilog10().unwrap_or(0) as usize + 1;
        self.digits_width(v, width);
    }

    /// `v` in exactly `width` digits (zeros in front), two at a time.
    #[inline]
    fn digits_width(&mut self, mut v: u64, width: usize) {
        const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
            2021222324252627282930313233343536373839\
            4041424344454647484950515253545556575859\
            6061626364656667686970717273747576777879\
            8081828384858687888990919293949596979899";
        let start = self.len;
        let mut i = start + width;
        while i >= start + 2 {
            let r = (v % 100) as usize * 2;
            v /= 100;
            self.buf[i - 2..i].copy_from_slice(&PAIRS[r..r + 2]);
            i -= 2;
        }
        if i > start {
            self.buf[start] = b'0' + (v % 10) as u8;
        }
        self.len = start + width;
    }
}

/// `|v|` in microseconds when `v` is the double nearest to a whole number
/// of microseconds, 10^-4 ≤ |v| < 2^31 (seconds). The decimal with those six
/// decimals then rounds to `v`, and no shorter decimal does (in that range
/// an ulp is below 10^-6, finer than the decimals dropped), so it is the
/// shortest text, as ryu writes it (tested against it).
#[inline]
fn whole_micros(v: f64) -> Option<u64> {
    const BELOW: f64 = 2_147_483_648.0;
    let a = v.abs();
    if !(1e-4..BELOW).contains(&a) {
        return None;
    }
    // Rounded to the nearest (`as` truncates; no libm call).
    let k = ((a * 1e6 + 0.5) as u64) as f64;
    (k / 1e6 == a).then_some(k as u64)
}

/// The float formatter of a sink, with the text of the last value it wrote.
#[derive(Default)]
pub(crate) struct FloatFmt {
    buf: zmij::Buffer,
    last_bits: u64,
    last_len: usize,
    last: [u8; 32],
}

#[inline]
fn push_int(out: &mut Vec<u8>, v: i64) {
    if (0..10).contains(&v) {
        out.push(b'0' + v as u8);
        return;
    }
    let at = text_room(out);
    let mut t = Text::at(out, at);
    if v < 0 {
        t.push(b'-');
    }
    t.digits(v.unsigned_abs());
    let n = t.len;
    out.truncate(at + n);
}

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
}

/// Append a list value as a JSON array.
fn push_list(out: &mut Vec<u8>, v: &Value, fb: &mut FloatFmt) {
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
        Value::StrList(l) => {
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_json_str(out, x);
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
fn push_json(out: &mut Vec<u8>, v: &Value, fb: &mut FloatFmt) {
    match v {
        Value::Int(x) => push_int(out, *x),
        Value::Float(x) => push_float(out, *x, fb),
        Value::Str(s) => push_json_str(out, s),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Null => out.extend_from_slice(b"null"),
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

/// CSV lines being formatted: cells go straight into `buf`. The text of
/// [`CsvSink`]'s rows, and, sent to another thread, of its
/// [`RowFormatter`] (the same code, so the same bytes).
struct CsvRows {
    buf: Vec<u8>,
    scratch: Vec<u8>,
    fb: FloatFmt,
    /// Cells in the current line so far (a comma goes before every other).
    cells: usize,
}

impl CsvRows {
    fn with_capacity(n: usize) -> CsvRows {
        CsvRows {
            buf: Vec::with_capacity(n),
            scratch: Vec::new(),
            fb: FloatFmt::default(),
            cells: 0,
        }
    }

    #[inline]
    fn separate(&mut self) {
        if self.cells > 0 {
            self.buf.push(b',');
        }
        self.cells += 1;
    }

    fn list(&mut self, v: &Value) {
        self.scratch.clear();
        push_list(&mut self.scratch, v, &mut self.fb);
        push_csv_field(&mut self.buf, &self.scratch);
    }

    fn row(&mut self, values: &[Value]) {
        self.cells = 0;
        for v in values {
            match v {
                Value::Int(x) => self.int(*x),
                Value::Float(x) => self.float(*x),
                Value::Str(s) => self.text(s),
                Value::Bool(b) => self.bool(*b),
                Value::Null => self.null(),
                _ => {
                    self.separate();
                    self.list(v);
                }
            }
        }
        self.buf.push(b'\n');
    }
}

/// A CSV line's cells: integers and floats in their shortest text (a
/// non-finite float as an empty field), text quoted when needed, lists as
/// JSON arrays in a quoted field.
impl Cells for CsvRows {
    #[inline]
    fn int(&mut self, v: i64) {
        self.separate();
        push_int(&mut self.buf, v);
    }
    #[inline]
    fn float(&mut self, v: f64) {
        self.separate();
        if v.is_finite() {
            push_float(&mut self.buf, v, &mut self.fb);
        }
    }
    #[inline]
    fn text(&mut self, s: &str) {
        self.separate();
        push_csv_field(&mut self.buf, s.as_bytes());
    }
    #[inline]
    fn bool(&mut self, v: bool) {
        self.separate();
        self.buf
            .extend_from_slice(if v { b"true" } else { b"false" });
    }
    #[inline]
    fn null(&mut self) {
        self.separate();
    }
    fn value(&mut self, v: Value) {
        match v {
            Value::Int(x) => self.int(x),
            Value::Float(x) => self.float(x),
            Value::Str(s) => self.text(&s),
            Value::Bool(b) => self.bool(b),
            Value::Null => self.null(),
            v => {
                self.separate();
                self.list(&v);
            }
        }
    }
}

impl RowFormatter for CsvRows {
    #[inline]
    fn start_row(&mut self) -> &mut dyn Cells {
        self.cells = 0;
        self
    }
    #[inline]
    fn end_row(&mut self) {
        self.buf.push(b'\n');
    }
    fn output(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }
}

/// Comma-separated values, RFC 4180 quoting, a header line; list columns as
/// JSON arrays in the cell.
///
/// Cells are written straight into the output buffer (no line buffer copied
/// into a `BufWriter`); the buffer goes to the writer whole once it holds
/// [`BUF`] bytes, always at the end of a row.
pub struct CsvSink<W: Write> {
    w: W,
    rows: CsvRows,
    target: String,
}

impl<W: Write> CsvSink<W> {
    /// A CSV writer; `target` names the destination in error messages.
    pub fn new(w: W, target: &str) -> Self {
        CsvSink {
            w,
            rows: CsvRows::with_capacity(BUF + 64 * 1024),
            target: target.to_string(),
        }
    }

    /// Hand the buffered rows to the writer.
    fn drain(&mut self) -> Result<()> {
        let r = self.w.write_all(&self.rows.buf);
        self.rows.buf.clear();
        r.map_err(|e| io_err(&self.target, e))
    }

    /// Pass the buffer on when it is full (at the end of a line).
    #[inline]
    fn maybe_drain(&mut self) -> Result<()> {
        if self.rows.buf.len() >= BUF {
            self.drain()?;
        }
        Ok(())
    }
}

impl<W: Write> DirectRows for CsvSink<W> {
    #[inline]
    fn start_row(&mut self) -> &mut dyn Cells {
        self.rows.cells = 0;
        &mut self.rows
    }

    #[inline]
    fn end_row(&mut self) -> Result<()> {
        self.rows.buf.push(b'\n');
        self.maybe_drain()
    }
}

impl<W: Write> Sink for CsvSink<W> {
    fn direct(&mut self) -> Option<&mut dyn DirectRows> {
        Some(self)
    }

    fn begin(&mut self, columns: &[&'static Column]) -> Result<()> {
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                self.rows.buf.push(b',');
            }
            push_csv_field(&mut self.rows.buf, c.name.as_bytes());
        }
        self.rows.buf.push(b'\n');
        self.maybe_drain()
    }

    fn row(&mut self, values: &[Value]) -> Result<()> {
        self.rows.row(values);
        self.maybe_drain()
    }

    fn formatter(&self) -> Option<Box<dyn RowFormatter>> {
        Some(Box::new(CsvRows::with_capacity(FORMATTED_CHUNK + 4096)))
    }

    fn write_formatted(&mut self, text: &[u8], _rows: u64) -> Result<()> {
        if self.rows.buf.is_empty() && text.len() >= BUF {
            return self.w.write_all(text).map_err(|e| io_err(&self.target, e));
        }
        self.rows.buf.extend_from_slice(text);
        self.maybe_drain()
    }

    fn finish(&mut self) -> Result<()> {
        self.drain()?;
        self.w.flush().map_err(|e| io_err(&self.target, e))
    }

    fn flush(&mut self) -> Result<()> {
        self.drain()?;
        self.w.flush().map_err(|e| io_err(&self.target, e))
    }
}

fn object(line: &mut Vec<u8>, names: &[Vec<u8>], values: &[Value], fb: &mut FloatFmt) {
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
    fb: FloatFmt,
    target: String,
}

impl<W: Write> JsonlSink<W> {
    /// A JSON Lines writer.
    pub fn new(w: W, target: &str) -> Self {
        JsonlSink {
            w: BufWriter::with_capacity(BUF, w),
            names: Vec::new(),
            line: Vec::with_capacity(2048),
            fb: FloatFmt::default(),
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

    fn formatter(&self) -> Option<Box<dyn RowFormatter>> {
        Some(Box::new(JsonRows::new(self.names.clone(), false)))
    }

    fn write_formatted(&mut self, text: &[u8], _rows: u64) -> Result<()> {
        self.w.write_all(text).map_err(|e| io_err(&self.target, e))
    }

    fn finish(&mut self) -> Result<()> {
        self.w.flush().map_err(|e| io_err(&self.target, e))
    }

    fn flush(&mut self) -> Result<()> {
        self.w.flush().map_err(|e| io_err(&self.target, e))
    }
}

/// JSON objects being formatted on another thread ([`RowFormatter`]): one
/// per line (JSON Lines), or each after `,\n` (inside a JSON array: the
/// sink drops the comma before its first row).
struct JsonRows {
    names: Vec<Vec<u8>>,
    row: Vec<Value>,
    buf: Vec<u8>,
    fb: FloatFmt,
    in_array: bool,
}

impl JsonRows {
    fn new(names: Vec<Vec<u8>>, in_array: bool) -> JsonRows {
        JsonRows {
            names,
            row: Vec::new(),
            buf: Vec::with_capacity(FORMATTED_CHUNK + 4096),
            fb: FloatFmt::default(),
            in_array,
        }
    }
}

impl RowFormatter for JsonRows {
    fn start_row(&mut self) -> &mut dyn Cells {
        self.row.clear();
        &mut self.row
    }
    fn end_row(&mut self) {
        if self.in_array {
            self.buf.extend_from_slice(b",\n");
        }
        object(&mut self.buf, &self.names, &self.row, &mut self.fb);
        if !self.in_array {
            self.buf.push(b'\n');
        }
    }
    fn output(&mut self) -> &mut Vec<u8> {
        &mut self.buf
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

    fn formatter(&self) -> Option<Box<dyn RowFormatter>> {
        Some(Box::new(JsonRows::new(self.inner.names.clone(), true)))
    }

    fn write_formatted(&mut self, text: &[u8], rows: u64) -> Result<()> {
        // Every row comes after ",\n"; the first row of the array after "\n".
        let text = if self.rows == 0 && !text.is_empty() {
            &text[1..]
        } else {
            text
        };
        self.rows += rows;
        let s = &mut self.inner;
        s.w.write_all(text).map_err(|e| io_err(&s.target, e))
    }

    fn finish(&mut self) -> Result<()> {
        self.inner
            .w
            .write_all(b"\n]\n")
            .map_err(|e| io_err(&self.inner.target, e))?;
        self.inner.finish()
    }

    fn flush(&mut self) -> Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{Cell, ColumnType, Gate};
    use joyfuljay_testkit::XorShift64;

    /// Floats read exactly as ryu (the previous formatter, and serde_json's)
    /// writes them: random bit patterns, every power of ten and the
    /// notation switch points, timestamps and rates.
    #[test]
    fn floats_are_written_as_ryu_writes_them() {
        let mut fb = FloatFmt::default();
        let mut reference = ryu::Buffer::new();
        let mut values: Vec<f64> = vec![0.0, -0.0, 0.1, 0.3, f64::MAX, f64::MIN_POSITIVE, 5e-324];
        values.extend((-320..=308).map(|e| 10f64.powi(e)));
        values.extend((-320..=308).map(|e| -1.5 * 10f64.powi(e)));
        values.extend((0..100_000).map(|i| 1.7e9 + f64::from(i) * 1.000_001e-3));
        // The whole-number fast path and its edges.
        values.extend((-100_000..=100_000).map(f64::from));
        values.extend((0..=52).flat_map(|b| {
            let p = 2f64.powi(b);
            [p - 1.0, p, p + 1.0, -p]
        }));
        values.extend([
            1e15 - 1.0,
            1e15,
            1e15 + 1.0,
            999_999_999_999_999.0,
            -1e15 + 1.0,
        ]);
        values.extend((-200_000..=200_000).map(|i| f64::from(i) / 8.0));
        values.extend([
            1e12 - 0.125,
            1e12,
            -1e12 + 0.5,
            999_999_999_999.875,
            1e14 - 0.125,
            0.0625,
            1e-300,
        ]);
        values.extend((0..100_000).map(|i| (i as f64 * 98_765_432.1).trunc() / 8.0));
        // Whole microseconds, as the groups compute seconds: every edge of
        // the fast path, then random ones of every magnitude.
        values.extend([
            1e-4,
            0.99e-4,
            1e-5,
            1e-6,
            2_147_483_647.999_999,
            2_147_483_648.0,
        ]);
        values.extend([0.000_100_000_1, 1_700_000_000.123_456, -0.25e-3]);
        let mut rng = XorShift64(0x9e37_79b9_7f4a_7c15);
        for _ in 0..300_000 {
            let m = rng.next_u64();
            let micros = (m >> (m % 64)) as i64;
            values.push(micros as f64 / 1e6);
            values.push(-(micros as f64) / 1e6);
        }
        values.extend((0..100_000).map(|i| (i as f64 * 9_876_543_210.123).trunc()));
        let mut rng = XorShift64(0x2545_f491_4f6c_dd1d);
        values.extend((0..1_000_000).map(|_| f64::from_bits(rng.next_u64())));
        let mut out = Vec::new();
        let mut checked = 0;
        for v in values.into_iter().filter(|v| v.is_finite()) {
            // Twice: the second time from the memo of the last value.
            for _ in 0..2 {
                out.clear();
                push_float(&mut out, v, &mut fb);
                assert_eq!(
                    std::str::from_utf8(&out).unwrap(),
                    reference.format_finite(v),
                    "{v:e}"
                );
            }
            checked += 1;
        }
        assert!(checked > 900_000);
        out.clear();
        push_float(&mut out, f64::NAN, &mut fb);
        assert_eq!(out, b"null");
    }

    /// A row written cell by cell (`DirectRows`) is the row written whole.
    #[test]
    fn direct_cells_write_the_same_csv_as_rows() {
        let rows = vec![
            vec![
                Value::Int(-3),
                Value::Float(0.1),
                Value::Float(f64::NAN),
                Value::Str("a,\"b\"".into()),
                Value::IntList(vec![1, 2]),
                Value::FloatList(vec![0.5, 1e-7]),
                Value::StrList(vec!["h2".into(), "a\"b".into()]),
                Value::PairList(vec![(60, 0.25)]),
                Value::Str(String::new()),
                Value::Float(1_700_000_000.123_456),
            ],
            vec![
                Value::Float(-0.0),
                Value::Int(i64::MIN),
                Value::Str("x".into()),
                Value::Bool(false),
                Value::Null,
                Value::Bool(true),
            ],
        ];
        let mut whole = CsvSink::new(Vec::new(), "t");
        let mut cells = CsvSink::new(Vec::new(), "t");
        for r in &rows {
            whole.row(r).unwrap();
            let d = cells.direct().unwrap();
            let c = d.start_row();
            for v in r {
                match v {
                    Value::Int(x) => c.int(*x),
                    Value::Float(x) => c.float(*x),
                    Value::Str(s) => c.text(s),
                    Value::Bool(x) => Cell::put_into(*x, c),
                    Value::Null => Cell::put_into(None::<i64>, c),
                    v => c.value(v.clone()),
                }
            }
            d.end_row().unwrap();
        }
        whole.finish().unwrap();
        cells.finish().unwrap();
        let a = String::from_utf8(whole.w).unwrap();
        let b = String::from_utf8(cells.w).unwrap();
        assert_eq!(a, b);
        assert!(b.ends_with("\n-0.0,-9223372036854775808,x,false,,true\n"));
    }

    /// Integers are written as std writes them, at every digit count.
    #[test]
    fn integers_are_written_as_std_writes_them() {
        let mut values = vec![0i64, 1, -1, 9, 10, -10, i64::MAX, i64::MIN, i64::MIN + 1];
        for e in 0..19 {
            let p = 10i64.pow(e);
            values.extend([p - 1, p, p + 1, -p + 1, -p, -p - 1]);
        }
        let mut rng = XorShift64(0x1234_5678_9abc_def0);
        for _ in 0..100_000 {
            let x = rng.next_u64();
            values.push((x >> (x % 64)) as i64);
            values.push(x as i64);
        }
        let mut out = Vec::new();
        for v in values {
            out.clear();
            out.extend_from_slice(b"x,");
            push_int(&mut out, v);
            assert_eq!(out, format!("x,{v}").as_bytes());
        }
    }

    static COLS: [Column; 6] = [
        Column::describe("a", ColumnType::Int, "", Gate::ALWAYS, ""),
        Column::describe("b", ColumnType::Float, "", Gate::ALWAYS, ""),
        Column::describe("c", ColumnType::Str, "", Gate::ALWAYS, ""),
        Column::describe("d", ColumnType::PairList, "", Gate::ALWAYS, ""),
        Column::describe("e", ColumnType::Bool, "", Gate::ALWAYS, ""),
        Column::describe("f", ColumnType::Int, "", Gate::ALWAYS, "").or_null(),
    ];

    fn row() -> Vec<Value> {
        vec![
            Value::Int(-3),
            Value::Float(2.0),
            Value::Str("x,\"y\"".into()),
            Value::PairList(vec![(52, 0.0), (1500, 0.0012)]),
            Value::Bool(true),
            Value::Null,
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
            "a,b,c,d,e,f\n-3,2.0,\"x,\"\"y\"\"\",\"[[52,0.0],[1500,0.0012]]\",true,\n"
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
        assert_eq!(v[1]["e"], true);
        assert!(v[1]["f"].is_null());

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
