package probe

import (
	"bytes"
	"context"
	"os"
	"reflect"
	"runtime"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/compat/internal/kenum"
)

// These tests load real probe programs on the host (root only).

// TestHelperLogLevelsAgree: the helper matrix asks for the verifier log at
// BPF_LOG_STATS where the kernel has it; every answer must be the one log
// level 1 (what libbpf and cilium/ebpf use) gives.
func TestHelperLogLevelsAgree(t *testing.T) {
	r := hostProbe(t)
	if helperLogLevel(r.Kernel.VersionCode) != logLevelStats {
		t.Skipf("kernel %s has no BPF_LOG_STATS: helper probes use log level 1 only", r.Kernel.Version)
	}
	compared := 0
	for _, name := range []string{"socket_filter", "kprobe", "xdp", "cgroup_sock_addr", "syscall", "tracepoint"} {
		pt, _ := kenum.ProgTypeByName(name)
		if r.ProgramTypes[name].State != compat.Supported {
			continue
		}
		stats, level1 := newHelperProber(r.Kernel.VersionCode), newHelperProber(r.Kernel.VersionCode)
		level1.attr.logLevel = 1
		stats.setProgType(pt)
		level1.setProgType(pt)
		for _, h := range kenum.Helpers {
			got, want := stats.probe(h), level1.probe(h)
			if got != want {
				t.Errorf("%s@%s: log level %d gives %+v, log level 1 %+v", h.Name, name, logLevelStats, got, want)
			}
			compared++
		}
	}
	if compared < len(kenum.Helpers) {
		t.Fatalf("only %d helper probes compared", compared)
	}
}

// TestHelperMatrixWorkers: the matrix gives the same answers on one
// worker thread as on one per CPU.
func TestHelperMatrixWorkers(t *testing.T) {
	r := hostProbe(t)
	one, err := Probe(context.Background(), Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	probed := 0
	for name, hs := range r.Helpers {
		if !reflect.DeepEqual(hs, one.Helpers[name]) {
			t.Errorf("helpers of %s differ between 1 worker and %d:\n%+v\n%+v", name, max(runtime.NumCPU(), 2), one.Helpers[name], hs)
		}
		if hs.Probed {
			probed++
		}
	}
	if probed < 5 {
		t.Errorf("only %d program types had their helpers probed", probed)
	}
}

// TestReadVmlinuxBTF: the mapped vmlinux BTF is the file's content.
func TestReadVmlinuxBTF(t *testing.T) {
	want, err := os.ReadFile(vmlinuxBTF)
	if err != nil {
		t.Skipf("no vmlinux BTF: %v", err)
	}
	got, err := readVmlinuxBTF()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("readVmlinuxBTF: %d bytes differ from the file's %d", len(got), len(want))
	}
	idx, err := indexBTF(got, vmlinuxWanted())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := idx.funcID("bpf_init"); !ok {
		t.Error("FUNC bpf_init not found in vmlinux BTF")
	}
	if _, ok := idx.funcID("retrobpf_no_such_function"); ok {
		t.Error("found a FUNC that does not exist")
	}
	if !idx.attachTypes["BPF_TRACE_FENTRY"] {
		t.Error("enum bpf_attach_type not indexed")
	}
}

// BenchmarkHelperProbe is one helper probe load (for profiling the
// matrix with -cpuprofile; figures come from scripts/bench-probe.sh).
func BenchmarkHelperProbe(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	pt, _ := kenum.ProgTypeByName("kprobe")
	if err := haveProgType(pt.Type); err != nil {
		b.Skip(err)
	}
	hp := newHelperProber(0)
	hp.attr.logLevel = logLevelStats
	hp.setProgType(pt)
	for i := 0; b.Loop(); i++ {
		hp.probe(kenum.Helpers[i%len(kenum.Helpers)])
	}
}

// BenchmarkIndexVmlinux is one pass of indexBTF over vmlinux BTF.
func BenchmarkIndexVmlinux(b *testing.B) {
	data, err := readVmlinuxBTF()
	if err != nil {
		b.Skip(err)
	}
	want := vmlinuxWanted()
	for b.Loop() {
		if _, err := indexBTF(data, want); err != nil {
			b.Fatal(err)
		}
	}
}

func haveProgType(pt ebpf.ProgramType) error { return ciliumFeatures{}.ProgramType(pt) }
