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

# CPU time (user+sys) comes from GNU time when installed: it shows how
# much of the wall time is kernel work both tools must do.
cpu() {
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f '%U %S' -o "$tmp/cpu" "$@" >"$tmp/out" && awk '{printf "%.0f", ($1+$2)*1000}' "$tmp/cpu"
	else
		"$@" >"$tmp/out" && printf '?'
	fi
}

r_times=() b_times=()
printf '%-4s %14s %10s %14s %10s\n' run "retrobpf (ms)" "cpu (ms)" "bpftool (ms)" "cpu (ms)"
for i in $(seq 1 "$RUNS"); do
	t0=$(now_ns)
	rc=$(cpu "$RETROBPF" probe --format json --output "$tmp/probe.json")
	t1=$(now_ns)
	bc=$(cpu "$BPFTOOL" feature probe kernel)
	t2=$(now_ns)
	r_times+=($((t1 - t0)))
	b_times+=($((t2 - t1)))
	printf '%-4s %14s %10s %14s %10s\n' "$i" "$(ms $((t1 - t0)))" "$rc" "$(ms $((t2 - t1)))" "$bc"
done
"$BPFTOOL" feature probe kernel >"$tmp/bpftool.txt"

# The helper matrix (one program load per program type and helper) is
# nearly all of bpftool's time; this shows what the rest of retrobpf's
# probe costs on top of it.
s_times=()
for i in $(seq 1 "$RUNS"); do
	t0=$(now_ns)
	"$RETROBPF" probe --skip-helpers --format json >/dev/null
	s_times+=($(($(now_ns) - t0)))
done

rm=$(median "${r_times[@]}")
bm=$(median "${b_times[@]}")
helpers=$(grep -c '"bpf_' "$tmp/probe.json" || true)
bhelpers=$(grep -c '^	- ' "$tmp/bpftool.txt" || true)
echo
printf 'median   %14s %14s\n' "$(ms "$rm")" "$(ms "$bm")"
awk -v r="$rm" -v b="$bm" 'BEGIN {printf "median ratio retrobpf/bpftool = %.2f (%s)\n", r/b, (r < b) ? "retrobpf faster" : "retrobpf SLOWER"}'
echo "retrobpf probe --skip-helpers: median $(ms "$(median "${s_times[@]}")") ms"
echo "work: retrobpf lists $helpers helper results (plus attach, BTF, test-run, stats probes); bpftool lists $bhelpers available helpers"
echo "host: $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
