package reports

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/retrobpf/retrobpf/internal/cliutil"
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

const schemaURL = "https://github.com/retrobpf/retrobpf/reports/results.schema.json"

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(JSONSchema))
	if err != nil {
		return nil, fmt.Errorf("results.schema.json: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("results.schema.json: %w", err)
	}
	return c.Compile(schemaURL)
})

// Load reads and validates a Results file. Every error names path.
func Load(path string) (*Results, error) {
	data, err := os.ReadFile(path)
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
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: not JSON: %v", ErrInvalid, err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalid)
	}
	v, ok := obj["schema_version"]
	if !ok {
		return nil, fmt.Errorf("%w: no schema_version (is this a retrobpf results file?)", ErrInvalid)
	}
	if n, ok := v.(json.Number); !ok || n.String() != fmt.Sprint(SchemaVersion) {
		return nil, fmt.Errorf("%w %v (this retrobpf reads %d)", ErrSchemaVersion, v, SchemaVersion)
	}
	if err := validate(doc); err != nil {
		return nil, err
	}
	var r Results
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return &r, nil
}

// Validate checks r against the JSON Schema, as Load would after a Save.
func (r *Results) Validate() error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return validate(doc)
}

func validate(doc any) error {
	sch, err := compiled()
	if err != nil {
		return err
	}
	err = sch.Validate(doc)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		return fmt.Errorf("%w: %s", ErrInvalid, leafErrors(ve))
	}
	return err
}

// leafErrors flattens the validator's error tree into one line: the
// innermost causes are the ones that name the offending value.
func leafErrors(ve *jsonschema.ValidationError) string {
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
	const max = 3
	if len(leaves) > max {
		leaves = append(leaves[:max], fmt.Sprintf("and %d more", len(leaves)-max))
	}
	return strings.Join(leaves, "; ")
}

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
	return cliutil.WriteAtomic(path, 0o644, r.Write)
}
