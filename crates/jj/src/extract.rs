//! `jj extract`.

use crate::cli::ExtractArgs;
use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use joyfuljay::capture::{self, Detected};
use joyfuljay::output::{Format, OutputFile, PartitionKey, PartitionedDir};
use joyfuljay::pipeline::{Observer, Progress};
use joyfuljay::{Config, Error, Pipeline, Stats};
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Flags over an optional config file over defaults.
pub fn build_config(a: &ExtractArgs) -> anyhow::Result<Config> {
    let mut cfg = match &a.config {
        Some(p) => joyfuljay::features::load_config(p)?,
        None => Config::default(),
    };
    if !a.features.is_empty() {
        cfg.features = a
            .features
            .iter()
            .flat_map(|f| joyfuljay::config::split_features(f))
            .collect();
    }
    if let Some(p) = &a.profile {
        cfg.profile = Some(p.clone());
    }
    if !a.feature.is_empty() {
        cfg.specific_features = Some(
            a.feature
                .iter()
                .flat_map(|f| joyfuljay::config::split_features(f))
                .collect(),
        );
    }
    if let Some(t) = a.timeout {
        cfg.flow_timeout = t;
    }
    if let Some(t) = a.active_timeout {
        cfg.active_timeout = Some(t);
    }
    if a.no_tcp_close {
        cfg.terminate_on_fin_rst = false;
    }
    if let Some(n) = a.max_flows {
        cfg.max_concurrent_flows = n;
    }
    if let Some(e) = &a.eviction {
        cfg.flow_eviction_strategy = e.clone();
    }
    if let Some(m) = a.max_memory {
        cfg.max_memory = Some(m);
    }
    if let Some(r) = a.sampling_rate {
        cfg.sampling_rate = Some(r);
    }
    if let Some(n) = a.threads {
        cfg.num_workers = Some(n);
    }
    if a.no_ips {
        cfg.include_ip_addresses = false;
    }
    if a.no_ports {
        cfg.include_ports = false;
    }
    if a.anonymize_ips {
        cfg.anonymize_ips = true;
    }
    if let Some(s) = &a.salt {
        cfg.anonymization_salt = s.clone();
    }
    if a.flow_id {
        cfg.include_flow_id = true;
    }
    if let Some(v) = a.burst_threshold_ms {
        cfg.burst_threshold_ms = v;
    }
    if let Some(v) = a.max_sequence_length {
        cfg.max_sequence_length = v;
    }
    if let Some(v) = a.entropy_sample_bytes {
        cfg.entropy_sample_bytes = v;
    }
    if a.raw_sequences {
        cfg.include_raw_sequences = true;
    }
    if a.splt {
        cfg.include_splt = true;
    }
    if a.bidirectional_split {
        cfg.bidirectional_split = true;
    }
    if a.connection_include_temporal {
        cfg.connection_include_temporal = true;
    }
    if a.connection_include_graph_metrics {
        cfg.connection_include_graph_metrics = true;
    }
    if let Some(v) = &a.connection_community_algorithm {
        cfg.connection_community_algorithm = v.clone();
    }
    if a.continue_across_files {
        cfg.continue_across_files = true;
    }
    if !a.partition_by.is_empty() {
        cfg.partition_by = a
            .partition_by
            .iter()
            .flat_map(|f| joyfuljay::config::split_features(f))
            .collect();
    }
    joyfuljay::features::validate(&cfg)?;
    Ok(cfg)
}

/// Threads of a run: `-j`/`num_workers` (the flag is already in `cfg`),
/// all cores when unset or 0.
fn threads_for(cfg: &Config) -> usize {
    match cfg.num_workers {
        Some(0) | None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        Some(n) => n,
    }
}

