//! The `jj` command line as a library: flags become a
//! [`joyfuljay::Config`]; everything else happens in joyfuljay. The `jj`
//! binary and the Python package's `jj` console script both call
//! [`main_with_args`], so they are the same program.

mod bpf;
mod cli;
mod extract;
#[cfg(feature = "live")]
pub mod live;
#[cfg(feature = "live")]
mod pcapng;
#[cfg(feature = "live")]
pub mod procsock;
mod report;

use clap::Parser;
use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// Exit status after Ctrl-C (SIGINT) or SIGTERM: 128 + SIGINT, as shells
/// report an interrupted program.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Set by the first SIGINT/SIGTERM (see [`install_interrupt_handler`]);
/// every capture an extraction reads watches it.
pub(crate) fn interrupt_flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    Arc::clone(FLAG.get_or_init(|| Arc::new(AtomicBool::new(false))))
}

/// Handle SIGINT, SIGTERM and SIGHUP: the first stops the extraction (it
/// ends within a few thousand packets: no file under the output's name, no
/// temporary file left, exit status 130); a second one leaves at once,
/// still removing the temporary output file. Call once, from a program
/// that is `jj` itself (the binary, the Python console script).
pub fn install_interrupt_handler() {
    let flag = interrupt_flag();
    // Fails only if a handler is already installed: then that one rules.
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            joyfuljay::output::remove_temp_files();
            eprintln!("jj: interrupted");
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
}

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
        Err(e)
            if matches!(
                e.downcast_ref::<joyfuljay::Error>(),
                Some(joyfuljay::Error::Interrupted)
            ) =>
        {
            eprintln!("jj: interrupted");
            ExitCode::from(EXIT_INTERRUPTED)
        }
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
        #[cfg(feature = "live")]
        cli::Command::Live(a) => live::run(a),
        #[cfg(not(feature = "live"))]
        cli::Command::Live(_) => anyhow::bail!(
            "jj live needs libpcap, and this build of jj lacks it (built without the cargo feature `live`)"
        ),
    }
}

/// Errors are printed on one line.
fn one_line(s: &str) -> String {
    s.lines().map(str::trim).collect::<Vec<_>>().join(" ")
}
