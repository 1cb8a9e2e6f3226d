package check

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/kversion"
)

func objects(t *testing.T) []string {
	t.Helper()
	objs, err := filepath.Glob("../testdata/*.o")
	if err != nil || len(objs) == 0 {
		t.Fatalf("no test objects: %v", err)
	}
	return append(objs, "../testdata/bad/truncated.o", "../testdata/missing.o")
}

func TestEvaluateVersionTarget(t *testing.T) {
	r := Analyze(objects(t), compat.AnalyzeOptions{})
	bad := 0
	for _, o := range r.Objects {
		if o.Error != "" {
			bad++
			if strings.Contains(o.Error, o.Path) {
				t.Errorf("%s: error repeats the file name: %q", o.Path, o.Error)
			}
		}
	}
	if bad != 2 {
		t.Fatalf("%d unreadable objects, want 2", bad)
	}
	v := kversion.MustParse("6.12")
	r.Evaluate(&Target{Target: compat.VersionTarget(v), Version: v, VersionOnly: true})
	if r.OK {
		t.Error("OK with unreadable inputs and a non-GPL program")
	}
	ok, total := r.Counts()
	if total == 0 || ok == 0 || ok == total {
		t.Errorf("counts %d of %d", ok, total)
	}
	if s := r.Summary(); !strings.Contains(s, "compatible with kernel 6.12") {
		t.Errorf("summary %q", s)
	}
	// The ringbuf program is compatible on 6.12 and not on 5.4.
	old := kversion.MustParse("5.4")
	r.Evaluate(&Target{Target: compat.VersionTarget(old), Version: old, VersionOnly: true})
	for _, o := range r.Objects {
		if filepath.Base(o.Path) == "ringbuf_tp.o" && o.Verdicts[0].Verdict != compat.Incompatible {
			t.Errorf("ringbuf_tp on 5.4: %+v", o.Verdicts[0])
		}
	}
}

func TestResultMatchesSchema(t *testing.T) {
	r := Analyze(objects(t), compat.AnalyzeOptions{})
	for _, tg := range []*Target{nil, {Target: compat.VersionTarget(kversion.MustParse("4.19")), Version: kversion.MustParse("4.19"), VersionOnly: true}} {
		r.Evaluate(tg)
		if err := r.Validate(); err != nil {
			t.Fatalf("target %v: %v", tg, err)
		}
		data, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		if back.HasTarget() != r.HasTarget() || len(back.Objects) != len(r.Objects) {
			t.Errorf("round trip: %+v", back)
		}
	}
	if _, err := Decode([]byte(`{"schema_version":1,"kernel":"","ok":true,"objects":[{"path":"x","surprise":1}]}`)); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown field: %v", err)
	}
}

// TestSchemaCoversGoTypes keeps check.schema.json and the Go types in
// step: every JSON field is a schema property and vice versa.
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
	types := map[string][]reflect.Type{
		"":            {reflect.TypeFor[Result]()},
		"object":      {reflect.TypeFor[Object](), reflect.TypeFor[compat.ObjectReport]()},
		"program":     {reflect.TypeFor[compat.ProgramReport]()},
		"map":         {reflect.TypeFor[compat.MapReport]()},
		"requirement": {reflect.TypeFor[compat.Requirement]()},
		"finding":     {reflect.TypeFor[compat.Finding]()},
		"verdict":     {reflect.TypeFor[compat.ProgramVerdict]()},
		"unmet":       {reflect.TypeFor[compat.Unmet](), reflect.TypeFor[compat.Requirement]()},
	}
	for def, typs := range types {
		props := schema.Properties
		if def != "" {
			props = schema.Defs[def].Properties
		}
		goFields := map[string]bool{}
		for _, typ := range typs {
			for f := range typ.Fields() {
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if name == "-" || (name == "" && f.Anonymous) || !f.IsExported() {
					continue
				}
				goFields[name] = true
				if _, ok := props[name]; !ok {
					t.Errorf("%s.%s (json %q) missing from schema $defs/%s", typ.Name(), f.Name, name, def)
				}
			}
		}
		for p := range props {
			if !goFields[p] {
				t.Errorf("schema $defs/%s property %q has no Go field", def, p)
			}
		}
	}
}
