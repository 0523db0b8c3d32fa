//! `jj extract` limits: eviction strategy, sampling, threads from the
//! config file, and the memory budget (peak RSS of the `jj` process).

mod common;

use common::{err, jj as run};
use joyfuljay::synth::traffic::flood;
use joyfuljay::synth::{Packet, PcapWriter};
use joyfuljay_testkit::{capture, Table};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn jj_path() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_jj"))
}

fn write_pcap(path: &Path, packets: &[(f64, Packet)]) {
    const BASE_NS: i64 = 1_700_000_000 * 1_000_000_000;
    let f = std::fs::File::create(path).unwrap();
    let mut w = PcapWriter::new(std::io::BufWriter::new(f), 1, false, false, 65535).unwrap();
    for (t, p) in packets {
        let frame = p.frame(1);
        w.write(
            BASE_NS + (t * 1e9).round() as i64,
            &frame,
            frame.len() as u32,
        )
        .unwrap();
    }
    w.into_inner().flush().unwrap();
}

#[test]
fn eviction_flag_picks_the_strategy() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("three.pcap");
    let u = |n: u8| {
        Packet::udp(
            &format!("10.3.0.{n}"),
            1000 + u16::from(n),
            "10.3.0.9",
            53,
            1,
        )
    };
    write_pcap(&cap, &[(0.0, u(1)), (1.0, u(2)), (2.0, u(1)), (3.0, u(3))]);
    let first_row = |extra: &[&str]| -> (String, i64) {
        let mut args = vec![
            "extract",
            "--features",
            "flow_meta",
            "-q",
            "--max-flows",
            "2",
        ];
        args.extend_from_slice(extra);
        args.push(cap.to_str().unwrap());
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
        let t = Table::parse(&o.stdout);
        assert_eq!(t.rows.len(), 3);
        (t.column("src_ip")[0].clone(), t.ints("flow_stat")[0])
    };
    // The first row is the evicted flow: b for lru (default), a for oldest.
    assert_eq!(first_row(&[]), ("10.3.0.2".to_string(), 0x20));
    assert_eq!(
        first_row(&["--eviction", "lru"]),
        ("10.3.0.2".to_string(), 0x20)
    );
    assert_eq!(
        first_row(&["--eviction", "oldest"]),
        ("10.3.0.1".to_string(), 0x20)
    );
    // The config key, and the flag over it.
    let cfg = dir.path().join("c.yaml");
    std::fs::write(&cfg, "flow_eviction_strategy: oldest\n").unwrap();
    let c = cfg.to_str().unwrap();
    assert_eq!(first_row(&["-c", c]), ("10.3.0.1".to_string(), 0x20));
    assert_eq!(
        first_row(&["-c", c, "--eviction", "lru"]),
        ("10.3.0.2".to_string(), 0x20)
    );
}

#[test]
fn bad_limit_values_are_one_line_usage_errors() {
    let http = capture("http.cap");
    let h = http.to_str().unwrap();
    // Values the configuration rejects: exit 2, one `jj: error:` line naming the key.
    for (args, key) in [
        (vec!["--sampling-rate", "0"], "sampling_rate"),
        (vec!["--sampling-rate", "1.01"], "sampling_rate"),
        (vec!["--sampling-rate", "nan"], "sampling_rate"),
    ] {
        let mut a = vec!["extract"];
        a.extend(args.iter());
        a.push(h);
        let o = run(&a);
        let e = err(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.starts_with("jj: error: ") && e.contains(key), "{e}");
    }
    // Values clap cannot parse: exit 2, clap's `error:` first line.
    for args in [
        vec!["--eviction", "fifo"],
        vec!["--max-memory", "12Q"],
        vec!["--max-memory", "0"],
        vec!["--sampling-rate", "half"],
        vec!["-j", "-1"],
    ] {
        let mut a = vec!["extract"];
        a.extend(args.iter());
        a.push(h);
        let o = run(&a);
        let e = err(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert!(e.starts_with("error: "), "{e}");
    }
    // The same in a config file: exit 2, one line.
    let dir = tempfile::tempdir().unwrap();
    for (text, key) in [
        (
            "flow_eviction_strategy = \"fifo\"\n",
            "flow_eviction_strategy",
        ),
        ("max_memory = \"lots\"\n", "max_memory"),
        ("sampling_rate = 2.0\n", "sampling_rate"),
        ("num_workers = -2\n", "num_workers"),
    ] {
        let cfg = dir.path().join("bad.toml");
        std::fs::write(&cfg, text).unwrap();
        let o = run(&["extract", "-c", cfg.to_str().unwrap(), h]);
        let e = err(&o);
        assert_eq!(o.status.code(), Some(2), "{text}: {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.contains(key), "{e}");
    }
}

#[test]
fn sampling_is_reported_and_the_same_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("many.pcap");
    let pkts: Vec<(f64, Packet)> = (0..3000u16)
        .map(|i| {
            (
                f64::from(i) * 0.001,
                Packet::udp("10.4.0.1", 2000 + i % 300, "10.4.0.2", 53, 10),
            )
        })
        .collect();
    write_pcap(&cap, &pkts);
    let c = cap.to_str().unwrap();
    let out = |j: &str| {
        let o = run(&[
            "extract",
            "--features",
            "flow_meta",
            "--sampling-rate",
            "0.3",
            "-j",
            j,
            c,
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
        let e = err(&o);
        (o.stdout, e)
    };
    let (one, e) = out("1");
    // "N skipped (N sampled_out)" in the summary.
    let skipped: u64 = e
        .split(" skipped")
        .next()
        .and_then(|s| s.rsplit(", ").next())
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("summary: {e}"));
    assert!(e.contains(&format!("({skipped} sampled_out)")), "{e}");
    assert!((700..1400).contains(&(3000 - skipped)), "{e}");
    let t = Table::parse(&one);
    assert_eq!(
        t.ints("total_packets").iter().sum::<i64>() as u64,
        3000 - skipped
    );
    for j in ["2", "3"] {
        assert_eq!(out(j).0, one, "-j {j}");
    }
}

/// Peak resident set (kB) of a finished child, from wait4's rusage.
fn wait_peak_kb(child: std::process::Child) -> (i32, i64) {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid; wait4 reaps our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid, "wait4");
    std::mem::forget(child);
    (libc::WEXITSTATUS(status), ru.ru_maxrss)
}

/// `jj extract ARGS -` with `capture` (a file) as standard input, so that
/// it is read as a stream and no mapped capture page counts in the RSS;
/// returns (exit status, peak RSS in bytes, stderr), the rows in `out`.
fn extract_stdin(capture: &Path, out: &Path, args: &[&str]) -> (i32, u64, String) {
    let errf = out.with_extension("err");
    let child = Command::new(jj_path())
        .arg("extract")
        .args(args)
        .args(["--no-progress", "-o", out.to_str().unwrap(), "-"])
        .stdin(std::fs::File::open(capture).unwrap())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&errf).unwrap())
        .spawn()
        .unwrap();
    let (code, kb) = wait_peak_kb(child);
    (
        code,
        kb as u64 * 1024,
        std::fs::read_to_string(&errf).unwrap(),
    )
}

