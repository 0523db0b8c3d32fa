//! Ctrl-C (SIGINT) and SIGTERM: a real `jj` process reading a capture from
//! a pipe that this test feeds, signalled mid-run. It must exit 130 with a
//! one-line message, leave no file under the output's name (an existing
//! one untouched) and no temporary file, at every thread count; a second
//! signal while `jj` waits for input must end it at once, just as clean.

use joyfuljay::synth::{Packet, PcapWriter};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

fn jj() -> Command {
    Command::new(env!("CARGO_BIN_EXE_jj"))
}

fn dir_names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// `n` UDP packets, each its own flow, as pcap records (the global
/// header first when `header`).
fn records(header: bool, from: u32, n: u32) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), 1, false, false, 65535).unwrap();
    for i in from..from + n {
        let p = Packet::udp("10.1.0.1", (i % 60_000) as u16 + 1024, "10.2.0.2", 53, 40);
        let f = p.frame(1);
        w.write(
            1_700_000_000_000_000_000 + i64::from(i) * 1000,
            &f,
            f.len() as u32,
        )
        .unwrap();
    }
    let b = w.into_inner();
    if header {
        b
    } else {
        b[24..].to_vec()
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

/// Wait for `child` to exit, at most `limit`; its exit code (None: killed
/// by a signal) and stderr.
fn wait(mut child: Child, limit: Duration) -> (Option<i32>, String) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            return (status.code(), err);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("jj did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Start `jj extract - -o DIR/out.csv` with `threads`, fed `first`
/// packets; returns the child and its stdin.
fn start(dir: &Path, threads: &str, first: u32) -> (Child, ChildStdin) {
    let mut child = jj()
        .args(["extract", "-", "-o"])
        .arg(dir.join("out.csv"))
        .args(["--no-progress", "-j", threads])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&records(true, 0, first)).unwrap();
    stdin.flush().unwrap();
    (child, stdin)
}

/// Keep feeding packets until `jj` stops reading (the pipe breaks).
fn feed_until_closed(mut stdin: ChildStdin, from: u32) {
    std::thread::spawn(move || {
        let mut at = from;
        let limit = Instant::now() + Duration::from_secs(60);
        while Instant::now() < limit {
            if stdin.write_all(&records(false, at, 1000)).is_err() {
                return;
            }
            at += 1000;
            std::thread::sleep(Duration::from_millis(5));
        }
    });
}

#[test]
fn a_signal_mid_run_leaves_no_output_and_no_temporary_file() {
    for (threads, sig) in [("1", "-INT"), ("2", "-INT"), ("3", "-TERM"), ("1", "-TERM")] {
        let dir = tempfile::tempdir().unwrap();
        // An existing output file must survive untouched.
        let keep = threads == "2";
        if keep {
            std::fs::write(dir.path().join("out.csv"), "keep me\n").unwrap();
        }
        let (child, stdin) = start(dir.path(), threads, 20_000);
        // The run is under way once its temporary output exists.
        let t0 = Instant::now();
        while !dir_names(dir.path()).iter().any(|n| n.ends_with(".tmp")) {
            assert!(t0.elapsed() < Duration::from_secs(20), "no temporary file");
            std::thread::sleep(Duration::from_millis(10));
        }
        signal(&child, sig);
        feed_until_closed(stdin, 20_000);
        let (code, err) = wait(child, Duration::from_secs(30));
        let what = format!("-j {threads} {sig}");
        assert_eq!(code, Some(130), "{what}: {err}");
        assert_eq!(err, "jj: interrupted\n", "{what}");
        let names = dir_names(dir.path());
        if keep {
            assert_eq!(names, BTreeSet::from(["out.csv".to_string()]), "{what}");
            assert_eq!(
                std::fs::read_to_string(dir.path().join("out.csv")).unwrap(),
                "keep me\n"
            );
        } else {
            assert!(names.is_empty(), "{what}: {names:?}");
        }
    }
}

#[test]
fn a_second_signal_ends_a_run_waiting_for_input_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // Enough packets to fill the first read (1 MiB), then nothing: jj
    // reads them all and waits on the pipe.
    let (mut child, stdin) = start(dir.path(), "1", 15_000);
    let t0 = Instant::now();
    while !dir_names(dir.path()).iter().any(|n| n.ends_with(".tmp")) {
        assert!(t0.elapsed() < Duration::from_secs(20), "no temporary file");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(500));
    signal(&child, "-INT");
    std::thread::sleep(Duration::from_millis(300));
    // Still waiting for input: no packet arrives to see the flag.
    assert!(
        child.try_wait().unwrap().is_none(),
        "ended at the first signal"
    );
    signal(&child, "-INT");
    let (code, err) = wait(child, Duration::from_secs(10));
    drop(stdin);
    assert_eq!(code, Some(130), "{err}");
    assert_eq!(err, "jj: interrupted\n");
    assert!(dir_names(dir.path()).is_empty());
}

#[test]
fn without_a_signal_the_same_feed_completes() {
    // The control: the same start, input closed instead of a signal.
    let dir = tempfile::tempdir().unwrap();
    let (child, stdin) = start(dir.path(), "2", 5_000);
    drop(stdin);
    let (code, err) = wait(child, Duration::from_secs(30));
    assert_eq!(code, Some(0), "{err}");
    let out = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert_eq!(out.lines().count(), 5_001);
    assert_eq!(
        dir_names(dir.path()),
        BTreeSet::from(["out.csv".to_string()])
    );
}
