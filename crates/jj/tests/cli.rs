//! End-to-end tests of the `jj` binary: exit codes, one-line errors, atomic
//! output, cut-short captures, output formats, the options of `jj extract`,
//! `jj features`, `jj info`, and broken pipes.
//!
//! Exit codes (the issue): 0 success, 1 input or runtime error, 2 usage error.
//! Decision taken here: an invalid *configuration* — an unknown `--features`
//! group, an out-of-range option value (`--timeout=0`), an unknown key or a
//! bad value in a `-c` config file — is a usage error and exits 2, like the
//! option syntax errors clap reports. A config file that cannot be read at
//! all (missing) is an input error and exits 1, like a missing capture.
//!
//! Errors are one line (`jj: error: …`). The exception is clap's own syntax
//! errors (unknown flag, unparsable number), which keep clap's usual form: an
//! `error: …` first line naming the problem, then a usage hint.

use assert_cmd::Command;
use joyfuljay::synth::{Packet, PcapWriter};
use joyfuljay_testkit::{capture, captures_dir, Table};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Output, Stdio};

// ---------------------------------------------------------------- helpers

/// The flow_meta columns in the order of the document's "Example Output",
/// without `flow_id`.
const FLOW_META: [&str; 29] = [
    "src_ip",
    "dst_ip",
    "src_port",
    "dst_port",
    "dst_port_class",
    "dst_port_class_num",
    "protocol",
    "start_time",
    "end_time",
    "duration",
    "total_packets",
    "packets_fwd",
    "packets_bwd",
    "total_bytes",
    "bytes_fwd",
    "bytes_bwd",
    "payload_bytes_fwd",
    "payload_bytes_bwd",
    "payload_bytes_total",
    "packets_ratio",
    "bytes_ratio",
    "packets_per_second",
    "bytes_per_second",
    "avg_packet_size",
    "time_first",
    "time_last",
    "flow_stat",
    "num_hdrs",
    "hdr_desc",
];

const PORT_COLUMNS: [&str; 4] = [
    "src_port",
    "dst_port",
    "dst_port_class",
    "dst_port_class_num",
];

fn jj() -> Command {
    let mut c = Command::cargo_bin("jj").expect("the jj binary is built");
    c.env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    c
}

/// Run `jj` with `args`; never panics on a non-zero exit.
fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    jj().args(args).output().expect("jj runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

/// No panic message, no backtrace hint, whatever happened.
fn assert_no_panic(o: &Output) {
    let e = stderr(o);
    for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(!e.contains(bad), "stderr mentions {bad:?}:\n{e}");
    }
}

fn assert_ok(o: &Output) {
    assert_no_panic(o);
    assert_eq!(
        o.status.code(),
        Some(0),
        "expected success; stderr:\n{}",
        stderr(o)
    );
}

/// The run failed with `code` and printed exactly one `jj: error:` line;
/// returns that line.
fn assert_error(o: &Output, code: i32) -> String {
    assert_no_panic(o);
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(code), "exit status; stderr:\n{e}");
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 1, "expected a one-line error, got:\n{e}");
    assert!(
        lines[0].starts_with("jj: error: "),
        "not an error line: {e}"
    );
    lines[0].to_string()
}

/// A clap syntax error: exit 2, first line `error: …`; returns that line.
fn assert_usage_error(o: &Output) -> String {
    assert_no_panic(o);
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(2), "exit status; stderr:\n{e}");
    let first = e.lines().next().unwrap_or_default().to_string();
    assert!(first.starts_with("error: "), "first line: {first}");
    first
}

/// `jj extract --features flow_meta -q ARGS` → its CSV output.
fn extract_csv<I, S>(args: I) -> Table
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let o = jj()
        .args(["extract", "--features", "flow_meta", "-q"])
        .args(args)
        .output()
        .expect("jj runs");
    assert_ok(&o);
    assert!(o.stderr.is_empty(), "-q printed: {}", stderr(&o));
    Table::parse(&o.stdout)
}

/// Offsets and captured lengths of the records of a little-endian
/// microsecond pcap file, walked from the record headers.
fn pcap_records(data: &[u8]) -> Vec<(usize, usize)> {
    assert_eq!(&data[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "LE microsecond pcap");
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= data.len() {
        let caplen = u32::from_le_bytes(data[off + 8..off + 12].try_into().unwrap()) as usize;
        if off + 16 + caplen > data.len() {
            break;
        }
        out.push((off, caplen));
        off += 16 + caplen;
    }
    out
}

/// Write an Ethernet pcap of `packets` at the given offsets (seconds) from a fixed epoch.
fn write_pcap(path: &Path, packets: &[(f64, Packet)]) {
    const BASE_NS: i64 = 1_700_000_000 * 1_000_000_000;
    let f = std::fs::File::create(path).unwrap();
    let mut w = PcapWriter::new(std::io::BufWriter::new(f), 1, false, false, 65535).unwrap();
    for (t, p) in packets {
        let frame = p.frame(1);
        let ts = BASE_NS + (t * 1e9).round() as i64;
        w.write(ts, &frame, frame.len() as u32).unwrap();
    }
    w.into_inner().flush().unwrap();
}

fn dir_names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;

// ---------------------------------------------------------------- exit codes and errors

#[test]
fn success_exits_0_and_summarises_on_stderr() {
    let o = run([
        "extract".as_ref(),
        "--features".as_ref(),
        "flow_meta".as_ref(),
        capture("http.cap").as_os_str(),
    ]);
    assert_ok(&o);
    let t = Table::parse(&o.stdout);
    assert_eq!(t.header, FLOW_META);
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "one summary line: {e}");
    assert!(e.contains("1 file,"), "{e}");
    assert!(e.contains("43 packets read"), "{e}");
    assert!(
        e.contains(&format!(
            "{} flows written to standard output",
            t.rows.len()
        )),
        "{e}"
    );
}

#[test]
fn quiet_prints_nothing_on_stderr() {
    let o = run([
        "extract".as_ref(),
        "-q".as_ref(),
        capture("http.cap").as_os_str(),
    ]);
    assert_ok(&o);
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
    assert!(!o.stdout.is_empty());
}

#[test]
fn missing_input_is_exit_1_naming_the_file() {
    let line = assert_error(&run(["extract", "no-such-capture.pcap"]), 1);
    assert!(line.contains("no-such-capture.pcap"), "{line}");
    assert!(line.contains("No such file"), "{line}");
}

#[test]
fn text_file_is_an_unsupported_capture_format() {
    let dir = tempfile::tempdir().unwrap();
    let txt = dir.path().join("notes.pcap");
    std::fs::write(&txt, "this is not a capture\nat all\n").unwrap();
    let line = assert_error(&run(["extract".as_ref(), txt.as_os_str()]), 1);
    assert!(line.contains("notes.pcap"), "{line}");
    assert!(line.contains("unsupported capture format"), "{line}");
}

#[test]
fn network_monitor_capture_is_named_and_editcap_suggested() {
    let ntp = capture("MicrosoftNTP.cap");
    let line = assert_error(&run(["extract".as_ref(), ntp.as_os_str()]), 1);
    assert!(line.contains("MicrosoftNTP.cap"), "{line}");
    assert!(line.contains("Network Monitor"), "{line}");
    assert!(line.contains("editcap"), "{line}");
    // `jj info` says the same.
    let line = assert_error(&run(["info".as_ref(), ntp.as_os_str()]), 1);
    assert!(line.contains("Network Monitor"), "{line}");
}

