//! `jj live` and `--filter` against independent truth: tcpdump.
//!
//! The live tests build their own pair of network namespaces joined by a
//! veth pair (10.77.0.0/24, names starting `jjl`), run `jj live` on one
//! end while `tcpdump -w` records the same interface, and generate real
//! traffic from the other end (ping, an HTTP exchange, DNS queries over
//! UDP, a UDP burst). Nothing leaves the namespaces. They need root and
//! `ip`; without them they print why and pass (CI runs them as root).
//! The `--filter` tests need tcpdump only.
#![cfg(feature = "live")]

use joyfuljay_testkit::capture;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

fn jj_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("jj")
}

/// `jj` run as user nobody without capabilities (`setpriv`; needs root).
fn jj_as_nobody() -> Command {
    let mut c = Command::new("setpriv");
    c.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
    ])
    .arg(jj_bin());
    c
}

/// `o` failed with exit status 1 and one line of standard error holding
/// `needle`.
fn one_line_error(o: &std::process::Output, needle: &str) {
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains(needle), "{e}");
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Why the live tests cannot run here, if they cannot.
fn live_skip() -> Option<String> {
    if !is_root() {
        return Some("not root (network namespaces need it)".into());
    }
    for t in ["ip", "tcpdump", "python3"] {
        if !have(t) {
            return Some(format!("{t} is missing"));
        }
    }
    None
}

macro_rules! need_live {
    () => {
        if let Some(why) = live_skip() {
            eprintln!("SKIPPED: {why}");
            return;
        }
    };
}

/// The set-up of a live test: skip it (printing why) unless root with
/// `ip`, `tcpdump` and `python3`; else a fresh pair of namespaces and a
/// temporary directory.
macro_rules! live_env {
    () => {{
        need_live!();
        (Netns::new(), tempfile::tempdir().unwrap())
    }};
}

fn run(args: &[&str]) -> std::process::Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Two namespaces joined by a veth pair: `a` (10.77.0.1, interface `ia`)
/// and `b` (10.77.0.2, interface `ib`); removed on drop.
struct Netns {
    a: String,
    b: String,
    ia: String,
    ib: String,
}

impl Netns {
    fn new() -> Netns {
        static N: AtomicU32 = AtomicU32::new(0);
        let id = format!(
            "{}{}",
            std::process::id() % 100_000,
            N.fetch_add(1, Ordering::SeqCst)
        );
        let n = Netns {
            a: format!("jjl{id}a"),
            b: format!("jjl{id}b"),
            ia: format!("jjl{id}x"),
            ib: format!("jjl{id}y"),
        };
        run(&["ip", "netns", "add", &n.a]);
        run(&["ip", "netns", "add", &n.b]);
        run(&[
            "ip", "link", "add", &n.ia, "type", "veth", "peer", "name", &n.ib,
        ]);
        run(&["ip", "link", "set", &n.ia, "netns", &n.a]);
        run(&["ip", "link", "set", &n.ib, "netns", &n.b]);
        for (ns, ifc, addr) in [(&n.a, &n.ia, "10.77.0.1/24"), (&n.b, &n.ib, "10.77.0.2/24")] {
            // No IPv6: its router and multicast chatter comes at moments of
            // its own, and these tests compare captures started apart.
            for key in ["all", "default", ifc.as_str()] {
                let _ = Command::new("ip")
                    .args(["netns", "exec", ns, "sysctl", "-qw"])
                    .arg(format!("net.ipv6.conf.{key}.disable_ipv6=1"))
                    .output();
            }
            run(&["ip", "-n", ns, "addr", "add", addr, "dev", ifc]);
            run(&["ip", "-n", ns, "link", "set", ifc, "up"]);
            run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        n
    }

    fn exec(&self, ns: &str, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).args(args);
        c
    }

    /// `jj live` on `ia` (in namespace a) with `args`, then `-o out`,
    /// started: it is listening.
    fn jj_live(&self, args: &[&str], out: &Path) -> (Child, std::thread::JoinHandle<String>) {
        let mut c = self.exec(&self.a, &[jj_bin().to_str().unwrap(), "live", &self.ia]);
        c.args(args).arg("-o").arg(out);
        start_capture(c)
    }

