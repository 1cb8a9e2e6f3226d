package manifest

import (
	"testing"

	"github.com/retrobpf/retrobpf/compat"
)

// FuzzManifest: any bytes may be rejected, none may panic, and an accepted
// manifest must satisfy the invariants the decoder promises.
func FuzzManifest(f *testing.F) {
	f.Add([]byte(validManifest))
	for _, c := range badManifests {
		f.Add([]byte(c.yaml))
	}
	f.Add([]byte("apiVersion: retrobpf/v1\nprograms:\n  - &a {name: x, trigger: {kind: exec}, variants: [{name: v, object: o}]}\n  - *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if m != nil {
				t.Fatal("manifest returned with an error")
			}
			return
		}
		if m.APIVersion != APIVersion || len(m.Programs) == 0 {
			t.Fatalf("accepted %+v", m)
		}
		names := map[string]bool{}
		for _, p := range m.Programs {
			if p.Name == "" || names[p.Name] || len(p.Variants) == 0 {
				t.Fatalf("bad program accepted: %+v", p)
			}
			names[p.Name] = true
			if _, ok := triggerFields[p.Trigger.Kind]; !ok {
				t.Fatalf("trigger kind %q accepted", p.Trigger.Kind)
			}
			vn := map[string]bool{}
			for _, v := range p.Variants {
				if v.Name == "" || vn[v.Name] || v.Object == "" {
					t.Fatalf("bad variant accepted: %+v", v)
				}
				vn[v.Name] = true
				for _, id := range v.Requires {
					if _, err := compat.Lookup(id); err != nil {
						t.Fatalf("unknown feature accepted: %v", err)
					}
				}
			}
		}
	})
}
