//! Command-line syntax.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Names accepted by `-f`.
#[cfg(not(feature = "parquet"))]
const FORMATS: [&str; 4] = ["csv", "json", "jsonl", "ndjson"];
/// Names accepted by `-f`.
#[cfg(feature = "parquet")]
const FORMATS: [&str; 5] = ["csv", "json", "jsonl", "ndjson", "parquet"];

/// Network flow feature extraction from pcap/pcapng captures.
///
/// Reads packet captures, assembles packets into bidirectional flows and
/// writes one row of features per flow (CSV, JSON, JSON Lines or Parquet).
#[derive(Parser, Debug)]
#[command(name = "jj", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Built once per run: the size of the `Extract` variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Extract per-flow features from captures.
    #[command(
        after_help = "EXAMPLES:\n  jj extract capture.pcap --features flow_meta -o flows.csv\n  jj extract captures/ -o flows.jsonl --anonymize-ips --salt my-project\n  jj extract a.pcapng b.pcap -c config.toml -f json > flows.json\n\nExit status: 0 success, 1 input or runtime error, 2 usage error."
    )]
    Extract(ExtractArgs),
    /// List every feature: group, column, type, unit and meaning.
    Features(FeaturesArgs),
    /// Export the feature schema (JSON, CSV or Markdown).
    #[command(
        after_help = "EXAMPLES:\n  jj schema -f json -o schema.json\n  jj schema -f csv -o schema.csv\n  jj schema -f markdown -o FEATURES.md\n  jj schema --group tcp -f json"
    )]
    Schema(SchemaArgs),
    /// Summarise capture files: format, link types, packets, bytes, time span.
    Info(InfoArgs),
    /// Capture on network interfaces and write a row per flow as it ends.
    #[command(
        mut_arg("inputs", |a| a.value_name("IFACE").help("Network interfaces to capture on (e.g. eth0; `any` on Linux)")),
        after_help = "EXAMPLES:\n  jj live eth0 -d 60 -o flows.csv\n  jj live eth0 --filter 'tcp port 443' --save-pcap raw.pcapng -o flows.jsonl\n  jj live eth0 wlan0 --count 10000 -f json\n  jj live eth0 --process chrome -o chrome_traffic.csv\n\nStops at --duration, --count, SIGINT or SIGTERM: open flows are ended and written, kernel drops\nreported, exit status 0. A second SIGINT leaves at once (CSV/JSON Lines rows written so far stay,\ncomplete). Needs root or the CAP_NET_RAW capability. Exit status: 0 success, 1 capture or runtime\nerror, 2 usage error."
    )]
    Live(LiveArgs),
}

// Read only by `jj live` itself (cargo feature `live`).
#[cfg_attr(not(feature = "live"), allow(dead_code))]
#[derive(Args, Debug)]
pub struct LiveArgs {
    /// Stop after this many seconds.
    #[arg(short = 'd', long = "duration", value_name = "S")]
    pub duration: Option<f64>,

    /// Stop after this many packets (over all interfaces; with --pid or
    /// --process, the process's packets).
    #[arg(long = "count", value_name = "N")]
    pub count: Option<u64>,

    /// Also write every captured packet to FILE (pcapng, one interface
    /// description per captured interface; with --pid or --process, the
    /// process's packets).
    #[arg(long = "save-pcap", value_name = "FILE")]
    pub save_pcap: Option<PathBuf>,

    /// Only the traffic of this process (Linux): TCP/UDP packets whose
    /// source or destination address and port are those of one of its
    /// sockets (a flow that matched once keeps matching after its socket
    /// closes). Its sockets are scanned every 20 ms and when a packet
    /// matches nothing known. The interface must be in the process's
    /// network namespace; another user's process needs root or
    /// CAP_SYS_PTRACE. With --process: either one's traffic.
    #[arg(long = "pid", value_name = "PID")]
    pub pid: Option<u32>,

    /// Only the traffic of the processes named NAME (Linux): as --pid, for
    /// every process whose /proc/PID/comm or first argument's base name
    /// is NAME, looked for again every 100 ms (processes started later
    /// count; at least one must run when jj starts).
    #[arg(long = "process", value_name = "NAME")]
    pub process: Option<String>,

    #[command(flatten)]
    pub x: ExtractArgs,
}

