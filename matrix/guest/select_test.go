package guest

import (
	"testing"

	"github.com/retrobpf/retrobpf/internal/kversion"
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
