//! `jj features`, `jj schema` and `jj info`.

use crate::cli::{FeaturesArgs, InfoArgs, SchemaArgs};
use joyfuljay::decode::LinkType;
use joyfuljay::features::{GROUPS, PROFILES};
use joyfuljay::info::capture_info;
use joyfuljay::schema;
use std::io::Write;
use std::process::ExitCode;

pub fn features(a: FeaturesArgs) -> anyhow::Result<ExitCode> {
    // Written with `?`, not `println!`: a closed pipe (`| head`) is an error
    // that main treats as success, never a panic.
    let mut out = std::io::stdout().lock();
    let groups = schema::groups_for(&a.group, a.profile.as_deref())?;
    if a.profiles {
        for (id, meaning, members) in PROFILES {
            let built: Vec<&str> = members
                .iter()
                .copied()
                .filter(|m| GROUPS.iter().any(|d| d.id == *m))
                .collect();
            let planned: Vec<&str> = members
                .iter()
                .copied()
                .filter(|m| !built.contains(m))
                .collect();
            writeln!(out, "{id} — {meaning}: {}", built.join(", "))?;
            if !planned.is_empty() {
                writeln!(out, "  (not built yet: {})", planned.join(", "))?;
            }
        }
    } else if a.json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&schema::features_json_for(&groups))?
        )?;
    } else if a.markdown {
        write!(out, "{}", schema::features_markdown_for(&groups))?;
    } else {
        for d in groups {
            writeln!(out, "{} — {}", d.id, d.summary)?;
            let w = d.columns.iter().map(|c| c.name.len()).max().unwrap_or(0);
            for c in d.columns {
                let unit = if c.unit.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", c.unit)
                };
                let gate = c
                    .gate
                    .option()
                    .map(|o| format!(" (with {o})"))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "  {:w$}  {:5}{unit}{gate}  {}",
                    c.name,
                    c.type_label(),
                    c.description
                )?;
            }
            writeln!(out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn schema(a: SchemaArgs) -> anyhow::Result<ExitCode> {
    let groups = schema::groups_for(&a.group, a.profile.as_deref())?;
    let text = match a.format.as_str() {
        "json" => serde_json::to_string_pretty(&schema::schema_json(&groups))? + "\n",
        "csv" => schema::schema_csv(&groups),
        _ => schema::features_markdown_for(&groups),
    };
    match a.output.as_deref() {
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
        Some(p) if p.as_os_str() == "-" => std::io::stdout().lock().write_all(text.as_bytes())?,
        Some(p) => {
            let file = joyfuljay::output::OutputFile::create(p)?;
            file.writer()?
                .write_all(text.as_bytes())
                .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            file.commit()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn time_text(us: i64) -> String {
    format!(
        "{}.{:06}",
        us.div_euclid(1_000_000),
        us.rem_euclid(1_000_000)
    )
}

pub fn info(a: InfoArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let mut code = ExitCode::SUCCESS;
    for (i, f) in a.files.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let info = match capture_info(f) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("jj: error: {e}");
                code = ExitCode::from(1);
                continue;
            }
        };
        writeln!(out, "file:        {}", f.display())?;
        writeln!(out, "format:      {}", info.format.describe())?;
        let lts: Vec<String> = info
            .link_types
            .iter()
            .map(|&l| {
                let lt = LinkType(l);
                let sup = if LinkType::SUPPORTED.contains(&lt) {
                    ""
                } else {
                    ", not decoded"
                };
                format!("{l} ({}{sup})", lt.name())
            })
            .collect();
        writeln!(out, "link types:  {}", lts.join(", "))?;
        writeln!(out, "packets:     {}", info.packets)?;
        writeln!(
            out,
            "bytes:       {} captured, {} on the wire, {} file",
            info.captured_bytes, info.wire_bytes, info.file_bytes
        )?;
        match (info.first_us, info.last_us) {
            (Some(a), Some(b)) => {
                writeln!(out, "first:       {}", time_text(a))?;
                writeln!(out, "last:        {}", time_text(b))?;
                writeln!(out, "duration:    {} s", time_text(b - a))?;
            }
            _ => writeln!(out, "first/last:  (no packets)")?,
        }
        if let Some(w) = info.end.warning(f) {
            writeln!(out, "warning:     {w}")?;
        }
    }
    Ok(code)
}