#[derive(Args, Debug)]
pub struct ExtractArgs {
    /// Capture files (pcap, pcapng, optionally gzip/zstd-compressed), directories
    /// (their capture files, in name order), or - for standard input.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Output file (default, or `-`: standard output). Written to a
    /// temporary file and renamed, so it never holds a partial result.
    /// With --partition-by: a new or empty directory.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Output format (default: from the output file's extension, else csv);
    /// `parquet` when built with the `parquet` feature.
    #[arg(short = 'f', long = "format", value_name = "FORMAT", value_parser = FORMATS)]
    pub format: Option<String>,

    /// Feature groups, comma-separated or repeated (default: all, which leaves out
    /// connection: it reads the input twice and is named alone).
    #[arg(long = "features", value_name = "GROUPS")]
    pub features: Vec<String>,

    /// A named set of groups: JJ-CORE (flow_meta, timing, size, tcp, tls),
    /// JJ-EXTENDED or JJ-EXPERIMENTAL (`jj features --profiles`); taken
    /// together with --features.
    #[arg(long = "profile", value_name = "NAME")]
    pub profile: Option<String>,

    /// Keep only these columns (comma-separated or repeated; names as `jj
    /// features` lists them). Without --features, only the groups owning
    /// them are computed.
    #[arg(long = "feature", value_name = "NAME")]
    pub feature: Vec<String>,

    /// Keep only the packets matching this BPF expression (tcpdump syntax,
    /// compiled by libpcap; e.g. 'tcp port 443'), as `tcpdump -r FILE EXPR`
    /// would. Needs a build with the `live` feature.
    #[arg(long = "filter", value_name = "EXPR")]
    pub filter: Option<String>,

    /// Configuration file (JSON, TOML or YAML) with the same keys as the Python Config.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Idle timeout in seconds (default 60).
    #[arg(long = "timeout", value_name = "S")]
    pub timeout: Option<f64>,

    /// Active timeout in seconds (default: off).
    #[arg(long = "active-timeout", value_name = "S")]
    pub active_timeout: Option<f64>,

    /// Do not end TCP flows on FIN/RST; only timeouts split flows.
    #[arg(long = "no-tcp-close")]
    pub no_tcp_close: bool,

    /// Most concurrent flows; one is ended early (evicted, see --eviction)
    /// to make room (default: unlimited).
    #[arg(long = "max-flows", value_name = "N")]
    pub max_flows: Option<u64>,

    /// Which flow an eviction ends: lru (the least recently active, the
    /// default) or oldest (the one that started first).
    #[arg(long = "eviction", value_name = "STRATEGY", value_parser = ["lru", "oldest"])]
    pub eviction: Option<String>,

    /// Memory budget for the flow table and per-flow state, in bytes or
    /// with a suffix K, M, G, T (×1024ⁿ), e.g. 512M; flows are evicted
    /// rather than outgrow it (default: half the available memory).
    #[arg(long = "max-memory", value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<u64>,

    /// Keep this fraction of the packets, in (0, 1]: a deterministic
    /// choice by packet index (default: every packet).
    #[arg(long = "sampling-rate", value_name = "R")]
    pub sampling_rate: Option<f64>,

    /// Leave out src_ip and dst_ip.
    #[arg(long = "no-ips")]
    pub no_ips: bool,

    /// Leave out src_port, dst_port and the port class columns.
    #[arg(long = "no-ports")]
    pub no_ports: bool,

    /// Replace addresses by 16 hex characters of SHA-256(salt + address).
    #[arg(long = "anonymize-ips")]
    pub anonymize_ips: bool,

    /// Salt for address hashing and flow_id.
    #[arg(long = "salt", value_name = "S")]
    pub salt: Option<String>,

    /// Add the flow_id column.
    #[arg(long = "flow-id")]
    pub flow_id: bool,

    /// timing: an inter-arrival gap of at least this many ms starts a new burst (default 50).
    #[arg(long = "burst-threshold-ms", value_name = "MS")]
    pub burst_threshold_ms: Option<f64>,

    /// timing/size: most values in sequence columns (default 50).
    #[arg(long = "max-sequence-length", value_name = "N")]
    pub max_sequence_length: Option<usize>,

    /// entropy: payload bytes of each packet whose entropy is measured (default 256).
    #[arg(long = "entropy-sample-bytes", value_name = "N")]
    pub entropy_sample_bytes: Option<u32>,

