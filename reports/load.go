package reports

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/retrobpf/retrobpf/internal/atomicfile"
	"github.com/retrobpf/retrobpf/internal/jsondoc"

	"github.com/retrobpf/retrobpf/internal/inputfile"
)

// JSONSchema is results.schema.json, the JSON Schema (draft 2020-12) of a
// Results document.
//
//go:embed results.schema.json
var JSONSchema []byte

// Errors returned by Load and Decode, checked with errors.Is.
var (
	// ErrInvalid: the document is not JSON or does not match the schema.
	ErrInvalid = errors.New("invalid results")
	// ErrSchemaVersion: the document has another schema_version.
	ErrSchemaVersion = errors.New("unsupported schema_version")
)

// resultsDoc is the Results document kind: JSON, schema_version, schema.
var resultsDoc = &jsondoc.Kind{
	Name:       "results.schema.json",
	URL:        "https://github.com/retrobpf/retrobpf/reports/results.schema.json",
	Schema:     JSONSchema,
	Version:    SchemaVersion,
	Hint:       "is this a retrobpf results file?",
	ErrInvalid: ErrInvalid,
	ErrVersion: ErrSchemaVersion,
}

// Load reads and validates a Results file. Every error names path.
func Load(path string) (*Results, error) {
	data, err := inputfile.Read(path, inputfile.MaxDocument)
	if err != nil {
		return nil, err // *PathError already names the file
	}
	r, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// Decode parses and validates one Results document: JSON syntax, then
// schema_version, then the JSON Schema, then the Go types.
func Decode(data []byte) (*Results, error) {
	var r Results
	if err := resultsDoc.Decode(data, &r); err != nil {
		return nil, err
	}
	// The ref is the join key of merge, diff and every grid: a kernel listed
	// twice would render as two columns of one name and diff one of them.
	seen := make(map[string]bool, len(r.Kernels))
	for _, k := range r.Kernels {
		if seen[k.Ref] {
			return nil, fmt.Errorf("%w: kernel %q is listed twice", ErrInvalid, k.Ref)
		}
		seen[k.Ref] = true
	}
	return &r, nil
}

// Validate checks r against the JSON Schema, as Load would after a Save.
func (r *Results) Validate() error { return resultsDoc.Validate(r) }

// Write encodes r as indented JSON (the "json" format).
func (r *Results) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// Save validates r and writes it to path atomically: a reader (or a crash)
// never sees a half-written file. SchemaVersion and Tool.Name are filled
// in when zero.
func (r *Results) Save(path string) error {
	if r.SchemaVersion == 0 {
		r.SchemaVersion = SchemaVersion
	}
	if r.Tool.Name == "" {
		r.Tool.Name = "retrobpf"
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return atomicfile.Write(path, 0o644, r.Write)
}
