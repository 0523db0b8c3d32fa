//! CSV tables: a header and rows of strings, with access by column name.

use std::path::Path;

/// A CSV document: the header line and every record, as text. Rows all
/// have the header's length (a ragged row fails the parse).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Parse CSV bytes whose first record is the header; panics on
    /// malformed or ragged input.
    pub fn parse(bytes: &[u8]) -> Table {
        let mut r = csv::ReaderBuilder::new().from_reader(bytes);
        let header = r
            .headers()
            .expect("CSV header")
            .iter()
            .map(str::to_string)
            .collect::<Vec<_>>();
        let rows = r
            .records()
            .map(|rec| {
                let rec = rec.expect("CSV record");
                assert_eq!(rec.len(), header.len(), "ragged CSV row");
                rec.iter().map(str::to_string).collect()
            })
            .collect();
        Table { header, rows }
    }

    /// Read and parse the CSV file at `path`.
    pub fn read(path: &Path) -> Table {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Table::parse(&bytes)
    }

    /// Index of column `name`; panics naming the header when it is absent.
    pub fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", self.header))
    }

    /// Every value of column `name`, top to bottom.
    pub fn column(&self, name: &str) -> Vec<String> {
        let c = self.col(name);
        self.rows.iter().map(|r| r[c].clone()).collect()
    }

    /// Column `name` parsed as integers; panics on a value that is not one.
    pub fn ints(&self, name: &str) -> Vec<i64> {
        self.column(name)
            .iter()
            .map(|v| v.parse().unwrap_or_else(|_| panic!("{name}: {v}")))
            .collect()
    }

    /// Column `name` parsed as floats; panics on a value that is not one.
    pub fn floats(&self, name: &str) -> Vec<f64> {
        self.column(name)
            .iter()
            .map(|v| v.parse().unwrap_or_else(|_| panic!("{name}: {v}")))
            .collect()
    }

    /// The rows restricted to `names`, in that order: compare two tables
    /// on the columns they share with `assert_eq!`.
    pub fn project(&self, names: &[&str]) -> Vec<Vec<String>> {
        let idx: Vec<usize> = names.iter().map(|n| self.col(n)).collect();
        self.rows
            .iter()
            .map(|r| idx.iter().map(|&i| r[i].clone()).collect())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_by_name() {
        let t = Table::parse(b"a,b,c\n1,x,0.5\n2,,1e3\n");
        assert_eq!(t.header, ["a", "b", "c"]);
        assert_eq!(t.ints("a"), [1, 2]);
        assert_eq!(t.column("b"), ["x", ""]);
        assert_eq!(t.floats("c"), [0.5, 1000.0]);
        assert_eq!(t.project(&["c", "a"]), [["0.5", "1"], ["1e3", "2"]]);
    }

    #[test]
    #[should_panic(expected = "no column d")]
    fn a_missing_column_is_named() {
        Table::parse(b"a\n1\n").col("d");
    }

    #[test]
    #[should_panic]
    fn a_ragged_row_fails() {
        Table::parse(b"a,b\n1\n");
    }

    #[test]
    fn reads_the_reference_values() {
        let t = Table::read(&crate::reference_dir().join("flow_id.csv"));
        assert_eq!(t.header[0], "salt");
        assert!(t.rows.len() >= 10);
    }
}
