//! The one configuration type, shared by the CLI, config files and Python.

use crate::error::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize};
use std::path::Path;

/// Everything that controls an extraction. Config files (JSON, TOML, YAML)
/// use the same key names; unknown keys are errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Feature groups to compute, in this order (`"all"` selects every group
    /// but `connection`, which reads the input twice and is named alone).
    #[serde(deserialize_with = "string_or_list")]
    pub features: Vec<String>,
    /// A named set of groups (`JJ-CORE`, `JJ-EXTENDED`, `JJ-EXPERIMENTAL`),
    /// taken together with `features`; with a profile, `features` left at
    /// its default (`all`) adds nothing.
    pub profile: Option<String>,
    /// Keep only these columns (names as `jj features` lists them), in
    /// output order. Each must belong to a selected group and be switched
    /// on; with `features` left at its default, only the groups owning
    /// them are computed.
    #[serde(deserialize_with = "opt_string_or_list")]
    pub specific_features: Option<Vec<String>>,
    /// Idle timeout in seconds: a packet arriving later than this after the
    /// flow's last packet starts a new flow.
    pub flow_timeout: f64,
    /// Active timeout in seconds (`None` or 0: off): a flow lasting longer
    /// than this ends and the next packet starts a new one.
    pub active_timeout: Option<f64>,
    /// End TCP flows on FIN from both sides or on RST.
    pub terminate_on_fin_rst: bool,
    /// Most flows tracked at once (0: unlimited); a flow is ended early
    /// (evicted) when the limit is reached, chosen by `flow_eviction_strategy`.
    pub max_concurrent_flows: u64,
    /// Which flow an eviction ends: `"lru"` (the flow whose latest packet
    /// is oldest) or `"oldest"` (the flow that started first).
    pub flow_eviction_strategy: String,
    /// Memory budget in bytes for the flow table and the groups' per-flow
    /// state (`None`: half the memory available when the run starts); flows
    /// are evicted rather than outgrow it. Config files also accept a
    /// string with a binary suffix (`"512M"`, `"2G"`).
    #[serde(deserialize_with = "opt_size")]
    pub max_memory: Option<u64>,
    /// Keep this fraction of the packets, in (0, 1] (`None`: all): a
    /// deterministic, seeded choice by packet index (docs/semantics.md#sampling).
    pub sampling_rate: Option<f64>,
    /// Threads, as `jj extract -j` (`None` or 0: all cores); the CLI flag
    /// wins over this key.
    pub num_workers: Option<usize>,
    /// Include `src_ip` and `dst_ip`.
    pub include_ip_addresses: bool,
    /// Include `src_port`, `dst_port`, `dst_port_class` and `dst_port_class_num`.
    pub include_ports: bool,
    /// Replace addresses by 16 hex characters of SHA-256(salt + address).
    pub anonymize_ips: bool,
    /// Salt for address hashing and `flow_id`.
    pub anonymization_salt: String,
    /// Include `flow_id`.
    pub include_flow_id: bool,
    /// `timing`: an inter-arrival gap of at least this many milliseconds starts a new burst.
    pub burst_threshold_ms: f64,
    /// `timing`/`size`: most values kept in sequence columns.
    pub max_sequence_length: usize,
    /// `timing`/`size`: add the raw IAT and packet-length sequence columns.
    pub include_raw_sequences: bool,
    /// `timing`: add the SPLT (sequence of packet lengths and times) column.
    pub include_splt: bool,
    /// `timing`/`size`: add per-direction statistics columns.
    pub bidirectional_split: bool,
    /// `entropy`: payload bytes of each packet whose entropy is measured.
    pub entropy_sample_bytes: u32,
    /// `connection`: add the Tier 3 columns (flow rate, temporal spread,
    /// burst connections).
    pub connection_include_temporal: bool,
    /// `connection`: Tier 2 graph metrics (degrees, betweenness, clustering,
    /// communities).
    pub connection_include_graph_metrics: bool,
    /// `connection`: community detection for Tier 2 (`louvain`, `greedy`,
    /// `label_propagation`).
    pub connection_community_algorithm: String,
    /// Read the inputs, in the order given, as one stream (the parts of a
    /// rotated capture): a flow spanning two files is one flow, and open
    /// flows end only at the end of the last file.
    pub continue_across_files: bool,
    /// Write a partitioned dataset (a directory) instead of one file:
    /// Hive-style directories by `date`, `hour` (UTC, of the flow's
    /// start) and/or `file` (the capture's base name), in this order
    /// (`jj extract --partition-by`).
    #[serde(deserialize_with = "string_or_list")]
    pub partition_by: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            features: vec!["all".to_string()],
            profile: None,
            specific_features: None,
            flow_timeout: 60.0,
            active_timeout: None,
            terminate_on_fin_rst: true,
            max_concurrent_flows: 0,
            flow_eviction_strategy: "lru".to_string(),
            max_memory: None,
            sampling_rate: None,
            num_workers: None,
            include_ip_addresses: true,
            include_ports: true,
            anonymize_ips: false,
            anonymization_salt: String::new(),
            include_flow_id: false,
            burst_threshold_ms: 50.0,
            max_sequence_length: 50,
            include_raw_sequences: false,
            include_splt: false,
            bidirectional_split: false,
            entropy_sample_bytes: 256,
            connection_include_temporal: false,
            connection_include_graph_metrics: false,
            connection_community_algorithm: "louvain".to_string(),
            continue_across_files: false,
            partition_by: Vec::new(),
        }
    }
}

fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => split_features(&s),
        OneOrMany::Many(v) => v,
    })
}

fn opt_string_or_list<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => None,
        Some(OneOrMany::One(s)) => Some(split_features(&s)),
        Some(OneOrMany::Many(v)) => Some(v),
    })
}

fn opt_size<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrText {
        Num(u64),
        Text(String),
    }
    match Option::<NumOrText>::deserialize(d)? {
        None => Ok(None),
        Some(NumOrText::Num(n)) => Ok(Some(n)),
        Some(NumOrText::Text(s)) => parse_size(&s).map(Some).map_err(serde::de::Error::custom),
    }
}

/// A size in bytes: a whole number, optionally followed by a binary suffix
/// `K`, `M`, `G` or `T` (×1024ⁿ; `KB`/`KiB` etc. mean the same), e.g.
/// `512M`, `2G`, `1.5G`.
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let bad = || format!("'{s}' is not a size (bytes, or a number with K, M, G or T, e.g. 512M)");
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, suffix) = t.split_at(split);
    let shift = match suffix.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return Err(bad()),
    };
    if num.is_empty() {
        return Err(bad());
    }
    if shift == 0 || !num.contains('.') {
        let n: u64 = num.parse().map_err(|_| bad())?;
        return n.checked_mul(1u64 << shift).ok_or_else(bad);
    }
    let x: f64 = num.parse().map_err(|_| bad())?;
    let v = (x * (1u64 << shift) as f64).round();
    if !(v.is_finite() && v >= 0.0 && v < u64::MAX as f64) {
        return Err(bad());
    }
    Ok(v as u64)
}

