package bpf

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/retrobpf/retrobpf/compat"
)

// suite mirrors the manifest format (bpf/suite.yaml); decoding with
// KnownFields rejects keys the format does not have.
type suite struct {
	APIVersion string `yaml:"apiVersion"`
	Programs   []struct {
		Name        string `yaml:"name"`
		Description string `yaml:"description"`
		Trigger     struct {
			Kind     string `yaml:"kind"`
			Count    int    `yaml:"count"`
			Path     string `yaml:"path"`
			Port     *int   `yaml:"port"`
			Duration string `yaml:"duration"`
			Packet   string `yaml:"packet"`
		} `yaml:"trigger"`
		Variants []struct {
			Name        string             `yaml:"name"`
			Object      string             `yaml:"object"`
			Programs    []string           `yaml:"programs"`
			Requires    []compat.FeatureID `yaml:"requires"`
			Kernel      string             `yaml:"kernel"`
			Description string             `yaml:"description"`
		} `yaml:"variants"`
	} `yaml:"programs"`
}

func loadSuite(t *testing.T) *suite {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(Manifest()))
	dec.KnownFields(true)
	var s suite
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("%s: %v", ManifestName, err)
	}
	return &s
}

// TestManifest checks suite.yaml against the objects and the intent table:
// same programs and variants in the same order, every object embedded,
// every listed program present, every feature ID in the catalog, a trigger
// of a known kind for every program.
func TestManifest(t *testing.T) {
	s := loadSuite(t)
	if s.APIVersion != "retrobpf/v1" {
		t.Errorf("apiVersion %q", s.APIVersion)
	}
	var got []string
	for _, p := range s.Programs {
		if !slices.Contains([]string{"exec", "open", "sleep", "connect", "fsync", "test-run"}, p.Trigger.Kind) {
			t.Errorf("%s: trigger kind %q", p.Name, p.Trigger.Kind)
		}
		if p.Trigger.Count <= 0 {
			t.Errorf("%s: trigger count %d", p.Name, p.Trigger.Count)
		}
		for _, v := range p.Variants {
			got = append(got, fmt.Sprintf("%s/%s/%s", p.Name, v.Name, v.Object))
			spec, err := LoadObjectSpec(v.Object)
			if err != nil {
				t.Errorf("%s/%s: %v", p.Name, v.Name, err)
				continue
			}
			for _, prog := range v.Programs {
				if spec.Programs[prog] == nil {
					t.Errorf("%s/%s: object %s has no program %q", p.Name, v.Name, v.Object, prog)
				}
			}
			for _, id := range v.Requires {
				if _, err := compat.Lookup(id); err != nil {
					t.Errorf("%s/%s: requires %s: %v", p.Name, v.Name, id, err)
				}
			}
		}
	}
	var want []string
	for _, in := range intents {
		want = append(want, fmt.Sprintf("%s/%s/%s", in.program, in.variant, in.object))
	}
	if !slices.Equal(got, want) {
		t.Errorf("manifest variants\n%v\nintent table\n%v", got, want)
	}
}

// pick is what selection does with catalog knowledge only: the first
// variant none of whose requirements (explicit plus those derived by static
// analysis) the target lacks. Unknown does not veto: a version-only target
// cannot know dynamic kernel symbols.
func pick(t *testing.T, s *suite, target compat.Target) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range s.Programs {
		for _, v := range p.Variants {
			r, err := analyze(v.Object)
			if err != nil {
				t.Fatalf("analyze %s: %v", v.Object, err)
			}
			reqs := slices.Clone(v.Requires)
			for _, req := range r.Requirements {
				reqs = append(reqs, req.Feature)
			}
			ok := true
			for _, id := range reqs {
				if target.Has(id).State == compat.Unsupported {
					ok = false
					break
				}
			}
			if ok {
				out[p.Name] = v.Name
				break
			}
		}
	}
	return out
}

// TestSelectionByVersion checks the manifest's preference order against the
// catalog: 4.19 gets a legacy variant of every program (the CO-RE one with
// an external BTF), 5.10 the 5.8 ring-buffer variants, 6.12 the first one.
func TestSelectionByVersion(t *testing.T) {
	s := loadSuite(t)
	cases := []struct {
		name   string
		target compat.Target
		want   map[string]string
	}{
		{"4.19", compat.VersionTarget(kv("4.19")), map[string]string{
			"execsnoop": "legacy-nobtf", "opensnoop": "legacy-tp", "runqlat": "legacy", "tcpconnect": "legacy",
			"biolatency": "legacy", "xdpfilter": "maps", "tcclass": "maps"}},
		{"4.19+btf", compat.WithExternalBTF(compat.VersionTarget(kv("4.19"))), map[string]string{
			"execsnoop": "legacy", "opensnoop": "legacy-tp", "runqlat": "legacy", "tcpconnect": "legacy",
			"biolatency": "legacy", "xdpfilter": "maps", "tcclass": "maps"}},
		{"5.10", compat.VersionTarget(kv("5.10")), map[string]string{
			"execsnoop": "ringbuf", "opensnoop": "modern", "runqlat": "modern", "tcpconnect": "modern",
			"biolatency": "modern", "xdpfilter": "global", "tcclass": "global"}},
		{"6.12", compat.VersionTarget(kv("6.12")), map[string]string{
			"execsnoop": "modern", "opensnoop": "modern", "runqlat": "modern", "tcpconnect": "modern",
			"biolatency": "modern", "xdpfilter": "global", "tcclass": "global"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := pick(t, s, c.target)
			for prog, want := range c.want {
				if got[prog] != want {
					t.Errorf("%s: picked %q, want %q", prog, got[prog], want)
				}
			}
		})
	}
}

// TestAnalyzeAgreesWithIntent holds retrobpf's static analysis
// (compat.Analyze, what `retrobpf check` prints) to each variant's design:
// the modern ones report their real minimum, the legacy ones at most 4.19
// unless a documented fallback says otherwise.
func TestAnalyzeAgreesWithIntent(t *testing.T) {
	for _, in := range intents {
		t.Run(in.program+"/"+in.variant, func(t *testing.T) {
			r, err := analyze(in.object)
			if err != nil {
				t.Fatal(err)
			}
			want := in.minVersion()
			if in.analyzedMin != "" {
				want = kv(in.analyzedMin)
				t.Logf("documented: %s", in.why)
			}
			switch {
			case in.legacy && in.analyzedMin == "":
				if kv("4.19").Less(r.MinKernel) {
					t.Errorf("legacy object needs %s (by %v), want <= 4.19", r.MinKernel, r.MinKernelBy)
				}
			case r.MinKernel != want:
				t.Errorf("analysis says %s (by %v), intent %s", r.MinKernel, r.MinKernelBy, want)
			}
			for _, f := range r.Findings {
				if f.Severity == compat.SeverityError {
					t.Errorf("finding: %s", f.Message)
				}
			}
		})
	}
}

// analyze runs retrobpf's static analysis on an embedded object, so the
// tests need no files next to the binary (VM guests).
func analyze(object string) (*compat.ObjectReport, error) {
	b, err := Object(object)
	if err != nil {
		return nil, err
	}
	return compat.AnalyzeReader(bytes.NewReader(b), int64(len(b)))
}
