// Package probe asks the running kernel which features of the catalog it
// has, the way bpftool feature probe does but in three states: every
// answer is Supported, Unsupported, or Unknown with the raw error that made
// it unknown — a probe that could not decide is never read as unsupported.
//
// Probe runs the probes (program and map types, map flags, the helper
// matrix, attach types, BTF, instruction-set levels, limits, test runs,
// stats) and returns a Report. A Report is a compat.Target, so the static
// analysis and the variant selection answer from it as from a kernel
// version. Report JSON is versioned (SchemaVersion) and documented by
// probe.schema.json; Load and Decode read it back strictly.
package probe
