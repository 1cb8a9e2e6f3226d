package manifest

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/retrobpf/retrobpf/internal/kversion"
)

const validManifest = `apiVersion: retrobpf/v1
programs:
  - name: execsnoop
    description: process exec events
    trigger:
      kind: exec
      count: 50
      path: /bin/true
    variants:
      - name: modern
        object: ringbuf_tp.o
        programs: [handle_exec]
        requires: [map:ringbuf]
        kernel: ">=5.8"
        description: tracepoint + ring buffer
      - name: legacy
        object: perf_kprobe.o
        programs: [trace_open]
  - name: idle
    trigger: {kind: sleep, duration: 10ms}
    variants:
      - name: only
        object: xdp_pass.o
  - name: pkt
    trigger: {kind: test-run, packet: ipv4-tcp}
    variants:
      - {name: only, object: xdp_pass.o}
  - name: net
    trigger: {kind: connect, port: 0}
    variants:
      - {name: only, object: xdp_pass.o, kernel: ">=4.8, <7.0"}
`

// manifestDir copies the test objects next to a manifest with the given
// content and returns the manifest path.
func manifestDir(t testing.TB, content string) string {
	t.Helper()
	dir := t.TempDir()
	for _, o := range []string{"ringbuf_tp.o", "perf_kprobe.o", "xdp_pass.o", "fentry_core.o", "nongpl.o", "v3_atomics.o"} {
		data, err := os.ReadFile(filepath.Join("..", "compat", "testdata", o))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, o), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "suite.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadManifestValid(t *testing.T) {
	path := manifestDir(t, validManifest)
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.APIVersion != APIVersion || len(m.Programs) != 4 {
		t.Fatalf("manifest %+v", m)
	}
	p := m.Program("execsnoop")
	if p == nil || p.Trigger.Kind != TriggerExec || p.Trigger.Count != 50 || p.Trigger.Path != "/bin/true" {
		t.Fatalf("program %+v", p)
	}
	v := p.Variants[0]
	if v.Name != "modern" || v.ObjectPath != filepath.Join(filepath.Dir(path), "ringbuf_tp.o") || v.Line != 10 {
		t.Errorf("variant %+v", v)
	}
	if len(v.Requires) != 1 || v.Requires[0] != "map:ringbuf" || v.Programs[0] != "handle_exec" {
		t.Errorf("variant %+v", v)
	}
	if v.Kernel == nil || !v.Kernel.Match(kversion.MustParse("5.8")) || v.Kernel.Match(kversion.MustParse("5.4")) {
		t.Errorf("kernel constraint %+v", v.Kernel)
	}
	if d := m.Program("idle").Trigger.Duration; d != 10*time.Millisecond {
		t.Errorf("duration %v", d)
	}
	if m.Program("pkt").Trigger.Packet != "ipv4-tcp" {
		t.Error("packet lost")
	}
	nk := m.Program("net").Variants[0].Kernel
	if !nk.Match(kversion.MustParse("6.12")) || nk.Match(kversion.MustParse("7.0")) || nk.Match(kversion.MustParse("4.4")) {
		t.Errorf("range constraint %q", nk.Text)
	}
}

