//! Paths of the repository's test data, found from this crate's location
//! (`crates/joyfuljay-testkit`), so they hold whichever crate's tests ask.

use std::path::{Path, PathBuf};

/// The repository root (the workspace directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `testdata/<rel>`; not checked for existence.
pub fn testdata(rel: &str) -> PathBuf {
    repo_root().join("testdata").join(rel)
}

/// `testdata/captures`: the bundled capture files.
pub fn captures_dir() -> PathBuf {
    testdata("captures")
}

/// `testdata/expected`: expectations produced by other tools (tshark).
pub fn expected_dir() -> PathBuf {
    testdata("expected")
}

/// `testdata/reference`: values computed by the reference package.
pub fn reference_dir() -> PathBuf {
    testdata("reference")
}

/// `testdata/fuzz-regressions`: committed fuzzer findings, by target.
pub fn fuzz_regressions_dir() -> PathBuf {
    testdata("fuzz-regressions")
}

/// The bundled capture `name`; panics when it does not exist, so a typo
/// fails at the name rather than as an unexpected read error.
pub fn capture(name: &str) -> PathBuf {
    let p = captures_dir().join(name);
    assert!(p.is_file(), "no bundled capture {}", p.display());
    p
}

/// The bytes of the committed fuzz regression input `rel` (under
/// `testdata/fuzz-regressions`, e.g. `"decode/some-input"`).
pub fn fuzz_regression(rel: &str) -> Vec<u8> {
    let p = fuzz_regressions_dir().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_testdata_directories_exist() {
        for d in [captures_dir(), expected_dir(), reference_dir()] {
            assert!(d.is_dir(), "{}", d.display());
        }
        assert!(repo_root().join("Cargo.toml").is_file());
    }

    #[test]
    fn capture_finds_a_bundled_file() {
        assert!(capture("http.cap").ends_with("testdata/captures/http.cap"));
    }

    #[test]
    #[should_panic(expected = "no bundled capture")]
    fn capture_rejects_a_missing_name() {
        capture("no-such-capture.pcap");
    }
}
