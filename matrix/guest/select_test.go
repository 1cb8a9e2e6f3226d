package guest

import (
	"strings"
	"testing"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/kversion"
	"github.com/retrobpf/retrobpf/manifest"
)

// Selection against version targets of the host manifest: the hostile
// variants carry kernel ">=99.0" and are ruled out with that reason.
func TestSelectAll(t *testing.T) {
	s, err := manifest.Load("../testdata/host.yaml")
	if err != nil {
		t.Fatal(err)
	}
	kv := kversion.MustParse("6.1")
	sels, err := selectAll(s, compat.VersionTarget(kv), kv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sels) != 3 {
		t.Fatalf("%d selections", len(sels))
	}
	x := sels[0]
	if x.Program != "xdpcount" || x.Variant != "good" || len(x.Rejected) != 3 || x.Rejected[0].Feature != "kernel" || !strings.Contains(x.Rejected[0].Reason, ">=99.0") {
		t.Fatalf("%+v", x)
	}
	tc, err := s.Only([]string{"tccount"})
	if err != nil {
		t.Fatal(err)
	}
	only, err := selectAll(tc, compat.VersionTarget(kv), kv, nil)
	if err != nil || len(only) != 1 || only[0].Program != "tccount" {
		t.Fatalf("%+v %v", only, err)
	}
	// A kernel without XDP: nothing fits, and the selection says so.
	old := kversion.MustParse("4.4")
	xdp, err := s.Only([]string{"xdpcount"})
	if err != nil {
		t.Fatal(err)
	}
	sels, err = selectAll(xdp, compat.VersionTarget(old), old, nil)
	if err != nil || sels[0].Variant != "" || sels[0].Error == "" {
		t.Fatalf("%+v %v", sels, err)
	}
}
