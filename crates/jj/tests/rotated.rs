//! `--continue-across-files`: the parts of a split capture, read as one
//! stream, give the rows of the whole capture, value for value.
//!
//! The truth is `jj extract` on the unsplit file. The classic pcap files of
//! testdata/captures are split here by an independent record walker (the
//! global header copied to every part, records dealt out in runs, as
//! `editcap -c` does); the pcapng capture is split by `editcap -c`
//! itself (testdata/rotated, committed: CI has no editcap).

mod common;

use common::{jj, ok};
use joyfuljay_testkit::{captures_dir, testdata};
use std::path::{Path, PathBuf};

/// Split a classic pcap (either byte order) into parts of `per` records:
/// `None` when `whole` is not a classic pcap or has fewer than 2 records.
fn split_pcap(whole: &[u8], per: usize) -> Option<Vec<Vec<u8>>> {
    let big = match whole.get(..4)? {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => false,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => true,
        _ => return None,
    };
    let header = &whole[..24];
    let mut records = Vec::new();
    let mut off = 24;
    while off + 16 <= whole.len() {
        let b: [u8; 4] = whole[off + 8..off + 12].try_into().unwrap();
        let caplen = if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        } as usize;
        let end = (off + 16 + caplen).min(whole.len());
        records.push(&whole[off..end]);
        off = end;
    }
    if records.len() < 2 {
        return None;
    }
    Some(
        records
            .chunks(per)
            .map(|c| {
                let mut part = header.to_vec();
                for r in c {
                    part.extend_from_slice(r);
                }
                part
            })
            .collect(),
    )
}

fn write_parts(dir: &Path, stem: &str, parts: &[Vec<u8>]) -> Vec<String> {
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let path = dir.join(format!("{stem}_{i:05}.pcap"));
            std::fs::write(&path, p).unwrap();
            path.to_str().unwrap().to_string()
        })
        .collect()
}

/// `jj extract` (CSV on standard output) with `extra` flags.
fn extract(inputs: &[String], extra: &[&str]) -> Vec<u8> {
    let mut args = vec!["extract", "-q"];
    args.extend_from_slice(extra);
    args.extend(inputs.iter().map(String::as_str));
    ok(jj(&args)).stdout
}

fn rows(csv: &[u8]) -> usize {
    csv.iter()
        .filter(|&&b| b == b'\n')
        .count()
        .saturating_sub(1)
}

#[test]
fn split_captures_read_as_one_equal_the_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut names: Vec<PathBuf> = std::fs::read_dir(captures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let (mut checked, mut split_differs) = (0, 0);
    for path in names {
        let whole = std::fs::read(&path).unwrap();
        let stem = path.file_name().unwrap().to_str().unwrap().to_string();
        // Three to five parts, so flows cross at least two boundaries.
        let n = whole.len() / 1000 + 2;
        let per = (n / 4).max(1);
        let Some(parts) = split_pcap(&whole, per) else {
            continue;
        };
        if parts.len() < 2 {
            continue;
        }
        let sub = dir.path().join(&stem);
        std::fs::create_dir(&sub).unwrap();
        let parts = write_parts(&sub, &stem, &parts);
        let whole_path = vec![path.to_str().unwrap().to_string()];
        let truth = extract(&whole_path, &["-j", "1"]);
        for j in ["1", "2", "3"] {
            let got = extract(&parts, &["--continue-across-files", "-j", j]);
            assert!(
                got == truth,
                "{stem}: {} parts read as one stream at -j{j} differ from the whole ({} vs {} rows)",
                parts.len(),
                rows(&got),
                rows(&truth)
            );
        }
        // A directory of the parts (name order) is the same stream.
        let got = extract(
            &[sub.to_str().unwrap().to_string()],
            &["--continue-across-files", "-j", "2"],
        );
        assert!(got == truth, "{stem}: the directory of parts differs");
        // Without the flag, each part is its own flow space.
        let apart = extract(&parts, &["-j", "1"]);
        if apart != truth {
            split_differs += 1;
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} captures were split");
    // The test would prove nothing if splitting changed no capture's rows.
    assert!(
        split_differs >= 10,
        "splitting changed the rows of only {split_differs} captures"
    );
}

/// The connection group reads the input twice: both passes read the chain.
#[test]
fn connection_group_over_parts_equals_the_whole() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["http.cap", "dns-local.pcap", "tcp-impaired.pcap"] {
        let path = captures_dir().join(name);
        let whole = std::fs::read(&path).unwrap();
        let parts = split_pcap(&whole, 7).unwrap();
        let parts = write_parts(dir.path(), name, &parts);
        let flags = [
            "--features",
            "flow_meta,connection",
            "--connection-include-temporal",
        ];
        let truth = extract(&[path.to_str().unwrap().to_string()], &flags);
        for j in ["1", "2"] {
            let mut f = flags.to_vec();
            f.extend(["--continue-across-files", "-j", j]);
            assert!(extract(&parts, &f) == truth, "{name} at -j{j}");
        }
    }
}

