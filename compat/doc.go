// Package compat knows which BPF features exist, since which upstream kernel,
// how to probe them, and what a compiled object needs.
//
// The feature catalog (Catalog, Lookup) is the single source of truth: the
// running-kernel probe (package compat/probe), the static analysis of ELF
// objects (Analyze), the variant selection (package manifest), the docs and
// the reports all read it.
//
// A Target answers "does this kernel have feature X?" in three states:
// Supported, Unsupported, or Unknown with the raw error — never a guess.
// Targets come from a kernel version (VersionTarget, catalog knowledge only),
// or from a probe of a real kernel (probe.Report).
package compat