#[test]
fn empty_file_is_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let line = assert_error(&run(["extract".as_ref(), empty.as_os_str()]), 1);
    assert!(line.contains("empty.pcap"), "{line}");
    assert!(line.contains("empty"), "{line}");
}

#[test]
fn capture_header_cut_short_is_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut-header.pcap");
    let data = std::fs::read(capture("http.cap")).unwrap();
    std::fs::write(&cut, &data[..10]).unwrap();
    let line = assert_error(&run(["extract".as_ref(), cut.as_os_str()]), 1);
    assert!(line.contains("cut-header.pcap"), "{line}");
    assert!(line.contains("header"), "{line}");
}

#[test]
fn unknown_flag_is_usage_error() {
    let o = run([
        "extract".as_ref(),
        "--bogus".as_ref(),
        capture("http.cap").as_os_str(),
    ]);
    let first = assert_usage_error(&o);
    assert!(first.contains("--bogus"), "{first}");
    assert!(o.stdout.is_empty());
    assert_usage_error(&run(["frobnicate"]));
    assert_usage_error(&run(["extract"])); // no input
    assert_usage_error(&run(["info"])); // no file
}

#[test]
fn unknown_feature_group_is_usage_error_listing_valid_groups() {
    let o = run([
        "extract".as_ref(),
        "--features".as_ref(),
        "flow_meta,nosuchgroup".as_ref(),
        capture("http.cap").as_os_str(),
    ]);
    let line = assert_error(&o, 2);
    assert!(line.contains("nosuchgroup"), "{line}");
    // Every group `jj features --json` knows is listed, and `all`.
    let f = run(["features", "--json"]);
    assert_ok(&f);
    let v: serde_json::Value = serde_json::from_slice(&f.stdout).unwrap();
    for g in v["groups"].as_array().unwrap() {
        let id = g["group"].as_str().unwrap();
        assert!(line.contains(id), "{id} missing from: {line}");
    }
    assert!(line.contains("all"), "{line}");
    assert!(o.stdout.is_empty());
}

#[test]
fn bad_option_values_are_usage_errors() {
    let http = capture("http.cap");
    for bad in [
        "--timeout=0",
        "--timeout=-5",
        "--timeout=nan",
        "--active-timeout=-1",
        "--burst-threshold-ms=0",
        "--max-sequence-length=0",
        "--entropy-sample-bytes=0",
    ] {
        let o = run(["extract".as_ref(), bad.as_ref(), http.as_os_str()]);
        let line = assert_error(&o, 2);
        let key = bad.trim_start_matches("--").split('=').next().unwrap();
        let key = match key {
            "timeout" => "flow_timeout".to_string(),
            k => k.replace('-', "_"),
        };
        assert!(line.contains(&key), "{bad}: {line}");
    }
    // Values clap cannot parse at all.
    for bad in [["--timeout", "abc"], ["--max-flows", "-3"], ["-f", "xml"]] {
        let o = run([
            "extract".as_ref(),
            bad[0].as_ref(),
            bad[1].as_ref(),
            http.as_os_str(),
        ]);
        let first = assert_usage_error(&o);
        assert!(first.contains(bad[1]), "{first}");
    }
}

#[test]
fn unknown_output_extension_is_usage_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flows.xlsx");
    let o = run([
        "extract".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
        capture("http.cap").as_os_str(),
    ]);
    let line = assert_error(&o, 2);
    assert!(line.contains("flows.xlsx"), "{line}");
    assert!(line.contains("-f"), "{line}");
    assert!(
        dir_names(dir.path()).is_empty(),
        "{:?}",
        dir_names(dir.path())
    );
    // With -f the same name is fine.
    assert_ok(&run([
        "extract".as_ref(),
        "-q".as_ref(),
        "-f".as_ref(),
        "csv".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
        capture("http.cap").as_os_str(),
    ]));
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .starts_with("src_ip,"));
}

#[test]
fn output_errors_are_one_line() {
    let http = capture("http.cap");
    let dir = tempfile::tempdir().unwrap();
    // Into a directory that does not exist.
    let missing = dir.path().join("no/such/dir/out.csv");
    let line = assert_error(
        &run([
            "extract".as_ref(),
            "-o".as_ref(),
            missing.as_os_str(),
            http.as_os_str(),
        ]),
        1,
    );
    assert!(line.contains("out.csv"), "{line}");
    // Onto a directory.
    let line = assert_error(
        &run([
            "extract".as_ref(),
            "-f".as_ref(),
            "csv".as_ref(),
            "-o".as_ref(),
            dir.path().as_os_str(),
            http.as_os_str(),
        ]),
        1,
    );
    assert!(line.contains("directory"), "{line}");
    // The cause is said once, not once per level of the error chain.
    assert_eq!(line.matches("is a directory").count(), 1, "{line}");
}

#[test]
fn dev_full_is_exit_1_with_one_line() {
    let o = run([
        "extract".as_ref(),
        "-o".as_ref(),
        "/dev/full".as_ref(),
        capture("http.cap").as_os_str(),
    ]);
    let line = assert_error(&o, 1);
    assert!(line.contains("/dev/full"), "{line}");
    assert!(line.contains("No space left"), "{line}");
    // The cause is not repeated (library errors carry their source in their text).
    assert_eq!(line.matches("No space left").count(), 1, "{line}");
}

#[test]
fn missing_config_file_is_exit_1_naming_it() {
    let o = run([
        "extract".as_ref(),
        "-c".as_ref(),
        "no-such-config.toml".as_ref(),
        capture("http.cap").as_os_str(),
    ]);
    let line = assert_error(&o, 1);
    assert!(line.contains("no-such-config.toml"), "{line}");
    assert_eq!(line.matches("No such file").count(), 1, "{line}");
}

// ---------------------------------------------------------------- atomic output

#[test]
fn failed_run_keeps_existing_output_and_leaves_no_temp_file() {
    let inputs = tempfile::tempdir().unwrap();
    let text = inputs.path().join("readme.pcap");
    std::fs::write(&text, "not a capture\n").unwrap();
    let missing = inputs.path().join("missing.pcap");

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let original = b"keep,me\n1,2\n".to_vec();
    std::fs::write(&out, &original).unwrap();

    let http = capture("http.cap");
    for bad in [&text, &missing] {
        let o = run([
            "extract".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
            http.as_os_str(),
            bad.as_os_str(),
        ]);
        let line = assert_error(&o, 1);
        let name = bad.file_name().unwrap().to_str().unwrap();
        assert!(line.contains(name), "{line}");
        assert_eq!(
            std::fs::read(&out).unwrap(),
            original,
            "out.csv was touched"
        );
        assert_eq!(
            dir_names(dir.path()),
            BTreeSet::from(["out.csv".to_string()]),
            "temporary files left behind"
        );
    }

    // A successful run replaces it, keeping its permissions.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    let o = run([
        "extract".as_ref(),
        "--features".as_ref(),
        "flow_meta".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
        http.as_os_str(),
    ]);
    assert_ok(&o);
    assert!(o.stdout.is_empty(), "with -o nothing goes to stdout");
    assert!(stderr(&o).contains(&format!("written to {}", out.display())));
    let written = std::fs::read(&out).unwrap();
    let t = Table::parse(&written);
    assert_eq!(t.header, FLOW_META);
    assert_eq!(t.ints("total_packets").iter().sum::<i64>(), 43);
    assert_eq!(
        dir_names(dir.path()),
        BTreeSet::from(["out.csv".to_string()])
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "permissions of the replaced file");
    }
}

