#!/usr/bin/env bash
# bench-probe: wall time of the full `retrobpf probe --format json` against
# `bpftool feature probe kernel` on this host, run alternately RUNS times,
# with each run, the medians and the median ratio. Needs root (both tools
# probe by loading programs). Figures come from this script, never from
# unit tests.
#
#   RUNS=5 bash scripts/bench-probe.sh
#   RETROBPF_PROBE_TRACE=1 bin/retrobpf probe --format json >/dev/null   # per-task timings
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
RETROBPF=${RETROBPF:-bin/retrobpf}
BPFTOOL=${BPFTOOL:-$(command -v bpftool || true)}

die() { echo "bench-probe: $*" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || die "needs root: both probes load BPF programs"
[ -n "$BPFTOOL" ] || die "bpftool not installed (make deps)"
if [ -z "${SKIP_BUILD:-}" ]; then
	make -s build >/dev/null || die "make build failed"
fi
[ -x "$RETROBPF" ] || die "$RETROBPF not built (make build)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

now_ns() { date +%s%N; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ms() { awk -v ns="$1" 'BEGIN {printf "%.1f", ns/1e6}'; }

# One untimed run of each warms the page cache and the BTF file.
"$RETROBPF" probe --format json >"$tmp/warm.json"
"$BPFTOOL" feature probe kernel >/dev/null

r_times=() b_times=()
printf '%-4s %14s %14s\n' run "retrobpf (ms)" "bpftool (ms)"
for i in $(seq 1 "$RUNS"); do
	t0=$(now_ns)
	"$RETROBPF" probe --format json >"$tmp/probe.json"
	t1=$(now_ns)
	"$BPFTOOL" feature probe kernel >"$tmp/bpftool.txt"
	t2=$(now_ns)
	r_times+=($((t1 - t0)))
	b_times+=($((t2 - t1)))
	printf '%-4s %14s %14s\n' "$i" "$(ms $((t1 - t0)))" "$(ms $((t2 - t1)))"
done

rm=$(median "${r_times[@]}")
bm=$(median "${b_times[@]}")
helpers=$(grep -c '"bpf_' "$tmp/probe.json" || true)
bhelpers=$(grep -c '^	- ' "$tmp/bpftool.txt" || true)
echo
printf 'median   %14s %14s\n' "$(ms "$rm")" "$(ms "$bm")"
awk -v r="$rm" -v b="$bm" 'BEGIN {printf "median ratio retrobpf/bpftool = %.2f (%s)\n", r/b, (r < b) ? "retrobpf faster" : "retrobpf SLOWER"}'
echo "work: retrobpf lists $helpers helper results (plus attach, BTF, test-run, stats probes); bpftool lists $bhelpers available helpers"
echo "host: $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