    /// `ping -c count -i 0.2 -q` from namespace b to a.
    fn ping(&self, count: u32) {
        run(&[
            "ip",
            "netns",
            "exec",
            &self.b,
            "ping",
            "-c",
            &count.to_string(),
            "-i",
            "0.2",
            "-q",
            "10.77.0.1",
        ]);
    }

    /// `tcpdump -w file` on `ia`, started.
    fn tcpdump(&self, file: &Path) -> (Child, std::thread::JoinHandle<String>) {
        let mut td = self.exec(
            &self.a,
            &[
                "tcpdump",
                "-i",
                &self.ia,
                "-nn",
                "-U",
                "--immediate-mode",
                "-s",
                "4096",
                "-B",
                "16384",
                "-w",
            ],
        );
        td.arg(file);
        start_capture(td)
    }
}

/// tcpdump leaves at SIGINT without reading what the kernel still holds:
/// wait until its file (packet-buffered, -U) stops growing.
fn wait_still(file: &Path) {
    let mut last = (0, Instant::now());
    while last.1.elapsed() < Duration::from_millis(700) {
        std::thread::sleep(Duration::from_millis(50));
        let len = std::fs::metadata(file).map_or(0, |m| m.len());
        if len != last.0 {
            last = (len, Instant::now());
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.a]).output();
        let _ = Command::new("ip").args(["netns", "del", &self.b]).output();
    }
}

/// Start `c` and wait until its standard error says it is capturing
/// ("listening on"); the rest of its standard error is collected.
fn start_capture(mut c: Command) -> (Child, std::thread::JoinHandle<String>) {
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start capture");
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        let mut r = BufReader::new(err);
        let mut all = String::new();
        let mut line = String::new();
        let mut tx = Some(tx);
        while r.read_line(&mut line).unwrap_or(0) > 0 {
            if line.contains("listening on") {
                if let Some(t) = tx.take() {
                    let _ = t.send(());
                }
            }
            all.push_str(&line);
            line.clear();
        }
        all
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the capture started (listening on …)");
    (child, h)
}

fn sigint(c: &Child) {
    // SAFETY: a signal to our own child.
    unsafe {
        libc::kill(c.id() as i32, libc::SIGINT);
    }
}

/// Finish `c` (after a signal): its exit status, standard output and error.
fn finish(mut c: Child, err: std::thread::JoinHandle<String>) -> (i32, Vec<u8>, String) {
    let mut out = Vec::new();
    c.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let st = c.wait().unwrap();
    (st.code().unwrap_or(-1), out, err.join().unwrap())
}

/// CSV rows (header first), the rest sorted: flows end in other orders
/// live (wall-clock sweeps) than in a file.
fn rows(path: &Path) -> (String, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines().map(str::to_string);
    let header = lines.next().unwrap_or_default();
    let mut rest: Vec<String> = lines.collect();
    rest.sort();
    (header, rest)
}

