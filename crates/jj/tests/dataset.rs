//! `jj extract -o DIR --partition-by …`: the directory layout, the rows
//! (their union is the plain output's rows; each `file=` partition is that
//! file's own output), and no part under a final name after a failure or
//! an interrupt. (Reading the Parquet parts back with pyarrow.dataset,
//! DuckDB and polars: tests/python/test_dataset.py.)

mod common;

use common::{jj, ok};
use joyfuljay::synth::{Packet, PcapWriter};
use joyfuljay_testkit::capture;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every file under `dir`, relative, with `/` separators.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, d: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(
                    p.strip_prefix(root)
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .replace('\\', "/"),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn lines(b: &[u8]) -> Vec<String> {
    String::from_utf8(b.to_vec())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// UTC "YYYY-MM-DD HH" of Unix seconds, from GNU date (an independent
/// calendar).
fn utc_hour(secs: i64) -> String {
    let o = Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%d %H"])
        .output()
        .unwrap();
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

const INPUTS: [&str; 4] = [
    "http.cap",
    "dns.cap",
    "tcp-ethereal-file1.trace",
    "quic.pcap",
];

fn inputs() -> Vec<String> {
    INPUTS
        .iter()
        .map(|n| capture(n).to_str().unwrap().to_string())
        .collect()
}

#[test]
fn date_hour_parts_hold_the_rows_of_their_hour() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flows");
    let ins = inputs();
    let mut plain_args = vec!["extract", "-q", "--features", "flow_meta,timing"];
    plain_args.extend(ins.iter().map(String::as_str));
    let plain = lines(&ok(jj(&plain_args)).stdout);
    for j in ["1", "2"] {
        let _ = std::fs::remove_dir_all(&out);
        let mut args = plain_args.clone();
        args.extend([
            "-o",
            out.to_str().unwrap(),
            "--partition-by",
            "date,hour",
            "-j",
            j,
        ]);
        ok(jj(&args));
        let files = files_under(&out);
        assert!(files.len() >= 2, "{files:?}");
        let mut rows = Vec::new();
        let mut cache = BTreeMap::new();
        for f in &files {
            let segs: Vec<&str> = f.split('/').collect();
            assert_eq!(segs.len(), 3, "{f}");
            assert_eq!(segs[2], "part-00000.csv");
            let date = segs[0].strip_prefix("date=").expect(f);
            let hour = segs[1].strip_prefix("hour=").expect(f);
            let part = lines(&std::fs::read(out.join(f)).unwrap());
            assert_eq!(part[0], plain[0], "{f}: header");
            assert!(part.len() > 1, "{f}: an empty part");
            let start = part[0].split(',').position(|c| c == "start_time").unwrap();
            for r in &part[1..] {
                let secs: f64 = r.split(',').nth(start).unwrap().parse().unwrap();
                let want = cache
                    .entry(secs.floor() as i64)
                    .or_insert_with(|| utc_hour(secs.floor() as i64));
                assert_eq!(*want, format!("{date} {hour}"), "{f}: {r}");
                rows.push(r.clone());
            }
        }
        let mut want = plain[1..].to_vec();
        want.sort();
        rows.sort();
        assert_eq!(
            rows, want,
            "-j{j}: the parts' rows are not the plain output's"
        );
        // The captures span several days: more than one date directory.
        let dates: BTreeSet<&str> = files.iter().map(|f| f.split('/').next().unwrap()).collect();
        assert!(dates.len() >= 2, "{dates:?}");
    }
}

#[test]
fn file_parts_are_each_files_own_output() {
    let dir = tempfile::tempdir().unwrap();
    let ins = inputs();
    for (j, fmt) in [("1", "csv"), ("2", "jsonl"), ("3", "csv")] {
        let out = dir.path().join(format!("by-file-{j}"));
        let mut args = vec![
            "extract",
            "-q",
            "-j",
            j,
            "-f",
            fmt,
            "--partition-by",
            "file",
        ];
        args.extend(["-o", out.to_str().unwrap()]);
        args.extend(ins.iter().map(String::as_str));
        ok(jj(&args));
        let files = files_under(&out);
        let want: Vec<String> = {
            let mut v: Vec<String> = INPUTS
                .iter()
                .map(|n| format!("file={n}/part-00000.{fmt}"))
                .collect();
            v.sort();
            v
        };
        assert_eq!(files, want);
        for (name, path) in INPUTS.iter().zip(&ins) {
            let own = ok(jj(&["extract", "-q", "-f", fmt, path])).stdout;
            let part = std::fs::read(out.join(format!("file={name}/part-00000.{fmt}"))).unwrap();
            assert!(part == own, "{name}: the part differs from its own output");
        }
    }
}

#[test]
fn a_non_empty_directory_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flows");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "mine").unwrap();
    let o = jj(&[
        "extract",
        capture("http.cap").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--partition-by",
        "date",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("must be new or empty"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(files_under(&out), ["keep.txt"]);
    // An empty directory is fine.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    ok(jj(&[
        "extract",
        capture("http.cap").to_str().unwrap(),
        "-o",
        empty.to_str().unwrap(),
        "--partition-by",
        "file",
    ]));
    assert_eq!(files_under(&empty), ["file=http.cap/part-00000.csv"]);
}

#[test]
fn usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let http = capture("http.cap");
    let http = http.to_str().unwrap();
    // No -o.
    let o = jj(&["extract", http, "--partition-by", "date"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("give it with -o DIR"));
    // An unknown key, a key twice, file with one stream: configuration
    // errors (exit 2).
    for (keys, extra, msg) in [
        ("minute", None, "unknown key 'minute'"),
        ("date,date", None, "given twice"),
        (
            "file",
            Some("--continue-across-files"),
            "cannot be used with continue_across_files",
        ),
    ] {
        let mut args = vec![
            "extract",
            http,
            "-o",
            out.to_str().unwrap(),
            "--partition-by",
            keys,
        ];
        args.extend(extra);
        let o = jj(&args);
        assert_eq!(o.status.code(), Some(2), "{keys}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(msg), "{keys}: {err}");
    }
    // date without start_time: fails before any row; the directory it
    // would have created is gone.
    let o = jj(&[
        "extract",
        http,
        "--features",
        "timing",
        "-o",
        out.to_str().unwrap(),
        "--partition-by",
        "date",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs the start_time column"));
    assert!(!out.exists());
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

/// A pcap of `n` UDP flows of one packet each, 1 ms apart, the first
/// (number `from`) at `t0` ns.
fn udp_records(from: u32, n: u32, t0: i64) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), 1, false, false, 65535).unwrap();
    for i in from..from + n {
        let p = Packet::udp("10.1.0.1", (i % 60_000) as u16 + 1024, "10.2.0.2", 53, 40);
        let f = p.frame(1);
        w.write(t0 + i64::from(i) * 1_000_000, &f, f.len() as u32)
            .unwrap();
    }
    w.into_inner()
}

/// Interrupted after rows were written to temporary parts: exit 130, no
/// part under a final name, no temporary file, no directory left behind.
#[test]
fn an_interrupt_leaves_no_part() {
    for threads in ["1", "2"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("flows");
        let mut child = Command::new(env!("CARGO_BIN_EXE_jj"))
            .args(["extract", "-", "--no-progress", "-j", threads])
            .args(["--timeout", "0.01", "--partition-by", "date,hour", "-o"])
            .arg(&out)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // Packets 1 ms apart straddling an hour, fed until jj stops
        // reading: flows end by the idle timeout at the sweeps, so rows
        // reach two parts while the run goes on.
        std::thread::spawn(move || {
            let t0 = 1_700_002_798_000_000_000i64;
            let limit = Instant::now() + Duration::from_secs(60);
            let mut at = 0u32;
            while Instant::now() < limit {
                let chunk = udp_records(at, 1000, t0);
                let b = if at == 0 { &chunk[..] } else { &chunk[24..] };
                if std::io::Write::write_all(&mut stdin, b).is_err() {
                    return;
                }
                at += 1000;
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        // Until a temporary part exists under a partition directory.
        let start = Instant::now();
        #[allow(clippy::while_let_loop)]
        loop {
            let tmp = out.exists() && files_under(&out).iter().any(|f| f.ends_with(".tmp"));
            if tmp {
                break;
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                let o = child.wait_with_output().unwrap();
                panic!(
                    "no temporary part appeared: {:?}; {}",
                    out.exists().then(|| files_under(&out)),
                    String::from_utf8_lossy(&o.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let ok = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let o = child.wait_with_output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(130),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!out.exists(), "left: {:?}", files_under(&out));
        let left: Vec<PathBuf> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
