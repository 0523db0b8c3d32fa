//! The sockets of processes, read from /proc (Linux): `jj live --pid` and
//! `--process`.
//!
//! A process's sockets are the `socket:[INODE]` links of /proc/PID/fd;
//! their local endpoints (protocol, address, port) come from the socket
//! tables /proc/PID/net/{tcp,tcp6,udp,udp6}, the view of the process's
//! own network namespace. A packet is the process's when its source or
//! destination (address, port) is the local endpoint of one of those
//! sockets: a socket bound to 0.0.0.0 matches every IPv4 address on its
//! port, one bound to :: every IPv4 and IPv6 address (dual-stack; /proc
//! does not say whether a socket is IPv6-only), and IPv4-mapped IPv6
//! addresses are IPv4.
//!
//! Sockets come and go: [`ProcFilter`] scans in a thread every
//! [`SCAN_EVERY`] (finding the processes of a name anew every
//! [`NAMES_EVERY`]), and scans at once (at most every [`RESCAN_AFTER`])
//! when a packet sent after the latest scan began matches nothing known; the capture then hands packets
//! over as they arrive (libpcap's immediate mode), so that a socket is
//! looked up while it may still be open. An endpoint stays the process's for
//! [`KEEP_US`] after the last scan that saw it, so packets read a little
//! after their socket closed still match. And a flow (protocol and both
//! endpoints, either direction) with one matching packet keeps matching
//! until it has been idle for the flow timeout: later packets of the flow
//! are kept even after the socket is gone.

use anyhow::bail;
use joyfuljay::decode::Decoded;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// IP protocol numbers of the socket tables.
pub const TCP: u8 = 6;
/// UDP.
pub const UDP: u8 = 17;

/// How often the sockets are scanned.
pub const SCAN_EVERY: Duration = Duration::from_millis(20);
/// The least time between two scans for packets that match nothing known
/// (the thread's scans aside).
pub const RESCAN_AFTER: Duration = Duration::from_millis(2);
/// How often the processes of a name are looked for.
pub const NAMES_EVERY: Duration = Duration::from_millis(100);
/// How long an endpoint stays the process's after the last scan that saw
/// its socket (packets reach jj up to a read timeout after they were
/// sent).
pub const KEEP_US: i64 = 2_000_000;

/// A local endpoint of a socket. IPv4-mapped IPv6 addresses are IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// [`TCP`] or [`UDP`].
    pub proto: u8,
    /// The bound address (unspecified: any).
    pub addr: IpAddr,
    /// The port.
    pub port: u16,
}

/// An address of a socket table: the kernel prints each 32-bit word of
/// the address (in network byte order) as a number of the host's byte
/// order, in hex (8 digits for IPv4, 32 for IPv6).
pub fn parse_addr(hex: &str) -> Option<IpAddr> {
    let word = |s: &str| u32::from_str_radix(s, 16).ok().map(u32::to_ne_bytes);
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(hex)?))),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[4 * i..4 * i + 4].copy_from_slice(&word(hex.get(8 * i..8 * i + 8)?)?);
            }
            let a = Ipv6Addr::from(b);
            Some(match a.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(a),
            })
        }
        _ => None,
    }
}

/// The sockets of a /proc/net/{tcp,tcp6,udp,udp6} table: local endpoint
/// and inode. Lines that do not parse, and sockets without an inode
/// (TCP TIME_WAIT: no process owns them), are left out.
pub fn parse_table(text: &str, proto: u8) -> Vec<(Endpoint, u64)> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (addr, port) = f.get(1)?.split_once(':')?;
            let inode: u64 = f.get(9)?.parse().ok()?;
            if inode == 0 {
                return None;
            }
            Some((
                Endpoint {
                    proto,
                    addr: parse_addr(addr)?,
                    port: u16::from_str_radix(port, 16).ok()?,
                },
                inode,
            ))
        })
        .collect()
}

/// The inode of a /proc/PID/fd link `socket:[INODE]`.
pub fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// Which processes: these PIDs, and every process of this name.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// `--pid`.
    pub pids: Vec<u32>,
    /// `--process`: /proc/PID/comm, or the base name of the first
    /// argument of /proc/PID/cmdline.
    pub name: Option<String>,
}

impl Target {
    /// How the target is named in messages.
    pub fn describe(&self) -> String {
        let mut v: Vec<String> = self.pids.iter().map(|p| format!("PID {p}")).collect();
        if let Some(n) = &self.name {
            v.push(format!("processes named '{n}'"));
        }
        v.join(" and ")
    }
}