fn extract(input: &Path, out: &Path, extra: &[&str]) {
    let o = Command::new(jj_bin())
        .arg("extract")
        .arg(input)
        .args(extra)
        .arg("-o")
        .arg(out)
        .args(["-q", "-j", "1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// tcpdump's reading of a capture: packets as hex with µs times.
fn tcpdump_packets(file: &Path, expr: &[&str]) -> String {
    let o = Command::new("tcpdump")
        .args(["-nn", "-tt", "-x", "-r"])
        .arg(file)
        .args(expr)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

/// `a` and `b` hold the same lines; else the first difference.
fn same_lines(a: &str, b: &str, what: &str) {
    if a == b {
        return;
    }
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let i = la
        .iter()
        .zip(&lb)
        .position(|(x, y)| x != y)
        .unwrap_or(la.len().min(lb.len()));
    panic!(
        "{what}: {} vs {} lines; first difference at line {i}:\n  {:?}\n  {:?}",
        la.len(),
        lb.len(),
        la.get(i),
        lb.get(i)
    );
}

/// Real traffic from namespace b to a: ping, an HTTP GET, DNS queries
/// over UDP answered by a small responder, and a burst of UDP datagrams.
fn traffic(n: &Netns) {
    // Servers in a: HTTP (python http.server) and a UDP responder on 5353
    // that answers each DNS query with the same bytes, QR bit set.
    let responder = "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('10.77.0.1',5353))\nwhile True:\n d,a=s.recvfrom(4096)\n s.sendto(d[:2]+bytes([d[2]|0x80])+d[3:],a)\n";
    let mut udp = n
        .exec(&n.a, &["python3", "-c", responder])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut http = n
        .exec(
            &n.a,
            &[
                "python3",
                "-m",
                "http.server",
                "8080",
                "--bind",
                "10.77.0.1",
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = r#"
import socket, struct, time, urllib.request
for _ in range(100):
    try:
        urllib.request.urlopen("http://10.77.0.1:8080/", timeout=2).read(); break
    except OSError:
        time.sleep(0.05)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
for i, name in enumerate([b"example", b"joyfuljay"]):
    q = struct.pack(">HHHHHH", 0x1000 + i, 0x0100, 1, 0, 0, 0)
    q += bytes([len(name)]) + name + b"\x03com\x00" + struct.pack(">HH", 1, 1)
    s.sendto(q, ("10.77.0.1", 5353)); s.recvfrom(4096)
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(300):
    b.sendto(bytes(64 + (i * 37) % 900), ("10.77.0.1", 9999))
"#;
    n.ping(3);
    run(&["ip", "netns", "exec", &n.b, "python3", "-c", client]);
    // The HTTP request is sent once the server listens: the first tries
    // may be refused (RST), which is traffic too.
    let _ = http.kill();
    let _ = udp.kill();
    let _ = http.wait();
    let _ = udp.wait();
}

#[test]
fn live_rows_equal_extract_of_what_tcpdump_saw() {
    let (n, dir) = live_env!();
    let (tcpd_file, live_csv, saved) = (
        dir.path().join("tcpdump.pcap"),
        dir.path().join("live.csv"),
        dir.path().join("saved.pcapng"),
    );
    let (tcpdump, td_err) = n.tcpdump(&tcpd_file);
    let (live, live_err) = n.jj_live(&["--save-pcap", saved.to_str().unwrap()], &live_csv);
    traffic(&n);
    wait_still(&tcpd_file);
    sigint(&live);
    sigint(&tcpdump);
    let (code, _, err) = finish(live, live_err);
    let (_, _, terr) = finish(tcpdump, td_err);
    assert_eq!(code, 0, "jj live: {err}");
    assert!(err.contains("flows written to"), "{err}");
    assert!(
        err.contains("dropped"),
        "the summary names kernel drops: {err}"
    );
    assert!(
        terr.contains("0 packets dropped by kernel"),
        "tcpdump dropped packets: {terr}"
    );

    // The saved packets are tcpdump's packets: the same bytes in the same
    // order, at times within 2 ms (each capture reads the clock for
    // packets the kernel did not stamp, such as TCP from the other
    // namespace).
    let theirs = tcpdump_packets(&tcpd_file, &[]);
    let ours = tcpdump_packets(&saved, &[]);
    let packets = theirs.lines().filter(|l| !l.starts_with('\t')).count();
    assert!(
        packets > 100,
        "{packets} packets captured; tcpdump: {terr}; jj: {err}"
    );
    let untimed = |t: &str| -> String {
        t.lines()
            .map(|l| {
                if l.starts_with('\t') {
                    l
                } else {
                    l.split_once(' ').map_or(l, |x| x.1)
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    same_lines(
        &untimed(&ours),
        &untimed(&theirs),
        "--save-pcap vs tcpdump -w",
    );
    let times = |t: &str| -> Vec<f64> {
        t.lines()
            .filter(|l| !l.starts_with('\t'))
            .map(|l| l.split(' ').next().unwrap().parse().unwrap())
            .collect()
    };
    for (a, b) in times(&ours).iter().zip(times(&theirs)) {
        assert!((a - b).abs() < 0.002, "packet times {a} vs {b}");
    }

    // The rows are those of jj extract on the saved packets, exactly...
    let ex_saved = dir.path().join("extract-saved.csv");
    extract(&saved, &ex_saved, &[]);
    let (h1, r1) = rows(&live_csv);
    let (h2, r2) = rows(&ex_saved);
    assert_eq!(h1, h2);
    same_lines(
        &r1.join("\n"),
        &r2.join("\n"),
        "jj live rows vs jj extract of --save-pcap",
    );

    // ...and those of jj extract on tcpdump's file: the same flows,
    // packet and byte counts, start times within 2 ms.
    let ex = dir.path().join("extract.csv");
    extract(&tcpd_file, &ex, &[]);
    let (a, b) = (flow_keys(&live_csv), flow_keys(&ex));
    assert!(b.len() >= 4, "flows: {b:?}");
    same_flows(&a, &b, "jj live rows vs jj extract of tcpdump's capture");
    for proto in [",1,", ",6,", ",17,"] {
        assert!(
            r1.iter().any(|r| r.contains(proto)),
            "no {proto} flow: {r1:?}"
        );
    }
}

#[test]
fn live_ends_idle_flows_by_the_wall_clock_and_stops_at_duration() {
    let (n, dir) = live_env!();
    let out = dir.path().join("live.jsonl");
    let start = Instant::now();
    let (live, err) = n.jj_live(&["--timeout", "0.5", "-d", "6"], &out);
    n.ping(1);
    // No packet after the ping: only a sweep of the wall clock ends the
    // flow; its row is in the file while jj still runs.
    let mut seen = false;
    while start.elapsed() < Duration::from_millis(4500) {
        std::thread::sleep(Duration::from_millis(100));
        if std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .any(|l| l.contains("\"protocol\":1,"))
        {
            seen = true;
            break;
        }
    }
    assert!(seen, "the ICMP flow's row was not written while capturing");
    assert!(live.try_wait_running(), "jj stopped too early");
    let (code, _, e) = finish(live, err);
    assert_eq!(code, 0, "{e}");
    let secs = start.elapsed().as_secs_f64();
    assert!((5.5..12.0).contains(&secs), "-d 6 ran {secs} s");
    let text = std::fs::read_to_string(&out).unwrap();
    let icmp: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"protocol\":1,"))
        .collect();
    assert_eq!(icmp.len(), 1, "{text}");
    assert!(icmp[0].contains("\"total_packets\":2,"), "{}", icmp[0]);
}

trait Running {
    fn try_wait_running(&self) -> bool;
}
impl Running for Child {
    fn try_wait_running(&self) -> bool {
        // SAFETY: signal 0 only checks that the process exists.
        unsafe { libc::kill(self.id() as i32, 0) == 0 }
    }
}

#[test]
fn live_count_stops_after_n_packets() {
    let (n, dir) = live_env!();
    let (out, saved) = (dir.path().join("c.csv"), dir.path().join("c.pcapng"));
    let (live, err) = n.jj_live(
        &[
            "--count",
            "4",
            "--filter",
            "icmp",
            "-d",
            "20",
            "--save-pcap",
            saved.to_str().unwrap(),
        ],
        &out,
    );
    n.ping(4);
    let t = Instant::now();
    let (code, _, e) = finish(live, err);
    assert_eq!(code, 0, "{e}");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "--count did not stop jj"
    );
    assert_eq!(
        tcpdump_packets(&saved, &[])
            .lines()
            .filter(|l| !l.starts_with('\t'))
            .count(),
        4
    );
    let (_, r) = rows(&out);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(e.contains("4 packets captured"), "{e}");
}

#[test]
fn live_interface_going_down_is_a_one_line_error_keeping_rows() {
    let (n, dir) = live_env!();
    let out = dir.path().join("down.csv");
    let (live, err) = n.jj_live(&["-d", "20"], &out);
    n.ping(2);
    std::thread::sleep(Duration::from_millis(300));
    run(&["ip", "-n", &n.b, "link", "del", &n.ib]);
    let t = Instant::now();
    let (code, _, e) = finish(live, err);
    assert!(t.elapsed() < Duration::from_secs(5), "jj did not notice");
    assert_eq!(code, 1, "{e}");
    let last = e.lines().last().unwrap();
    assert!(
        last.starts_with("jj: error: ") && last.contains(&n.ia),
        "{e}"
    );
    let (_, r) = rows(&out);
    assert!(
        r.iter()
            .any(|l| l.contains(",1,") && l.contains("10.77.0.2")),
        "{r:?}"
    );
}

#[test]
fn live_bad_interface_permission_and_filter_are_one_line_errors() {
    if !have("ip") {
        eprintln!("SKIPPED: ip is missing");
        return;
    }
    let o = Command::new(jj_bin())
        .args(["live", "jjlnosuch0", "-d", "1", "-o", "/dev/null"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("jjlnosuch0: no such network interface"), "{e}");

    if is_root() {
        let o = Command::new(jj_bin())
            .args(["live", "lo", "--filter", "tcp port", "-d", "1"])
            .output()
            .unwrap();
        let e = String::from_utf8_lossy(&o.stderr);
        assert_ne!(o.status.code(), Some(0), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.contains("'tcp port'"), "{e}");
        if have("setpriv") {
            let o = jj_as_nobody()
                .args(["live", "lo", "-d", "1"])
                .output()
                .unwrap();
            one_line_error(&o, "CAP_NET_RAW");
        }
    }
}

/// `jj extract --filter EXPR` reads the packets `tcpdump -r FILE EXPR`
/// keeps: its rows equal those of `jj extract` on tcpdump's filtered copy.
#[test]
fn extract_filter_keeps_what_tcpdump_r_keeps() {
    if !have("tcpdump") {
        eprintln!("SKIPPED: tcpdump is missing");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str)] = &[
        ("http.cap", "tcp port 80"),
        ("http.cap", "greater 500"),
        ("dns.cap", "udp and port 53"),
        ("icmp-mix.pcap", "icmp or icmp6"),
        ("sample.pcap", "not tcp"),
        (
            "tcp-impaired.pcap",
            "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0",
        ),
        ("quic.pcap", "udp port 443 and len > 1200"),
        ("mpls-basic.cap", "mpls"),
    ];
    let mut nonempty = 0;
    for (i, (name, expr)) in cases.iter().enumerate() {
        let input = capture(name);
        let filtered = dir.path().join(format!("f{i}.pcap"));
        let o = Command::new("tcpdump")
            .arg("-r")
            .arg(&input)
            .arg("-w")
            .arg(&filtered)
            .arg(expr)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{name} {expr}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let (a, b) = (
            dir.path().join(format!("a{i}.csv")),
            dir.path().join(format!("b{i}.csv")),
        );
        extract(&filtered, &a, &[]);
        extract(&input, &b, &["--filter", expr]);
        let (ha, ra) = rows(&a);
        let (hb, rb) = rows(&b);
        assert_eq!(ha, hb);
        assert_eq!(ra, rb, "{name} --filter '{expr}'");
        nonempty += usize::from(!ra.is_empty());
        // Not everything: the filter left something out.
        let (_, all) = rows(&{
            let c = dir.path().join(format!("all{i}.csv"));
            extract(&input, &c, &[]);
            c
        });
        assert!(all.len() >= ra.len());
    }
    assert!(nonempty >= 6, "most filters keep some flows");

    let o = Command::new(jj_bin())
        .arg("extract")
        .arg(capture("http.cap"))
        .args(["--filter", "tcp port eighty", "-o"])
        .arg(dir.path().join("bad.csv"))
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0));
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("'tcp port eighty'"), "{e}");
    assert!(!dir.path().join("bad.csv").exists());
}

/// A process started in namespace `ns` whose standard output is read up
/// to its first line (it is ready: bound, listening).
fn start_ready(n: &Netns, ns: &str, args: &[&str]) -> Child {
    let mut c = n
        .exec(ns, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(c.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(!line.is_empty(), "{args:?} did not start");
    c
}

/// The flows of a CSV file: the key columns and counts, sorted, with the
/// start times.
fn flow_keys(p: &Path) -> Vec<(Vec<String>, f64)> {
    let cols = [
        "src_ip",
        "dst_ip",
        "src_port",
        "dst_port",
        "protocol",
        "total_packets",
        "packets_fwd",
        "packets_bwd",
        "total_bytes",
        "bytes_fwd",
        "bytes_bwd",
    ];
    let t = joyfuljay_testkit::Table::read(p);
    let start = t.floats("start_time");
    let mut v: Vec<(Vec<String>, f64)> = t.project(&cols).into_iter().zip(start).collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v
}

/// `a` and `b` are the same flows (counts included), starting within 2 ms.
fn same_flows(a: &[(Vec<String>, f64)], b: &[(Vec<String>, f64)], what: &str) {
    let names = |v: &[(Vec<String>, f64)]| {
        v.iter()
            .map(|x| x.0.join(","))
            .collect::<Vec<_>>()
            .join("\n")
    };
    same_lines(&names(a), &names(b), what);
    for (x, y) in a.iter().zip(b) {
        assert!(
            (x.1 - y.1).abs() < 0.002,
            "{what}: start times {} vs {} of {:?}",
            x.1,
            y.1,
            x.0
        );
    }
}

/// `jj live --pid` and `--process` against tcpdump: three processes talk
/// at once in namespace a (an HTTP server on 8080, a UDP responder on
/// 5353 started as `jjudpresp` by `exec -a`, a client `jjclient` (a
/// python3 under that name: its comm) that connects out from ports 40001
/// (TCP) and 40002 (UDP) after jj started). Each jj's rows are those of
/// `jj extract --filter 'PORTS'` on tcpdump's file of the same interface:
/// the same flows, packet and byte counts; the other processes' flows,
/// the ICMP and the unowned UDP burst are left out.
#[test]
fn live_pid_and_process_keep_exactly_their_sockets_traffic() {
    let (n, dir) = live_env!();
    let http = start_ready(
        &n,
        &n.a,
        &[
            "python3",
            "-u",
            "-m",
            "http.server",
            "8080",
            "--bind",
            "10.77.0.1",
        ],
    );
    // The python3 binary itself (not a wrapper script such as pyenv's).
    let py = String::from_utf8(run(&["python3", "-c", "import sys; print(sys.executable)"]).stdout)
        .unwrap();
    let py = py.trim();
    let responder = "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('10.77.0.1',5353))\nprint('ready',flush=True)\nwhile True:\n d,a=s.recvfrom(4096)\n s.sendto(d[:2]+bytes([d[2]|0x80])+d[3:],a)\n";
    let udp = start_ready(
        &n,
        &n.a,
        &[
            "bash",
            "-c",
            "exec -a jjudpresp \"$1\" -u -c \"$2\"",
            "_",
            py,
            responder,
        ],
    );
    // In b: a TCP server on 7000 answering three times what it reads, and
    // a UDP socket on 9999 that only receives.
    let bsrv = "import socket\nu=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nu.bind(('10.77.0.2',9999))\nt=socket.socket()\nt.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\nt.bind(('10.77.0.2',7000))\nt.listen(8)\nprint('ready',flush=True)\nwhile True:\n c,_=t.accept()\n d=c.recv(65536)\n c.sendall(d*3)\n c.close()\n";
    let server_b = start_ready(&n, &n.b, &["python3", "-u", "-c", bsrv]);
    // The client waits for a line before it opens any socket.
    let client = r#"
import socket, sys, time
print('ready', flush=True)
sys.stdin.readline()
def tcp(port, hold):
    t = socket.socket()
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(('10.77.0.1', port))
    t.connect(('10.77.0.2', 7000))
    time.sleep(hold)
    t.sendall(b'hello' * 100)
    while t.recv(65536):
        pass
    time.sleep(hold)
    t.close()
tcp(40001, 0.3)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('10.77.0.1', 40002))
for i in range(20):
    u.sendto(bytes(100 + i), ('10.77.0.2', 9999))
    time.sleep(0.005)
u.close()
# A connection of a few milliseconds.
tcp(40003, 0)
print('done', flush=True)
sys.stdin.readline()
"#;
    let link = dir.path().join("jjclient");
    std::os::unix::fs::symlink(py, &link).unwrap();
    let mut client = start_ready(&n, &n.a, &[link.to_str().unwrap(), "-u", "-c", client]);

    let pcap = dir.path().join("all.pcap");
    let (tcpdump, td_err) = n.tcpdump(&pcap);
    let hp = http.id().to_string();
    // (options, tcpdump filter of the same packets, output)
    let runs: Vec<(Vec<&str>, &str, PathBuf)> = vec![
        (
            vec!["--pid", &hp],
            "tcp port 8080",
            dir.path().join("pid.csv"),
        ),
        (
            vec!["--process", "jjudpresp"],
            "udp port 5353",
            dir.path().join("name-argv0.csv"),
        ),
        (
            vec!["--process", "jjclient"],
            "port 40001 or port 40002",
            dir.path().join("name-comm.csv"),
        ),
        (
            vec!["--pid", &hp, "--process", "jjudpresp"],
            "tcp port 8080 or udp port 5353",
            dir.path().join("union.csv"),
        ),
    ];
    let lives: Vec<_> = runs.iter().map(|(o, _, out)| n.jj_live(o, out)).collect();

    // Traffic from b: HTTP GETs, DNS queries, a UDP burst to a port
    // nobody owns (answered by ICMP port unreachable), a ping.
    let traffic = r#"
import socket, struct, urllib.request
for _ in range(3):
    urllib.request.urlopen("http://10.77.0.1:8080/", timeout=5).read()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
for i, name in enumerate([b"example", b"joyfuljay"]):
    q = struct.pack(">HHHHHH", 0x1000 + i, 0x0100, 1, 0, 0, 0)
    q += bytes([len(name)]) + name + b"\x03com\x00" + struct.pack(">HH", 1, 1)
    s.sendto(q, ("10.77.0.1", 5353)); s.recvfrom(4096)
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(50):
    b.sendto(bytes(64 + i), ("10.77.0.1", 9999))
"#;
    run(&["ip", "netns", "exec", &n.b, "python3", "-c", traffic]);
    n.ping(2);
    {
        use std::io::Write;
        let stdin = client.stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        BufReader::new(client.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "done");
    }
    wait_still(&pcap);
    for (c, _) in &lives {
        sigint(c);
    }
    sigint(&tcpdump);
    let mut errs = Vec::new();
    for (c, e) in lives {
        let (code, _, err) = finish(c, e);
        assert_eq!(code, 0, "{err}");
        errs.push(err);
    }
    let (_, _, terr) = finish(tcpdump, td_err);
    assert!(
        terr.contains("0 packets dropped by kernel"),
        "tcpdump dropped packets: {terr}"
    );
    for mut c in [http, udp, server_b, client] {
        let _ = c.kill();
        let _ = c.wait();
    }

    let all = flow_keys(&{
        let p = dir.path().join("all.csv");
        extract(&pcap, &p, &[]);
        p
    });
    let mut short = String::new();
    for ((opts, expr, out), err) in runs.iter().zip(&errs) {
        let truth = out.with_extension("truth.csv");
        extract(&pcap, &truth, &["--filter", expr]);
        let b = flow_keys(&truth);
        let mut a = flow_keys(out);
        // The connection of a few ms from port 40003 (not in the filter):
        // whether it was caught is reported, not asserted.
        if let Some(i) = a
            .iter()
            .position(|f| f.0[2] == "40003" || f.0[3] == "40003")
        {
            let f = a.remove(i);
            let t = all.iter().find(|g| g.0[..5] == f.0[..5]).unwrap();
            short = format!(
                "the connection from port 40003 was caught: {} of its {} packets",
                f.0[5], t.0[5]
            );
        }
        same_flows(
            &a,
            &b,
            &format!("jj live {opts:?} vs jj extract --filter '{expr}'"),
        );
        assert!(!a.is_empty() && a.len() < all.len(), "{opts:?}: {a:?}");
        assert!(err.contains("left out (not of "), "{err}");
    }
    if short.is_empty() {
        short = "the connection from port 40003 was not caught".into();
    }
    eprintln!("NOTE: {short}");
    // What each run kept, by protocol and port.
    let has = |i: usize, proto: &str, port: &str| {
        flow_keys(&runs[i].2)
            .iter()
            .any(|f| f.0[4] == proto && (f.0[2] == port || f.0[3] == port))
    };
    assert!(has(0, "6", "8080") && !has(0, "17", "5353") && !has(0, "6", "40001"));
    assert!(has(1, "17", "5353") && !has(1, "6", "8080"));
    assert!(has(2, "6", "40001") && has(2, "17", "40002") && !has(2, "6", "8080"));
    assert!(has(3, "6", "8080") && has(3, "17", "5353") && !has(3, "17", "40002"));
    // The client's connection began after jj started: its first packet,
    // the SYN, is in (the SYN flag count of tcpdump's flow, since the
    // counts are equal).
    let t = joyfuljay_testkit::Table::read(&runs[2].2);
    let syn = t.project(&["src_port", "tcp_syn_count"]);
    assert!(
        syn.iter().any(|r| r[0] == "40001" && r[1] != "0"),
        "{syn:?}"
    );
}

/// Bad --pid/--process: one line, exit status 1, no output file.
#[test]
fn live_pid_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--pid", "999999"], "--pid 999999: no such process"),
        (
            vec!["--process", "jjnosuchprocess"],
            "--process 'jjnosuchprocess': no process of that name",
        ),
        (vec!["--process", ""], "--process '': give a program's name"),
        (
            vec!["--process", "/usr/bin/sleep"],
            "--process '/usr/bin/sleep': give a program's name",
        ),
    ];
    for (args, msg) in cases {
        let o = Command::new(jj_bin())
            .args(["live", "lo", "-d", "1"])
            .args(&args)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        one_line_error(&o, msg);
        assert!(!out.exists(), "{args:?}");
    }
    // Another user's process: its sockets cannot be read without root or
    // CAP_SYS_PTRACE.
    if is_root() && have("setpriv") {
        let o = jj_as_nobody()
            .args(["live", "lo", "-d", "1", "--pid", "1", "-o"])
            .arg(&out)
            .output()
            .unwrap();
        one_line_error(&o, "CAP_SYS_PTRACE");
        assert!(!out.exists());
    } else {
        eprintln!("SKIPPED (part): not root or no setpriv");
    }
}

/// Fields of a CSV line (RFC 4180 quotes).
fn csv_fields(line: &str) -> usize {
    let mut quoted = false;
    1 + line
        .chars()
        .filter(|&c| {
            if c == '"' {
                quoted = !quoted;
            }
            c == ',' && !quoted
        })
        .count()
}

/// The second SIGINT leaves at once even while jj is blocked writing the
/// rows of the stop: the output is a FIFO that the test opens but does not
/// read, and 400 open flows fill it. After the first SIGINT the pipe fills
/// and jj blocks; the second one (sent once the pipe stopped filling, so
/// that the two cannot merge into one) ends jj with status 130 within a
/// second; what reached the FIFO is whole rows.
#[test]
fn live_second_sigint_leaves_while_blocked_writing() {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    let (n, dir) = live_env!();
    let fifo = dir.path().join("rows.csv");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // jj says it listens before it opens its output, which waits for a
    // reader.
    let (live, err) = n.jj_live(&["-d", "60"], &fifo);
    let mut r = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let queued = |f: &std::fs::File| -> i32 {
        let mut k: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int.
        unsafe { libc::ioctl(f.as_raw_fd(), libc::FIONREAD, &mut k) };
        k
    };
    let flows = "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor p in range(20000,20400):\n s.sendto(b'x'*32,('10.77.0.1',p))\n";
    run(&["ip", "netns", "exec", &n.b, "python3", "-c", flows]);
    // The flows are open (60 s timeout): nothing but the header yet.
    std::thread::sleep(Duration::from_millis(1500));
    let header_len = queued(&r);
    assert!(header_len > 0 && header_len < 16384, "{header_len}");
    sigint(&live);
    // Wait until the pipe stopped filling: jj is blocked writing rows.
    let t = Instant::now();
    let mut last = (queued(&r), Instant::now());
    while last.1.elapsed() < Duration::from_millis(500) {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the pipe never filled"
        );
        std::thread::sleep(Duration::from_millis(20));
        let q = queued(&r);
        if q != last.0 {
            last = (q, Instant::now());
        }
    }
    assert!(last.0 > header_len, "no row written after the first SIGINT");
    assert!(
        live.try_wait_running(),
        "jj left after one SIGINT: not blocked"
    );
    let t = Instant::now();
    sigint(&live);
    let mut live = live;
    let status = loop {
        if let Some(s) = live.try_wait().unwrap() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "jj still runs a second after the second SIGINT"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let left = t.elapsed();
    let e = err.join().unwrap();
    assert_eq!(status.code(), Some(130), "{e}");
    assert!(e.contains("jj: interrupted"), "{e}");
    let mut text = Vec::new();
    let _ = r.read_to_end(&mut text);
    let text = String::from_utf8(text).unwrap();
    assert!(text.ends_with('\n'), "a partial row at the end");
    let mut lines = text.lines();
    let h = csv_fields(lines.next().unwrap());
    let rows: Vec<&str> = lines.collect();
    for l in &rows {
        assert_eq!(csv_fields(l), h, "a partial row: {l}");
    }
    assert!(
        !rows.is_empty() && rows.len() < 400,
        "{} rows: jj did not stop mid-way",
        rows.len()
    );
    eprintln!(
        "NOTE: second SIGINT: exit 130 after {:.0} ms; {} whole rows of 400 in the FIFO",
        left.as_secs_f64() * 1000.0,
        rows.len()
    );
}