#[cfg(unix)]
#[test]
fn new_output_file_is_not_left_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("new.csv");
    assert_ok(&run([
        "extract".as_ref(),
        "-q".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
        capture("http.cap").as_os_str(),
    ]));
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    // Not the 0600 of the temporary file: like any file the user creates.
    assert_ne!(mode & 0o044, 0, "mode {mode:o}");
}

#[cfg(unix)]
#[test]
fn dev_null_is_written_directly() {
    use std::os::unix::fs::FileTypeExt;
    let o = run([
        "extract".as_ref(),
        "-o".as_ref(),
        "/dev/null".as_ref(),
        capture("http.cap").as_os_str(),
    ]);
    assert_ok(&o);
    assert!(
        stderr(&o).contains("written to /dev/null"),
        "{}",
        stderr(&o)
    );
    let ft = std::fs::metadata("/dev/null").unwrap().file_type();
    assert!(ft.is_char_device(), "/dev/null was replaced!");
}

#[cfg(unix)]
#[test]
fn named_pipe_is_written_directly() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("flows");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !matches!(made, Ok(s) if s.success()) {
        eprintln!("mkfifo unavailable; skipped");
        return;
    }
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("jj"))
        .args(["extract", "-q", "--features", "flow_meta", "-o"])
        .arg(&fifo)
        .arg(capture("http.cap"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut text = Vec::new();
    std::fs::File::open(&fifo)
        .unwrap()
        .read_to_end(&mut text)
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_ok(&o);
    let t = Table::parse(&text);
    assert_eq!(t.header, FLOW_META, "a path without extension is CSV");
    assert_eq!(t.ints("total_packets").iter().sum::<i64>(), 43);
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(dir_names(dir.path()), BTreeSet::from(["flows".to_string()]));
}

// ---------------------------------------------------------------- damaged captures

fn cut_capture_test(cut_inside_header: bool) {
    let data = std::fs::read(capture("http.cap")).unwrap();
    let recs = pcap_records(&data);
    assert_eq!(recs.len(), 43);
    assert_eq!(recs.last().map(|(o, l)| o + 16 + l), Some(data.len()));
    let k = 25;
    let (off, caplen) = recs[k];
    let end = if cut_inside_header {
        off + 9
    } else {
        off + 16 + caplen / 2
    };
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &data[..end]).unwrap();
    let out = dir.path().join("flows.csv");

    let o = run([
        "extract".as_ref(),
        "--features".as_ref(),
        "flow_meta".as_ref(),
        "--no-tcp-close".as_ref(),
        "--timeout".as_ref(),
        "1e9".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
        cut.as_os_str(),
    ]);
    assert_ok(&o);
    let e = stderr(&o);
    let warnings: Vec<&str> = e
        .lines()
        .filter(|l| l.starts_with("jj: warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{e}");
    assert!(warnings[0].contains("cut.pcap"), "{e}");
    assert!(warnings[0].contains(&format!("offset {off}")), "{e}");
    assert!(e.contains(&format!("{k} packets read")), "{e}");
    let t = Table::parse(&std::fs::read(&out).unwrap());
    assert_eq!(t.ints("total_packets").iter().sum::<i64>(), k as i64);

    // -q silences the warning; the result is the same.
    let o = run([
        "extract".as_ref(),
        "-q".as_ref(),
        "--features".as_ref(),
        "flow_meta".as_ref(),
        "--no-tcp-close".as_ref(),
        "--timeout".as_ref(),
        "1e9".as_ref(),
        cut.as_os_str(),
    ]);
    assert_ok(&o);
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
    assert_eq!(o.stdout, std::fs::read(&out).unwrap());

    // `jj info` counts the same packets and warns too.
    let o = run(["info".as_ref(), cut.as_os_str()]);
    assert_ok(&o);
    let s = stdout(&o);
    assert!(s.contains(&format!("packets:     {k}\n")), "{s}");
    assert!(s.contains(&format!("offset {off}")), "{s}");
}

#[test]
fn capture_cut_mid_record_data_keeps_complete_packets() {
    cut_capture_test(false);
}

#[test]
fn capture_cut_mid_record_header_keeps_complete_packets() {
    cut_capture_test(true);
}

#[test]
fn corrupt_record_length_stops_that_file_with_a_warning() {
    let mut data = std::fs::read(capture("http.cap")).unwrap();
    let recs = pcap_records(&data);
    let k = 30;
    let (off, _) = recs[k];
    data[off + 8..off + 12].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("corrupt.pcap");
    std::fs::write(&bad, &data).unwrap();
    // Followed by a good file: the run goes on with it.
    let o = run([
        "extract".as_ref(),
        "--features".as_ref(),
        "flow_meta".as_ref(),
        bad.as_os_str(),
        capture("sample.pcap").as_os_str(),
    ]);
    assert_ok(&o);
    let e = stderr(&o);
    let warn = e
        .lines()
        .find(|l| l.starts_with("jj: warning:"))
        .unwrap_or_else(|| panic!("no warning: {e}"));
    assert!(
        warn.contains("corrupt.pcap") && warn.contains(&format!("offset {off}")),
        "{warn}"
    );
    assert!(e.contains(&format!("{} packets read", k + 18)), "{e}");
    let t = Table::parse(&o.stdout);
    assert_eq!(t.ints("total_packets").iter().sum::<i64>(), (k + 18) as i64);
}

// ---------------------------------------------------------------- formats

#[test]
fn stdout_default_is_csv_with_the_documented_header() {
    let http = capture("http.cap");
    let t = extract_csv([&http]);
    assert_eq!(t.header, FLOW_META);
    assert_eq!(t.header.len(), 29);
    // The default feature selection starts with the same flow_meta columns.
    let o = run(["extract".as_ref(), "-q".as_ref(), http.as_os_str()]);
    assert_ok(&o);
    let all = Table::parse(&o.stdout);
    assert_eq!(&all.header[..29], &FLOW_META[..]);

    let t = extract_csv(["--flow-id".as_ref(), http.as_os_str()]);
    assert_eq!(t.header.len(), 30);
    assert_eq!(t.header[0], "flow_id");
    assert_eq!(&t.header[1..], &FLOW_META[..]);
}

#[test]
fn format_follows_extension_unless_given() {
    let dir = tempfile::tempdir().unwrap();
    let http = capture("http.cap");
    let csv = extract_csv([&http]);
    let n = csv.rows.len();
    assert!(n > 0);

    let go = |name: &str, extra: &[&str]| -> String {
        let out = dir.path().join(name);
        let o = jj()
            .args(["extract", "-q", "--features", "flow_meta"])
            .args(extra)
            .arg("-o")
            .arg(&out)
            .arg(&http)
            .output()
            .unwrap();
        assert_ok(&o);
        std::fs::read_to_string(&out).unwrap()
    };

    let json = go("x.json", &[]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("a JSON document");
    let arr = v.as_array().expect("a JSON array");
    assert_eq!(arr.len(), n);
    let keys: Vec<&str> = arr[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys.iter().copied().collect::<BTreeSet<_>>(),
        FLOW_META.iter().copied().collect::<BTreeSet<_>>()
    );
    let pk: Vec<i64> = arr
        .iter()
        .map(|r| r["total_packets"].as_i64().unwrap())
        .collect();
    assert_eq!(pk, csv.ints("total_packets"));
    assert_eq!(arr[0]["src_ip"].as_str(), Some(csv.rows[0][0].as_str()));

    for name in ["x.jsonl", "x.ndjson"] {
        let jsonl = go(name, &[]);
        let lines: Vec<&str> = jsonl.lines().collect();
        assert_eq!(lines.len(), n, "{name}");
        for (i, l) in lines.iter().enumerate() {
            let obj: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(
                obj["total_packets"].as_i64(),
                Some(csv.ints("total_packets")[i])
            );
        }
    }

    // -f wins over the extension.
    let forced = go("y.json", &["-f", "csv"]);
    let t = Table::parse(forced.as_bytes());
    assert_eq!(t.header, FLOW_META);
    assert_eq!(t.rows, csv.rows);

    // -f to stdout.
    let o = jj()
        .args(["extract", "-q", "--features", "flow_meta", "-f", "jsonl"])
        .arg(&http)
        .output()
        .unwrap();
    assert_ok(&o);
    assert_eq!(stdout(&o), go("z.jsonl", &[]));
}

#[test]
fn output_is_deterministic() {
    let a = run([
        "extract".as_ref(),
        "-q".as_ref(),
        captures_dir().as_os_str(),
    ]);
    let b = run([
        "extract".as_ref(),
        "-q".as_ref(),
        captures_dir().as_os_str(),
    ]);
    assert_ok(&a);
    assert_ok(&b);
    assert!(!a.stdout.is_empty());
    assert!(a.stdout == b.stdout, "two runs differ");
}

// ---------------------------------------------------------------- options

#[test]
fn no_ips_and_no_ports_drop_their_columns() {
    let http = capture("http.cap");
    let full = extract_csv([&http]);

    let t = extract_csv(["--no-ips".as_ref(), http.as_os_str()]);
    let expect: Vec<&str> = FLOW_META
        .iter()
        .copied()
        .filter(|c| !["src_ip", "dst_ip"].contains(c))
        .collect();
    assert_eq!(t.header, expect);
    assert_eq!(t.rows, full.project(&expect));

    let t = extract_csv(["--no-ports".as_ref(), http.as_os_str()]);
    let expect: Vec<&str> = FLOW_META
        .iter()
        .copied()
        .filter(|c| !PORT_COLUMNS.contains(c))
        .collect();
    assert_eq!(t.header.len(), 25);
    assert_eq!(t.header, expect);
    assert_eq!(t.rows, full.project(&expect));

    let t = extract_csv([
        "--no-ips".as_ref(),
        "--no-ports".as_ref(),
        "--flow-id".as_ref(),
        http.as_os_str(),
    ]);
    assert_eq!(t.header.len(), 24);
    assert_eq!(t.header[0], "flow_id");
    assert_eq!(t.header[1], "protocol");
}

#[test]
fn anonymize_ips_hashes_addresses_with_the_salt() {
    let http = capture("http.cap");
    let raw = extract_csv([&http]);
    let anon = |salt: &str| {
        extract_csv([
            "--anonymize-ips".as_ref(),
            "--salt".as_ref(),
            salt.as_ref(),
            http.as_os_str(),
        ])
    };
    let a1 = anon("pepper");
    let a1_again = anon("pepper");
    let a2 = anon("paprika");
    assert_eq!(a1.header, FLOW_META);
    assert_eq!(
        a1.rows, a1_again.rows,
        "stable across runs with the same salt"
    );

    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for col in ["src_ip", "dst_ip"] {
        let r = raw.column(col);
        let x = a1.column(col);
        let y = a2.column(col);
        for i in 0..r.len() {
            assert!(is_hex(&x[i], 16), "{}", x[i]);
            assert!(is_hex(&y[i], 16), "{}", y[i]);
            assert_ne!(x[i], r[i]);
            assert_ne!(x[i], y[i], "a different salt gives different hashes");
            // One raw address, one hash.
            let prev = map.insert(r[i].clone(), x[i].clone());
            assert!(prev.is_none_or(|p| p == x[i]), "{} hashed two ways", r[i]);
        }
    }
    let hashes: BTreeSet<&String> = map.values().collect();
    assert_eq!(hashes.len(), map.len(), "two addresses, one hash");
    // Everything else is unchanged.
    let rest: Vec<&str> = FLOW_META[2..].to_vec();
    assert_eq!(a1.project(&rest), raw.project(&rest));

    // An empty salt is allowed but warned about (not with -q).
    let o = run([
        "extract".as_ref(),
        "--anonymize-ips".as_ref(),
        http.as_os_str(),
    ]);
    assert_ok(&o);
    let e = stderr(&o);
    assert!(
        e.lines()
            .any(|l| l.starts_with("jj: warning:") && l.contains("salt")),
        "{e}"
    );
}

#[test]
fn flow_id_is_32_hex_per_five_tuple_and_salted() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("two-connections.pcap");
    // Two connections on one 5-tuple, and one on another.
    let c = "10.0.0.1";
    let s = "10.0.0.2";
    let pk = vec![
        (0.0, Packet::tcp(c, 40000, s, 80, SYN, 0)),
        (0.1, Packet::tcp(s, 80, c, 40000, SYN | ACK, 0)),
        (0.2, Packet::tcp(c, 40000, s, 80, ACK, 0)),
        (0.3, Packet::tcp(c, 40000, s, 80, FIN | ACK, 0)),
        (0.4, Packet::tcp(s, 80, c, 40000, FIN | ACK, 0)),
        (0.5, Packet::tcp(c, 40000, s, 80, ACK, 0)),
        (1.0, Packet::tcp(c, 40000, s, 80, SYN, 0)),
        (1.1, Packet::tcp(s, 80, c, 40000, SYN | ACK, 0)),
        (1.2, Packet::tcp(c, 40000, s, 80, ACK, 0)),
        (1.5, Packet::tcp(c, 40001, s, 80, SYN, 0)),
    ];
    write_pcap(&cap, &pk);
    let t = extract_csv(["--flow-id".as_ref(), cap.as_os_str()]);
    assert_eq!(t.header[0], "flow_id");
    let ids = t.column("flow_id");
    assert_eq!(ids.len(), 3);
    assert!(ids.iter().all(|i| is_hex(i, 32)), "{ids:?}");
    let ports = t.column("src_port");
    let same: Vec<&String> = ids
        .iter()
        .zip(&ports)
        .filter(|(_, p)| *p == "40000")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(same.len(), 2);
    assert_eq!(same[0], same[1], "one 5-tuple, one flow_id");
    let other = ids
        .iter()
        .zip(&ports)
        .find(|(_, p)| *p == "40001")
        .unwrap()
        .0;
    assert_ne!(other, same[0]);

    let salted = extract_csv([
        "--flow-id".as_ref(),
        "--salt".as_ref(),
        "s".as_ref(),
        cap.as_os_str(),
    ]);
    for (a, b) in ids.iter().zip(salted.column("flow_id")) {
        assert!(is_hex(&b, 32));
        assert_ne!(*a, b, "the salt changes flow_id");
    }
}

#[test]
fn no_tcp_close_and_long_timeout_make_one_flow_per_five_tuple() {
    let http = capture("http.cap");
    let t = extract_csv([
        "--no-tcp-close".as_ref(),
        "--timeout".as_ref(),
        "1e9".as_ref(),
        http.as_os_str(),
    ]);
    assert_eq!(t.rows.len(), 3);
    assert_eq!(t.ints("total_packets").iter().sum::<i64>(), 43);
    let keys: BTreeSet<Vec<String>> = t
        .project(&["src_ip", "src_port", "dst_ip", "dst_port", "protocol"])
        .into_iter()
        .map(|mut k| {
            // Direction-free key.
            let (a, b) = ((k[0].clone(), k[1].clone()), (k[2].clone(), k[3].clone()));
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            k = vec![lo.0, lo.1, hi.0, hi.1, k[4].clone()];
            k
        })
        .collect();
    assert_eq!(keys.len(), 3, "each 5-tuple once");
}

#[test]
fn tcp_close_splits_a_reused_five_tuple() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("reuse.pcap");
    let c = "192.0.2.1";
    let s = "192.0.2.2";
    write_pcap(
        &cap,
        &[
            (0.0, Packet::tcp(c, 1234, s, 443, SYN, 0)),
            (0.1, Packet::tcp(s, 443, c, 1234, SYN | ACK, 0)),
            (0.2, Packet::tcp(c, 1234, s, 443, ACK, 0)),
            (0.3, Packet::tcp(c, 1234, s, 443, FIN | ACK, 0)),
            (0.4, Packet::tcp(s, 443, c, 1234, FIN | ACK, 0)),
            (0.5, Packet::tcp(c, 1234, s, 443, ACK, 0)),
            (1.0, Packet::tcp(c, 1234, s, 443, SYN, 0)),
            (1.1, Packet::tcp(s, 443, c, 1234, SYN | ACK, 0)),
            (1.2, Packet::tcp(c, 1234, s, 443, ACK, 0)),
        ],
    );
    let t = extract_csv([&cap]);
    assert_eq!(t.ints("total_packets"), vec![6, 3]);
    assert_eq!(t.ints("flow_stat"), vec![0x4F, 0x03]);
    let t = extract_csv(["--no-tcp-close".as_ref(), cap.as_os_str()]);
    assert_eq!(t.ints("total_packets"), vec![9]);
}

