package bpf

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
)

// TestExecsnoop attaches every execsnoop variant, execs this test binary
// and expects the event for exactly that exec: pid, parent, file name,
// comm (and argv for the variants that read it).
func TestExecsnoop(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range intentsOf("execsnoop") {
		t.Run(in.variant, func(t *testing.T) {
			modern := !in.legacy
			spec, coll := loadVariant(t, in, func(spec *ebpf.CollectionSpec) {
				if modern {
					setVar(t, spec, "target_ppid", uint32(os.Getpid()))
				}
			})
			if !modern {
				cfg := ExecsnoopLegacyConfig{Flags: 1, TargetPpid: uint32(os.Getpid())}
				if in.variant == "legacy-nobtf" {
					cfg = ExecsnoopLegacyConfig{Flags: 2, TargetUid: uint32(os.Getuid())}
				}
				putConfig(t, coll, cfg)
			}
			ev := openEvents(t, coll)
			attachAll(t, in, spec, coll)

			marker := "execsnoop-" + in.variant
			cmd := exec.Command(self, marker)
			cmd.Env = append(os.Environ(), execHelperEnv+"=1")
			if err := cmd.Run(); err != nil {
				t.Fatalf("run %s: %v", self, err)
			}
			pid := uint32(cmd.Process.Pid)

			got := waitFor(t, ev, eventTimeout, func(e *ExecsnoopModernEvent) bool { return e.Pid == pid })
			if f := cstr(got.Filename[:]); f != self {
				t.Errorf("filename %q, want %q", f, self)
			}
			if comm, want := cstr(got.Comm[:]), filepath.Base(self); !strings.HasPrefix(want, comm) || comm == "" {
				t.Errorf("comm %q, want a prefix of %q", comm, want)
			}
			wantPpid := uint32(os.Getpid())
			if in.variant == "legacy-nobtf" {
				wantPpid = 0 // documented: no BTF, no parent
			}
			if got.Ppid != wantPpid {
				t.Errorf("ppid %d, want %d", got.Ppid, wantPpid)
			}
			if got.Uid != uint32(os.Getuid()) {
				t.Errorf("uid %d, want %d", got.Uid, os.Getuid())
			}
			if modern {
				if args := cstr(got.Args[:]); args != self+" "+marker || got.Argc != 2 {
					t.Errorf("args %q argc %d, want %q argc 2", args, got.Argc, self+" "+marker)
				}
				var seen uint64
				getVar(t, coll, "events_seen", &seen)
				if seen == 0 {
					t.Error("events_seen counter is 0")
				}
			} else {
				c := arrayCounters(t, coll.Maps["counters"])
				if c[0] == 0 {
					t.Errorf("seen counter is 0 (counters %v)", c)
				}
			}
		})
	}
}
