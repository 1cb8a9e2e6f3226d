#!/usr/bin/env bash
# bench-boot: per kernel, the boot-to-init time of a bare static init that
# powers off at once against the boot-to-ready time of the retrobpf agent
# (bin/retrobpf as the guest's /init), several runs each, medians side by
# side. PASS when the agent adds less than 0.3 s.
#
#   KERNELS=5.10,6.1,6.12 RUNS=5 ACCEL=auto bash scripts/bench-boot.sh
set -euo pipefail
cd "$(dirname "$0")/.."

KERNELS=${KERNELS:-5.10,6.1,6.12}
RUNS=${RUNS:-5}
ACCEL=${ACCEL:-auto}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

export CGO_ENABLED=0
go build -trimpath -o bin/retrobpf ./cmd/retrobpf
# The baseline init: the Go runtime, two hand-encoded frames, power-off.
go build -trimpath -ldflags=-s -o "$tmp/bareinit" ./vmtest/testdata/bareinit

echo "bench-boot: kernels $KERNELS, $RUNS runs each, accel $ACCEL, agent $(du -h bin/retrobpf | cut -f1) (stripped in the initramfs), bare init $(du -h "$tmp/bareinit" | cut -f1)"
echo "host clock: QEMU start to the Ready frame on the result port; CPU: QEMU's user+system time at that moment"
exec bin/retrobpf vm bench-boot --kernel "$KERNELS" --runs "$RUNS" --accel "$ACCEL" --bare-init "$tmp/bareinit"