/// Whether process `pid` is named `name`.
fn has_name(pid: u32, name: &str) -> bool {
    let dir = format!("/proc/{pid}");
    if std::fs::read_to_string(format!("{dir}/comm"))
        .is_ok_and(|c| c.trim_end_matches('\n') == name)
    {
        return true;
    }
    std::fs::read(format!("{dir}/cmdline")).is_ok_and(|c| {
        let argv0 = c.split(|&b| b == 0).next().unwrap_or_default();
        let base = argv0.rsplit(|&b| b == b'/').next().unwrap_or_default();
        base == name.as_bytes()
    })
}

/// The processes named `name` now.
fn pids_named(name: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| has_name(p, name))
        .collect()
}

/// The socket inodes of process `pid`.
fn inodes(pid: u32) -> std::io::Result<Vec<u64>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        let Ok(e) = e else { continue };
        if let Ok(l) = std::fs::read_link(e.path()) {
            if let Some(i) = l.to_str().and_then(socket_inode) {
                v.push(i);
            }
        }
    }
    Ok(v)
}

/// What one scan found.
#[derive(Debug, Default)]
struct Scan {
    endpoints: Vec<Endpoint>,
    /// Processes scanned.
    alive: usize,
    /// Processes whose sockets could not be read (permission).
    denied: Vec<u32>,
}

/// Scan the sockets of `pids`: the socket tables are read once per network
/// namespace.
fn scan(pids: &[u32]) -> Scan {
    let mut s = Scan::default();
    let mut tables: HashMap<String, HashMap<u64, Endpoint>> = HashMap::new();
    for &pid in pids {
        let ino = match inodes(pid) {
            Ok(v) => v,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                s.denied.push(pid);
                continue;
            }
            Err(_) => continue, // gone
        };
        s.alive += 1;
        if ino.is_empty() {
            continue;
        }
        let ns = std::fs::read_link(format!("/proc/{pid}/ns/net"))
            .map_or_else(|_| format!("pid{pid}"), |l| l.display().to_string());
        let table = tables.entry(ns).or_insert_with(|| {
            let mut t = HashMap::new();
            for (file, proto) in [("tcp", TCP), ("tcp6", TCP), ("udp", UDP), ("udp6", UDP)] {
                if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{file}")) {
                    t.extend(parse_table(&text, proto).into_iter().map(|(e, i)| (i, e)));
                }
            }
            t
        });
        s.endpoints
            .extend(ino.iter().filter_map(|i| table.get(i).copied()));
    }
    s
}

fn wall_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// The endpoints known to be the target's, with the time (µs) of the last
/// scan that saw each.
#[derive(Debug, Default)]
struct Known {
    endpoints: HashMap<Endpoint, i64>,
    /// The processes of the target now.
    pids: Vec<u32>,
    /// When `pids` was last looked for (name).
    named_at: Option<Instant>,
    /// When (µs) the latest scan began: it saw every socket open then.
    scan_began_us: i64,
}

impl Known {
    fn add(&mut self, s: &Scan, now_us: i64) {
        for e in &s.endpoints {
            self.endpoints.insert(*e, now_us);
        }
        self.endpoints.retain(|_, t| *t >= now_us - KEEP_US);
    }

    fn has(&self, proto: u8, addr: IpAddr, port: u16) -> bool {
        let e = |addr| Endpoint { proto, addr, port };
        let any4 = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let any6 = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
        self.endpoints.contains_key(&e(addr))
            || self.endpoints.contains_key(&e(any6))
            || (addr.is_ipv4() && self.endpoints.contains_key(&e(any4)))
    }
}

/// Scan now (with the processes of the name looked for again when
/// `names` or it is time).
fn rescan(known: &Mutex<Known>, target: &Target, names: bool) {
    let mut pids = {
        let k = known.lock().unwrap();
        let stale = k.named_at.is_none_or(|t| t.elapsed() >= NAMES_EVERY);
        if target.name.is_some() && (names || stale) {
            None
        } else {
            Some(k.pids.clone())
        }
    };
    let named = pids.is_none();
    let pids = pids.get_or_insert_with(|| {
        let mut p = target.pids.clone();
        if let Some(n) = &target.name {
            p.extend(pids_named(n));
        }
        p.sort_unstable();
        p.dedup();
        p
    });
    let began = wall_us();
    let s = scan(pids);
    let mut k = known.lock().unwrap();
    k.add(&s, wall_us());
    k.scan_began_us = k.scan_began_us.max(began);
    if named {
        k.named_at = Some(Instant::now());
        k.pids = std::mem::take(pids);
    }
}

/// A flow: protocol and its two endpoints, the lower first.
type FlowKey = (u8, (IpAddr, u16), (IpAddr, u16));

