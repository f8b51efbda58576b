#!/usr/bin/env bash
# Runs every fuzz target of every module for a short while (FUZZTIME,
# default 3000 executions each: with 70 targets the phase takes about 3
# minutes on 2 cores, most of it building the instrumented test binaries
# and replaying each target's corpus; 10000 each took 40 seconds more,
# which a suite of about 16 minutes cannot spare; run longer by hand, such as
# FUZZTIME=500000x make fuzz): new Fuzz functions are picked up without a
# list to maintain. Failing inputs land in the package's testdata/fuzz;
# commit them. The budget is a count, not a duration: Go 1.26's fuzzing
# coordinator can fail a duration-bound run with "context deadline
# exceeded" at the deadline, finding nothing (go.dev/issue/75804, fixed in
# Go 1.27).
#
# Each package's instrumented test binary is built once and run for each of
# its targets: `go test -fuzz` would link it afresh for every target, which
# took longer than the fuzzing itself. The corpus is kept where go test
# keeps it, so both find what the other found.
set -euo pipefail
fuzztime=${FUZZTIME:-3000x}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cache=$(go env GOCACHE)/fuzz
grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u | while read -r dir; do
  bin="$work/$(echo "$dir" | tr / _).test"
  (cd "$dir" && go test -c -fuzz=. -o "$bin" .)
  pkg=$(cd "$dir" && go list -f '{{.ImportPath}}' .)
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | cut -d' ' -f2 | sort); do
    echo "fuzz: $dir $target ($fuzztime)"
    if ! (cd "$dir" && "$bin" -test.run='^$' -test.fuzz="^${target}\$" -test.fuzztime="$fuzztime" \
      -test.fuzzcachedir="$cache/$pkg" -test.timeout=10m -test.paniconexit0) >"$work/log" 2>&1; then
      cat "$work/log"
      echo "fuzz: $dir $target failed; re-run it with: (cd $dir && go test -run '^$' -fuzz '^${target}\$' -fuzztime $fuzztime .)"
      exit 1
    fi
  done
done
