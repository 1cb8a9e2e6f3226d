package compat

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ProbeJSONSchema is probe.schema.json, the JSON Schema (draft 2020-12) of
// a ProbeReport (schema_version 1).
//
//go:embed probe.schema.json
var ProbeJSONSchema []byte

// ErrBadProbeReport is returned by LoadProbeReport for a file that is not a
// valid probe report (not JSON, wrong schema_version, schema violation).
var ErrBadProbeReport = errors.New("invalid probe report")

const probeSchemaURL = "https://github.com/retrobpf/retrobpf/compat/probe.schema.json"

var probeSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(ProbeJSONSchema))
	if err != nil {
		return nil, fmt.Errorf("probe.schema.json: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(probeSchemaURL, doc); err != nil {
		return nil, fmt.Errorf("probe.schema.json: %w", err)
	}
	return c.Compile(probeSchemaURL)
})

// LoadProbeReport reads a report saved by `retrobpf probe --format json`.
// Every error names path; invalid content wraps ErrBadProbeReport. A loaded
// report answers ksym:NAME and kfunc:NAME only for the names it recorded.
func LoadProbeReport(path string) (*ProbeReport, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err // *PathError names the file
	}
	r, err := DecodeProbeReport(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// DecodeProbeReport parses and validates one probe report: JSON syntax,
// schema_version, the JSON Schema, then the Go types.
func DecodeProbeReport(data []byte) (*ProbeReport, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: not JSON: %v", ErrBadProbeReport, err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: not a JSON object", ErrBadProbeReport)
	}
	v, ok := obj["schema_version"]
	if !ok {
		return nil, fmt.Errorf("%w: no schema_version (is this the output of retrobpf probe --format json?)", ErrBadProbeReport)
	}
	if n, ok := v.(json.Number); !ok || n.String() != fmt.Sprint(ProbeSchemaVersion) {
		return nil, fmt.Errorf("%w: schema_version %v is not supported (this retrobpf reads %d)", ErrBadProbeReport, v, ProbeSchemaVersion)
	}
	if err := validateProbeDoc(doc); err != nil {
		return nil, err
	}
	var r ProbeReport
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadProbeReport, err)
	}
	return &r, nil
}

// ValidateJSON checks the JSON form of r against probe.schema.json.
func (r *ProbeReport) ValidateJSON() error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return validateProbeDoc(doc)
}

func validateProbeDoc(doc any) error {
	sch, err := probeSchema()
	if err != nil {
		return err
	}
	err = sch.Validate(doc)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		return fmt.Errorf("%w: %s", ErrBadProbeReport, schemaLeaves(ve))
	}
	return err
}

// schemaLeaves flattens the validator's error tree into one line.
func schemaLeaves(ve *jsonschema.ValidationError) string {
	var leaves []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			leaves = append(leaves, strings.ReplaceAll(e.Error(), "\n", " "))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	sort.Strings(leaves)
	if len(leaves) > 3 {
		leaves = append(leaves[:3], fmt.Sprintf("and %d more", len(leaves)-3))
	}
	return strings.Join(leaves, "; ")
}
