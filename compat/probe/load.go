package probe

import (
	_ "embed"
	"errors"
	"fmt"

	"github.com/retrobpf/retrobpf/internal/inputfile"
	"github.com/retrobpf/retrobpf/internal/jsondoc"
)

// JSONSchema is probe.schema.json, the JSON Schema (draft 2020-12) of
// a Report (schema_version 1).
//
//go:embed probe.schema.json
var JSONSchema []byte

// ErrBadReport is returned by Load for a file that is not a
// valid probe report (not JSON, wrong schema_version, schema violation).
var ErrBadReport = errors.New("invalid probe report")

// probeDoc is the probe report document kind: JSON, schema_version, schema.
var probeDoc = &jsondoc.Kind{
	Name:       "probe.schema.json",
	URL:        "https://github.com/retrobpf/retrobpf/compat/probe.schema.json",
	Schema:     JSONSchema,
	Version:    SchemaVersion,
	Hint:       "is this the output of retrobpf probe --format json?",
	ErrInvalid: ErrBadReport,
}

// Load reads a report saved by `retrobpf probe --format json`.
// Every error names path; invalid content wraps ErrBadReport. A loaded
// report answers ksym:NAME and kfunc:NAME only for the names it recorded.
func Load(path string) (*Report, error) {
	data, err := inputfile.Read(path, maxReport)
	if err != nil {
		return nil, err // names the file
	}
	r, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// maxReport bounds a report file: the attach surface takes about 1.5 MB,
// the kernel's BTF (--kernel-btf) about 2 MB more.
const maxReport = 128 << 20

// Decode parses and validates one probe report: JSON syntax,
// schema_version, the JSON Schema, then the Go types.
func Decode(data []byte) (*Report, error) {
	var r Report
	if err := probeDoc.Decode(data, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// ValidateJSON checks the JSON form of r against probe.schema.json.
func (r *Report) ValidateJSON() error { return probeDoc.Validate(r) }
