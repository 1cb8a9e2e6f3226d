// Package guest is the work `retrobpf guest-run` does inside one kernel
// (or on the host): probe the kernel, select a variant per program
// statically, then load every variant of every program — dead fallbacks
// included — collect verifier figures and triage, attach, run the trigger,
// measure the overhead, and check that every selected variant really
// loaded. The result is one reports.KernelResult plus the compressed
// verifier logs.
package guest
