#!/usr/bin/env bash
# bench-overhead: run-to-run noise of the per-event overhead figures under
# TCG, without and with QEMU's instruction counting (run --deterministic):
# the suite measured on one kernel, the coefficient of variation of each
# attached variant's per-event cost over its samples, side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/retrobpf}
KERNEL=${KERNEL:-6.1}
SAMPLES=${SAMPLES:-6}
MANIFEST=${MANIFEST:-bpf/suite.yaml}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -x "$BIN" ] || { echo "bench-overhead: $BIN missing (make build)" >&2; exit 3; }

for mode in tcg icount; do
	extra=()
	[ "$mode" = icount ] && extra=(--deterministic)
	t0=$(date +%s.%N)
	"$BIN" run --manifest "$MANIFEST" --kernels "$KERNEL" --accel tcg --jobs 1 --samples "$SAMPLES" "${extra[@]}" \
		--output-dir "$tmp/$mode" -q >/dev/null 2>"$tmp/$mode.err" || {
		rc=$?; [ "$rc" -eq 1 ] || { echo "bench-overhead: run ($mode) failed ($rc):" >&2; tail -20 "$tmp/$mode.err" >&2; exit 3; }; }
	printf 'run %-7s %6.1f s wall\n' "$mode" "$(echo "$(date +%s.%N) - $t0" | bc -l)"
done
echo "kernel $KERNEL, $SAMPLES interleaved with/without sample pairs per variant; icount-ns = guest instructions, not time"
${GO:-go} run ./scripts/overheadcv "$tmp/tcg/results.json" "$tmp/icount/results.json"
