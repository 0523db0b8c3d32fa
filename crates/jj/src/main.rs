//! `jj`: command-line front end of joyfuljay; the program itself is the
//! `jj` library crate ([`jj::main_with_args`]), shared with the Python
//! package's `jj` console script.

use std::process::ExitCode;

fn main() -> ExitCode {
    jj::install_interrupt_handler();
    let code = jj::main_with_args(std::env::args_os().collect());
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
