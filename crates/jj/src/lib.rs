//! The `jj` command line as a library: flags become a
//! [`joyfuljay::Config`]; everything else happens in joyfuljay. The `jj`
//! binary and the Python package's `jj` console script both call
//! [`main_with_args`], so they are the same program.

mod cli;
mod extract;
mod report;

use clap::Parser;
use std::ffi::OsString;
use std::process::ExitCode;

/// Run `jj` with `args` (the first one is the program name, as in
/// `std::env::args_os()`) and return the process exit status: 0 success,
/// 1 input or runtime error, 2 usage error.
pub fn main_with_args(args: Vec<OsString>) -> i32 {
    let code = main_code(args);
    // `ExitCode` is opaque; every code `jj` returns is a `u8`.
    (0..=u8::MAX)
        .find(|&c| ExitCode::from(c) == code)
        .map_or(1, i32::from)
}

fn main_code(args: Vec<OsString>) -> ExitCode {
    let args = match cli::Cli::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(args) {
        Ok(code) => code,
        // A reader such as `head` went away: not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jj: error: {}", one_line(&message(&e)));
            // An invalid configuration (unknown feature group, bad option
            // value, unknown config key) is a usage error.
            let usage = matches!(
                e.downcast_ref::<joyfuljay::Error>(),
                Some(joyfuljay::Error::Config(_))
            );
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

/// The error and its causes, each cause left out when an earlier message
/// already quotes it (library errors include their source in their text).
fn message(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if msg.contains(&s) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&s);
    }
    msg
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<joyfuljay::Error>()
                .is_some_and(joyfuljay::Error::is_broken_pipe)
    })
}

fn run(args: cli::Cli) -> anyhow::Result<ExitCode> {
    match args.command {
        cli::Command::Extract(a) => extract::run(a),
        cli::Command::Features(a) => report::features(a),
        cli::Command::Schema(a) => report::schema(a),
        cli::Command::Info(a) => report::info(a),
    }
}

/// Errors are printed on one line.
fn one_line(s: &str) -> String {
    s.lines().map(str::trim).collect::<Vec<_>>().join(" ")
}
