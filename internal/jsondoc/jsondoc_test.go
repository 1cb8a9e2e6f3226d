package jsondoc

import (
	"errors"
	"strings"
	"testing"
)

var errBad = errors.New("bad doc")
var errVer = errors.New("bad version")

func kind() *Kind {
	return &Kind{
		Name: "t.schema.json", URL: "https://example.invalid/t.schema.json", Version: 1,
		Hint: "is this a test document?", ErrInvalid: errBad, ErrVersion: errVer,
		Schema: []byte(`{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",
			"required":["schema_version","name"],
			"properties":{"schema_version":{"const":1},"name":{"type":"string","minLength":1}}}`),
	}
}

type doc struct {
	SchemaVersion int    `json:"schema_version"`
	Name          string `json:"name"`
}

func TestDecode(t *testing.T) {
	k := kind()
	var d doc
	if err := k.Decode([]byte(`{"schema_version":1,"name":"x"}`), &d); err != nil || d.Name != "x" {
		t.Fatalf("valid: %v %+v", err, d)
	}
	for in, want := range map[string]error{
		`{`:                                  errBad,
		`[]`:                                 errBad,
		`{"name":"x"}`:                       errBad,
		`{"schema_version":2,"name":"x"}`:    errVer,
		`{"schema_version":"1","name":"x"}`:  errBad,
		`{"schema_version":null,"name":"x"}`: errBad,
		`{"schema_version":1,"name":""}`:     errBad,
		`{"schema_version":1,"name":"x","more":1}`: errBad,
	} {
		err := k.Decode([]byte(in), &d)
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", in, err, want)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", in, err)
		}
	}
	if err := k.Validate(doc{SchemaVersion: 1}); !errors.Is(err, errBad) {
		t.Errorf("Validate of an empty name: %v", err)
	}
}
