//! Partitioned datasets: rows written to Hive-style directories
//! (`date=2024-01-15/hour=09/part-00000.parquet`, `file=a.pcap/…`) under
//! one output directory.
//!
//! - `date` and `hour` are the UTC date and hour of the flow's
//!   `start_time`; `file` is the base name of the capture file the flow
//!   came from (percent-encoded outside `A–Z a–z 0–9 . _ -`, as Hive and
//!   pyarrow do).
//! - The partition values live only in the directory names (the Hive
//!   convention): every part holds exactly the run's columns, so a reader
//!   with Hive partitioning gives back the rows of the plain output plus the
//!   partition columns.
//! - Each part is written to a temporary file beside it and renamed into
//!   place when the run has succeeded ([`OutputFile`]); a failed or
//!   interrupted run leaves no part under its final name, and removes the
//!   directories it created.
//! - The output directory must be new or empty, so a dataset never mixes
//!   runs.

use super::{Format, OutputFile, Sink};
use crate::error::{Error, Result};
use crate::features::{Column, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What a dataset is partitioned by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionKey {
    /// UTC date of the flow's start (`date=YYYY-MM-DD`).
    Date,
    /// UTC hour of the flow's start (`hour=HH`, 00–23).
    Hour,
    /// Base name of the capture file (`file=NAME`).
    File,
}

impl PartitionKey {
    /// The key's name, as in directory names.
    pub fn name(self) -> &'static str {
        match self {
            PartitionKey::Date => "date",
            PartitionKey::Hour => "hour",
            PartitionKey::File => "file",
        }
    }

    /// Parse a list of key names (each may hold several, comma-separated):
    /// `date`, `hour` and `file`, each at most once, in directory order.
    pub fn parse_list(names: &[String]) -> Result<Vec<PartitionKey>> {
        let mut keys = Vec::new();
        for n in names.iter().flat_map(|n| crate::config::split_features(n)) {
            let k = match n.as_str() {
                "date" => PartitionKey::Date,
                "hour" => PartitionKey::Hour,
                "file" => PartitionKey::File,
                _ => {
                    return Err(Error::Config(format!(
                        "partition_by: unknown key '{n}'; valid keys: date, hour, file"
                    )))
                }
            };
            if keys.contains(&k) {
                return Err(Error::Config(format!("partition_by: '{n}' is given twice")));
            }
            keys.push(k);
        }
        Ok(keys)
    }
}

/// The file name extension of a format's parts.
fn extension(f: Format) -> &'static str {
    match f {
        Format::Csv => "csv",
        Format::Json => "json",
        Format::Jsonl => "jsonl",
        #[cfg(feature = "parquet")]
        Format::Parquet => "parquet",
    }
}

/// One part being written.
struct Part {
    file: OutputFile,
    sink: Box<dyn Sink>,
}

/// A [`Sink`] writing a partitioned dataset into a directory. Call
/// [`PartitionedDir::commit`] after the run; dropped without it, it
/// removes its temporary parts and the directories it created.
pub struct PartitionedDir {
    root: PathBuf,
    format: Format,
    keys: Vec<PartitionKey>,
    columns: Vec<&'static Column>,
    /// Index of `start_time` among the columns (for `date`/`hour`).
    start: Option<usize>,
    /// Partition directory (relative) → its part, and their order of creation.
    parts: HashMap<String, usize>,
    open: Vec<(String, Part)>,
    /// The encoded base name of the current input file.
    file: String,
    /// Directories created by this dataset, outermost first.
    created: Vec<PathBuf>,
}

