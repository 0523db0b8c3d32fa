#!/usr/bin/env bash
# Build the fuzz targets with cargo-fuzz and run each for a while.
#   scripts/fuzz_smoke.sh                 # every target, 15 s each
#   FUZZ_SECONDS=240 scripts/fuzz_smoke.sh decode pipeline
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). Runs on stable with
# `-s none` (no sanitizer; the library has no unsafe code); set
# FUZZ_SANITIZER=address (and RUSTC_BOOTSTRAP=1 on stable) for ASan.
# Seeds come from scripts/fuzz_seeds.sh; committed regression inputs
# (testdata/fuzz-regressions/<target>/) are added to each run's corpus.
# Logs go to fuzz/artifacts/logs/<target>.log; crashes to fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-15}
san=${FUZZ_SANITIZER:-none}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(pcap_reader pcapng_reader decode decode_vs_etherparse pipeline tls ssh quic dns http2)
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    exit 2
fi
for t in "${targets[@]}"; do
    # seeds for every target (a corpus written before a target existed lacks it)
    [ -d "fuzz/corpus/$t" ] || { ./scripts/fuzz_seeds.sh >/dev/null; break; }
done
mkdir -p fuzz/artifacts/logs
(cd fuzz && cargo fuzz build -s "$san")
status=0
passed=0
failed=0
for t in "${targets[@]}"; do
    case $t in
        decode | decode_vs_etherparse | quic) max_len=2048 ;;
        ssh) max_len=4096 ;;
        *) max_len=16384 ;;
    esac
    dirs=("fuzz/corpus/$t")
    [ -d "testdata/fuzz-regressions/$t" ] && dirs+=("testdata/fuzz-regressions/$t")
    # -malloc_limit_mb: any single allocation above 32 MiB is reported as a
    # finding (the readers' buffer is bounded by MAX_RECORD_LEN = 16 MiB).
    if (cd fuzz && cargo fuzz run -s "$san" "$t" "${dirs[@]/#/../}" -- \
        -max_total_time="$secs" -max_len="$max_len" -timeout=10 \
        -rss_limit_mb=1024 -malloc_limit_mb=32 -print_final_stats=1) \
        >"fuzz/artifacts/logs/$t.log" 2>&1; then
        result=ok
        passed=$((passed + 1))
    else
        result=FAILED
        failed=$((failed + 1))
        status=1
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "fuzz/artifacts/logs/$t.log" | grep -o '[0-9]*$' || echo '?')
    cov=$(grep -o 'cov: [0-9]*' "fuzz/artifacts/logs/$t.log" | tail -1 || true)
    echo "$t: $result, ${secs}s, $runs executions, $cov (fuzz/artifacts/logs/$t.log)"
done
echo "fuzz: $passed passed, $failed failed"
exit $status
