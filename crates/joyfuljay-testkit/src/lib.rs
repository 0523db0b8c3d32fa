//! Test support shared by the joyfuljay crates (a dev-dependency only).
//!
//! One copy each of what the tests used to carry in several: the
//! deterministic generators ([`SplitMix64`], [`XorShift64`]), the paths of
//! the repository's `testdata/` ([`capture`], [`testdata`], …), CSV tables
//! with column access ([`Table`]) and the record walk of a pcap file
//! ([`pcap_record_offsets`]).
//!
//! Deliberately free of a joyfuljay dependency: joyfuljay's unit tests use
//! this crate, and depending on joyfuljay here would give them a second,
//! incompatible copy of its types. Everything works on plain types; helpers
//! that need joyfuljay's types live in the test crates
//! (`crates/joyfuljay/tests/integration/util.rs`, `fuzz/src/lib.rs`).

mod paths;
mod pcap;
mod rng;
mod table;

pub use paths::{
    capture, captures_dir, expected_dir, fuzz_regression, fuzz_regressions_dir, reference_dir,
    repo_root, testdata,
};
pub use pcap::pcap_record_offsets;
pub use rng::{SplitMix64, XorShift64};
pub use table::Table;