/// Expand directories into their capture files (regular files whose magic
/// number is pcap or pcapng), in name order.
fn expand_inputs(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in inputs {
        if p.as_os_str() == "-" {
            out.push(p.clone());
            continue;
        }
        let meta = std::fs::metadata(p).with_context(|| p.display().to_string())?;
        if meta.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| p.display().to_string())?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_capture(p))
                .collect();
            entries.sort();
            if entries.is_empty() {
                bail!("{}: directory holds no pcap or pcapng files", p.display());
            }
            out.extend(entries);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn is_capture(p: &Path) -> bool {
    let mut head = Vec::new();
    std::fs::File::open(p)
        .and_then(|f| f.take(capture::MAGIC_LEN as u64).read_to_end(&mut head))
        .is_ok()
        && matches!(capture::detect(&head), Detected::Supported(_))
}

struct CliObserver {
    bar: Option<ProgressBar>,
    quiet: bool,
    done_bytes: u64,
    current: PathBuf,
    last_offset: u64,
    packets_before: u64,
    flows_before: u64,
    last_packets: u64,
    last_flows: u64,
    start: Instant,
}

impl Observer for CliObserver {
    fn progress(&mut self, p: &Progress<'_>) {
        if p.path != self.current {
            // Next file: what the previous one reached is done.
            self.done_bytes += self.last_offset;
            self.packets_before += self.last_packets;
            self.flows_before += self.last_flows;
            self.current = p.path.to_path_buf();
            self.last_offset = 0;
        }
        if p.offset > 0 {
            self.last_offset = p.offset;
        }
        self.last_packets = p.packets;
        self.last_flows = p.flows;
        if let Some(bar) = &self.bar {
            bar.set_position(self.done_bytes + self.last_offset);
            let packets = self.packets_before + p.packets;
            let rate = packets as f64 / self.start.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "{packets} packets, {} flows, {}/s",
                self.flows_before + p.flows,
                human(rate)
            ));
        }
    }

    fn pass(&mut self, n: u32, of: u32) {
        // Progress starts again from the first file.
        self.done_bytes = 0;
        self.current = PathBuf::new();
        self.last_offset = 0;
        self.packets_before = 0;
        self.flows_before = 0;
        self.last_packets = 0;
        self.last_flows = 0;
        if let Some(bar) = &self.bar {
            bar.set_position(0);
            bar.set_prefix(format!("pass {n}/{of} "));
        }
    }

    fn warning(&mut self, msg: &str) {
        if self.quiet {
            return;
        }
        let line = format!("jj: warning: {msg}");
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }
}

fn human(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.1}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