/// Split a comma-separated feature list (`"flow_meta, timing"`).
pub fn split_features(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The names of every configuration key, in declaration order.
pub const KEYS: &[&str] = &[
    "features",
    "profile",
    "specific_features",
    "flow_timeout",
    "active_timeout",
    "terminate_on_fin_rst",
    "max_concurrent_flows",
    "flow_eviction_strategy",
    "max_memory",
    "sampling_rate",
    "num_workers",
    "include_ip_addresses",
    "include_ports",
    "anonymize_ips",
    "anonymization_salt",
    "include_flow_id",
    "burst_threshold_ms",
    "max_sequence_length",
    "include_raw_sequences",
    "include_splt",
    "bidirectional_split",
    "entropy_sample_bytes",
    "connection_include_temporal",
    "connection_include_graph_metrics",
    "connection_community_algorithm",
    "continue_across_files",
    "partition_by",
];

impl Config {
    /// Check every option's value; the error names the key and the valid
    /// values. Group names are the registry's to check
    /// (`features::validate` checks both).
    pub fn validate(&self) -> Result<()> {
        if !(self.flow_timeout.is_finite() && self.flow_timeout > 0.0) {
            return Err(Error::Config(format!(
                "flow_timeout: must be a positive number of seconds (got {})",
                self.flow_timeout
            )));
        }
        if let Some(a) = self.active_timeout {
            if !(a.is_finite() && a >= 0.0) {
                return Err(Error::Config(format!(
                    "active_timeout: must be a positive number of seconds, or 0/null for off (got {a})"
                )));
            }
        }
        if !(self.burst_threshold_ms.is_finite() && self.burst_threshold_ms > 0.0) {
            return Err(Error::Config(format!(
                "burst_threshold_ms: must be a positive number of milliseconds (got {})",
                self.burst_threshold_ms
            )));
        }
        if !matches!(self.flow_eviction_strategy.as_str(), "lru" | "oldest") {
            return Err(Error::Config(format!(
                "flow_eviction_strategy: must be \"lru\" or \"oldest\" (got {:?})",
                self.flow_eviction_strategy
            )));
        }
        if let Some(r) = self.sampling_rate {
            if !(r.is_finite() && r > 0.0 && r <= 1.0) {
                return Err(Error::Config(format!(
                    "sampling_rate: must be a number in (0, 1], or null for every packet (got {r})"
                )));
            }
        }
        if self.max_memory == Some(0) {
            return Err(Error::Config(
                "max_memory: must be a positive number of bytes, or null for the default (got 0)"
                    .to_string(),
            ));
        }
        if self.max_sequence_length == 0 {
            return Err(Error::Config(
                "max_sequence_length: must be a positive whole number (got 0)".to_string(),
            ));
        }
        if self.entropy_sample_bytes == 0 {
            return Err(Error::Config(
                "entropy_sample_bytes: must be a positive whole number (got 0)".to_string(),
            ));
        }
        let keys = crate::output::PartitionKey::parse_list(&self.partition_by)?;
        if self.continue_across_files && keys.contains(&crate::output::PartitionKey::File) {
            return Err(Error::Config(
                "partition_by: 'file' cannot be used with continue_across_files (the files are read as one stream)".to_string(),
            ));
        }
        const ALGORITHMS: [&str; 3] = ["louvain", "greedy", "label_propagation"];
        if !ALGORITHMS.contains(&self.connection_community_algorithm.as_str()) {
            return Err(Error::Config(format!(
                "connection_community_algorithm: must be one of {} (got '{}')",
                ALGORITHMS.join(", "),
                self.connection_community_algorithm
            )));
        }
        Ok(())
    }

    /// Whether `features` is left at its default (`["all"]`).
    pub fn features_default(&self) -> bool {
        self.features.len() == 1 && self.features[0] == "all"
    }

    /// Whether evictions end the flow that started first (`"oldest"`)
    /// rather than the least recently active one (`"lru"`).
    pub fn evict_oldest(&self) -> bool {
        self.flow_eviction_strategy == "oldest"
    }

    /// Idle timeout in microseconds.
    pub fn idle_us(&self) -> i64 {
        secs_to_us(self.flow_timeout)
    }

    /// Active timeout in microseconds, `None` when off.
    pub fn active_us(&self) -> Option<i64> {
        self.active_timeout.filter(|a| *a > 0.0).map(secs_to_us)
    }

    /// Read a config file; the format follows the extension (`.json`,
    /// `.toml`, `.yaml`/`.yml`). Keys left out keep their defaults.
    pub fn from_file(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let cfg = Self::from_str_as(&text, &ext)
            .map_err(|e| Error::Config(format!("{}: {}", path.display(), e)))?;
        Ok(cfg)
    }

    /// Parse config text of the given kind (`json`, `toml`, `yaml`/`yml`).
    /// Errors name the offending key.
    pub fn from_str_as(text: &str, kind: &str) -> std::result::Result<Config, String> {
        let value: serde_json::Value = match kind {
            "json" => serde_json::from_str(text).map_err(|e| e.to_string())?,
            "toml" => toml::from_str(text).map_err(|e| one_line(&e.to_string()))?,
            "yaml" | "yml" => serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?,
            other => {
                return Err(format!(
                    "unknown config file type '.{other}'; use .json, .toml, .yaml or .yml"
                ))
            }
        };
        let map = match value {
            serde_json::Value::Object(m) => m,
            serde_json::Value::Null => serde_json::Map::new(),
            _ => return Err("expected a table of options at the top level".to_string()),
        };
        let mut cfg = Config::default();
        for (k, v) in map {
            cfg.set(&k, v)?;
        }
        cfg.validate().map_err(|e| e.to_string())?;
        Ok(cfg)
    }

    /// Set one key from its JSON value (as the Python binding does); the
    /// error names the key and, for an unknown key, lists the valid ones.
    pub fn set(&mut self, key: &str, value: serde_json::Value) -> std::result::Result<(), String> {
        let mut obj = serde_json::to_value(&*self).map_err(|e| e.to_string())?;
        let map = obj.as_object_mut().expect("Config serializes to an object");
        if !map.contains_key(key) {
            return Err(format!(
                "unknown option '{key}'; valid options: {}",
                KEYS.join(", ")
            ));
        }
        map.insert(key.to_string(), value);
        let cfg: Config = serde_json::from_value(obj).map_err(|e| format!("{key}: {e}"))?;
        *self = cfg;
        Ok(())
    }
}

fn secs_to_us(s: f64) -> i64 {
    let us = (s * 1e6).round();
    if us >= i64::MAX as f64 {
        i64::MAX
    } else {
        us as i64
    }
}

fn one_line(s: &str) -> String {
    s.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('|') && !l.starts_with("-->"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documents() {
        let c = Config::default();
        assert!(c.include_ip_addresses && c.include_ports);
        assert!(!c.anonymize_ips && !c.include_flow_id);
        assert_eq!(c.anonymization_salt, "");
        assert_eq!(c.flow_timeout, 60.0);
        assert!(c.terminate_on_fin_rst);
        assert_eq!(c.active_us(), None);
        c.validate().unwrap();
    }

    #[test]
    fn the_three_file_formats_agree() {
        let j = Config::from_str_as(
            r#"{"features": ["flow_meta"], "flow_timeout": 30, "anonymize_ips": true, "anonymization_salt": "x"}"#,
            "json",
        )
        .unwrap();
        let t = Config::from_str_as(
            "features = [\"flow_meta\"]\nflow_timeout = 30.0\nanonymize_ips = true\nanonymization_salt = \"x\"\n",
            "toml",
        )
        .unwrap();
        let y = Config::from_str_as(
            "features: [flow_meta]\nflow_timeout: 30\nanonymize_ips: true\nanonymization_salt: x\n",
            "yaml",
        )
        .unwrap();
        assert_eq!(j, t);
        assert_eq!(t, y);
        assert_eq!(j.flow_timeout, 30.0);
        assert!(j.anonymize_ips);
    }

    #[test]
    fn unknown_key_is_named_with_the_valid_ones() {
        let e = Config::from_str_as(r#"{"flow_timeot": 3}"#, "json").unwrap_err();
        assert!(e.contains("flow_timeot"), "{e}");
        assert!(e.contains("flow_timeout"), "{e}");
        let e = Config::from_str_as("flow_timeot = 3", "toml").unwrap_err();
        assert!(e.contains("flow_timeot") && !e.contains('\n'), "{e}");
    }

    #[test]
    fn bad_values_are_rejected() {
        assert!(Config::from_str_as(r#"{"flow_timeout": -1}"#, "json").is_err());
        assert!(Config::from_str_as(r#"{"flow_timeout": 0}"#, "json").is_err());
        assert!(Config::from_str_as(r#"{"active_timeout": -5}"#, "json").is_err());
        let e = Config::from_str_as(r#"{"include_ports": "yes"}"#, "json").unwrap_err();
        assert!(e.starts_with("include_ports:"), "{e}");
        let c = Config::from_str_as(r#"{"active_timeout": 0}"#, "json").unwrap();
        assert_eq!(c.active_us(), None);
    }

    #[test]
    fn limits_and_sampling_keys_in_every_format() {
        let j = Config::from_str_as(
            r#"{"flow_eviction_strategy": "oldest", "max_memory": "512M", "sampling_rate": 0.25, "num_workers": 3}"#,
            "json",
        )
        .unwrap();
        let t = Config::from_str_as(
            "flow_eviction_strategy = \"oldest\"\nmax_memory = 536870912\nsampling_rate = 0.25\nnum_workers = 3\n",
            "toml",
        )
        .unwrap();
        let y = Config::from_str_as(
            "flow_eviction_strategy: oldest\nmax_memory: 512M\nsampling_rate: 0.25\nnum_workers: 3\n",
            "yaml",
        )
        .unwrap();
        assert_eq!(j, t);
        assert_eq!(t, y);
        assert!(j.evict_oldest());
        assert_eq!(j.max_memory, Some(512 << 20));
        assert_eq!(j.sampling_rate, Some(0.25));
        assert_eq!(j.num_workers, Some(3));
        let d = Config::default();
        assert!(!d.evict_oldest());
        assert_eq!(
            (d.max_memory, d.sampling_rate, d.num_workers),
            (None, None, None)
        );
    }

    #[test]
    fn bad_limits_are_one_line_errors_naming_the_key() {
        for (text, key) in [
            (
                r#"{"flow_eviction_strategy": "fifo"}"#,
                "flow_eviction_strategy",
            ),
            (r#"{"sampling_rate": 0}"#, "sampling_rate"),
            (r#"{"sampling_rate": 1.5}"#, "sampling_rate"),
            (r#"{"sampling_rate": -0.1}"#, "sampling_rate"),
            (r#"{"max_memory": 0}"#, "max_memory"),
            (r#"{"max_memory": "lots"}"#, "max_memory"),
            (r#"{"max_memory": "12Q"}"#, "max_memory"),
            (r#"{"num_workers": -1}"#, "num_workers"),
        ] {
            let e = Config::from_str_as(text, "json").unwrap_err();
            assert!(e.starts_with(key), "{text}: {e}");
            assert!(!e.contains('\n'), "{text}: {e}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("1K"), Ok(1024));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size(" 3T "), Ok(3 << 40));
        for bad in ["", "M", "-1", "1.5", "2X", "1e9", "99999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn set_by_key() {
        let mut c = Config::default();
        c.set("flow_timeout", serde_json::json!(5)).unwrap();
        assert_eq!(c.idle_us(), 5_000_000);
        let e = c.set("nope", serde_json::json!(1)).unwrap_err();
        assert!(e.contains("nope") && e.contains("include_flow_id"));
    }

    #[test]
    fn keys_list_matches_the_struct() {
        let v = serde_json::to_value(Config::default()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|s| s.as_str()).collect();
        let mut sorted_keys = keys.clone();
        sorted_keys.sort();
        let mut sorted = KEYS.to_vec();
        sorted.sort();
        assert_eq!(sorted_keys, sorted);
    }
}
