//! The registry: every feature group, in output column order, and the
//! selection of groups for a configuration.

use super::group::Group;
use super::row::Column;
use super::{
    connection, dns, entropy, fingerprint, flow_meta, http2, icmp, ip_extended, ipv6_options, mac,
    padding, quic, size, ssh, tcp, tcp_fingerprint, tcp_mptcp, tcp_options, tcp_rtt, tcp_sequence,
    tcp_window, timing, tls,
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
    &tcp::DEF,
    &tcp_sequence::DEF,
    &tcp_window::DEF,
    &tcp_options::DEF,
    &tcp_rtt::DEF,
    &tcp_fingerprint::DEF,
    &tcp_mptcp::DEF,
    &ip_extended::DEF,
    &ipv6_options::DEF,
    &mac::DEF,
    &icmp::DEF,
    &entropy::DEF,
    &tls::DEF,
    &ssh::DEF,
    &quic::DEF,
    &dns::DEF,
    &http2::DEF,
    &padding::DEF,
    &fingerprint::DEF,
    &connection::DEF,
];

/// The named sets of groups (`profile`), as the reference's profiles
/// split its groups: id, meaning, member groups (a member not built yet
/// is left out of the selection).
pub static PROFILES: &[(&str, &str, &[&str])] = &[
    (
        "JJ-CORE",
        "stable, commonly used groups",
        &["flow_meta", "timing", "size", "tcp", "tls"],
    ),
    (
        "JJ-EXTENDED",
        "further protocol and header analysis",
        &[
            "dns",
            "ssh",
            "quic",
            "http2",
            "entropy",
            "tcp_rtt",
            "tcp_options",
            "tcp_sequence",
            "tcp_window",
            "ip_extended",
        ],
    ),
    (
        "JJ-EXPERIMENTAL",
        "specialised and experimental groups",
        &[
            "fingerprint",
            "tcp_fingerprint",
            "padding",
            "connection",
            "mac",
            "tcp_mptcp",
            "ipv6_options",
            "icmp",
        ],
    ),
];

/// The profile a group belongs to.
pub fn profile_of(id: &str) -> Option<&'static str> {
    PROFILES
        .iter()
        .find(|(_, _, m)| m.contains(&id))
        .map(|(p, _, _)| *p)
}

/// The group owning the column `name`, if any.
pub fn group_of_column(name: &str) -> Option<(&'static GroupDef, &'static Column)> {
    GROUPS
        .iter()
        .find_map(|d| d.columns.iter().find(|c| c.name == name).map(|c| (*d, c)))
}

/// Whether the run keeps column `c`: its option is on and, with
/// `specific_features`, it is one of them.
pub fn keeps(cfg: &Config, c: &Column) -> bool {
    c.gate.enabled(cfg)
        && cfg
            .specific_features
            .as_ref()
            .is_none_or(|l| l.iter().any(|n| n == c.name))
}

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

/// The groups `cfg` selects, in output order (registry order): the
/// `features` (`all` expanded to every group but those reading the whole
/// input, see [`reads_whole_input`]) and the `profile`'s groups together,
/// duplicates removed. With `specific_features` and `features` at its
/// default, the groups owning those columns. Unknown names, an empty
/// selection, and a specific column that is not selected or switched off
/// are errors naming what is valid.
pub fn select(cfg: &Config) -> Result<Vec<&'static GroupDef>> {
    let mut wanted: Vec<&str> = Vec::new();
    let mut all = false;
    let from_features =
        !(cfg.features_default() && (cfg.profile.is_some() || cfg.specific_features.is_some()));
    if from_features {
        for f in &cfg.features {
            if f == "all" {
                all = true;
            } else if find(f).is_none() {
                return Err(Error::Config(format!(
                    "features: unknown feature group '{f}'; valid groups: {}",
                    valid_groups().join(", ")
                )));
            } else {
                wanted.push(f);
            }
        }
    }
    if let Some(p) = &cfg.profile {
        let Some((_, _, members)) = PROFILES.iter().find(|(id, _, _)| id == p) else {
            return Err(Error::Config(format!(
                "profile: unknown profile '{p}'; valid profiles: {}",
                PROFILES.iter().map(|p| p.0).collect::<Vec<_>>().join(", ")
            )));
        };
        wanted.extend(members.iter().copied());
    }
    if let Some(names) = &cfg.specific_features {
        if names.is_empty() {
            return Err(Error::Config(
                "specific_features: empty list; name at least one column (jj features lists them)"
                    .to_string(),
            ));
        }
        for n in names {
            let Some((d, c)) = group_of_column(n) else {
                return Err(Error::Config(format!(
                    "specific_features: unknown column '{n}'; `jj features` lists every column"
                )));
            };
            if !from_features && cfg.profile.is_none() {
                wanted.push(d.id);
            } else if !(wanted.contains(&d.id) || (all && !reads_whole_input(d, cfg))) {
                return Err(Error::Config(format!(
                    "specific_features: column '{n}' belongs to group '{}', which is not selected",
                    d.id
                )));
            }
            if !c.gate.enabled(cfg) {
                return Err(Error::Config(format!(
                    "specific_features: column '{n}' is switched off; it needs {}",
                    c.gate.option().unwrap_or("its option")
                )));
            }
        }
    }
    if !all && wanted.is_empty() {
        return Err(Error::Config(format!(
            "features: no feature group selected; valid groups: {}",
            valid_groups().join(", ")
        )));
    }
    Ok(GROUPS
        .iter()
        .copied()
        .filter(|d| wanted.contains(&d.id) || (all && !reads_whole_input(d, cfg)))
        .collect())
}

