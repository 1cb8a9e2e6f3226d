// Package suite reads a retrobpf manifest (bpf/suite.yaml: programs, their
// variants in preference order and the trigger that fires them) into the
// form the matrix runs: object paths resolved, trigger parameters typed,
// the file's digest kept for reports.
package suite
