// Package check compares compiled BPF objects with a target kernel without
// loading them: the model behind `retrobpf check`.
//
// Analyze reads each object with compat.Analyze (an unreadable one is kept
// with its error, so one bad input costs only its own entry); Evaluate
// compares every program with a Target and decides the overall verdict.
// The JSON form of a Result is versioned (SchemaVersion) and documented by
// check.schema.json, like the probe report and the matrix results.
package check
