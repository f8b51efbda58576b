#!/usr/bin/env bash
# Runs every fuzz target of every module for a short while (FUZZTIME,
# default 10s each): new Fuzz functions are picked up without a list to
# maintain. Failing inputs land in the package's testdata/fuzz; commit them.
set -euo pipefail
fuzztime=${FUZZTIME:-10s}
grep -rl --include='*_test.go' '^func Fuzz' . | while read -r file; do
  dir=$(dirname "$file")
  for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | cut -d' ' -f2); do
    echo "fuzz: $dir $target ($fuzztime)"
    (cd "$dir" && go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" . >/dev/null)
  done
done
