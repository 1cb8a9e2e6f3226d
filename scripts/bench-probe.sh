#!/usr/bin/env bash
# bench-probe: the full `retrobpf probe --format json` against
# `bpftool feature probe kernel` on this host, run RUNS times each
# (alternating which goes first), printing each run's wall time and CPU
# time (user+sys of the process, from the shell's child rusage, 1 ms
# resolution), the medians and the median ratios. Needs root (both tools
# probe by loading programs). Figures come from this script, never from
# unit tests.
#
#   RUNS=11 bash scripts/bench-probe.sh
#   RETROBPF=/tmp/old-retrobpf SKIP_BUILD=1 bash scripts/bench-probe.sh   # another build
#   RETROBPF_PROBE_TRACE=1 bin/retrobpf probe --format json >/dev/null     # per-task timings
#
# CPU time counts the probing process only: both tools make the kernel
# free every rejected probe program from a kworker, which neither pays for
# in its own rusage.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-11}
RETROBPF=${RETROBPF:-bin/retrobpf}
BPFTOOL=${BPFTOOL:-$(command -v bpftool || true)}

die() { echo "bench-probe: $*" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || die "needs root: both probes load BPF programs"
[ -n "$BPFTOOL" ] || die "bpftool not installed (make deps)"
[ -n "${EPOCHREALTIME:-}" ] || die "needs bash >= 5 (EPOCHREALTIME)"
if [ -z "${SKIP_BUILD:-}" ]; then
	make -s build >/dev/null || die "make build failed"
fi
[ -x "$RETROBPF" ] || die "$RETROBPF not built (make build)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# children_cpu FILE: user+sys (ms) of every child this shell has waited
# for, from the `times` builtin saved in FILE.
children_cpu() {
	awk 'NR==2 {
		n = split($0, f, " ")
		for (i = 1; i <= n; i++) { split(f[i], p, /[ms]/); t += p[1]*60 + p[2] }
		printf "%.0f", t*1000
	}' "$1"
}

# measure CMD...: runs CMD (stdout to $tmp/out) without forking anything
# else in between, and sets WALL_MS and CPU_MS.
measure() {
	times >"$tmp/t0"
	local t0=$EPOCHREALTIME
	"$@" >"$tmp/out"
	local t1=$EPOCHREALTIME
	times >"$tmp/t1"
	WALL_MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b-a)*1000}')
	CPU_MS=$(($(children_cpu "$tmp/t1") - $(children_cpu "$tmp/t0")))
}

# One untimed run of each warms the page cache and the BTF file.
"$RETROBPF" probe --format json >"$tmp/warm.json"
"$BPFTOOL" feature probe kernel >/dev/null

run_retrobpf() { measure "$RETROBPF" probe --format json --output "$tmp/probe.json"; r_wall+=("$WALL_MS") r_cpu+=("$CPU_MS"); }
run_bpftool() { measure "$BPFTOOL" feature probe kernel; b_wall+=("$WALL_MS") b_cpu+=("$CPU_MS"); }

r_wall=() r_cpu=() b_wall=() b_cpu=()
printf '%-4s %15s %15s %15s %15s\n' run "retrobpf wall" "retrobpf cpu" "bpftool wall" "bpftool cpu"
for i in $(seq 1 "$RUNS"); do
	if ((i % 2)); then run_retrobpf; run_bpftool; else run_bpftool; run_retrobpf; fi
	printf '%-4s %12s ms %12s ms %12s ms %12s ms\n' "$i" "${r_wall[-1]}" "${r_cpu[-1]}" "${b_wall[-1]}" "${b_cpu[-1]}"
done
"$BPFTOOL" feature probe kernel >"$tmp/bpftool.txt"

# The helper matrix (one program load per program type and helper) is
# nearly all of bpftool's time; this shows what the rest of retrobpf's
# probe costs on top of it.
s_wall=() s_cpu=()
for i in $(seq 1 "$RUNS"); do
	measure "$RETROBPF" probe --skip-helpers --format json
	s_wall+=("$WALL_MS") s_cpu+=("$CPU_MS")
done

# The attach surface (kallsyms, BTF functions, tracepoints) a JSON report
# records so a saved probe decides attach targets; bpftool records none.
n_wall=() n_cpu=()
for i in $(seq 1 "$RUNS"); do
	measure "$RETROBPF" probe --no-attach-surface --format json
	n_wall+=("$WALL_MS") n_cpu+=("$CPU_MS")
done

# A repeated pre-deploy check answered from the probe cache (same kernel,
# boot and options; sysctls read again), in its own cache directory.
export XDG_CACHE_HOME="$tmp/cache"
"$RETROBPF" probe --cache --format json >/dev/null
c_wall=() c_cpu=()
for i in $(seq 1 "$RUNS"); do
	measure "$RETROBPF" probe --cache --format json
	c_wall+=("$WALL_MS") c_cpu+=("$CPU_MS")
done
unset XDG_CACHE_HOME

rw=$(median "${r_wall[@]}") rc=$(median "${r_cpu[@]}")
bw=$(median "${b_wall[@]}") bc=$(median "${b_cpu[@]}")
helpers=$(grep -c '"bpf_' "$tmp/probe.json" || true)
bhelpers=$(grep -c '^	- ' "$tmp/bpftool.txt" || true)
echo
printf '%-4s %12s ms %12s ms %12s ms %12s ms\n' median "$rw" "$rc" "$bw" "$bc"
awk -v r="$rw" -v b="$bw" 'BEGIN {printf "median wall ratio retrobpf/bpftool = %.2f (%s)\n", r/b, (r < b) ? "retrobpf faster" : "retrobpf SLOWER"}'
awk -v r="$rc" -v b="$bc" 'BEGIN {printf "median cpu  ratio retrobpf/bpftool = %.2f\n", (b > 0) ? r/b : 0}'
echo "retrobpf probe --skip-helpers: median wall $(median "${s_wall[@]}") ms, cpu $(median "${s_cpu[@]}") ms"
echo "retrobpf probe --no-attach-surface: median wall $(median "${n_wall[@]}") ms, cpu $(median "${n_cpu[@]}") ms (the full probe records kallsyms, BTF functions and tracepoints on top)"
cw=$(median "${c_wall[@]}")
awk -v c="$cw" -v b="$bw" -v cc="$(median "${c_cpu[@]}")" 'BEGIN {printf "retrobpf probe --cache (hit): median wall %s ms, cpu %s ms; ratio to bpftool wall = %.2f (goal <= 0.5)\n", c, cc, c/b}'
echo "work: retrobpf lists $helpers helper results (plus attach, BTF, test-run, stats probes); bpftool lists $bhelpers available helpers"
echo "host: $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
