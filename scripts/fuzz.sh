#!/usr/bin/env bash
# Runs every fuzz target of every module for a short while (FUZZTIME,
# default 20000 executions each): new Fuzz functions are picked up without a
# list to maintain. Failing inputs land in the package's testdata/fuzz;
# commit them. The budget is a count, not a duration: Go 1.26's fuzzing
# coordinator can fail a duration-bound run with "context deadline
# exceeded" at the deadline, finding nothing (go.dev/issue/75804, fixed in
# Go 1.27).
set -euo pipefail
fuzztime=${FUZZTIME:-20000x}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
  dir=$(dirname "$file")
  for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | cut -d' ' -f2); do
    echo "fuzz: $dir $target ($fuzztime)"
    if ! (cd "$dir" && go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" .) >"$log" 2>&1; then
      cat "$log"
      exit 1
    fi
  done
done
