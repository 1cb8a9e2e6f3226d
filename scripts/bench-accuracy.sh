#!/usr/bin/env bash
# bench-accuracy: how often `retrobpf check` agrees with the kernel, on
# programs nobody here wrote. The corpus is every BPF object embedded in
# Debian's libbpf-tools (make deps-test installs it); the ground truth is
# each program loaded and attached alone inside real 5.10, 6.1 and 6.12
# kernels (one VM per kernel); check is then run in each target mode and
# its per-program verdicts counted against what the kernel did.
#
#   KERNELS="5.10 6.1 6.12" ACCEL=tcg bash scripts/bench-accuracy.sh
#
# The corpus and VM outputs are cached under $ACCURACY_DIR (default
# $XDG_CACHE_HOME/retrobpf/accuracy), never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
KERNELS=${KERNELS:-5.10 6.1 6.12}
ACCEL=${ACCEL:-tcg}
dir=${ACCURACY_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/retrobpf/accuracy}
mkdir -p "$dir"
CGO_ENABLED=0 $GO build -trimpath -o bin/retrobpf ./cmd/retrobpf
$GO run ./scripts/accuracy extract /usr/sbin "$dir/corpus"
$GO run ./scripts/accuracy manifest "$dir/corpus" > "$dir/corpus/corpus.yaml"
files=()
for f in "$dir"/corpus/*; do files+=(-F "$f"); done
args=()
for k in $KERNELS; do
	if [ ! -s "$dir/truth-attach-$k.json" ]; then
		# Each program loaded and attached alone (--attach-only): a kprobe,
		# fentry or tracepoint target that is missing is refused at attach
		# time, which a verifier-only load never sees. guest-run exits 1
		# when selection and loads disagree; the results are written all
		# the same.
		bin/retrobpf vm exec -k "$k" --accel "$ACCEL" "${files[@]}" --timeout 30m -- \
			/bin/retrobpf guest-run --manifest /corpus.yaml --attach-only --no-probe --ref "$k" -f json \
			> "$dir/truth-attach-$k.json" 2> "$dir/truth-attach-$k.err" || true
	fi
	if [ ! -s "$dir/probe-$k.json" ] || ! grep -q '"kernel_btf"' "$dir/probe-$k.json"; then
		bin/retrobpf vm exec -k "$k" --accel "$ACCEL" --timeout 10m -- /bin/retrobpf probe -f json --kernel-btf > "$dir/probe-$k.json"
	fi
	version=$(sed -n 's/.*"version": "\([0-9.]*\)".*/\1/p' "$dir/probe-$k.json" | head -1)
	bin/retrobpf check -f json --kernel "$version" "$dir"/corpus/*.bpf.o > "$dir/check-$k-kernel.json" 2>/dev/null || true
	bin/retrobpf check -f json --probe "$dir/probe-$k.json" "$dir"/corpus/*.bpf.o > "$dir/check-$k-probe.json" 2>/dev/null || true
	args+=("$k:--kernel=$dir/check-$k-kernel.json" "$k:--probe=$dir/check-$k-probe.json")
	# --kernel-image: the cached kernel read without booting it, its BTF
	# decompressed from the image (Debian's System.map is a placeholder).
	bin/retrobpf check -f json --kernel-image "$k" "$dir"/corpus/*.bpf.o > "$dir/check-$k-image.json" 2>/dev/null || true
	args+=("$k:--kernel-image=$dir/check-$k-image.json")
	# --kernel V --btf: the version plus that kernel's own types, made by
	# pahole from Debian's -dbg package as BTFHub makes them; then with the
	# symbol table and the ftrace call sites of that package's vmlinux too
	# (--kallsyms System.map, --traceable), which decide the kprobe and
	# fentry targets BTF cannot.
	btf=$dir/btf-$k.btf
	if { [ -s "$btf" ] && [ -s "$btf.System.map" ] && [ -s "$btf.available_filter_functions" ]; } || $GO run ./scripts/accuracy debugbtf "$k" "$btf"; then
		bin/retrobpf check -f json --kernel "$version" --btf "$dir/btf-$k.btf" "$dir"/corpus/*.bpf.o > "$dir/check-$k-btf.json" 2>/dev/null || true
		args+=("$k:--kernel+btf=$dir/check-$k-btf.json")
		# The image (version, config, its own BTF) with the -dbg symbols.
		bin/retrobpf check -f json --kernel-image "$k" --kallsyms "$btf.System.map" --traceable "$btf.available_filter_functions" "$dir"/corpus/*.bpf.o > "$dir/check-$k-image-symbols.json" 2>/dev/null || true
		args+=("$k:--kernel-image+symbols=$dir/check-$k-image-symbols.json")
	fi
done
# A kernel without vmlinux BTF: Debian's 6.1 with /sys/kernel/btf hidden
# (the hide_btf profile), first with nothing else (CO-RE, tp_btf and
# fentry refused), then with its types given to the loader from outside,
# the way BTFHub serves kernels without BTF (the -dbg package's BTF).
if [ "${NOBTF:-6.1}" != "" ]; then
	k=${NOBTF:-6.1}
	job() { printf '{"manifest": "/corpus.yaml", "ref": "%s", "hide_kernel_btf": true, "no_probe": true%s}' "$1" "$2"; }
	job "$k-nobtf" ', "attach_only": true' > "$dir/job-nobtf.json"
	job "$k-nobtf" ', "probe_only": true' > "$dir/job-nobtf-probe.json"
	if [ ! -s "$dir/truth-attach-$k-nobtf.json" ]; then
		bin/retrobpf vm exec -k "$k" --accel "$ACCEL" "${files[@]}" -F "$dir/job-nobtf.json" --timeout 30m -- \
			/bin/retrobpf guest-run --job /job-nobtf.json > "$dir/truth-attach-$k-nobtf.json" 2> "$dir/truth-attach-$k-nobtf.err" || true
	fi
	if [ ! -s "$dir/probe-$k-nobtf.json" ]; then
		bin/retrobpf vm exec -k "$k" --accel "$ACCEL" "${files[@]}" -F "$dir/job-nobtf-probe.json" --timeout 10m -- \
			/bin/retrobpf guest-run --job /job-nobtf-probe.json > "$dir/probe-$k-nobtf.json" 2> "$dir/probe-$k-nobtf.err" || true
	fi
	version=$(sed -n 's/.*"version": "\([0-9.]*\)".*/\1/p' "$dir/probe-$k-nobtf.json" | head -1)
	bin/retrobpf check -f json --kernel "$version" "$dir"/corpus/*.bpf.o > "$dir/check-$k-nobtf-kernel.json" 2>/dev/null || true
	bin/retrobpf check -f json --probe "$dir/probe-$k-nobtf.json" "$dir"/corpus/*.bpf.o > "$dir/check-$k-nobtf-probe.json" 2>/dev/null || true
	args+=("$k-nobtf:--kernel=$dir/check-$k-nobtf-kernel.json" "$k-nobtf:--probe=$dir/check-$k-nobtf-probe.json")
	btf=$dir/btf-$k.btf
	if [ -s "$btf" ]; then
		job "$k-hub" ', "attach_only": true, "btf": "/btf-'"$k"'.btf"' > "$dir/job-hub.json"
		if [ ! -s "$dir/truth-attach-$k-hub.json" ]; then
			bin/retrobpf vm exec -k "$k" --accel "$ACCEL" "${files[@]}" -F "$btf" -F "$dir/job-hub.json" --timeout 30m -- \
				/bin/retrobpf guest-run --job /job-hub.json > "$dir/truth-attach-$k-hub.json" 2> "$dir/truth-attach-$k-hub.err" || true
		fi
		bin/retrobpf check -f json --probe "$dir/probe-$k-nobtf.json" --btf "$btf" "$dir"/corpus/*.bpf.o > "$dir/check-$k-hub-probe.json" 2>/dev/null || true
		bin/retrobpf check -f json --kernel "$version" --btf "$btf" --kallsyms "$btf.System.map" --traceable "$btf.available_filter_functions" "$dir"/corpus/*.bpf.o > "$dir/check-$k-hub-symbols.json" 2>/dev/null || true
		args+=("$k-hub:--probe+btf=$dir/check-$k-hub-probe.json" "$k-hub:--kernel+btf+symbols=$dir/check-$k-hub-symbols.json")
	fi
fi
echo "bench-accuracy: $(grep -c 'name: only' "$dir/corpus/corpus.yaml") programs of $(ls "$dir"/corpus/*.bpf.o | wc -l) libbpf-tools objects; truth = each loaded and attached alone in the kernel (accel $ACCEL)"
$GO run ./scripts/accuracy compare "$dir" "${args[@]}"
echo "goals (issue 11): 0 false-compat in every mode; --probe agreement >= 98 % with unconfirmed <= 2 %; --kernel V with a BTF for it >= 95 %"