/// Keeps the packets of the target's sockets (see the module's
/// documentation for the rule). Scans in a thread until dropped.
pub struct ProcFilter {
    known: Arc<Mutex<Known>>,
    target: Arc<Target>,
    matched: HashMap<FlowKey, i64>,
    /// When a packet last made us scan.
    rescanned: Option<Instant>,
    idle_us: i64,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The address of a decoded packet.
fn ip(a: u128, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(a))
    } else {
        IpAddr::V4(Ipv4Addr::from(a as u32))
    }
}

impl ProcFilter {
    /// Find the target's processes and their sockets, and start scanning.
    /// Errors: no such PID, no process of the name, sockets unreadable
    /// (another user's process), not Linux. `idle_us`: the flow timeout.
    pub fn start(target: Target, idle_us: i64) -> anyhow::Result<ProcFilter> {
        if !cfg!(target_os = "linux") {
            bail!("--pid and --process work only on Linux (they read the sockets of processes from /proc)");
        }
        for &p in &target.pids {
            if !Path::new(&format!("/proc/{p}")).exists() {
                bail!("--pid {p}: no such process");
            }
        }
        let mut pids = target.pids.clone();
        if let Some(n) = &target.name {
            if n.is_empty() || n.contains('/') {
                bail!("--process '{n}': give a program's name, as `ps -o comm` shows it or its file name without a directory");
            }
            let named = pids_named(n);
            if named.is_empty() {
                bail!("--process '{n}': no process of that name is running (start it before jj live; processes of that name started later are included)");
            }
            pids.extend(named);
        }
        pids.sort_unstable();
        pids.dedup();
        let began = wall_us();
        let s = scan(&pids);
        if s.alive == 0 {
            let p = s.denied.first().copied().unwrap_or(pids[0]);
            bail!("cannot read the sockets of process {p} (/proc/{p}/fd): permission denied; another user's processes need root or the CAP_SYS_PTRACE or CAP_DAC_READ_SEARCH capability");
        }
        if !s.denied.is_empty() {
            eprintln!(
                "jj: warning: the sockets of {} of the processes ({}) cannot be read (another user's: need root or CAP_SYS_PTRACE/CAP_DAC_READ_SEARCH); their traffic is left out",
                s.denied.len(),
                s.denied.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
            );
        }
        let mut k = Known {
            pids,
            named_at: Some(Instant::now()),
            scan_began_us: began,
            ..Known::default()
        };
        k.add(&s, wall_us());
        let known = Arc::new(Mutex::new(k));
        let target = Arc::new(target);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (known, target, stop) =
                (Arc::clone(&known), Arc::clone(&target), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("jj-procsock".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(SCAN_EVERY);
                        rescan(&known, &target, false);
                    }
                })?
        };
        Ok(ProcFilter {
            known,
            target,
            matched: HashMap::new(),
            rescanned: None,
            idle_us,
            stop,
            thread: Some(thread),
        })
    }

    /// Whether the packet `d` (time `ts_us`) is the target's: TCP or UDP
    /// only; a source or destination endpoint of the target's sockets, or
    /// a flow that matched before.
    pub fn keep(&mut self, d: &Decoded, ts_us: i64) -> bool {
        if d.proto != TCP && d.proto != UDP {
            return false;
        }
        let (s, t) = ((ip(d.src, d.v6), d.sport), (ip(d.dst, d.v6), d.dport));
        let key = (d.proto, s.min(t), s.max(t));
        if let Some(last) = self.matched.get_mut(&key) {
            *last = (*last).max(ts_us);
            return true;
        }
        let hit = |k: &Known| k.has(d.proto, s.0, s.1) || k.has(d.proto, t.0, t.1);
        let mut ok = hit(&self.known.lock().unwrap());
        if !ok {
            // A socket opened since the latest scan began: look again
            // (at most every RESCAN_AFTER, not counting the thread's
            // scans). A scan that began after the packet was sent would
            // have seen its socket.
            let due = ts_us >= self.known.lock().unwrap().scan_began_us
                && self.rescanned.is_none_or(|t| t.elapsed() >= RESCAN_AFTER);
            if due {
                self.rescanned = Some(Instant::now());
                rescan(&self.known, &self.target, false);
                ok = hit(&self.known.lock().unwrap());
            }
        }
        if ok {
            self.matched.insert(key, ts_us);
        }
        ok
    }

    /// Forget the flows idle for longer than the flow timeout at `now_us`.
    pub fn sweep(&mut self, now_us: i64) {
        let cutoff = now_us - self.idle_us;
        self.matched.retain(|_, t| *t >= cutoff);
    }
}

