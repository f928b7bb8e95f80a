#!/bin/sh
# Run every libFuzzer harness built in $1 for $2 seconds each, starting from the seed corpora in
# fuzz/corpus/NAME (copied, so the checked-in corpus only changes by hand).
set -e
build=$1
secs=${2:-60}
for h in "$build"/fuzz/fuzz_*; do
    [ -f "$h" ] && [ -x "$h" ] || continue
    name=$(basename "$h")
    work=$(mktemp -d)
    [ -d "fuzz/corpus/$name" ] && cp -r "fuzz/corpus/$name/." "$work/"
    echo "== $name for ${secs}s"
    "$h" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 "$work" 2>&1 | tail -n 12
    rm -rf "$work"
done