/// Lines of a file, and how many rows have `flow_stat` 0x20 (read as a
/// stream: the test process must stay small, see below).
fn rows_and_evicted(path: &Path) -> (u64, u64) {
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(std::fs::File::open(path).unwrap()).lines();
    let header = lines.next().unwrap().unwrap();
    let col = header.split(',').position(|c| c == "flow_stat").unwrap();
    let (mut rows, mut evicted) = (0, 0);
    for l in lines {
        let l = l.unwrap();
        rows += 1;
        evicted += u64::from(l.split(',').nth(col) == Some("32"));
    }
    (rows, evicted)
}

fn early_for_memory(stderr: &str) -> u64 {
    if !stderr.contains("ended early for the memory budget") {
        return 0;
    }
    stderr
        .split(" ended early for the memory budget")
        .next()
        .and_then(|s| s.rsplit('(').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("summary: {stderr}"))
}

/// A flood of 600 000 one-packet UDP flows, all within the idle timeout:
/// without a budget every flow is held to the end and the process grows
/// past 64 MiB (about 250 MB with flow_meta); with `--max-memory 64M` the
/// peak RSS of the whole `jj` process stays under 64 MiB — the flow state
/// is held to 64 MiB less the reserve (16 MiB), which covers the program
/// and its buffers (about 8 MiB for a run of a few packets), and the cap
/// reckons each flow at 2.5× or more of what it takes — and every flow
/// still has its row.
///
/// Linux keeps, across `execve`, the peak RSS of the image that spawned
/// the child (with vfork-style spawning, the test process's own peak), so
/// the test writes the capture straight to a file and reads outputs as
/// streams: this process stays far below 64 MiB.
#[test]
fn max_memory_bounds_the_peak_rss_and_keeps_every_row() {
    let n = 600_000u64;
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("flood.pcap");
    {
        let f = std::io::BufWriter::new(std::fs::File::create(&cap).unwrap());
        let mut w = PcapWriter::new(f, 1, false, false, 65535).unwrap();
        flood(n, 1.0, &mut w).unwrap();
        w.into_inner().flush().unwrap();
    }
    let budget: u64 = 64 << 20;
    let sets = ["flow_meta", "flow_meta,timing,size,tcp,dns"];
    // The budgeted runs first, while this process is smallest.
    let mut runs = Vec::new();
    for (i, features) in sets.iter().enumerate() {
        for (b, max) in [("64M", true), ("8G", false)] {
            let out = dir.path().join(format!("out-{i}-{b}.csv"));
            let (code, peak, e) = extract_stdin(
                &cap,
                &out,
                &["--features", features, "--max-memory", b, "-j", "1"],
            );
            assert_eq!(code, 0, "{e}");
            runs.push((features, max, out, peak, e));
        }
    }
    for (features, budgeted, out, peak, e) in runs {
        eprintln!("{features}, budget {budgeted}: peak RSS {peak} B");
        let (rows, evicted) = rows_and_evicted(&out);
        // One row per flow, with and without.
        assert_eq!(rows, n, "{features}");
        assert_eq!(evicted, early_for_memory(&e), "{features}: {e}");
        if budgeted {
            assert!(
                peak < budget,
                "{features}: peak {peak} over the 64 MiB budget"
            );
            assert!(evicted > n / 2, "{features}: {evicted}");
        } else {
            assert!(peak > budget, "{features}: {peak} without a budget");
            assert_eq!(evicted, 0, "{features}");
        }
    }
}