// badManifests: each must be rejected by Load with a message
// naming the line and containing want; schema says whether the JSON
// Schema can see the problem too.
var badManifests = []struct {
	name, yaml, want string
	line             int
	schema           bool
}{
	{"unknown top key", "apiVersion: retrobpf/v1\nprogram: []\n", `unknown key "program"`, 2, true},
	{"wrong api", "apiVersion: retrobpf/v2\nprograms: []\n", `apiVersion "retrobpf/v2"`, 1, true},
	{"no programs", "apiVersion: retrobpf/v1\n", "missing programs", 1, true},
	{"empty", "", "empty manifest", 1, true},
	{"syntax", "apiVersion: retrobpf/v1\nprograms: [\n", "YAML syntax", 2, false},
	{"unknown program key", `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger: {kind: exec}
    varients: []
`, `unknown key "varients"`, 5, true},
	{"missing trigger kind", `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger: {count: 3}
    variants: [{name: v, object: xdp_pass.o}]
`, "missing kind", 4, true},
	{"bad trigger kind", `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger: {kind: fork}
    variants: [{name: v, object: xdp_pass.o}]
`, `trigger kind "fork" is unknown`, 4, true},
	{"trigger field for other kind", `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger:
      kind: exec
      port: 80
    variants: [{name: v, object: xdp_pass.o}]
`, "trigger port does not apply to kind exec", 6, true},
	{"bad duration", `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger: {kind: sleep, duration: soon}
    variants: [{name: v, object: xdp_pass.o}]
`, `duration "soon"`, 4, true},
	{"duplicate program", `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger: {kind: exec}
    variants: [{name: v, object: xdp_pass.o}]
  - name: a
    trigger: {kind: exec}
    variants: [{name: v, object: xdp_pass.o}]
`, `duplicate program name "a" (first at line 3)`, 6, false},
	{"duplicate variant", `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger: {kind: exec}
    variants:
      - {name: v, object: xdp_pass.o}
      - {name: v, object: ringbuf_tp.o}
`, `duplicate variant name "v"`, 7, false},
	{"duplicate key", `apiVersion: retrobpf/v1
programs:
  - name: a
    name: b
    trigger: {kind: exec}
    variants: [{name: v, object: xdp_pass.o}]
`, `duplicate key "name"`, 4, false},
	{"unknown feature", `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger: {kind: exec}
    variants:
      - name: v
        object: xdp_pass.o
        requires:
          - map:ringbuf
          - map:ringbuff
`, `unknown feature "map:ringbuff" (did you mean "map:ringbuf"?)`, 10, false},
	{"bad kernel constraint", `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger: {kind: exec}
    variants:
      - name: v
        object: xdp_pass.o
        kernel: "5.8+"
`, "kernel: bad kernel constraint", 8, true},
	{"missing object", `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger: {kind: exec}
    variants:
      - name: v
        object: nope.o
`, "object nope.o: no such file", 6, false},
	{"object is a directory", `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger: {kind: exec}
    variants:
      - name: v
        object: .
`, "is a directory", 6, false},
	{"variant without object", `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger: {kind: exec}
    variants:
      - name: v
`, "missing object", 6, true},
	{"programs not a list", `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger: {kind: exec}
    variants:
      - {name: v, object: xdp_pass.o, programs: handle_exec}
`, "programs must be a list", 6, true},
	{"count not int", `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger: {kind: exec, count: many}
    variants: [{name: v, object: xdp_pass.o}]
`, "count must be an integer", 4, true},
	{"two documents", "apiVersion: retrobpf/v1\nprograms: []\n---\nfoo: 1\n", "more than one YAML document", 3, false},
	{"command without count", `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger: {kind: command, path: workload}
    variants: [{name: v, object: xdp_pass.o}]
`, "needs count", 4, true},
	{"command without path", `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger: {kind: command, count: 5}
    variants: [{name: v, object: xdp_pass.o}]
`, "needs path", 4, true},
	{"args on exec", `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger: {kind: exec, args: [x]}
    variants: [{name: v, object: xdp_pass.o}]
`, "trigger args does not apply to kind exec", 4, true},
	{"set not a mapping", `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger: {kind: exec}
    variants: [{name: v, object: xdp_pass.o, set: [x]}]
`, "set must be a mapping", 5, true},
	{"set value a list", `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger: {kind: exec}
    variants:
      - name: v
        object: xdp_pass.o
        set: {x: [1]}
`, "x must be a number, a bool or a string", 8, true},
	{"maps unknown key", `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger: {kind: exec}
    variants:
      - name: v
        object: xdp_pass.o
        maps: {events: {size: 4}}
`, `unknown key "size"`, 8, true},
	{"maps zero entries", `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger: {kind: exec}
    variants:
      - name: v
        object: xdp_pass.o
        maps: {events: {max_entries: 0}}
`, "max_entries", 8, true},
}