#[test]
fn idle_and_active_timeouts_split_flows() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("udp.pcap");
    let mut pk = Vec::new();
    for i in 0..10 {
        pk.push((
            f64::from(i),
            Packet::udp("10.1.0.1", 5000, "10.1.0.2", 53, 10),
        ));
    }
    // A 30 s gap, then two more.
    pk.push((39.0, Packet::udp("10.1.0.1", 5000, "10.1.0.2", 53, 10)));
    pk.push((40.0, Packet::udp("10.1.0.2", 53, "10.1.0.1", 5000, 10)));
    write_pcap(&cap, &pk);

    let t = extract_csv([&cap]);
    assert_eq!(
        t.ints("total_packets"),
        vec![12],
        "default idle timeout 60 s"
    );

    let t = extract_csv(["--timeout".as_ref(), "20".as_ref(), cap.as_os_str()]);
    assert_eq!(t.ints("total_packets"), vec![10, 2]);
    assert_eq!(t.ints("packets_bwd"), vec![0, 1]);

    let t = extract_csv(["--active-timeout".as_ref(), "3.5".as_ref(), cap.as_os_str()]);
    assert_eq!(t.ints("total_packets"), vec![4, 4, 2, 2]);
    assert!(t.floats("duration").iter().all(|d| *d <= 3.5));
}