impl Drop for ProcFilter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Socket tables as the kernel prints them on a little-endian machine
    // (x86-64): each 32-bit word of the address is read as a host-order
    // number and printed in hex, so its bytes come out reversed.
    #[cfg(target_endian = "little")]
    #[test]
    fn tcp4_lines_decode_by_hand() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31337 1 0000000000000000 100 0 0 10 0
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 22 1 0000000000000000 100 0 0 10 0
   2: 02004D0A:C350 01004D0A:1F90 01 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 20 4 30 10 -1
   3: 02004D0A:C351 01004D0A:1F90 06 00000000:00000000 03:00001234 00000000     0        0 0 3 0000000000000000
";
        let v = parse_table(text, TCP);
        // 0100007F: bytes 7F 00 00 01 = 127.0.0.1; 1F90 = 8080; LISTEN.
        // 00000000:0016: 0.0.0.0 port 22.
        // 02004D0A: bytes 0A 4D 00 02 = 10.77.0.2; C350 = 50000.
        // The TIME_WAIT line (state 06) has inode 0: left out.
        let e = |a: [u8; 4], port| Endpoint {
            proto: TCP,
            addr: IpAddr::V4(Ipv4Addr::from(a)),
            port,
        };
        assert_eq!(
            v,
            vec![
                (e([127, 0, 0, 1], 8080), 31337),
                (e([0, 0, 0, 0], 22), 22),
                (e([10, 77, 0, 2], 50000), 4242),
            ]
        );
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn tcp6_lines_decode_by_hand_and_v4_mapped_is_v4() {
        let text = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 100 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 101 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 102 1 0000000000000000 20 4 30 10 -1
   3: B80D0120000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 103 1 0000000000000000 100 0 0 10 0
   4: 0000000000000000FFFF0000:0050 garbage
";
        let v = parse_table(text, TCP);
        let e = |addr: IpAddr, port| Endpoint {
            proto: TCP,
            addr,
            port,
        };
        assert_eq!(
            v,
            vec![
                // All zero: :: port 0x50 = 80.
                (e(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 80), 100),
                // Last word 01000000: bytes 00 00 00 01 = ::1; 0x35 = 53.
                (e(IpAddr::V6(Ipv6Addr::LOCALHOST), 53), 101),
                // Words 0, 0, FFFF0000 (bytes 00 00 FF FF), 0100007F (7F 00
                // 00 01): ::ffff:127.0.0.1, read as 127.0.0.1; 1F90 = 8080.
                (e(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080), 102),
                // B80D0120 = bytes 20 01 0D B8: 2001:db8::1; 01BB = 443.
                (e("2001:db8::1".parse().unwrap(), 443), 103),
            ]
        );
    }

    #[test]
    fn socket_links() {
        assert_eq!(socket_inode("socket:[31337]"), Some(31337));
        assert_eq!(socket_inode("pipe:[31337]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
        assert_eq!(socket_inode("socket:[x]"), None);
    }

    #[test]
    fn wildcards_match_any_address_of_their_family() {
        let mut k = Known::default();
        let any4 = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let any6 = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
        let a: IpAddr = "10.77.0.1".parse().unwrap();
        let b: IpAddr = "fd00::1".parse().unwrap();
        let s = Scan {
            endpoints: vec![
                Endpoint {
                    proto: UDP,
                    addr: any4,
                    port: 5353,
                },
                Endpoint {
                    proto: TCP,
                    addr: any6,
                    port: 80,
                },
                Endpoint {
                    proto: TCP,
                    addr: a,
                    port: 8080,
                },
            ],
            ..Scan::default()
        };
        k.add(&s, 10_000_000);
        assert!(k.has(UDP, a, 5353));
        assert!(!k.has(UDP, b, 5353), "0.0.0.0 is IPv4 only");
        assert!(!k.has(TCP, a, 5353), "another protocol");
        assert!(k.has(TCP, a, 80) && k.has(TCP, b, 80), ":: is both");
        assert!(k.has(TCP, a, 8080));
        assert!(!k.has(TCP, "10.77.0.2".parse().unwrap(), 8080));
        // Forgotten KEEP_US after the last scan that saw them.
        k.add(&Scan::default(), 10_000_000 + KEEP_US + 1);
        assert!(!k.has(TCP, a, 8080));
    }

    /// The sockets of this test process, found by its PID: a bound UDP
    /// socket and a listening TCP socket.
    #[cfg(target_os = "linux")]
    #[test]
    fn own_sockets_are_found() {
        let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let t = std::net::TcpListener::bind("[::]:0").unwrap();
        let s = scan(&[std::process::id()]);
        assert_eq!(s.alive, 1);
        assert!(s.endpoints.contains(&Endpoint {
            proto: UDP,
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: u.local_addr().unwrap().port(),
        }));
        assert!(s.endpoints.contains(&Endpoint {
            proto: TCP,
            addr: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            port: t.local_addr().unwrap().port(),
        }));
    }
}
