// Package reports is the sink of a retrobpf kernel-matrix run: the versioned
// results schema (one Results document per run or shard), loading, saving
// and merging it, rendering it for people and CI systems, and comparing two
// runs with gates.
//
// # Schema
//
// A Results document is JSON with "schema_version": 1 (SchemaVersion). Its
// JSON Schema is results.schema.json in this directory (also available as
// JSONSchema); Load validates every document against it, so a file written
// by a newer or broken producer is refused with one clear error naming the
// file. The Go types in schema.go are the documentation of every field.
//
// Figures that could not be measured are absent (JSON null / omitted,
// nil pointers in Go), never 0: "not measurable" and "zero" are different
// answers. Overhead.NotMeasurable says why a figure is missing.
//
// Under TCG (KernelResult.Accel == "tcg") absolute times are emulated; only
// ratios measured inside one VM (variant against variant, program against
// the baseline) are meaningful. Every renderer says so.
//
// # Rendering
//
// Render writes one of the Formats: table, json, markdown (fits a GitHub
// step summary), junit, html (one self-contained file), sarif (code-scanning
// annotations for verifier rejections) and csv (veristat-compatible).
//
// # Comparing
//
// Compare joins a baseline and a new run per kernel × program/variant, and
// ParseGates / Gates.Check decide whether the difference is acceptable
// (the `retrobpf report diff --fail-on` expression, see GateSyntax).
// Merge joins the results of CI shards.
//
// Package reportstest checks rendered reports the way their consumers
// read them, for fixtures and for end-to-end results alike.
package reports
