package guest

import (
	"testing"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/kversion"
	"github.com/retrobpf/retrobpf/matrix/suite"
)

func TestVersionMatches(t *testing.T) {
	kv := kversion.MustParse("5.10")
	for c, want := range map[string]bool{">=5.8": true, "<5.8": false, ">=5.4, <5.11": true, "=5.10": true, ">5.10": false, "<=5.10": true} {
		got, err := versionMatches(kv, c)
		if err != nil || got != want {
			t.Errorf("%q: %v %v", c, got, err)
		}
	}
	if _, err := versionMatches(kv, "~5"); err == nil {
		t.Error("bad constraint accepted")
	}
}

type unknownTarget struct{}

func (unknownTarget) Name() string { return "undecided" }
func (unknownTarget) Has(compat.FeatureID) compat.Availability {
	return compat.Availability{State: compat.Unknown, Detail: "no config"}
}

// An undecided probe answer falls back to the catalog for the version.
func TestSelectUnknownUsesCatalog(t *testing.T) {
	p := suite.Program{Name: "p", Variants: []suite.Variant{
		{Name: "new", Requires: []string{"map:ringbuf"}},
		{Name: "old", Requires: []string{"map:perf_event_array"}},
	}}
	sel := selectVariant(unknownTarget{}, kversion.MustParse("5.4"), p, nil)
	if sel.Variant != "old" || len(sel.Rejected) != 1 || sel.Rejected[0].Feature != "map:ringbuf" {
		t.Fatalf("%+v", sel)
	}
	if sel := selectVariant(unknownTarget{}, kversion.MustParse("6.1"), p, nil); sel.Variant != "new" {
		t.Fatalf("%+v", sel)
	}
}
