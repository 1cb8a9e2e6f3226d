// Package triage explains why the kernel rejected a BPF program: a class
// (missing helper, loop, invalid memory access, …), the decisive message,
// the source line when the object carries line info, and a concrete hint
// (the fallback variant to use, the first kernel with the missing feature,
// how to change the code).
//
// Classification keys on the load error (errno, cilium/ebpf errors) and on
// the last lines of the verifier log, after normalising the wording that
// drifted between kernels ('inv' became 'scalar' in 5.18, "unknown func"
// became "program of this type cannot use helper" in 6.10, …). A message
// no rule knows is classified as other, never guessed.
package triage
