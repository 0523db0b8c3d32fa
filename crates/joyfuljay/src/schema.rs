//! Documents generated from the column registry: the Markdown feature table
//! and the JSON schema. Both are committed and checked by tests.

use crate::features::GROUPS;

/// The Markdown feature reference (`docs/features.md`).
pub fn features_markdown() -> String {
    let mut s = String::from(
        "# Features\n\n<!-- Generated from the column registry by `jj features --markdown`; do not edit. -->\n\n",
    );
    s.push_str(&features_tables());
    s
}

/// One Markdown table per feature group (embedded in the README too).
pub fn features_tables() -> String {
    let mut s = String::new();
    for d in GROUPS {
        s.push_str(&format!("### `{}`\n\n{}\n\n", d.id, d.summary));
        s.push_str("| column | type | unit | present | meaning |\n|---|---|---|---|---|\n");
        for c in d.columns {
            let present = match c.gate.option() {
                Some(o) => format!("with `{o}`"),
                None => "always".to_string(),
            };
            s.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                c.name,
                c.type_label(),
                if c.unit.is_empty() { "" } else { c.unit },
                present,
                c.description.replace('|', "\\|")
            ));
        }
        s.push('\n');
    }
    s
}

/// The registry as JSON: groups, and per column name, type, unit, gate and meaning.
pub fn features_json() -> serde_json::Value {
    let groups: Vec<serde_json::Value> = GROUPS
        .iter()
        .map(|d| {
            serde_json::json!({
                "group": d.id,
                "summary": d.summary,
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
