#!/usr/bin/env bash
# bench-btf: size and time of retrobpf's pure-Go BTF minimizer against
# `bpftool gen min_core_btf` (BTFgen) on the bundled suite's objects, side by
# side with ratios. Figures come from this script, never from unit tests.
#
#   RETROBPF=bin/retrobpf  BTF=/sys/kernel/btf/vmlinux  RUNS=5  bash scripts/bench-btf.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RETROBPF=${RETROBPF:-bin/retrobpf}
BTF=${BTF:-/sys/kernel/btf/vmlinux}
RUNS=${RUNS:-5}
BPFTOOL=${BPFTOOL:-$(command -v bpftool || true)}

die() { echo "bench-btf: $*" >&2; exit 2; }
[ -x "$RETROBPF" ] || die "$RETROBPF not built (make build)"
[ -r "$BTF" ] || die "no full BTF at $BTF (set BTF=FILE)"
[ -n "$BPFTOOL" ] || die "bpftool not installed (make deps)"

# Objects: the bundled suite, else the test objects. BTFgen needs .BTF.ext
# (CO-RE relocations); objects without it are skipped by both tools.
mapfile -t candidates < <(find bpf -name '*.o' 2>/dev/null | sort)
if [ ${#candidates[@]} -eq 0 ]; then
	mapfile -t candidates < <(find compat/testdata btfhub/minimize/testdata -name '*.o' 2>/dev/null | sort)
fi
objects=()
for o in "${candidates[@]}"; do
	if readelf -S -W "$o" 2>/dev/null | grep -q '\.BTF\.ext'; then
		objects+=("$o")
	fi
done
[ ${#objects[@]} -gt 0 ] || die "no BPF objects with .BTF.ext found (make bpf)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

now_ns() { date +%s%N; }
# median of the arguments
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
types_in() { "$BPFTOOL" btf dump file "$1" 2>/dev/null | grep -c '^\[' || true; }

# run_case LABEL OBJECTS...: prints one table row.
run_case() {
	local label=$1; shift
	local ours=() theirs=() i t0 ok_ours=1 ok_theirs=1
	for ((i = 0; i < RUNS; i++)); do
		t0=$(now_ns)
		"$RETROBPF" btf minimize -q --btf "$BTF" --output "$tmp/ours.btf" "$@" >/dev/null 2>"$tmp/ours.err" || ok_ours=0
		ours+=($(( ($(now_ns) - t0) / 1000 )))
		t0=$(now_ns)
		"$BPFTOOL" gen min_core_btf "$BTF" "$tmp/theirs.btf" "$@" >/dev/null 2>"$tmp/theirs.err" || ok_theirs=0
		theirs+=($(( ($(now_ns) - t0) / 1000 )))
	done
	if [ $ok_ours = 0 ] || [ $ok_theirs = 0 ]; then
		printf '%-34s  %s\n' "$label" "skipped: $(head -c 100 "$tmp/ours.err" | tr '\n' ' ')$(head -c 100 "$tmp/theirs.err" | tr '\n' ' ')"
		return
	fi
	local us_ours us_theirs sz_ours sz_theirs ty_ours ty_theirs
	us_ours=$(median "${ours[@]}"); us_theirs=$(median "${theirs[@]}")
	sz_ours=$(stat -c %s "$tmp/ours.btf"); sz_theirs=$(stat -c %s "$tmp/theirs.btf")
	ty_ours=$(types_in "$tmp/ours.btf"); ty_theirs=$(types_in "$tmp/theirs.btf")
	awk -v l="$label" -v so="$sz_ours" -v st="$sz_theirs" -v to="$ty_ours" -v tt="$ty_theirs" -v uo="$us_ours" -v ut="$us_theirs" \
		'function r(a, b) { return b > 0 ? a / b : 0 }
		 BEGIN { printf "%-34s  %9d %9d %6.2f  %6d %6d %6.2f  %9.1f %9.1f %6.2f\n", l, so, st, r(so, st), to, tt, r(to, tt), uo / 1000, ut / 1000, r(uo, ut) }'
}

full_size=$(stat -c %s "$BTF" 2>/dev/null || wc -c <"$BTF")
[ "$full_size" -gt 0 ] || full_size=$(wc -c <"$BTF")
echo "full BTF: $BTF ($full_size bytes, $(types_in "$BTF") types); $RUNS runs per tool, median time"
echo "retrobpf: $RETROBPF ($("$RETROBPF" version 2>/dev/null | head -1)); bpftool: $("$BPFTOOL" version 2>/dev/null | head -1)"
echo
printf '%-34s  %9s %9s %6s  %6s %6s %6s  %9s %9s %6s\n' "objects" "bytes" "bytes" "ratio" "types" "types" "ratio" "ms" "ms" "ratio"
printf '%-34s  %9s %9s %6s  %6s %6s %6s  %9s %9s %6s\n' "" "retrobpf" "bpftool" "r/b" "retro" "bpftl" "r/b" "retrobpf" "bpftool" "r/b"
for o in "${objects[@]}"; do
	run_case "$(basename "$o")" "$o"
done
run_case "all ${#objects[@]} objects together" "${objects[@]}"
echo
echo "ratio r/b = retrobpf / bpftool (below 1: retrobpf is smaller or faster)."
echo "retrobpf's time includes parsing the full BTF and its built-in equivalence check."
