//! Documents generated from the column registry: the Markdown feature table,
//! the JSON of `jj features --json` and the exports of `jj schema` (JSON,
//! CSV, Markdown). `docs/features.md` and `schema/features.json` are
//! committed and checked by tests.

use crate::error::{Error, Result};
use crate::features::{find, profile_of, Column, GroupDef, GROUPS, PROFILES};

/// The groups named in `groups` (comma-separated entries allowed) and the
/// groups of `profile`, in registry order; every group when both are empty.
/// An unknown name is an error naming the valid ones.
pub fn groups_for(groups: &[String], profile: Option<&str>) -> Result<Vec<&'static GroupDef>> {
    let mut ids: Vec<String> = groups
        .iter()
        .flat_map(|g| crate::config::split_features(g))
        .collect();
    for id in &ids {
        if find(id).is_none() {
            return Err(Error::Config(format!(
                "unknown feature group '{id}'; valid groups: {}",
                GROUPS.iter().map(|d| d.id).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    if let Some(p) = profile {
        let Some((_, _, members)) = PROFILES.iter().find(|(id, _, _)| *id == p) else {
            return Err(Error::Config(format!(
                "unknown profile '{p}'; valid profiles: {}",
                PROFILES.iter().map(|p| p.0).collect::<Vec<_>>().join(", ")
            )));
        };
        ids.extend(members.iter().map(|m| m.to_string()));
    }
    Ok(GROUPS
        .iter()
        .copied()
        .filter(|d| ids.is_empty() || ids.iter().any(|i| i == d.id))
        .collect())
}

/// The Markdown feature reference (`docs/features.md`).
pub fn features_markdown() -> String {
    features_markdown_for(GROUPS)
}

/// The Markdown feature reference of some groups.
pub fn features_markdown_for(groups: &[&GroupDef]) -> String {
    let mut s = String::from(
        "# Features\n\n<!-- Generated from the column registry by `jj features --markdown`; do not edit. -->\n\n",
    );
    s.push_str(&features_tables_for(groups));
    s
}

/// One Markdown table per feature group (embedded in the README too).
pub fn features_tables() -> String {
    features_tables_for(GROUPS)
}

fn present(c: &Column) -> String {
    match c.gate.option() {
        Some(o) => format!("with `{o}`"),
        None => "always".to_string(),
    }
}

fn features_tables_for(groups: &[&GroupDef]) -> String {
    let mut s = String::new();
    for d in groups {
        let profile = profile_of(d.id).unwrap_or("none");
        s.push_str(&format!(
            "### `{}`\n\n{} Profile: {profile}.\n\n",
            d.id, d.summary
        ));
        s.push_str("| column | type | unit | present | meaning |\n|---|---|---|---|---|\n");
        for c in d.columns {
            s.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                c.name,
                c.type_label().replace('|', "\\|"),
                if c.unit.is_empty() { "" } else { c.unit },
                present(c),
                c.description.replace('|', "\\|")
            ));
        }
        s.push('\n');
    }
    s
}

/// The registry as JSON (`jj features --json`, `schema/features.json`):
/// groups, and per column name, type, nullability, unit, gate and meaning.
pub fn features_json() -> serde_json::Value {
    features_json_for(GROUPS)
}

/// [`features_json`] for some groups.
pub fn features_json_for(groups: &[&GroupDef]) -> serde_json::Value {
    let groups: Vec<serde_json::Value> = groups
        .iter()
        .map(|d| {
            serde_json::json!({
                "group": d.id,
                "summary": d.summary,
                "profile": profile_of(d.id),
                "columns": d.columns.iter().map(|c| serde_json::json!({
                    "name": c.name,
                    "type": c.ty.as_str(),
                    "nullable": c.nullable,
                    "unit": c.unit,
                    "option": c.gate.option(),
                    "identifies_flow": c.identifies,
                    "description": c.description,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({ "version": crate::VERSION, "groups": groups })
}

/// A column's type as `jj schema` writes it: the CLI reference's names
/// (`string` for text), otherwise as `jj features`.
fn schema_type(c: &Column) -> &'static str {
    match c.ty {
        crate::features::ColumnType::Str => "string",
        t => t.as_str(),
    }
}

/// `jj schema -f json`: `{"version", "features": [{name, type, nullable,
/// group, profile, unit (null when none), option, identifies_flow,
/// description}]}`, one entry per column in output order.
pub fn schema_json(groups: &[&GroupDef]) -> serde_json::Value {
    let features: Vec<serde_json::Value> = groups
        .iter()
        .flat_map(|d| d.columns.iter().map(move |c| (d, c)))
        .map(|(d, c)| {
            serde_json::json!({
                "name": c.name,
                "type": schema_type(c),
                "nullable": c.nullable,
                "group": d.id,
                "profile": profile_of(d.id),
                "description": c.description,
                "unit": (!c.unit.is_empty()).then_some(c.unit),
                "option": c.gate.option(),
                "identifies_flow": c.identifies,
            })
        })
        .collect();
    serde_json::json!({ "version": crate::VERSION, "features": features })
}

/// `jj schema -f csv`: a header and one line per column (RFC 4180).
pub fn schema_csv(groups: &[&GroupDef]) -> String {
    fn field(s: &str) -> String {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    }
    let mut out =
        String::from("name,type,nullable,group,profile,unit,option,identifies_flow,description\n");
    for d in groups {
        for c in d.columns {
            let cells = [
                c.name,
                schema_type(c),
                if c.nullable { "true" } else { "false" },
                d.id,
                profile_of(d.id).unwrap_or(""),
                c.unit,
                c.gate.option().unwrap_or(""),
                if c.identifies { "true" } else { "false" },
                c.description,
            ];
            out.push_str(&cells.map(field).join(","));
            out.push('\n');
        }
    }
    out
}
