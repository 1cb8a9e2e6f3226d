// Package manifest reads a retrobpf manifest — logical programs, each with
// variants in preference order, the objects that implement them, what each
// variant requires and the trigger that fires them — and selects, per
// program, the first variant a target kernel can run.
//
// Load and Parse validate strictly: unknown keys, duplicate names, unknown
// feature IDs, bad kernel constraints, bad triggers and missing objects
// are errors naming the file and line that wrap ErrInvalid. The same
// Manifest serves `check`, `select` and the matrix: it keeps the file's
// bytes and digest so the guest of a VM selects from what the host read.
//
// Select answers from a compat.Target (a kernel version, a probe report,
// a kernel's own BTF): every requirement of a variant, explicit or derived
// by compat.Analyze from its objects, is evaluated, and a rejected variant
// lists what was missing with the catalog's version and hint.
package manifest
