// Package jsondoc decodes retrobpf's versioned JSON documents (probe
// reports, matrix results): JSON syntax, then schema_version, then the
// document's JSON Schema, then the Go types with unknown fields refused.
// Every failure is one line, so callers can prefix the file name.
package jsondoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Kind describes one document type.
type Kind struct {
	Name    string // the schema file name, e.g. "probe.schema.json"
	URL     string // the schema's $id
	Schema  []byte // the JSON Schema (draft 2020-12)
	Version int    // the only schema_version understood
	// Hint completes the "no schema_version" error, e.g. "is this the
	// output of retrobpf probe --format json?".
	Hint string
	// ErrInvalid is wrapped by every error about the content; ErrVersion
	// (if set, else ErrInvalid) by a wrong schema_version.
	ErrInvalid, ErrVersion error

	once     sync.Once
	compiled *jsonschema.Schema
	err      error
}

func (k *Kind) schema() (*jsonschema.Schema, error) {
	k.once.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(k.Schema))
		if err != nil {
			k.err = fmt.Errorf("%s: %w", k.Name, err)
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if err := c.AddResource(k.URL, doc); err != nil {
			k.err = fmt.Errorf("%s: %w", k.Name, err)
			return
		}
		k.compiled, k.err = c.Compile(k.URL)
	})
	return k.compiled, k.err
}

// Decode validates data as a document of this kind and decodes it into v.
func (k *Kind) Decode(data []byte, v any) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: not JSON: %v", k.ErrInvalid, err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return fmt.Errorf("%w: not a JSON object", k.ErrInvalid)
	}
	ver, ok := obj["schema_version"]
	if !ok {
		return fmt.Errorf("%w: no schema_version (%s)", k.ErrInvalid, k.Hint)
	}
	if _, isNumber := ver.(json.Number); !isNumber {
		// "1" (a string) would otherwise read "unsupported schema_version 1
		// (this retrobpf reads 1)".
		return fmt.Errorf("%w: schema_version must be the number %d, not %s", k.ErrInvalid, k.Version, describeJSON(ver))
	}
	if n := ver.(json.Number); n.String() != fmt.Sprint(k.Version) {
		if k.ErrVersion != nil { // its text names the problem: "unsupported schema_version"
			return fmt.Errorf("%w %v (this retrobpf reads %d)", k.ErrVersion, ver, k.Version)
		}
		return fmt.Errorf("%w: schema_version %v is not supported (this retrobpf reads %d)", k.ErrInvalid, ver, k.Version)
	}
	if err := k.validate(doc); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", k.ErrInvalid, err)
	}
	return nil
}

// Validate checks the JSON form of v against the schema, as Decode would
// after it was written.
func (k *Kind) Validate(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return k.validate(doc)
}

func (k *Kind) validate(doc any) error {
	sch, err := k.schema()
	if err != nil {
		return err
	}
	err = sch.Validate(doc)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		return fmt.Errorf("%w: %s", k.ErrInvalid, leafErrors(ve))
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

// describeJSON names a decoded JSON value for an error message.
func describeJSON(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", v)
	case bool:
		return fmt.Sprintf("the boolean %v", v)
	case nil:
		return "null"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%v", v)
}