    /// timing/size: add raw IAT and packet-length sequence columns.
    #[arg(long = "raw-sequences")]
    pub raw_sequences: bool,

    /// timing: add the SPLT column (packet lengths and inter-arrival times).
    #[arg(long = "splt")]
    pub splt: bool,

    /// timing/size: add per-direction statistics.
    #[arg(long = "bidirectional-split")]
    pub bidirectional_split: bool,

    /// connection: add the temporal columns (flow rate, temporal spread, burst connections).
    #[arg(long = "connection-include-temporal")]
    pub connection_include_temporal: bool,

    /// connection: graph metrics (Tier 2: degrees, betweenness, clustering,
    /// communities).
    #[arg(long = "connection-include-graph-metrics")]
    pub connection_include_graph_metrics: bool,

    /// connection: community algorithm for graph metrics (louvain, greedy, label_propagation).
    #[arg(long = "connection-community-algorithm", value_name = "NAME")]
    pub connection_community_algorithm: Option<String>,

    /// Read the inputs, in the order given (a directory's files in name
    /// order), as one stream: the parts of a rotated capture (`tcpdump
    /// -G/-C`), so that a flow spanning two files is one row.
    #[arg(long = "continue-across-files")]
    pub continue_across_files: bool,

    /// Write a partitioned dataset into the directory given by -o (new or
    /// empty): Hive-style subdirectories by date, hour (UTC, of each flow's
    /// start_time) and/or file (the capture's name), e.g. `date,hour` →
    /// DIR/date=2024-01-15/hour=09/part-00000.parquet. Each part is
    /// written to a temporary file and renamed when the run succeeds.
    #[arg(long = "partition-by", value_name = "KEYS")]
    pub partition_by: Vec<String>,

    /// Show a progress bar even when standard error is not a terminal.
    #[arg(long = "progress", overrides_with = "no_progress")]
    pub progress: bool,

    /// Never show a progress bar.
    #[arg(long = "no-progress")]
    pub no_progress: bool,

    /// Threads (default: all cores). Several files are processed in parallel;
    /// within a file, one thread reads and decodes while one (N = 2) or N
    /// (N ≥ 3) threads build the flows. The output is identical for any
    /// number of threads (unless the memory budget ends flows early: then
    /// for N ≤ 2 on one file). `-w/--workers` and the config key
    /// `num_workers` mean the same; this flag wins over the config file.
    #[arg(
        short = 'j',
        long = "threads",
        value_name = "N",
        visible_short_alias = 'w',
        visible_alias = "workers"
    )]
    pub threads: Option<usize>,

    /// No progress bar, summary or warnings on standard error; errors only.
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
}

fn parse_size(s: &str) -> Result<u64, String> {
    match joyfuljay::config::parse_size(s)? {
        0 => Err("must be a positive size".to_string()),
        n => Ok(n),
    }
}

#[derive(Args, Debug)]
pub struct FeaturesArgs {
    /// Print JSON instead of a table.
    #[arg(long = "json", conflicts_with = "markdown")]
    pub json: bool,
    /// Print the Markdown reference (docs/features.md).
    #[arg(long = "markdown")]
    pub markdown: bool,
    /// Only these groups (comma-separated or repeated).
    #[arg(long = "group", value_name = "GROUP")]
    pub group: Vec<String>,
    /// Only the groups of this profile.
    #[arg(long = "profile", value_name = "NAME")]
    pub profile: Option<String>,
    /// List the profiles and their groups instead.
    #[arg(long = "profiles", conflicts_with_all = ["json", "markdown", "group", "profile"])]
    pub profiles: bool,
}

/// Formats of `jj schema`.
pub const SCHEMA_FORMATS: [&str; 3] = ["json", "csv", "markdown"];

#[derive(Args, Debug)]
pub struct SchemaArgs {
    /// Output file (default: standard output); written atomically.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Format.
    #[arg(short = 'f', long = "format", value_name = "FORMAT", default_value = "json", value_parser = SCHEMA_FORMATS)]
    pub format: String,
    /// Only these groups (comma-separated or repeated).
    #[arg(long = "group", value_name = "GROUP")]
    pub group: Vec<String>,
    /// Only the groups of this profile.
    #[arg(long = "profile", value_name = "NAME")]
    pub profile: Option<String>,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Capture files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}
