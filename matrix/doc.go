// Package matrix runs a manifest's programs on a list of kernels: one VM
// per kernel (never one per program), each running `retrobpf guest-run`
// through vmtest with the manifest and its objects shipped as files, and
// each step's options as one guest.Job JSON file (never argv). Kernel
// references arrive parsed (ParseKernels), so a bad one is refused before
// anything boots. Errors wrap this package's sentinels; the command
// decides exit codes.
// Results are persisted per kernel as they arrive (DIR/<kernel>.json,
// written atomically), so a crash or Ctrl-C keeps every finished kernel
// and --resume continues; the combined results.json and a rendered report
// come last. Shards split the kernel list for CI matrices.
//
// Sub-packages: verifier (loads with verifier figures), triage (rejection
// classes and hints), overhead (run-time cost), suite (the manifest),
// guest (the in-kernel work of guest-run).
package matrix