pub fn run(mut a: ExtractArgs) -> anyhow::Result<ExitCode> {
    // `-o -` is standard output, as for tcpdump's `-w -`.
    if a.output.as_deref() == Some(Path::new("-")) {
        a.output = None;
    }
    let cfg = build_config(&a)?;
    let inputs = expand_inputs(&a.inputs)?;
    let format = match (&a.format, &a.output) {
        (Some(f), _) => Format::from_name(f).expect("clap checked the value"),
        // No extension (`-o /dev/null`, a pipe, `flows`): CSV. An extension
        // we cannot write (`flows.xlsx`) is a usage error.
        (None, Some(o)) if o.extension().is_none() => Format::Csv,
        (None, Some(o)) => match Format::from_path(o) {
            Some(f) => f,
            None => {
                eprintln!(
                    "jj: error: cannot tell the output format from '{}'; use -f {} or a .{} file name",
                    o.display(),
                    Format::NAMES.join("|"),
                    Format::NAMES.join("/.")
                );
                return Ok(ExitCode::from(2));
            }
        },
        (None, None) => Format::Csv,
    };
    #[cfg(feature = "parquet")]
    if format == Format::Parquet && a.output.is_none() && std::io::stdout().is_terminal() {
        eprintln!("jj: error: Parquet is binary: use -o FILE.parquet or redirect standard output");
        return Ok(ExitCode::from(2));
    }
    if cfg.anonymize_ips && cfg.anonymization_salt.is_empty() && !a.quiet {
        eprintln!("jj: warning: anonymizing with an empty salt is trivially reversible (hash every address); set --salt");
    }
    let threads = threads_for(&cfg);
    let pipeline = Pipeline::new(cfg)?;

    // Open every input first: a bad file fails the run before any output.
    // A run that reads its input twice (the connection group) first copies
    // standard input (or a pipe) to a temporary file, removed when `_spooled` drops
    // (on every way out of this function).
    let mut readers = Vec::with_capacity(inputs.len());
    let mut total_bytes = 0u64;
    let mut _spooled = Vec::new();
    for p in &inputs {
        let regular = std::fs::metadata(p).is_ok_and(|m| m.is_file());
        let mut r = if pipeline.two_pass() && !regular {
            let flag = crate::interrupt_flag();
            let tmp = joyfuljay::capture::CaptureReader::spool(p, Some(&flag))?;
            let shown = if p.as_os_str() == "-" {
                Path::new("<stdin>")
            } else {
                p.as_path()
            };
            let r = tmp.open_as(shown)?;
            total_bytes += std::fs::metadata(&tmp).map(|m| m.len()).unwrap_or(0);
            _spooled.push(tmp);
            r
        } else {
            total_bytes += std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            joyfuljay::capture::CaptureReader::open(p)?
        };
        r.set_cancel(crate::interrupt_flag());
        if let Some(expr) = &a.filter {
            r.set_filter(crate::bpf::compile(expr, r.link_types())?);
        }
        readers.push(r);
    }

    let show_bar = !a.quiet && !a.no_progress && (a.progress || std::io::stderr().is_terminal());
    let bar = show_bar.then(|| {
        // indicatif hides a `Term` target that is not a terminal; `--progress`
        // asks for the bar anyway, so draw through the `TermLike` interface.
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr_with_hz(5)
        } else {
            ProgressDrawTarget::term_like_with_hz(Box::new(console::Term::stderr()), 5)
        };
        let b = ProgressBar::with_draw_target(Some(total_bytes), target);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} {prefix}[{elapsed_precise}] [{wide_bar}] {bytes}/{total_bytes} {msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        b
    });
    let mut obs = CliObserver {
        bar,
        quiet: a.quiet,
        done_bytes: 0,
        current: PathBuf::new(),
        last_offset: 0,
        packets_before: 0,
        flows_before: 0,
        last_packets: 0,
        last_flows: 0,
        start: Instant::now(),
    };

    let start = Instant::now();
    let partition = PartitionKey::parse_list(&pipeline.config().partition_by)?;
    let (stats, target) = match &a.output {
        Some(path) if !partition.is_empty() => {
            let mut dataset = PartitionedDir::create(path, format, partition)?;
            let stats = process_all(&pipeline, readers, &mut dataset, &mut obs, threads)?;
            if crate::interrupt_flag().load(std::sync::atomic::Ordering::SeqCst) {
                return Err(joyfuljay::Error::Interrupted.into());
            }
            let parts = dataset.commit()?;
            let n = parts.len();
            let s = if n == 1 { "" } else { "s" };
            (stats, format!("{} ({n} part{s})", path.display()))
        }
        None if !partition.is_empty() => {
            eprintln!("jj: error: --partition-by writes a directory: give it with -o DIR");
            return Ok(ExitCode::from(2));
        }
        Some(path) => {
            let file = OutputFile::create(path)?;
            let mut sink = format.sink(file.writer()?, &path.display().to_string());
            let stats = process_all(&pipeline, readers, &mut *sink, &mut obs, threads)?;
            drop(sink);
            // Interrupted after the last look at the flag (while the last
            // flows were written): still no file under the output's name.
            if crate::interrupt_flag().load(std::sync::atomic::Ordering::SeqCst) {
                return Err(joyfuljay::Error::Interrupted.into());
            }
            file.commit()?;
            (stats, path.display().to_string())
        }
        None => {
            let stdout = std::io::stdout().lock();
            let mut sink = format.sink(stdout, "standard output");
            match process_all(&pipeline, readers, &mut *sink, &mut obs, threads) {
                Ok(s) => (s, "standard output".to_string()),
                Err(e) if e.is_broken_pipe() => {
                    if let Some(b) = &obs.bar {
                        b.finish_and_clear();
                    }
                    return Ok(ExitCode::SUCCESS);
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    if let Some(b) = &obs.bar {
        b.finish_and_clear();
    }
    if !a.quiet {
        summary(&stats, start.elapsed().as_secs_f64(), &target);
    }
    Ok(ExitCode::SUCCESS)
}

fn process_all(
    pipeline: &Pipeline,
    readers: Vec<joyfuljay::capture::CaptureReader>,
    sink: &mut dyn joyfuljay::output::Sink,
    obs: &mut CliObserver,
    threads: usize,
) -> Result<Stats, Error> {
    pipeline.run_readers(readers, sink, obs, threads)
}

fn summary(s: &Stats, secs: f64, target: &str) {
    let mut skipped = String::new();
    for (r, n) in s.skipped_by_reason() {
        if !skipped.is_empty() {
            skipped.push_str(", ");
        }
        skipped.push_str(&format!("{n} {r}"));
    }
    let skipped = if skipped.is_empty() {
        "0".to_string()
    } else {
        format!("{} ({skipped})", s.skipped_total())
    };
    let evicted = if s.evicted_for_memory > 0 {
        format!(
            " ({} ended early for the memory budget)",
            s.evicted_for_memory
        )
    } else {
        String::new()
    };
    let filtered = if s.filtered > 0 {
        format!(" ({} more left out by --filter)", s.filtered)
    } else {
        String::new()
    };
    eprintln!(
        "jj: {} file{}, {} packets read{}, {} decoded, {} skipped; {} flows{} written to {}; {:.2} s, {} packets/s",
        s.files,
        if s.files == 1 { "" } else { "s" },
        s.packets,
        filtered,
        s.decoded,
        skipped,
        s.flows,
        evicted,
        target,
        secs,
        human(s.packets as f64 / secs.max(1e-9)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn config_of(args: &[&str]) -> Config {
        let mut all = vec!["jj", "extract"];
        all.extend_from_slice(args);
        all.push("x.pcap");
        match Cli::try_parse_from(all).unwrap().command {
            Command::Extract(a) => build_config(&a).unwrap(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn num_workers_from_the_config_file_and_the_flag_over_it() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("c.json");
        std::fs::write(&cfg, r#"{"num_workers": 3}"#).unwrap();
        let c = cfg.to_str().unwrap();
        assert_eq!(threads_for(&config_of(&["-c", c])), 3);
        assert_eq!(threads_for(&config_of(&["-c", c, "-j", "2"])), 2);
        assert_eq!(threads_for(&config_of(&["-c", c, "--workers", "5"])), 5);
        assert_eq!(threads_for(&config_of(&["-c", c, "-w", "1"])), 1);
        let all = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(threads_for(&config_of(&[])), all);
        assert_eq!(threads_for(&config_of(&["-j", "0"])), all);
    }

    #[test]
    fn limit_flags_reach_the_config() {
        let c = config_of(&[
            "--eviction",
            "oldest",
            "--max-memory",
            "1.5G",
            "--sampling-rate",
            "0.5",
        ]);
        assert_eq!(c.flow_eviction_strategy, "oldest");
        assert_eq!(c.max_memory, Some(3 << 29));
        assert_eq!(c.sampling_rate, Some(0.5));
        let d = config_of(&[]);
        assert_eq!(d.flow_eviction_strategy, "lru");
        assert_eq!((d.max_memory, d.sampling_rate), (None, None));
    }
}
