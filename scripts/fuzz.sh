#!/usr/bin/env bash
# Runs every Fuzz* target briefly (FUZZTIME, default 10s). A real finding
# ("Failing input written to testdata/fuzz/...") fails at once. Go's fuzzing
# engine sometimes ends a time-boxed run with a bare "context deadline
# exceeded" when the time runs out during minimization, with no failing
# input: that target is run once more before it counts as a failure.
set -euo pipefail
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for dir in $(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do
  for target in $(grep -h '^func Fuzz' "$dir"/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do
    for attempt in 1 2; do
      echo "fuzz $dir $target (attempt $attempt)"
      if "$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$dir" 2>&1 | tee "$log"; then
        break
      fi
      if grep -q 'Failing input written' "$log" || ! grep -q 'context deadline exceeded' "$log" || [ "$attempt" = 2 ]; then
        exit 1
      fi
      echo "fuzz engine timed out without a failing input; running $target once more"
    done
  done
done
