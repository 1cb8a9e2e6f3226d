#!/usr/bin/env bash
# bench-matrix: wall time of the verifier-only matrix (bundled suite, one VM
# per kernel, kernels cached) next to the sum of bare boot times of the same
# kernels (boot + one trivial command, same VM machinery), as a ratio; and
# the host process's peak RSS. Figures only, no pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/retrobpf}
KERNELS=${KERNELS:-5.10,6.1,6.12}
ACCEL=${ACCEL:-tcg}
JOBS=${JOBS:-1}
MANIFEST=${MANIFEST:-bpf/suite.yaml}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[ -x "$BIN" ] || { echo "bench-matrix: $BIN missing (make build)" >&2; exit 3; }
command -v /usr/bin/time >/dev/null || { echo "bench-matrix: /usr/bin/time missing (apt-get install time)" >&2; exit 3; }

# Warm the kernel cache so downloads are not timed.
IFS=, read -ra ks <<<"$KERNELS"
for k in "${ks[@]}"; do
	"$BIN" vm exec -k "$k" --accel "$ACCEL" -- /bin/retrobpf version >/dev/null 2>&1 || true
done

now() { date +%s.%N; }

# Bare boots: each kernel boots and runs one trivial command.
boot_sum=0
for k in "${ks[@]}"; do
	t0=$(now)
	"$BIN" vm exec -k "$k" --accel "$ACCEL" -- /bin/retrobpf version >/dev/null 2>"$tmp/boot-$k.err" || {
		echo "bench-matrix: bare boot of $k failed:" >&2; tail -5 "$tmp/boot-$k.err" >&2; exit 3; }
	t1=$(now)
	b=$(echo "$t1 - $t0" | bc -l)
	printf 'bare boot %-6s %8.2f s\n' "$k" "$b"
	boot_sum=$(echo "$boot_sum + $b" | bc -l)
done

# The verifier-only matrix, one VM per kernel, JOBS at once.
t0=$(now)
/usr/bin/time -v -o "$tmp/time.txt" "$BIN" run --manifest "$MANIFEST" --kernels "$KERNELS" \
	--accel "$ACCEL" --jobs "$JOBS" --verifier-only --output-dir "$tmp/out" -v >/dev/null 2>"$tmp/run.err" || {
	rc=$?; [ "$rc" -eq 1 ] || { echo "bench-matrix: run failed ($rc):" >&2; tail -20 "$tmp/run.err" >&2; exit 3; }; }
t1=$(now)
wall=$(echo "$t1 - $t0" | bc -l)
rss_all=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$tmp/time.txt")
rss_self=$(sed -n 's/.*peak RSS of this process (without QEMU): \([0-9]*\) KiB.*/\1/p' "$tmp/run.err" | tail -1)
variants=$(grep -c '"verdict"' "$tmp/out/results.json" || true)

printf '\n%-40s %10s\n' "figure" "value"
printf '%-40s %10.2f s\n' "sum of bare boots ($KERNELS)" "$boot_sum"
printf '%-40s %10.2f s\n' "verifier-only matrix wall (jobs $JOBS)" "$wall"
printf '%-40s %10.2f x\n' "matrix / bare boots" "$(echo "$wall / $boot_sum" | bc -l)"
printf '%-40s %10s KiB\n' "host peak RSS (retrobpf run itself)" "${rss_self:-?}"
printf '%-40s %10s KiB\n' "peak RSS incl. largest QEMU child" "$rss_all"
printf '%-40s %10s\n' "verdict records in results.json" "$variants"
echo "accel: $ACCEL (under TCG absolute times are emulated; the ratio is what compares)"
echo "goal (issue 14): matrix / bare boots <= 1.5 x"
printf '\nwhere the time went (per kernel; programs = the guest-run steps, one per program):\n'
${GO:-go} run ./scripts/phases "$tmp/out/results.json"