/// pcapng parts of http.cap written by `editcap -F pcapng -c 10` (each with
/// its own section and interface blocks; testdata/rotated/README.md).
#[test]
fn editcap_split_pcapng_equals_the_whole() {
    let rotated = testdata("rotated");
    let mut parts: Vec<String> = std::fs::read_dir(&rotated)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcapng"))
        .map(|p| p.to_str().unwrap().to_string())
        .collect();
    parts.sort();
    assert!(parts.len() >= 3, "{parts:?}");
    let whole = captures_dir().join("http.cap");
    let truth = extract(&[whole.to_str().unwrap().to_string()], &[]);
    assert!(rows(&truth) > 0);
    for j in ["1", "2"] {
        assert!(extract(&parts, &["--continue-across-files", "-j", j]) == truth);
    }
}

#[test]
fn summary_counts_every_part() {
    let dir = tempfile::tempdir().unwrap();
    let path = captures_dir().join("http.cap");
    let parts = split_pcap(&std::fs::read(&path).unwrap(), 10).unwrap();
    let n = parts.len();
    let parts = write_parts(dir.path(), "http", &parts);
    let mut args = vec!["extract", "--continue-across-files", "-o", "/dev/null"];
    args.extend(parts.iter().map(String::as_str));
    let o = ok(jj(&args));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("jj: {n} files, 43 packets read")),
        "{err}"
    );
}

/// Parts given out of time order: a warning naming the part, and the run
/// goes on (its packets are out of order, as within one file).
#[test]
fn parts_out_of_time_order_warn() {
    let dir = tempfile::tempdir().unwrap();
    let path = captures_dir().join("http.cap");
    let parts = split_pcap(&std::fs::read(&path).unwrap(), 20).unwrap();
    let mut parts = write_parts(dir.path(), "http", &parts);
    parts.reverse();
    let mut args = vec!["extract", "--continue-across-files", "-o", "/dev/null"];
    args.extend(parts.iter().map(String::as_str));
    let o = ok(jj(&args));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("jj: warning: {}: its first packet", parts[1]))
            && err.contains("earlier than the latest packet of the files before it"),
        "{err}"
    );
    // In order: no warning.
    parts.reverse();
    let mut args = vec!["extract", "--continue-across-files", "-o", "/dev/null"];
    args.extend(parts.iter().map(String::as_str));
    let o = ok(jj(&args));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("warning"));
}

/// A part cut short keeps its complete packets and the stream goes on
/// with the next part: the rows are those of the whole file without the
/// lost packet.
#[test]
fn a_cut_short_part_keeps_its_packets_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = captures_dir().join("http.cap");
    let whole = std::fs::read(&path).unwrap();
    let mut parts = split_pcap(&whole, 15).unwrap();
    assert!(parts.len() >= 3);
    // Cut the last record of part 0 in half; the truth drops that packet.
    let offs = joyfuljay_testkit::pcap_record_offsets(&parts[0]);
    let last = *offs.last().unwrap();
    let cut = last + (parts[0].len() - last) / 2;
    let mut truth_parts = parts.clone();
    truth_parts[0].truncate(last);
    parts[0].truncate(cut);
    let truth_whole: Vec<u8> = truth_parts
        .iter()
        .enumerate()
        .flat_map(|(i, p)| if i == 0 { &p[..] } else { &p[24..] }.to_vec())
        .collect();
    let truth_path = dir.path().join("truth.pcap");
    std::fs::write(&truth_path, truth_whole).unwrap();
    let parts = write_parts(dir.path(), "http", &parts);
    let truth = extract(&[truth_path.to_str().unwrap().to_string()], &[]);
    let mut args = vec!["extract", "--continue-across-files"];
    args.extend(parts.iter().map(String::as_str));
    let o = ok(jj(&args));
    assert!(o.stdout == truth);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("jj: warning: {}: capture is cut short", parts[0]))
            && err.contains("went on with the next file"),
        "{err}"
    );
}
