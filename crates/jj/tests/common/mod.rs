//! Helpers shared by the `jj` integration tests (each test file is its own
//! crate and takes this module with `mod common;`).
#![allow(dead_code)]

use std::process::{Command, Output};

/// Run the built `jj` with `args` (no backtraces in its messages); never
/// panics on a non-zero exit.
pub fn jj(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jj"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .output()
        .expect("jj runs")
}

/// `o`, after asserting that `jj` succeeded (its standard error otherwise).
pub fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "jj failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// `o`'s standard error as text.
pub fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
