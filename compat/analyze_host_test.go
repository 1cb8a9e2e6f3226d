package compat_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/compat/probe"
)

// TestAnalyzeAgreesWithHostLoad loads every test object's programs into
// the running kernel and checks the analysis against what happens: a
// program the host probe calls compatible must load, and one with an
// unsupported program type, map, helper or instruction must not.
func TestAnalyzeAgreesWithHostLoad(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to probe the kernel and load programs")
	}
	host, err := probe.Probe(context.Background(), probe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := filepath.Glob("testdata/*.o")
	if err != nil || len(objs) == 0 {
		t.Fatalf("no test objects: %v", err)
	}
	loadedCompatible := 0
	for _, obj := range objs {
		rep, err := compat.Analyze(obj)
		if err != nil {
			t.Fatal(err)
		}
		for i := range rep.Programs {
			p := &rep.Programs[i]
			v := compat.CheckProgram(p, host)
			loadErr := loadOne(obj, p.Name)
			t.Logf("%s/%s: %s (%d unmet), load: %v", obj, p.Name, v.Verdict, len(v.Unmet), loadErr)
			switch {
			case v.Verdict == compat.Compatible:
				if loadErr != nil {
					t.Errorf("%s/%s: analysis says compatible with %s, load failed: %v", obj, p.Name, host.Name(), loadErr)
				}
				loadedCompatible++
			case v.Verdict == compat.Invalid:
				if loadErr == nil || !strings.Contains(loadErr.Error(), "GPL") {
					t.Errorf("%s/%s: analysis says it can never load (%v), load: %v", obj, p.Name, p.Findings, loadErr)
				}
			case loadDecisive(v) && loadErr == nil:
				t.Errorf("%s/%s: analysis says %v is unsupported, the program loaded", obj, p.Name, v.Unmet)
			}
		}
	}
	// sock_ringbuf.o and xdp_pass.o need nothing a 5.8+ kernel lacks.
	if loadedCompatible < 2 {
		t.Errorf("only %d programs were compatible and loaded; the test checked nothing", loadedCompatible)
	}
}

// loadDecisive reports whether an unsupported requirement is one that
// makes BPF_PROG_LOAD or BPF_MAP_CREATE fail (attach points and kernel
// symbols only matter at attach time).
func loadDecisive(v compat.ProgramVerdict) bool {
	for _, u := range v.Unmet {
		if u.State != compat.Unsupported {
			continue
		}
		switch compat.KindOf(u.Feature) {
		case compat.KindProg, compat.KindMap, compat.KindMapFlag, compat.KindHelper, compat.KindInsn:
			return true
		}
	}
	return false
}

// loadOne loads one program of an object (and the maps it needs) without
// attaching it.
func loadOne(obj, prog string) error {
	spec, err := ebpf.LoadCollectionSpec(obj)
	if err != nil {
		return err
	}
	ps, ok := spec.Programs[prog]
	if !ok {
		return errors.New("no such program")
	}
	one := spec.Copy()
	one.Programs = map[string]*ebpf.ProgramSpec{prog: ps.Copy()}
	coll, err := ebpf.NewCollection(one)
	if err != nil {
		return err
	}
	defer coll.Close()
	return nil
}
