package objload

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/retrobpf/retrobpf/internal/testutils"
)

// libbpfTools is where Debian's libbpf-tools installs its binaries; each
// embeds its BPF object (a bpftool skeleton).
const libbpfTools = "/usr/sbin"

// loadEach loads every program of spec on its own and returns how many
// the kernel accepted, and the errors by program.
func loadEach(spec *ebpf.CollectionSpec) (loaded int, errs map[string]error) {
	errs = map[string]error{}
	for name := range spec.Programs {
		one := spec.Copy()
		for other := range one.Programs {
			if other != name {
				delete(one.Programs, other)
			}
		}
		coll, err := ebpf.NewCollection(one)
		if err != nil {
			errs[name] = err
			continue
		}
		coll.Close()
		loaded++
	}
	return loaded, errs
}

type libbpfTool struct {
	name string
	objs [][]byte
}

// libbpfToolObjects returns the objects embedded in libbpf-tools, by tool,
// or skips the test when the package is not installed.
func libbpfToolObjects(t *testing.T) []libbpfTool {
	t.Helper()
	bins, _ := filepath.Glob(filepath.Join(libbpfTools, "*"))
	var tools []libbpfTool
	for _, b := range bins {
		st, err := os.Stat(b)
		if err != nil || !st.Mode().IsRegular() || st.Size() > 64<<20 {
			continue
		}
		raw, err := os.ReadFile(b)
		if err != nil {
			continue
		}
		if objs := Embedded(raw); len(objs) > 0 {
			tools = append(tools, libbpfTool{filepath.Base(b), objs})
		}
	}
	if len(tools) < 10 {
		t.Skipf("found %d binaries with embedded BPF objects in %s: is Debian's libbpf-tools installed? (make deps-test)", len(tools), libbpfTools)
	}
	sort.Slice(tools, func(i, j int) bool { return tools[i].name < tools[j].name })
	return tools
}

// TestLibbpfTools loads the objects of a real libbpf tool suite nobody
// here wrote, through cilium/ebpf alone ("before") and through objload
// ("after"). Programs may fail for reasons no loader can fix (fentry on a
// function this kernel lacks, a program the tool autoloads only on some
// kernels); what must not fail is reading the objects, and objload must
// load at least every program cilium/ebpf alone loads.
func TestLibbpfTools(t *testing.T) {
	testutils.RequireRoot(t, "loads BPF programs")
	if testing.Short() {
		t.Skip("loads every program of libbpf-tools (about 20 s); not with -short")
	}
	tools := libbpfToolObjects(t)

	var objects, progs, beforeRead, beforeLoad, afterRead, afterLoad int
	for _, tl := range tools {
		for _, raw := range tl.objs {
			objects++
			if spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(raw)); err == nil {
				beforeRead++
				n, _ := loadEach(spec)
				beforeLoad += n
			} else {
				t.Logf("before: %s: %v", tl.name, firstLine(err.Error()))
			}
			o, err := Read(bytes.Clone(raw))
			if err != nil {
				t.Errorf("%s: %v", tl.name, err)
				continue
			}
			progs += len(o.Spec.Programs)
			afterRead++
			spec, err := o.Prepare(Options{})
			if err != nil {
				t.Errorf("%s: prepare: %v", tl.name, err)
				continue
			}
			n, errs := loadEach(spec)
			afterLoad += n
			for p, err := range errs {
				t.Logf("%s/%s: %v", tl.name, p, firstLine(err.Error()))
			}
		}
	}
	t.Logf("libbpf-tools: %d tools, %d objects, %d programs", len(tools), objects, progs)
	t.Logf("before (cilium/ebpf alone): %d objects read, %d programs loaded", beforeRead, beforeLoad)
	t.Logf("after (objload):            %d objects read, %d programs loaded", afterRead, afterLoad)
	if afterLoad < beforeLoad {
		t.Errorf("objload loads %d programs, fewer than cilium/ebpf alone (%d)", afterLoad, beforeLoad)
	}
}

func firstLine(s string) string {
	if i := bytes.IndexByte([]byte(s), '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
