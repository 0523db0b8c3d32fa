#!/usr/bin/env bash
# Write the fuzz seed corpora to fuzz/corpus/<target>/ (git-ignored), built
# from testdata/captures and synthetic packets by fuzz/src/lib.rs `seeds`.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_CORPUS_DIR="$PWD/fuzz/corpus" cargo test -q -p joyfuljay --test fuzz_corpus \
    -- --ignored --exact write_seed_corpus --nocapture