/// Whether group `d` reads the whole input (`Needs::whole_input`: the run
/// reads its input twice, and standard input is spooled first). `all`
/// leaves such groups out: they are chosen by name (or by profile), so
/// that a default run stays one streaming pass.
pub fn reads_whole_input(d: &GroupDef, cfg: &Config) -> bool {
    (d.build)(cfg).needs().whole_input
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
        // `all`: every group but those that read the whole input twice.
        let all = select(&Config::default()).unwrap();
        let whole: Vec<&str> = GROUPS
            .iter()
            .filter(|d| reads_whole_input(d, &Config::default()))
            .map(|d| d.id)
            .collect();
        assert_eq!(whole, ["connection"]);
        assert_eq!(all.len(), GROUPS.len() - 1);
        assert!(all.iter().all(|d| d.id != "connection"));
        let named = Config {
            features: vec!["all".into(), "connection".into()],
            ..Config::default()
        };
        assert_eq!(select(&named).unwrap().len(), GROUPS.len());
    }

    fn ids(c: &Config) -> Vec<&'static str> {
        select(c).unwrap().iter().map(|d| d.id).collect()
    }

    #[test]
    fn every_group_is_in_exactly_one_profile() {
        for d in GROUPS {
            let n = PROFILES.iter().filter(|p| p.2.contains(&d.id)).count();
            assert_eq!(n, 1, "{} is in {n} profiles", d.id);
        }
        let mut seen = std::collections::HashSet::new();
        for (_, _, m) in PROFILES {
            for g in *m {
                assert!(seen.insert(g), "{g} twice");
            }
        }
    }

    #[test]
    fn profile_and_features_take_the_union() {
        let core = Config {
            profile: Some("JJ-CORE".into()),
            ..Config::default()
        };
        let want: Vec<&str> = GROUPS
            .iter()
            .map(|d| d.id)
            .filter(|id| PROFILES[0].2.contains(id))
            .collect();
        assert_eq!(ids(&core), want);
        assert!(!want.contains(&"entropy") && want.contains(&"timing"));
        let both = Config {
            features: vec!["entropy".into()],
            ..core.clone()
        };
        // Registry order, whatever the order of the request.
        let want2: Vec<&str> = GROUPS
            .iter()
            .map(|d| d.id)
            .filter(|id| want.contains(id) || *id == "entropy")
            .collect();
        assert_eq!(want2.len(), want.len() + 1);
        assert_eq!(ids(&both), want2);
        let e = select(&Config {
            profile: Some("JJ-NOPE".into()),
            ..Config::default()
        })
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("JJ-NOPE") && e.contains("JJ-EXTENDED"), "{e}");
    }

    #[test]
    fn specific_features_pick_their_groups_and_columns() {
        let c = Config {
            specific_features: Some(vec!["iat_mean".into(), "src_ip".into()]),
            ..Config::default()
        };
        assert_eq!(ids(&c), ["flow_meta", "timing"]);
        let kept: Vec<&str> = select(&c)
            .unwrap()
            .iter()
            .flat_map(|d| d.columns.iter())
            .filter(|col| keeps(&c, col))
            .map(|col| col.name)
            .collect();
        assert_eq!(kept, ["src_ip", "iat_mean"]);
        // Not selected, unknown, switched off: errors that say so.
        let not_sel = Config {
            features: vec!["size".into()],
            ..c.clone()
        };
        let e = select(&not_sel).err().unwrap().to_string();
        assert!(e.contains("'iat_mean'") && e.contains("'timing'"), "{e}");
        let unknown = Config {
            specific_features: Some(vec!["ja9_hash".into()]),
            ..Config::default()
        };
        let e = select(&unknown).err().unwrap().to_string();
        assert!(e.contains("unknown column 'ja9_hash'"), "{e}");
        let off = Config {
            specific_features: Some(vec!["flow_id".into()]),
            ..Config::default()
        };
        let e = select(&off).err().unwrap().to_string();
        assert!(e.contains("include_flow_id"), "{e}");
        let c: Config =
            Config::from_str_as(r#"{"specific_features": "duration, total_bytes"}"#, "json")
                .unwrap();
        assert_eq!(ids(&c), ["flow_meta"]);
    }
}