#[test]
fn max_flows_evicts_the_least_recently_active() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("two.pcap");
    write_pcap(
        &cap,
        &[
            (0.0, Packet::udp("10.2.0.1", 1111, "10.2.0.9", 53, 1)),
            (1.0, Packet::udp("10.2.0.2", 2222, "10.2.0.9", 53, 1)),
            (2.0, Packet::udp("10.2.0.1", 1111, "10.2.0.9", 53, 1)),
        ],
    );
    let t = extract_csv([&cap]);
    assert_eq!(t.rows.len(), 2);
    let t = extract_csv(["--max-flows".as_ref(), "1".as_ref(), cap.as_os_str()]);
    assert_eq!(t.rows.len(), 3);
    assert_eq!(t.ints("total_packets").iter().sum::<i64>(), 3);
    let src = t.column("src_ip");
    assert_eq!(src.iter().filter(|s| *s == "10.2.0.1").count(), 2);
    // Two flows ended by eviction (bit 0x20); the last one by the end of input.
    assert_eq!(
        t.ints("flow_stat").iter().filter(|f| **f == 0x20).count(),
        2
    );
}

#[test]
fn directory_input_reads_its_captures_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(capture("sample.pcap"), d.join("a.pcap")).unwrap();
    std::fs::copy(capture("sample.pcap"), d.join("b.cap")).unwrap();
    std::fs::write(d.join("0-readme.pcap"), "not a capture\n").unwrap();
    std::fs::write(d.join("notes.txt"), "hello\n").unwrap();
    std::fs::create_dir(d.join("sub")).unwrap();
    // Not recursive: captures in subdirectories are not read.
    std::fs::copy(capture("dns.cap"), d.join("sub/nested.pcap")).unwrap();

    let one = extract_csv([capture("sample.pcap")]);
    assert!(!one.rows.is_empty());
    let o = jj()
        .args(["extract", "--features", "flow_meta"])
        .arg(d)
        .output()
        .unwrap();
    assert_ok(&o);
    let two = Table::parse(&o.stdout);
    assert_eq!(two.rows.len(), 2 * one.rows.len());
    assert_eq!(two.rows[..one.rows.len()], one.rows[..]);
    assert_eq!(two.rows[one.rows.len()..], one.rows[..]);
    assert!(stderr(&o).contains("2 files,"), "{}", stderr(&o));

    // Name order, not creation order: "b-dns" after "a-sample" even though
    // written first, whatever the directory's own listing order.
    let dir2 = tempfile::tempdir().unwrap();
    std::fs::copy(capture("dns.cap"), dir2.path().join("b-dns.pcap")).unwrap();
    std::fs::copy(capture("sample.pcap"), dir2.path().join("a-sample.pcap")).unwrap();
    let dns = extract_csv([capture("dns.cap")]);
    let both = extract_csv([dir2.path()]);
    let expected: Vec<Vec<String>> = one.rows.iter().chain(&dns.rows).cloned().collect();
    assert_eq!(both.rows, expected);

    // Several files are read in the order given.
    let given = extract_csv([capture("dns.cap"), capture("sample.pcap")]);
    let expected: Vec<Vec<String>> = dns.rows.iter().chain(&one.rows).cloned().collect();
    assert_eq!(given.rows, expected);

    // A directory without captures is an input error.
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("x.pcap"), "nope").unwrap();
    let line = assert_error(&run(["extract".as_ref(), empty.path().as_os_str()]), 1);
    assert!(line.contains(&empty.path().display().to_string()), "{line}");
}

