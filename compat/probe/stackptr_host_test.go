package probe

import (
	"os"
	"testing"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/kversion"
	"golang.org/x/sys/unix"
)

// The probe answers from a real load, and agrees with what the catalog
// knows for the host's version (lost in 5.12, back by 6.18) where it knows.
// Inside 5.10, 6.1 and 6.12 bench-accuracy's probes measure the rest.
func TestStackPtrThroughHelperHost(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to load BPF programs")
	}
	r := stackPtrThroughHelper()
	t.Logf("%s: %s", r.State, r.Detail)
	if r.State == compat.Unknown {
		t.Fatalf("undecided as root: %+v", r)
	}
	rel, _ := kversion.Parse(hostRelease(t))
	if want := compat.VersionTarget(rel).Has("stack-ptr-through-helper"); want.State != compat.Unknown && want.State != r.State {
		t.Errorf("kernel %s: probe %s, catalog %s (%s)", rel, r.State, want.State, want.Detail)
	}
}

func hostRelease(t *testing.T) string {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	return unix.ByteSliceToString(u.Release[:])
}
