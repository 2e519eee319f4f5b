#!/usr/bin/env bash
# Runs every libFuzzer target of the InventoryFuzz binary for FUZZ_SECONDS each (default 120),
# one after the other, and writes a summary table (executions, coverage, crashes).
#   Tests/Fuzz/run.sh BINARY [TARGET...]        (make fuzz / make fuzz-smoke call it)
# Seeds come from Tests/Fuzz/corpus/<target>/ and stay untouched; what a run learns goes to
# .build-fuzz/corpus/<target>/ and is reused by the next run. Crash inputs land in
# .build-fuzz/artifacts/, never in the tree: turn each into a file under
# Tests/Fuzz/regressions/<target>/ (ParserTotalityTests replays them) and a corpus seed.
set -uo pipefail
cd "$(dirname "$0")/../.."
binary=$1; shift
seconds=${FUZZ_SECONDS:-120}
work=.build-fuzz
summary=$work/fuzz-summary.md
mkdir -p "$work/artifacts" "$work/logs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}

mapfile -t targets < <(FUZZ_TARGET=list "$binary" 2>/dev/null)
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: $binary lists no targets" >&2; exit 2; }
failed=0
{
    echo "| target | seconds | executions | exec/s | cov | ft | corpus | crashes |"
    echo "|---|---|---|---|---|---|---|---|"
} > "$summary"
for line in "${targets[@]}"; do
    read -r name max_len <<< "$line"
    if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
    corpus=$work/corpus/$name
    mkdir -p "$corpus"
    regressions=()
    [ -d "Tests/Fuzz/regressions/$name" ] && regressions=("Tests/Fuzz/regressions/$name")
    log=$work/logs/$name.log
    echo "fuzz: $name for ${seconds}s (max_len $max_len)"
    FUZZ_TARGET=$name "$binary" "$corpus" "Tests/Fuzz/corpus/$name" "${regressions[@]}" \
        -max_len="$max_len" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/artifacts/$name-" > "$log" 2>&1
    status=$?
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
    units=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<< "$last")
    crashes=0
    if [ $status -ne 0 ]; then
        crashes=1
        failed=1
        echo "fuzz: $name FAILED (exit $status); see $log and $work/artifacts/" >&2
        grep -E 'ERROR|Fatal error|Test unit written' "$log" | head -5 >&2
    fi
    echo "| $name | $seconds | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${units:-?} | $crashes |" >> "$summary"
done
cat "$summary"
exit $failed
