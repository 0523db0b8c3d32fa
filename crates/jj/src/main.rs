//! `jj`: command-line front end of joyfuljay. Flags become a
//! [`joyfuljay::Config`]; everything else happens in the library.

mod cli;
mod extract;
mod report;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("jj: error: {}", one_line(&format!("{e:#}")));
            ExitCode::from(1)
        }
    }
}

fn run(args: cli::Cli) -> anyhow::Result<ExitCode> {
    match args.command {
        cli::Command::Extract(a) => extract::run(a),
        cli::Command::Features(a) => report::features(a),
        cli::Command::Info(a) => report::info(a),
    }
}

/// Errors are printed on one line.
fn one_line(s: &str) -> String {
    s.lines().map(str::trim).collect::<Vec<_>>().join(" ")
}
