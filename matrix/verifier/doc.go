// Package verifier loads BPF programs with a verifier log and extracts the
// verifier's figures from it: verdict, instructions processed, states,
// stack depth, verification time, xlated and JITed size.
//
// It copes with three generations of the stats line (≤ 4.14, 4.15–5.1 and
// 5.2+), with the 16 MiB log cap of kernels before 5.2 and with loads that
// fail with EINVAL or E2BIG before the verifier ever wrote a log. Missing
// figures are nil, never 0: veristat's zeros mislead cross-kernel
// comparisons.
package verifier
