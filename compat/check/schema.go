package check

import (
	_ "embed"
	"errors"

	"github.com/retrobpf/retrobpf/internal/jsondoc"
)

// JSONSchema is check.schema.json, the JSON Schema (draft 2020-12) of a
// Result.
//
//go:embed check.schema.json
var JSONSchema []byte

// ErrInvalid: a document is not a valid check Result.
var ErrInvalid = errors.New("invalid check output")

var resultDoc = &jsondoc.Kind{
	Name:       "check.schema.json",
	URL:        "https://github.com/retrobpf/retrobpf/compat/check/check.schema.json",
	Schema:     JSONSchema,
	Version:    SchemaVersion,
	Hint:       "is this retrobpf check --format json output?",
	ErrInvalid: ErrInvalid,
}

// Validate checks the JSON form of r against check.schema.json.
func (r *Result) Validate() error { return resultDoc.Validate(r) }

// Decode reads check --format json output strictly.
func Decode(data []byte) (*Result, error) {
	var r Result
	if err := resultDoc.Decode(data, &r); err != nil {
		return nil, err
	}
	r.hasTarget = r.Target != ""
	return &r, nil
}
