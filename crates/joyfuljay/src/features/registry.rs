//! The registry: every feature group, in output column order, and the
//! selection of groups for a configuration.

use super::group::Group;
use super::row::Column;
use super::{
    entropy, flow_meta, size, tcp_fingerprint, tcp_mptcp, tcp_options, tcp_window, timing,
};
use crate::config::Config;
use crate::error::{Error, Result};
use std::sync::Arc;

/// A feature group: its id, its columns and how to configure it for a run.
pub struct GroupDef {
    /// Group id as used in `features=[…]`.
    pub id: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// Every column the group can write, in output order.
    pub columns: &'static [Column],
    /// Configure the group for a run.
    pub build: fn(&Config) -> Arc<dyn Group>,
}

/// The registry: every feature group, in output column order.
pub static GROUPS: &[&GroupDef] = &[
    &flow_meta::DEF,
    &timing::DEF,
    &size::DEF,
    &entropy::DEF,
    &tcp_window::DEF,
    &tcp_options::DEF,
    &tcp_fingerprint::DEF,
    &tcp_mptcp::DEF,
];

/// Find a group by id.
pub fn find(id: &str) -> Option<&'static GroupDef> {
    GROUPS.iter().copied().find(|d| d.id == id)
}

/// The valid feature group names, including `all`.
pub fn valid_groups() -> Vec<&'static str> {
    let mut v: Vec<&str> = GROUPS.iter().map(|d| d.id).collect();
    v.push("all");
    v
}

/// The groups `cfg` selects, in output order (registry order), `all`
/// expanded, duplicates removed; an unknown or empty selection is an error
/// naming the valid groups.
pub fn select(cfg: &Config) -> Result<Vec<&'static GroupDef>> {
    if cfg.features.is_empty() {
        return Err(Error::Config(format!(
            "features: no feature group selected; valid groups: {}",
            valid_groups().join(", ")
        )));
    }
    for f in &cfg.features {
        if f != "all" && find(f).is_none() {
            return Err(Error::Config(format!(
                "features: unknown feature group '{f}'; valid groups: {}",
                valid_groups().join(", ")
            )));
        }
    }
    let all = cfg.features.iter().any(|f| f == "all");
    Ok(GROUPS
        .iter()
        .copied()
        .filter(|d| all || cfg.features.iter().any(|f| f == d.id))
        .collect())
}

/// Read a config file ([`Config::from_file`]) and check its group names
/// too; every error names the file.
pub fn load_config(path: &std::path::Path) -> Result<Config> {
    let cfg = Config::from_file(path)?;
    select(&cfg).map_err(|e| Error::Config(format!("{}: {}", path.display(), e)))?;
    Ok(cfg)
}

/// Check a whole configuration: the group names, then every option.
pub fn validate(cfg: &Config) -> Result<()> {
    select(cfg)?;
    cfg.validate()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_group_is_named_with_the_valid_ones() {
        let c = Config::from_str_as(r#"{"features": "flow_meta,bogus"}"#, "json").unwrap();
        let e = validate(&c).unwrap_err().to_string();
        assert!(e.contains("'bogus'") && e.contains("flow_meta"), "{e}");
        let e = select(&Config {
            features: vec![],
            ..Config::default()
        })
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("no feature group"), "{e}");
    }

    #[test]
    fn selection_follows_registry_order_without_duplicates() {
        let c = Config {
            features: vec!["size".into(), "flow_meta".into(), "size".into()],
            ..Config::default()
        };
        let ids: Vec<&str> = select(&c).unwrap().iter().map(|d| d.id).collect();
        assert_eq!(ids, ["flow_meta", "size"]);
        let all = select(&Config::default()).unwrap();
        assert_eq!(all.len(), GROUPS.len());
    }
}
