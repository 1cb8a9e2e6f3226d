package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestFixtureValidates round-trips the fixture through Save and Load.
func TestFixtureValidates(t *testing.T) {
	r := fixture()
	path := filepath.Join(t.TempDir(), "results.json")
	if err := r.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip changed the results:\n got %+v\nwant %+v", got.Kernels[0], r.Kernels[0])
	}
	// And with an independently compiled schema, from the file on disk.
	c := jsonschema.NewCompiler()
	sch, err := c.Compile("results.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(path)
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Fatal(err)
	}
}

// TestSchemaCoversGoTypes keeps results.schema.json and schema.go in step:
// every JSON field of every type is a schema property and vice versa.
func TestSchemaCoversGoTypes(t *testing.T) {
	var schema struct {
		Properties map[string]any `json:"properties"`
		Defs       map[string]struct {
			Properties map[string]any `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(JSONSchema, &schema); err != nil {
		t.Fatal(err)
	}
	types := map[string]reflect.Type{
		"":                 reflect.TypeFor[Results](),
		"tool":             reflect.TypeFor[Tool](),
		"shard":            reflect.TypeFor[Shard](),
		"manifest":         reflect.TypeFor[Manifest](),
		"manifest_program": reflect.TypeFor[ManifestProgram](),
		"kernel":           reflect.TypeFor[KernelResult](),
		"selection":        reflect.TypeFor[Selection](),
		"rejection":        reflect.TypeFor[Rejection](),
		"variant":          reflect.TypeFor[VariantResult](),
		"program":          reflect.TypeFor[ProgramResult](),
		"verifier":         reflect.TypeFor[VerifierStats](),
		"triage":           reflect.TypeFor[Triage](),
		"source":           reflect.TypeFor[SourceLocation](),
		"overhead":         reflect.TypeFor[Overhead](),
		"estimate":         reflect.TypeFor[Estimate](),
	}
	if len(types) != len(schema.Defs)+1 {
		t.Errorf("schema has %d $defs, Go has %d types", len(schema.Defs), len(types)-1)
	}
	for def, typ := range types {
		props := schema.Properties
		if def != "" {
			props = schema.Defs[def].Properties
		}
		goFields := map[string]bool{}
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			goFields[name] = true
			if _, ok := props[name]; !ok {
				t.Errorf("%s.%s (json %q) missing from schema $defs/%s", typ.Name(), f.Name, name, def)
			}
		}
		for p := range props {
			if !goFields[p] {
				t.Errorf("schema $defs/%s property %q has no field in %s", def, p, typ.Name())
			}
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	good := new(bytes.Buffer)
	if err := fixture().Write(good); err != nil {
		t.Fatal(err)
	}
	mutate := func(old, new string) []byte {
		if !strings.Contains(good.String(), old) {
			t.Fatalf("fixture JSON lacks %q", old)
		}
		return []byte(strings.Replace(good.String(), old, new, 1))
	}
	for _, tc := range []struct {
		name string
		data []byte
		want error
		msg  string
	}{
		{"not json", []byte("{"), ErrInvalid, "not JSON"},
		{"array", []byte("[]"), ErrInvalid, "not a JSON object"},
		{"no version", []byte(`{"kernels":[]}`), ErrInvalid, "no schema_version"},
		{"version 2", mutate(`"schema_version": 1`, `"schema_version": 2`), ErrSchemaVersion, "reads 1"},
		{"bad outcome", mutate(`"outcome": "failed"`, `"outcome": "exploded"`), ErrInvalid, "/kernels/0/outcome"},
		{"unknown field", mutate(`"emulated": true,`, `"emulated": true, "surprise": 1,`), ErrInvalid, "surprise"},
		{"zero insns negative", mutate(`"insns_processed": 1500`, `"insns_processed": -1`), ErrInvalid, "insns_processed"},
		{"bad version", mutate(`"version": "5.10"`, `"version": "five"`), ErrInvalid, "/kernels/0/version"},
		{"string version", mutate(`"schema_version": 1`, `"schema_version": "1"`), ErrInvalid, `not the string "1"`},
		{"kernel twice", duplicateKernel(t, fixture()), ErrInvalid, "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.data)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %q, want one line mentioning %q", err, tc.msg)
			}
		})
	}
	if _, err := Decode(good.Bytes()); err != nil {
		t.Fatalf("fixture: %v", err)
	}
}

func TestLoadNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broken.json")
	os.WriteFile(path, []byte(`{"schema_version": 7}`), 0o644)
	_, err := Load(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+": ") || !errors.Is(err, ErrSchemaVersion) {
		t.Fatalf("err = %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestSaveRefusesInvalid(t *testing.T) {
	r := fixture()
	r.Kernels[1].Outcome = "weird"
	path := filepath.Join(t.TempDir(), "out.json")
	if err := r.Save(path); !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("invalid results were written: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 0 {
		t.Fatalf("leftover files: %v", entries)
	}
}

// TestTestdataLoads keeps the CLI test inputs (used by the testscript
// files in cmd/retrobpf/testdata) valid under the schema.
func TestTestdataLoads(t *testing.T) {
	for _, f := range []string{"testdata/results-old.json", "testdata/results-new.json"} {
		r, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Kernels) != 2 {
			t.Fatalf("%s: %d kernels", f, len(r.Kernels))
		}
	}
}

// FuzzDecode: any input is refused with ErrInvalid/ErrSchemaVersion or
// decodes into results that validate again — never a panic.
func FuzzDecode(f *testing.F) {
	var b bytes.Buffer
	fixture().Write(&b)
	f.Add(b.Bytes())
	f.Add([]byte(`{"schema_version": 1}`))
	f.Add([]byte(`{"schema_version": 1.0, "kernels": null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrSchemaVersion) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("decoded results do not validate: %v", err)
		}
		for _, format := range Formats {
			if err := Render(io.Discard, r, format); err != nil {
				t.Fatalf("render %s: %v", format, err)
			}
		}
	})
}

// duplicateKernel returns r's JSON with its first kernel listed a second time.
func duplicateKernel(t *testing.T, r *Results) []byte {
	t.Helper()
	r.Kernels = append(r.Kernels, r.Kernels[0])
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