#[test]
fn testdata_directory_reads_every_capture_once() {
    let mut expected = 0;
    for e in std::fs::read_dir(captures_dir()).unwrap() {
        let p = e.unwrap().path();
        let mut head = [0u8; 4];
        if std::fs::File::open(&p)
            .and_then(|mut f| f.read_exact(&mut head))
            .is_ok()
            && matches!(
                u32::from_le_bytes(head),
                0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 | 0x0a0d_0d0a
            )
        {
            expected += 1;
        }
    }
    let o = run([
        "extract".as_ref(),
        "--features".as_ref(),
        "flow_meta".as_ref(),
        captures_dir().as_os_str(),
    ]);
    assert_ok(&o);
    let e = stderr(&o);
    assert!(
        e.contains(&format!("{expected} files,")),
        "expected {expected}: {e}"
    );
}

#[test]
fn config_files_set_options_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let http = capture("http.cap");
    let reference = jj()
        .args([
            "extract",
            "-q",
            "--features",
            "flow_meta",
            "--no-ips",
            "--flow-id",
            "--salt",
            "k",
            "--no-tcp-close",
            "--timeout",
            "1e9",
        ])
        .arg(&http)
        .output()
        .unwrap();
    assert_ok(&reference);
    let t = Table::parse(&reference.stdout);
    assert_eq!(t.rows.len(), 3);
    assert_eq!(t.header[0], "flow_id");
    assert!(!t.header.contains(&"src_ip".to_string()));

    let files = [
        (
            "c.json",
            r#"{"features": ["flow_meta"], "include_ip_addresses": false, "include_flow_id": true,
               "anonymization_salt": "k", "terminate_on_fin_rst": false, "flow_timeout": 1e9}"#,
        ),
        (
            "c.toml",
            "features = [\"flow_meta\"]\ninclude_ip_addresses = false\ninclude_flow_id = true\n\
             anonymization_salt = \"k\"\nterminate_on_fin_rst = false\nflow_timeout = 1e9\n",
        ),
        (
            "c.yaml",
            "features: flow_meta\ninclude_ip_addresses: false\ninclude_flow_id: true\n\
             anonymization_salt: k\nterminate_on_fin_rst: false\nflow_timeout: 1.0e9\n",
        ),
    ];
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let o = jj()
            .args(["extract", "-q", "-c"])
            .arg(&p)
            .arg(&http)
            .output()
            .unwrap();
        assert_ok(&o);
        assert_eq!(stdout(&o), stdout(&reference), "{name}");
    }

    // Flags override the file.
    let p = dir.path().join("salt.json");
    std::fs::write(
        &p,
        r#"{"features": "flow_meta", "include_flow_id": true, "anonymization_salt": "a"}"#,
    )
    .unwrap();
    let with_file = jj()
        .args(["extract", "-q", "--salt", "b", "-c"])
        .arg(&p)
        .arg(&http)
        .output()
        .unwrap();
    let flags = jj()
        .args([
            "extract",
            "-q",
            "--features",
            "flow_meta",
            "--flow-id",
            "--salt",
            "b",
        ])
        .arg(&http)
        .output()
        .unwrap();
    let salt_a = jj()
        .args(["extract", "-q", "-c"])
        .arg(&p)
        .arg(&http)
        .output()
        .unwrap();
    assert_ok(&with_file);
    assert_ok(&salt_a);
    assert_eq!(with_file.stdout, flags.stdout);
    assert_ne!(salt_a.stdout, flags.stdout);
}

#[test]
fn config_file_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let http = capture("http.cap");
    let cases = [
        ("typo.json", r#"{"flow_timeot": 5}"#, "flow_timeot"),
        ("typo.toml", "include_portz = false\n", "include_portz"),
        ("typo.yaml", "anonymise_ips: true\n", "anonymise_ips"),
        ("neg.json", r#"{"flow_timeout": -1}"#, "flow_timeout"),
        (
            "group.toml",
            "features = [\"flow_meta\", \"bogus_group\"]\n",
            "bogus_group",
        ),
        // serde_json reports a wrong type by position, not by key (a
        // library matter): the message names the file and what was expected.
        (
            "type.json",
            r#"{"include_ports": "yes"}"#,
            "expected a boolean",
        ),
        ("conf.ini", "flow_timeout=5\n", ".ini"),
    ];
    for (name, text, key) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let o = jj()
            .args(["extract", "-c"])
            .arg(&p)
            .arg(&http)
            .output()
            .unwrap();
        let line = assert_error(&o, 2);
        assert!(line.contains(key), "{name}: {line}");
        assert!(line.contains(name), "{name}: {line}");
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn progress_flags() {
    let http = capture("http.cap");
    // stderr is a pipe here: no bar by default, only the summary.
    for extra in [
        &[][..],
        &["--no-progress"][..],
        &["--progress", "--no-progress"][..],
    ] {
        let o = jj().arg("extract").args(extra).arg(&http).output().unwrap();
        assert_ok(&o);
        assert_eq!(stderr(&o).lines().count(), 1, "{extra:?}: {}", stderr(&o));
    }
    // --progress asks for the bar even so.
    let o = jj()
        .args(["extract", "--progress"])
        .arg(capture("Obsolete_Packets.cap"))
        .output()
        .unwrap();
    assert_ok(&o);
    let e = stderr(&o);
    assert!(e.contains(" flows, "), "no progress bar drawn: {e:?}");
    // -q wins.
    let o = jj()
        .args(["extract", "--progress", "-q"])
        .arg(&http)
        .output()
        .unwrap();
    assert_ok(&o);
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
}

// ---------------------------------------------------------------- features, info, version

#[test]
fn features_lists_every_flow_meta_column() {
    let o = run(["features"]);
    assert_ok(&o);
    let s = stdout(&o);
    assert!(s.contains("flow_meta"));
    let words: BTreeSet<&str> = s.split_whitespace().collect();
    for c in FLOW_META.iter().chain(&["flow_id"]) {
        assert!(words.contains(c), "{c} missing");
    }
}

#[test]
fn features_json_describes_the_30_flow_meta_columns() {
    let o = run(["features", "--json"]);
    assert_ok(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    let groups = v["groups"].as_array().expect("groups array");
    let fm = groups
        .iter()
        .find(|g| g["group"] == "flow_meta")
        .expect("flow_meta group");
    let cols = fm["columns"].as_array().unwrap();
    let names: Vec<&str> = cols.iter().map(|c| c["name"].as_str().unwrap()).collect();
    let mut expected = vec!["flow_id"];
    expected.extend(FLOW_META);
    assert_eq!(names, expected);
    for c in cols {
        let ty = c["type"].as_str().expect("type");
        assert!(["int", "float", "str"].contains(&ty), "{c}");
        assert!(c["unit"].is_string(), "{c}");
        assert!(!c["description"].as_str().unwrap_or("").is_empty(), "{c}");
    }
    let ty = |n: &str| cols.iter().find(|c| c["name"] == n).unwrap()["type"].clone();
    assert_eq!(ty("src_ip"), "str");
    assert_eq!(ty("total_packets"), "int");
    assert_eq!(ty("duration"), "float");
    let unit = |n: &str| cols.iter().find(|c| c["name"] == n).unwrap()["unit"].clone();
    assert_eq!(unit("duration"), "s");
    assert_eq!(unit("total_bytes"), "bytes");
}

#[test]
fn info_summarises_a_capture() {
    let o = run(["info".as_ref(), capture("http.cap").as_os_str()]);
    assert_ok(&o);
    let s = stdout(&o);
    let field = |k: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}:")))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {k} in {s}"))
            .to_string()
    };
    assert!(field("format").starts_with("pcap"), "{s}");
    assert!(!field("format").starts_with("pcapng"), "{s}");
    assert!(field("link types").starts_with("1 ("), "{s}");
    assert_eq!(field("packets"), "43");
    assert!(field("first").starts_with("1084443427."), "{s}");

    // A bad file among good ones: its error, the others' summaries, exit 1.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pcap");
    std::fs::write(&bad, "nope").unwrap();
    let o = run([
        "info".as_ref(),
        bad.as_os_str(),
        capture("sample.pcap").as_os_str(),
    ]);
    let line = assert_error(&o, 1);
    assert!(line.contains("bad.pcap"), "{line}");
    assert!(stdout(&o).contains("packets:     18"), "{}", stdout(&o));
}