impl PartitionedDir {
    /// Prepare a dataset in `root`, which must not exist (it is created)
    /// or be an empty directory.
    pub fn create(root: &Path, format: Format, keys: Vec<PartitionKey>) -> Result<PartitionedDir> {
        let err = |m: &str| Error::Output {
            target: root.display().to_string(),
            source: std::io::Error::other(m.to_string()),
        };
        let io = |e: std::io::Error| Error::Output {
            target: root.display().to_string(),
            source: e,
        };
        if keys.is_empty() {
            return Err(Error::Config(
                "partition_by: give at least one key (date, hour, file)".to_string(),
            ));
        }
        let mut created = Vec::new();
        match std::fs::metadata(root) {
            Ok(m) if m.is_dir() => {
                if std::fs::read_dir(root).map_err(io)?.next().is_some() {
                    return Err(err(
                        "the output directory of a partitioned dataset must be new or empty (it is not)",
                    ));
                }
            }
            Ok(_) => {
                return Err(err(
                    "is not a directory (a partitioned dataset is a directory)",
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Create the missing ancestors too, remembering which.
                let mut missing = vec![root.to_path_buf()];
                let mut p = root.parent();
                while let Some(d) = p.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
                    missing.push(d.to_path_buf());
                    p = d.parent();
                }
                for d in missing.into_iter().rev() {
                    if let Err(e) = std::fs::create_dir(&d) {
                        for d in created.iter().rev() {
                            let _ = std::fs::remove_dir(d);
                        }
                        return Err(io(e));
                    }
                    super::temp_dirs().push(d.clone());
                    created.push(d);
                }
            }
            Err(e) => return Err(io(e)),
        }
        Ok(PartitionedDir {
            root: root.to_path_buf(),
            format,
            keys,
            columns: Vec::new(),
            start: None,
            parts: HashMap::new(),
            open: Vec::new(),
            file: String::new(),
            created,
        })
    }

    /// Move every part into place; returns their paths, in order of
    /// creation.
    pub fn commit(mut self) -> Result<Vec<PathBuf>> {
        let mut done = Vec::new();
        for (rel, part) in std::mem::take(&mut self.open) {
            part.file.commit()?;
            done.push(self.root.join(rel).join(self.part_name()));
        }
        self.forget_dirs();
        Ok(done)
    }

    /// Take this dataset's directories off the process-wide list.
    fn forget_dirs(&mut self) {
        let mut t = super::temp_dirs();
        t.retain(|d| !self.created.contains(d));
        drop(t);
        self.created.clear();
    }

    fn part_name(&self) -> String {
        format!("part-00000.{}", extension(self.format))
    }

    /// The partition directory of a row, relative to the root.
    fn dir_of(&self, values: &[Value]) -> Result<String> {
        let us = match self.start.map(|i| &values[i]) {
            Some(Value::Float(s)) => Some((s * 1e6).round() as i64),
            Some(Value::Int(s)) => Some(s.saturating_mul(1_000_000)),
            _ => None,
        };
        let mut rel = String::new();
        for k in &self.keys {
            if !rel.is_empty() {
                rel.push('/');
            }
            let v = match (k, us) {
                (PartitionKey::File, _) => self.file.clone(),
                (PartitionKey::Date, Some(us)) => {
                    let (y, m, d) = civil_from_days(us.div_euclid(86_400_000_000));
                    format!("{y:04}-{m:02}-{d:02}")
                }
                (PartitionKey::Hour, Some(us)) => {
                    format!("{:02}", us.rem_euclid(86_400_000_000) / 3_600_000_000)
                }
                _ => {
                    return Err(Error::Config(
                        "partition_by date/hour: the row has no start_time".to_string(),
                    ))
                }
            };
            rel.push_str(k.name());
            rel.push('=');
            rel.push_str(&v);
        }
        Ok(rel)
    }

    fn part(&mut self, rel: String) -> Result<&mut Part> {
        if let Some(&i) = self.parts.get(&rel) {
            return Ok(&mut self.open[i].1);
        }
        let mut dir = self.root.clone();
        for seg in rel.split('/') {
            dir.push(seg);
            if !dir.exists() {
                std::fs::create_dir(&dir).map_err(|e| Error::Output {
                    target: dir.display().to_string(),
                    source: e,
                })?;
                super::temp_dirs().push(dir.clone());
                self.created.push(dir.clone());
            }
        }
        let path = dir.join(self.part_name());
        let file = OutputFile::create(&path)?;
        let mut sink = self
            .format
            .sink(file.writer()?, &path.display().to_string());
        sink.begin(&self.columns)?;
        self.parts.insert(rel.clone(), self.open.len());
        self.open.push((rel, Part { file, sink }));
        Ok(&mut self.open.last_mut().expect("just pushed").1)
    }
}

impl Sink for PartitionedDir {
    fn begin(&mut self, columns: &[&'static Column]) -> Result<()> {
        self.columns = columns.to_vec();
        self.start = columns.iter().position(|c| c.name == "start_time");
        if self.start.is_none() && self.keys.iter().any(|k| *k != PartitionKey::File) {
            return Err(Error::Config(
                "partition_by date/hour needs the start_time column: select flow_meta (and keep start_time)"
                    .to_string(),
            ));
        }
        Ok(())
    }

    fn row(&mut self, values: &[Value]) -> Result<()> {
        let rel = self.dir_of(values)?;
        self.part(rel)?.sink.row(values)
    }

    fn finish(&mut self) -> Result<()> {
        for (_, p) in &mut self.open {
            p.sink.finish()?;
        }
        Ok(())
    }

    fn next_file(&mut self, path: &Path) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        self.file = encode(&name);
    }
}

impl Drop for PartitionedDir {
    fn drop(&mut self) {
        // Not committed: the temporary parts go first (with their
        // `OutputFile`s), then the directories this dataset created,
        // innermost first (each only if empty).
        self.open.clear();
        for d in self.created.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
        self.forget_dirs();
    }
}

/// Percent-encode a partition value outside `A–Z a–z 0–9 . _ -` (and a
/// leading `.`, which would hide the directory).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, b) in s.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_of_day_counts() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        // 2024-01-15 and a leap day.
        assert_eq!(civil_from_days(19_737), (2024, 1, 15));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn keys_parse_and_names_encode() {
        let k = PartitionKey::parse_list(&["date, hour".to_string()]).unwrap();
        assert_eq!(k, [PartitionKey::Date, PartitionKey::Hour]);
        assert!(PartitionKey::parse_list(&["date,date".to_string()]).is_err());
        assert!(PartitionKey::parse_list(&["minute".to_string()]).is_err());
        assert_eq!(encode("a b=c/ü.pcap"), "a%20b%3Dc%2F%C3%BC.pcap");
        assert_eq!(encode(".hidden"), "%2Ehidden");
    }
}