func TestLoadManifestErrors(t *testing.T) {
	for _, c := range badManifests {
		t.Run(c.name, func(t *testing.T) {
			path := manifestDir(t, c.yaml)
			_, err := Load(path)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v is not ErrInvalid", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q lacks %q", msg, c.want)
			}
			var me *ParseError
			if !errors.As(err, &me) {
				t.Fatalf("not a *ParseError: %T", err)
			}
			if prefix := path + ":"; !strings.HasPrefix(msg, prefix) {
				t.Errorf("error %q does not start with %q", msg, prefix)
			}
			found := false
			for _, p := range me.Problems {
				if strings.Contains(p.Message, strings.SplitN(c.want, " (", 2)[0]) && p.Line == c.line {
					found = true
				}
			}
			if !found {
				t.Errorf("no problem at line %d: %s", c.line, me.Detail())
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("message is not one line: %q", msg)
			}
		})
	}
}

func TestLoadManifestMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("err %v", err)
	}
}

func compileManifestSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("manifest.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("manifest.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("manifest.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// yamlToJSONValue turns YAML into the generic JSON value the schema
// validator expects.
func yamlToJSONValue(t testing.TB, src string) (any, bool) {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(src), &v); err != nil {
		return nil, false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	out, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return out, true
}

func TestManifestSchema(t *testing.T) {
	s := compileManifestSchema(t)
	v, ok := yamlToJSONValue(t, validManifest)
	if !ok {
		t.Fatal("valid manifest is not YAML")
	}
	if err := s.Validate(v); err != nil {
		t.Fatalf("schema rejects the valid manifest: %v", err)
	}
	for _, c := range badManifests {
		if !c.schema {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			v, ok := yamlToJSONValue(t, c.yaml)
			if !ok {
				return // not even YAML
			}
			if err := s.Validate(v); err == nil {
				t.Errorf("schema accepts a manifest Load rejects (%s)", c.want)
			}
		})
	}
}

// The Go decoder and the schema must agree on the keys they know.
func TestManifestSchemaKeys(t *testing.T) {
	raw, err := os.ReadFile("manifest.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Properties map[string]any `json:"properties"`
		Defs       map[string]struct {
			Properties map[string]any `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"":        {"apiVersion", "programs"},
		"program": {"name", "description", "trigger", "variants"},
		"trigger": {"kind", "count", "path", "args", "port", "duration", "packet"},
		"variant": {"name", "object", "programs", "requires", "kernel", "description", "set", "maps"},
	}
	for def, keys := range want {
		props := doc.Properties
		if def != "" {
			props = doc.Defs[def].Properties
		}
		if len(props) != len(keys) {
			t.Errorf("%s: schema has %d keys, decoder %d", def, len(props), len(keys))
		}
		for _, k := range keys {
			if _, ok := props[k]; !ok {
				t.Errorf("%s: schema lacks %q", def, k)
			}
		}
	}
}

func TestParseKernelConstraint(t *testing.T) {
	for _, c := range []struct {
		in      string
		match   []string
		nomatch []string
	}{
		{">=5.8", []string{"5.8", "6.1", "5.8.1"}, []string{"5.4", "4.19"}},
		{"<5.8", []string{"5.4"}, []string{"5.8"}},
		{">= 4.19, < 5.10", []string{"4.19", "5.4.100"}, []string{"5.10", "4.14"}},
		{"==5.10", []string{"5.10"}, []string{"5.10.1", "5.11"}},
		{"!=5.10 >4.0", []string{"5.11"}, []string{"5.10", "3.10"}},
	} {
		k, err := ParseKernelConstraint(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		for _, v := range c.match {
			if !k.Match(kversion.MustParse(v)) {
				t.Errorf("%q should match %s", c.in, v)
			}
		}
		for _, v := range c.nomatch {
			if k.Match(kversion.MustParse(v)) {
				t.Errorf("%q should not match %s", c.in, v)
			}
		}
	}
	for _, bad := range []string{"", "5.8", "~5.8", ">=five", ">=5.8-rc1", ">="} {
		if _, err := ParseKernelConstraint(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