#[test]
fn version_and_help() {
    let o = run(["--version"]);
    assert_ok(&o);
    assert_eq!(stdout(&o), format!("jj {}\n", env!("CARGO_PKG_VERSION")));
    let o = run(["extract", "--version"]);
    assert_ok(&o);
    assert!(stdout(&o).contains(env!("CARGO_PKG_VERSION")));

    let o = run(["--help"]);
    assert_ok(&o);
    let s = stdout(&o);
    for c in ["extract", "features", "info"] {
        assert!(s.contains(c), "{c} missing from --help");
    }
    let o = run(["extract", "--help"]);
    assert_ok(&o);
    let s = stdout(&o);
    for flag in [
        "--output",
        "--format",
        "--features",
        "--config",
        "--timeout",
        "--active-timeout",
        "--no-tcp-close",
        "--max-flows",
        "--no-ips",
        "--no-ports",
        "--anonymize-ips",
        "--salt",
        "--flow-id",
        "--progress",
        "--no-progress",
        "--quiet",
        "Exit status",
    ] {
        assert!(s.contains(flag), "{flag} missing from extract --help");
    }
}

// ---------------------------------------------------------------- broken pipe

fn read_one_line_then_close(args: &[&str]) -> Output {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("jj"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(!line.is_empty(), "no output at all");
    child.wait_with_output().unwrap()
}

#[test]
fn broken_pipe_on_stdout_is_a_quiet_success() {
    let big = capture("Obsolete_Packets.cap");
    let big = big.to_str().unwrap();
    // The output is far larger than a pipe buffer, so jj does hit the closed pipe.
    let full = run(["extract", "-q", big]);
    assert_ok(&full);
    assert!(full.stdout.len() > 2 * 65536, "{} bytes", full.stdout.len());

    for fmt in ["csv", "jsonl", "json"] {
        let o = read_one_line_then_close(&["extract", "-f", fmt, big]);
        assert_ok(&o);
        assert!(!stderr(&o).contains("error"), "{fmt}: {}", stderr(&o));
    }
}

#[test]
fn broken_pipe_in_features_and_info_is_not_a_panic() {
    let http = capture("http.cap");
    for args in [
        vec!["features"],
        vec!["features", "--json"],
        vec!["features", "--markdown"],
        vec!["info", http.to_str().unwrap(), http.to_str().unwrap()],
    ] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("jj"))
            .args(&args)
            .env_remove("RUST_BACKTRACE")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // closed before jj writes anything
        let o = child.wait_with_output().unwrap();
        assert_ok(&o);
        assert!(o.stderr.is_empty(), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn dash_output_is_standard_output() {
    let http = capture("http.cap");
    let dir = tempfile::tempdir().unwrap();
    let to_stdout = jj()
        .current_dir(dir.path())
        .args(["extract", "-f", "csv", "-o", "-"])
        .arg(&http)
        .output()
        .unwrap();
    assert!(to_stdout.status.success());
    let default = jj()
        .current_dir(dir.path())
        .args(["extract", "-f", "csv"])
        .arg(&http)
        .output()
        .unwrap();
    assert_eq!(to_stdout.stdout, default.stdout);
    assert!(to_stdout.stdout.starts_with(b"src_ip,"));
    // No file named "-" was written.
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

// ------------------------------------------- profiles, single columns, schema

/// `--feature` keeps exactly the named columns, in output order, with the
/// values of a full run; without `--features` only their groups run.
#[test]
fn feature_keeps_only_the_named_columns() {
    let full = jj()
        .args(["extract", "-q", "--features", "flow_meta,timing"])
        .arg(capture("http.cap"))
        .output()
        .unwrap();
    assert_ok(&full);
    let full = Table::parse(&full.stdout);
    let o = jj()
        .args([
            "extract",
            "-q",
            "--feature",
            "iat_mean,src_ip",
            "--feature",
            "duration",
        ])
        .arg(capture("http.cap"))
        .output()
        .unwrap();
    assert_ok(&o);
    let t = Table::parse(&o.stdout);
    assert_eq!(t.header, ["src_ip", "duration", "iat_mean"]);
    assert_eq!(
        t.project(&["src_ip", "duration", "iat_mean"]),
        full.project(&["src_ip", "duration", "iat_mean"])
    );
    // A column of a group left out, an unknown column: one-line usage errors.
    let o = run([
        "extract".as_ref(),
        "--features".as_ref(),
        "size".as_ref(),
        "--feature".as_ref(),
        "iat_mean".as_ref(),
        capture("http.cap").as_os_str(),
    ]);
    let e = assert_error(&o, 2);
    assert!(e.contains("'iat_mean'") && e.contains("'timing'"), "{e}");
    let o = run([
        "extract".as_ref(),
        "--feature".as_ref(),
        "nope_col".as_ref(),
        capture("http.cap").as_os_str(),
    ]);
    let e = assert_error(&o, 2);
    assert!(e.contains("nope_col"), "{e}");
}

/// `--profile JJ-CORE` selects its groups (those built), with `--features`
/// adding to it; the columns are those of `--features` with the same groups.
#[test]
fn profile_selects_its_groups() {
    let features = run(["features", "--json", "--profile", "JJ-CORE"]);
    assert_ok(&features);
    let v: serde_json::Value = serde_json::from_slice(&features.stdout).unwrap();
    let groups: Vec<String> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group"].as_str().unwrap().to_string())
        .collect();
    assert!(groups.contains(&"flow_meta".to_string()) && !groups.contains(&"entropy".to_string()));
    let header = |args: &[&str]| {
        let o = jj()
            .args(["extract", "-q"])
            .args(args)
            .arg(capture("dns.cap"))
            .output()
            .unwrap();
        assert_ok(&o);
        Table::parse(&o.stdout).header
    };
    let by_profile = header(&["--profile", "JJ-CORE"]);
    assert_eq!(by_profile, header(&["--features", &groups.join(",")]));
    let mut with_entropy = groups.clone();
    with_entropy.push("entropy".into());
    assert_eq!(
        header(&["--profile", "JJ-CORE", "--features", "entropy"]),
        header(&["--features", &with_entropy.join(",")])
    );
    let o = run([
        "extract".as_ref(),
        "--profile".as_ref(),
        "JJ-FAST".as_ref(),
        capture("dns.cap").as_os_str(),
    ]);
    let e = assert_error(&o, 2);
    assert!(e.contains("JJ-FAST") && e.contains("JJ-CORE"), "{e}");
}

/// `jj schema` in its three formats describes the same columns as `jj
/// features --json`, filtered by `--group`; `-o` writes a file.
#[test]
fn schema_exports_the_registry() {
    let reg = run(["features", "--json"]);
    assert_ok(&reg);
    let reg: serde_json::Value = serde_json::from_slice(&reg.stdout).unwrap();
    let mut cols = Vec::new();
    for g in reg["groups"].as_array().unwrap() {
        for c in g["columns"].as_array().unwrap() {
            cols.push((g["group"].as_str().unwrap().to_string(), c.clone()));
        }
    }
    let o = run(["schema"]);
    assert_ok(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let feats = v["features"].as_array().unwrap();
    assert_eq!(feats.len(), cols.len());
    for (f, (g, c)) in feats.iter().zip(&cols) {
        assert_eq!(f["name"], c["name"]);
        assert_eq!(f["group"].as_str(), Some(g.as_str()));
        assert_eq!(f["nullable"], c["nullable"]);
        assert_eq!(f["description"], c["description"]);
        let want_ty = if c["type"] == "str" {
            "string".into()
        } else {
            c["type"].clone()
        };
        assert_eq!(f["type"], want_ty);
        let unit = c["unit"].as_str().unwrap();
        assert_eq!(
            f["unit"],
            if unit.is_empty() {
                serde_json::Value::Null
            } else {
                unit.into()
            }
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("schema.csv");
    let o = run([
        "schema".as_ref(),
        "-f".as_ref(),
        "csv".as_ref(),
        "--group".as_ref(),
        "size".as_ref(),
        "-o".as_ref(),
        csv_path.as_os_str(),
    ]);
    assert_ok(&o);
    let t = Table::read(&csv_path);
    let size: Vec<&(String, serde_json::Value)> =
        cols.iter().filter(|(g, _)| g == "size").collect();
    assert_eq!(t.rows.len(), size.len());
    assert!(t.column("group").iter().all(|g| g == "size"));
    let names: Vec<String> = size
        .iter()
        .map(|(_, c)| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(t.column("name"), names);
    let md = run(["schema", "-f", "markdown", "--group", "timing"]);
    assert_ok(&md);
    let md = stdout(&md);
    assert!(md.contains("### `timing`") && !md.contains("### `size`"));
    let e = assert_error(&run(["schema", "--group", "bogus"]), 2);
    assert!(e.contains("'bogus'") && e.contains("flow_meta"), "{e}");
    let o = run(["features", "--group", "size"]);
    assert_ok(&o);
    assert!(stdout(&o).starts_with("size — "));
}

// ---------------------------------------------------------------- connection (two passes)

/// Standard input read twice (the connection group) is spooled to a
/// temporary file that is gone afterwards; the CSV is byte-identical to
/// the file's at any thread count, and the progress bar names the passes.
#[test]
fn connection_spools_stdin_and_is_identical_at_any_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let args = |j: &str| {
        vec![
            "extract".to_string(),
            "-q".into(),
            "--features".into(),
            "flow_meta,connection".into(),
            "--connection-include-temporal".into(),
            "-j".into(),
            j.into(),
        ]
    };
    let file = jj()
        .args(args("1"))
        .arg(capture("dns.cap"))
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert_ok(&file);
    let head = String::from_utf8_lossy(&file.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(
        head.ends_with("conn_src_flow_rate,conn_temporal_spread,conn_burst_connections"),
        "{head}"
    );
    for j in ["1", "2", "3"] {
        let o = jj().args(args(j)).arg(capture("dns.cap")).output().unwrap();
        assert_ok(&o);
        assert_eq!(o.stdout, file.stdout, "-j {j}");
        let o = jj()
            .args(args(j))
            .arg("-")
            .env("TMPDIR", tmp.path())
            .write_stdin(std::fs::read(capture("dns.cap")).unwrap())
            .output()
            .unwrap();
        assert_ok(&o);
        assert_eq!(o.stdout, file.stdout, "stdin, -j {j}");
        assert!(
            dir_names(tmp.path()).is_empty(),
            "temporary files left: {:?}",
            dir_names(tmp.path())
        );
    }
    // An unreadable stdin (not a capture): an error, and still no file left.
    let o = jj()
        .args(args("1"))
        .arg("-")
        .env("TMPDIR", tmp.path())
        .write_stdin(b"not a capture".to_vec())
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(dir_names(tmp.path()).is_empty());
    // Messages name the input, not the temporary copy: the error above, and
    // the warning for a cut-short stdin (given in each pass).
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("<stdin>") && !err.contains("jj-spool"),
        "{err}"
    );
    let mut cut = std::fs::read(capture("dns.cap")).unwrap();
    cut.truncate(cut.len() - 5);
    let o = jj()
        .args(["extract", "--features", "flow_meta,connection", "-"])
        .env("TMPDIR", tmp.path())
        .write_stdin(cut)
        .output()
        .unwrap();
    assert_ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("<stdin>") && err.contains("cut short") && !err.contains("jj-spool"),
        "{err}"
    );
    assert!(dir_names(tmp.path()).is_empty());
    // The progress bar says which pass it is in.
    let o = jj()
        .args([
            "extract",
            "--progress",
            "--features",
            "flow_meta,connection",
            "-o",
        ])
        .arg(tmp.path().join("out.csv"))
        .arg(capture("dns.cap"))
        .output()
        .unwrap();
    assert_ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("pass 2/2"), "{err}");
    // Graph metrics: the columns are there and the CSV is the same at -j 1
    // and -j 2 (values against NetworkX: tests/python/test_connection.py).
    let mut outs = Vec::new();
    for j in ["1", "2"] {
        let out = tmp.path().join(format!("graph{j}.csv"));
        let o = jj()
            .args([
                "extract",
                "--features",
                "flow_meta,connection",
                "--connection-include-graph-metrics",
                "-j",
                j,
                "-o",
            ])
            .arg(&out)
            .arg(capture("http.cap"))
            .arg(capture("dns.cap"))
            .output()
            .unwrap();
        assert_ok(&o);
        outs.push(std::fs::read_to_string(&out).unwrap());
    }
    assert_eq!(outs[0], outs[1]);
    let header = outs[0].lines().next().unwrap();
    assert!(
        header.contains("conn_src_unique_ports,conn_src_out_degree,")
            && header.ends_with("conn_src_clustering,conn_dst_clustering"),
        "{header}"
    );
    // An unknown community algorithm: a one-line error.
    let o = run([
        "extract",
        "--features",
        "connection",
        "--connection-include-graph-metrics",
        "--connection-community-algorithm",
        "girvan_newman",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([capture("dns.cap").display().to_string()]));
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("girvan_newman") && err.trim().lines().count() == 1,
        "{err}"
    );
}
