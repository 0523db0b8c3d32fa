//! `jj features` and `jj info`.

use crate::cli::{FeaturesArgs, InfoArgs};
use joyfuljay::decode::LinkType;
use joyfuljay::features::EXTRACTORS;
use joyfuljay::info::capture_info;
use std::process::ExitCode;

pub fn features(a: FeaturesArgs) -> anyhow::Result<ExitCode> {
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&joyfuljay::schema::features_json())?
        );
    } else if a.markdown {
        print!("{}", joyfuljay::schema::features_markdown());
    } else {
        for d in EXTRACTORS {
            println!("{} — {}", d.id, d.summary);
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
                println!(
                    "  {:w$}  {:5}{unit}{gate}  {}",
                    c.name,
                    c.ty.as_str(),
                    c.description
                );
            }
            println!();
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
    let mut code = ExitCode::SUCCESS;
    for (i, f) in a.files.iter().enumerate() {
        if i > 0 {
            println!();
        }
        let info = match capture_info(f) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("jj: error: {e}");
                code = ExitCode::from(1);
                continue;
            }
        };
        println!("file:        {}", f.display());
        println!("format:      {}", info.format.describe());
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
        println!("link types:  {}", lts.join(", "));
        println!("packets:     {}", info.packets);
        println!(
            "bytes:       {} captured, {} on the wire, {} file",
            info.captured_bytes, info.wire_bytes, info.file_bytes
        );
        match (info.first_us, info.last_us) {
            (Some(a), Some(b)) => {
                println!("first:       {}", time_text(a));
                println!("last:        {}", time_text(b));
                println!("duration:    {} s", time_text(b - a));
            }
            _ => println!("first/last:  (no packets)"),
        }
        if let Some(w) = info.end.warning(f) {
            println!("warning:     {w}");
        }
    }
    Ok(code)
}
