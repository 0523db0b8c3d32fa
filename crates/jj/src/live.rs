//! `jj live`: capture on network interfaces through libpcap and write a
//! row per flow as it ends (cargo feature `live`).
//!
//! One thread per interface reads packets (`pcap_next_ex`, a 100 ms read
//! timeout) and hands them over in batches; the calling thread feeds them
//! to the pipeline ([`joyfuljay::live::LiveRun`]) and sweeps the flow
//! table at the wall clock every 100 ms, so flows end by idle timeout even
//! while no packet arrives. The same function serves the Python binding.

use crate::cli::LiveArgs;
use anyhow::{bail, Context};
#[cfg(feature = "parquet")]
use joyfuljay::output::OutputFile;
use joyfuljay::output::{Format, Sink};
use joyfuljay::{Pipeline, Stats};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Bytes kept of each packet (as tcpdump's default snapshot length).
pub const SNAPLEN: i32 = 262_144;

/// How often the flow table is swept at the wall clock, and the longest
/// wait for packets before the stop flag is looked at.
const TICK: Duration = Duration::from_millis(100);

/// Sweeps look this far back: a packet may reach us up to a read timeout
/// (and some scheduling) after the kernel stamped it, and a sweep must not
/// end a flow that such a packet continues. Rows come out this much later
/// than the idle timeout; the flows are those of `jj extract` on the same
/// packets.
const SWEEP_LAG_US: i64 = 1_000_000;

/// What to capture and when to stop.
pub struct LiveOptions {
    /// Interfaces (at least one).
    pub ifaces: Vec<String>,
    /// A BPF filter expression, set on every interface.
    pub filter: Option<String>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Stop after this many packets (over all interfaces).
    pub count: Option<u64>,
    /// Also write the packets here (pcapng).
    pub save_pcap: Option<PathBuf>,
    /// Set by someone else to stop (SIGINT, Python).
    pub stop: Arc<AtomicBool>,
    /// Only the traffic of these processes (`--pid`, `--process`; Linux).
    pub procs: Option<crate::procsock::Target>,
}

/// The counters of a live run.
#[derive(Debug, Clone, Default)]
pub struct LiveSummary {
    /// The pipeline's counters (packets are those captured and read).
    pub stats: Stats,
    /// Packets the kernel passed to the capture (`pcap_stats` ps_recv,
    /// summed over the interfaces).
    pub received: u64,
    /// Packets dropped for lack of buffer space (ps_drop).
    pub dropped: u64,
    /// Packets dropped by the interface or its driver (ps_ifdrop).
    pub if_dropped: u64,
    /// Why the capture stopped early (an interface went down, a read
    /// failed): the rows of the flows seen so far were still written.
    pub error: Option<String>,
    /// Seconds captured.
    pub seconds: f64,
}

/// An interface ready to capture.
struct Opened {
    name: String,
    link_type: u32,
    cap: pcap::Capture<pcap::Active>,
}

/// libpcap's error text.
pub fn pcap_message(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Open `iface` for capture with `filter`: a one-line error naming the
/// interface (no such interface; no permission, naming CAP_NET_RAW).
/// `immediate`: packets are handed over as they arrive, not in blocks of
/// up to a read timeout (`--pid`: sockets are looked up while they may
/// still be open).
fn open(iface: &str, filter: Option<&str>, immediate: bool) -> anyhow::Result<Opened> {
    let fail = |e: pcap::Error| -> anyhow::Error {
        let msg = pcap_message(&e);
        let low = msg.to_lowercase();
        if low.contains("permission") || low.contains("not permitted") {
            anyhow::anyhow!("{iface}: no permission to capture: run as root or give jj the CAP_NET_RAW capability (sudo setcap cap_net_raw,cap_net_admin=eip PATH-TO-jj) ({msg})")
        } else if low.contains("no such device") || low.contains("doesn't exist") {
            anyhow::anyhow!("{iface}: no such network interface ({msg})")
        } else {
            anyhow::anyhow!("{iface}: cannot capture: {msg}")
        }
    };
    let cap = pcap::Capture::from_device(iface)
        .map_err(fail)?
        // The `any` pseudo-interface cannot be promiscuous (a warning
        // that activation would treat as an error).
        .promisc(iface != "any")
        .snaplen(SNAPLEN)
        .timeout(TICK.as_millis() as i32)
        .buffer_size(32 << 20)
        .immediate_mode(immediate);
    // Non-blocking reads and poll(2) with a timeout: a blocking read may
    // wait far longer than its timeout while no packet arrives.
    let mut cap = cap.open().map_err(fail)?.setnonblock().map_err(fail)?;
    if let Some(expr) = filter {
        cap.filter(expr, true).map_err(|e| {
            anyhow::anyhow!(
                "--filter '{expr}': {}",
                pcap_message(&e).trim_start_matches("can't parse filter expression: ")
            )
        })?;
    }
    let link_type = cap.get_datalink().0 as u32;
    Ok(Opened {
        name: iface.to_string(),
        link_type,
        cap,
    })
}

/// Packets of one interface, their bytes one after the other.
struct Batch {
    iface: usize,
    data: Vec<u8>,
    /// (timestamp µs, captured length, length on the wire)
    recs: Vec<(i64, u32, u32)>,
}

enum Msg {
    Batch(Batch),
    Done {
        stats: Option<pcap::Stat>,
        error: Option<String>,
    },
}

const BATCH_PACKETS: usize = 512;

/// Read `o` until `stop` is set or the capture fails.
fn reader(
    mut o: Opened,
    iface: usize,
    stop: Arc<AtomicBool>,
    count_reached: Arc<AtomicBool>,
    tx: mpsc::SyncSender<Msg>,
) {
    let fresh = || Batch {
        iface,
        data: Vec::with_capacity(BATCH_PACKETS * 1600),
        recs: Vec::with_capacity(BATCH_PACKETS),
    };
    let mut batch = fresh();
    let mut first = Instant::now();
    let mut error = None;
    while !stop.load(Ordering::Relaxed) {
        match o.cap.next_packet() {
            Ok(p) => {
                if batch.recs.is_empty() {
                    first = Instant::now();
                }
                let ts = ts_us(p.header);
                batch.data.extend_from_slice(p.data);
                batch.recs.push((ts, p.data.len() as u32, p.header.len));
                if (batch.recs.len() >= BATCH_PACKETS || first.elapsed() >= TICK)
                    && tx
                        .send(Msg::Batch(std::mem::replace(&mut batch, fresh())))
                        .is_err()
                {
                    return;
                }
            }
            Err(pcap::Error::TimeoutExpired) => {
                // Nothing to read now.
                if !batch.recs.is_empty()
                    && tx
                        .send(Msg::Batch(std::mem::replace(&mut batch, fresh())))
                        .is_err()
                {
                    return;
                }
                wait_readable(&o.cap, TICK);
            }
            Err(e) => {
                error = Some(format!("{}: capture stopped: {}", o.name, pcap_message(&e)));
                break;
            }
        }
    }
    if error.is_none() && !count_reached.load(Ordering::Relaxed) {
        // Packets that arrived before the stop may wait in a kernel block
        // handed over only at the read timeout: take them too.
        let until = Instant::now() + 2 * TICK;
        loop {
            match o.cap.next_packet() {
                Ok(p) => {
                    let ts = ts_us(p.header);
                    batch.data.extend_from_slice(p.data);
                    batch.recs.push((ts, p.data.len() as u32, p.header.len));
                    if batch.recs.len() >= BATCH_PACKETS
                        && tx
                            .send(Msg::Batch(std::mem::replace(&mut batch, fresh())))
                            .is_err()
                    {
                        return;
                    }
                }
                Err(pcap::Error::TimeoutExpired) => {
                    let left = until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    wait_readable(&o.cap, left);
                }
                Err(_) => break,
            }
        }
    }
    if !batch.recs.is_empty() {
        let _ = tx.send(Msg::Batch(batch));
    }
    let stats = o.cap.stats().ok();
    let _ = tx.send(Msg::Done { stats, error });
}

/// Wait until the capture has packets to read, or `timeout`.
fn wait_readable(cap: &pcap::Capture<pcap::Active>, timeout: Duration) {
    use std::os::unix::io::AsRawFd;
    let mut fds = libc::pollfd {
        fd: cap.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, for the duration of the call.
    #[allow(unsafe_code)]
    unsafe {
        libc::poll(&mut fds, 1, timeout.as_millis() as libc::c_int);
    }
}

/// A packet's time in µs since the epoch.
// time_t and suseconds_t are i64 here, other widths elsewhere.
#[allow(clippy::unnecessary_cast)]
fn ts_us(h: &pcap::PacketHeader) -> i64 {
    h.ts.tv_sec as i64 * 1_000_000 + h.ts.tv_usec as i64
}

fn wall_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// A capture whose interfaces are open (errors come before any output is
/// created).
pub struct Capture {
    opened: Vec<Opened>,
    procs: Option<crate::procsock::ProcFilter>,
}

impl Capture {
    /// Open every interface of `opts` (and set its filter), and find the
    /// processes of `opts.procs` and their sockets.
    pub fn open(opts: &LiveOptions, idle_us: i64) -> anyhow::Result<Capture> {
        if opts.ifaces.is_empty() {
            bail!("no interface to capture on");
        }
        // The processes first: their sockets are scanned before the first
        // packet is read.
        let procs = opts
            .procs
            .clone()
            .map(|t| crate::procsock::ProcFilter::start(t, idle_us + SWEEP_LAG_US))
            .transpose()?;
        let opened = opts
            .ifaces
            .iter()
            .map(|i| open(i, opts.filter.as_deref(), procs.is_some()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Capture { opened, procs })
    }

    /// (interface, link type) of each interface.
    pub fn interfaces(&self) -> Vec<(String, u32)> {
        self.opened
            .iter()
            .map(|o| (o.name.clone(), o.link_type))
            .collect()
    }

    /// Capture until a stop condition of `opts`, writing rows to `sink`
    /// (begun here, finished by the caller) as flows end. At the stop,
    /// every open flow is ended and written. An interface that fails
    /// (goes down) stops the capture: the summary's `error` says so.
    pub fn run(
        self,
        pipeline: &Pipeline,
        opts: &LiveOptions,
        sink: &mut dyn Sink,
    ) -> anyhow::Result<LiveSummary> {
        let mut live = pipeline.live()?;
        let mut save = match &opts.save_pcap {
            Some(p) => {
                let f = std::fs::File::create(p).with_context(|| p.display().to_string())?;
                let mut w = crate::pcapng::PcapngWriter::new(std::io::BufWriter::new(f))
                    .with_context(|| p.display().to_string())?;
                for o in &self.opened {
                    w.interface(o.link_type, SNAPLEN as u32, &o.name)
                        .with_context(|| p.display().to_string())?;
                }
                Some((w, p.clone()))
            }
            None => None,
        };
        sink.begin(pipeline.columns())?;
        // The CSV header now: a file stopped at once still reads as CSV.
        sink.flush()?;
        let n = self.opened.len();
        let mut procs = self.procs;
        let links: Vec<u32> = self.opened.iter().map(|o| o.link_type).collect();
        let halt = Arc::new(AtomicBool::new(false));
        // Set with `halt` when --count is reached: nothing more to read.
        let counted = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::sync_channel::<Msg>(1024);
        let mut threads = Vec::with_capacity(n);
        for (i, o) in self.opened.into_iter().enumerate() {
            let (halt, counted, tx) = (Arc::clone(&halt), Arc::clone(&counted), tx.clone());
            threads.push(
                std::thread::Builder::new()
                    .name(format!("jj-live-{i}"))
                    .spawn(move || reader(o, i, halt, counted, tx))
                    .context("cannot start a capture thread")?,
            );
        }
        drop(tx);
        let start = Instant::now();
        let deadline = opts.duration.map(|d| start + d);
        let mut summary = LiveSummary::default();
        let mut done = 0;
        let mut stopping = false;
        let mut last_sweep = Instant::now();
        let mut packets = 0u64;
        let result = (|| -> anyhow::Result<()> {
            while done < n {
                let wait = match deadline {
                    Some(d) if !stopping => d.saturating_duration_since(Instant::now()).min(TICK),
                    _ => TICK,
                };
                match rx.recv_timeout(wait) {
                    Ok(Msg::Batch(b)) => {
                        let mut off = 0usize;
                        for &(ts, caplen, len) in &b.recs {
                            let data = &b.data[off..off + caplen as usize];
                            off += caplen as usize;
                            if opts.count.is_some_and(|c| packets >= c) {
                                break;
                            }
                            // --pid/--process: only the process's packets
                            // count, and are saved.
                            if let Some(f) = &mut procs {
                                let mut keep = |d: &joyfuljay::decode::Decoded| f.keep(d, ts);
                                if !live.frame_if(links[b.iface], ts, data, len, sink, &mut keep)? {
                                    continue;
                                }
                            }
                            packets += 1;
                            if let Some((w, p)) = &mut save {
                                w.packet(b.iface as u32, ts, data, len)
                                    .with_context(|| p.display().to_string())?;
                            }
                            if procs.is_none() {
                                live.frame(links[b.iface], ts, data, len, sink)?;
                            }
                        }
                    }
                    Ok(Msg::Done { stats, error }) => {
                        done += 1;
                        if let Some(s) = stats {
                            summary.received += u64::from(s.received);
                            summary.dropped += u64::from(s.dropped);
                            summary.if_dropped += u64::from(s.if_dropped);
                        }
                        if let Some(e) = error {
                            summary.error.get_or_insert(e);
                            stopping = true;
                            halt.store(true, Ordering::SeqCst);
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
                if last_sweep.elapsed() >= TICK {
                    last_sweep = Instant::now();
                    live.sweep(wall_us() - SWEEP_LAG_US, sink)?;
                    if let Some(f) = &mut procs {
                        f.sweep(wall_us());
                    }
                    if let Some((w, p)) = &mut save {
                        w.flush().with_context(|| p.display().to_string())?;
                    }
                }
                if !stopping
                    && (opts.stop.load(Ordering::SeqCst)
                        || deadline.is_some_and(|d| Instant::now() >= d)
                        || opts.count.is_some_and(|c| packets >= c))
                {
                    stopping = true;
                    if opts.count.is_some_and(|c| packets >= c) {
                        counted.store(true, Ordering::SeqCst);
                    }
                    halt.store(true, Ordering::SeqCst);
                }
            }
            Ok(())
        })();
        halt.store(true, Ordering::SeqCst);
        drop(rx);
        for t in threads {
            let _ = t.join();
        }
        drop(procs);
        result?;
        summary.seconds = start.elapsed().as_secs_f64();
        summary.stats = live.finish(sink)?;
        if let Some((mut w, p)) = save {
            w.flush().with_context(|| p.display().to_string())?;
        }
        Ok(summary)
    }
}

/// `jj live`.
pub fn run(mut a: LiveArgs) -> anyhow::Result<ExitCode> {
    if a.x.output.as_deref() == Some(Path::new("-")) {
        a.x.output = None;
    }
    let cfg = crate::extract::build_config(&a.x)?;
    let format = format_of(&a.x)?;
    #[cfg(feature = "parquet")]
    if format == Format::Parquet
        && a.x.output.is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stdout())
    {
        bail!("Parquet is binary: use -o FILE.parquet or redirect standard output");
    }
    if let Some(d) = a.duration {
        if !(d > 0.0 && d.is_finite()) {
            bail!("--duration must be a positive number of seconds, not {d}");
        }
    }
    let pipeline = Pipeline::new(cfg)?;
    // A configuration that cannot run live (the connection group) fails
    // before anything is opened or created.
    drop(pipeline.live()?);
    let opts = LiveOptions {
        ifaces: a
            .x
            .inputs
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect(),
        filter: a.x.filter.clone(),
        duration: a.duration.map(Duration::from_secs_f64),
        count: a.count,
        save_pcap: a.save_pcap.clone(),
        stop: crate::interrupt_flag(),
        procs: (a.pid.is_some() || a.process.is_some()).then(|| crate::procsock::Target {
            pids: a.pid.into_iter().collect(),
            name: a.process.clone(),
        }),
    };
    // Every interface opens (and its filter compiles) before any output
    // file is created.
    let cap = Capture::open(&opts, pipeline.config().idle_us())?;
    if !a.x.quiet {
        let list: Vec<String> = cap
            .interfaces()
            .iter()
            .map(|(n, lt)| format!("{n} (link type {lt})"))
            .collect();
        eprintln!("jj: listening on {}", list.join(", "));
    }
    let (summary, target) = match &a.x.output {
        // Parquet is readable only once finished: written to a temporary
        // file renamed at the end, as for `jj extract`.
        #[cfg(feature = "parquet")]
        Some(path) if format == Format::Parquet => {
            let file = OutputFile::create(path)?;
            let mut sink = format.sink(file.writer()?, &path.display().to_string());
            let s = cap.run(&pipeline, &opts, &mut *sink)?;
            sink.finish()?;
            drop(sink);
            file.commit()?;
            (s, path.display().to_string())
        }
        // Text rows are written and flushed as flows end.
        Some(path) => {
            let f = std::fs::File::create(path).with_context(|| path.display().to_string())?;
            let regular = f.metadata().is_ok_and(|m| m.file_type().is_file());
            let mut sink = if regular {
                format.sink(f, &path.display().to_string())
            } else {
                // A FIFO or a device.
                format.sink(RowPieces(f), &path.display().to_string())
            };
            let s = cap.run(&pipeline, &opts, &mut *sink)?;
            sink.finish()?;
            (s, path.display().to_string())
        }
        None => {
            let mut sink = format.sink(RowPieces(std::io::stdout()), "standard output");
            let s = match cap.run(&pipeline, &opts, &mut *sink) {
                Ok(s) => s,
                Err(e) if crate::is_broken_pipe(&e) => return Ok(ExitCode::SUCCESS),
                Err(e) => return Err(e),
            };
            sink.finish()?;
            (s, "standard output".to_string())
        }
    };
    if !a.x.quiet {
        let s = &summary.stats;
        // With --pid/--process, `packets` are the process's.
        let packets = match &opts.procs {
            Some(t) => format!(
                "{} packets captured, {} left out (not of {}), {} kept",
                s.packets + s.filtered,
                s.filtered,
                t.describe(),
                s.packets
            ),
            None => format!("{} packets captured", s.packets),
        };
        eprintln!(
            "jj: {packets}, {} decoded, {} skipped; {} flows written to {}; {:.2} s; kernel: {} received, {} dropped, {} dropped by the interface",
            s.decoded,
            s.skipped_total(),
            s.flows,
            target,
            summary.seconds,
            summary.received,
            summary.dropped,
            summary.if_dropped,
        );
    }
    if let Some(e) = summary.error {
        eprintln!("jj: error: {e} (the rows of the flows seen so far were written)");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Bytes a pipe takes whole or not at all (POSIX PIPE_BUF on Linux).
const PIPE_BUF: usize = 4096;

/// A writer to a pipe (standard output, a FIFO) that hands over text rows
/// in pieces ending at a line end and at most [`PIPE_BUF`] long (a row
/// longer than that goes alone): the kernel writes each piece whole or not
/// at all, so a `jj` that leaves while blocked on a full pipe (second
/// SIGINT) leaves whole rows in it (rows up to 4 KiB). The sinks hand over
/// buffers that end at a line end.
struct RowPieces<W: std::io::Write>(W);

impl<W: std::io::Write> std::io::Write for RowPieces<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() <= PIPE_BUF {
            return self.0.write(buf);
        }
        let cut = match buf[..PIPE_BUF].iter().rposition(|&b| b == b'\n') {
            Some(i) => i + 1,
            None => buf[PIPE_BUF..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(buf.len(), |i| PIPE_BUF + i + 1),
        };
        self.0.write(&buf[..cut])
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The output format: `-f`, else the output file's extension, else CSV
/// (as for `jj extract`).
fn format_of(a: &crate::cli::ExtractArgs) -> anyhow::Result<Format> {
    Ok(match (&a.format, &a.output) {
        (Some(f), _) => Format::from_name(f).expect("clap checked the value"),
        (None, Some(o)) if o.extension().is_none() => Format::Csv,
        (None, Some(o)) => match Format::from_path(o) {
            Some(f) => f,
            None => {
                return Err(joyfuljay::Error::Config(format!(
                    "cannot tell the output format from '{}'; use -f {} or a .{} file name",
                    o.display(),
                    Format::NAMES.join("|"),
                    Format::NAMES.join("/.")
                ))
                .into())
            }
        },
        (None, None) => Format::Csv,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Records the pieces it is handed.
    struct Pieces(Vec<Vec<u8>>);
    impl Write for Pieces {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.push(b.to_vec());
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn row_pieces_end_at_line_ends_within_pipe_buf() {
        // Rows of 1 to 2999 bytes and one of 9000.
        let mut text = Vec::new();
        let mut rows = 0;
        for i in 0..200usize {
            let len = if i == 77 { 9000 } else { 1 + i * 131 % 2999 };
            text.extend(std::iter::repeat_n(b'a', len - 1));
            text.push(b'\n');
            rows += 1;
        }
        let mut w = RowPieces(Pieces(Vec::new()));
        w.write_all(&text).unwrap();
        let pieces = w.0 .0;
        assert_eq!(pieces.concat(), text);
        for p in &pieces {
            assert_eq!(p.last(), Some(&b'\n'));
            let lines = p.iter().filter(|&&b| b == b'\n').count();
            assert!(p.len() <= PIPE_BUF || lines == 1, "{} bytes", p.len());
        }
        assert!(pieces.len() > 1 && pieces.len() < rows);
    }
}
