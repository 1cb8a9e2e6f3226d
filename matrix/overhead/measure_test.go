package overhead

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/retrobpf/retrobpf/reports"
)

func TestTriggers(t *testing.T) {
	dir := t.TempDir()
	for _, spec := range []TriggerSpec{
		{Kind: KindExec}, {Kind: KindOpen}, {Kind: KindFsync},
		{Kind: KindSleep}, {Kind: KindSleep, Duration: time.Microsecond}, {Kind: KindConnect},
	} {
		trig, err := NewTrigger(spec, dir)
		if err != nil {
			t.Fatalf("%s: %v", spec.Kind, err)
		}
		if err := trig.Fire(3); err != nil {
			t.Fatalf("%s: %v", spec.Kind, err)
		}
		if err := trig.Close(); err != nil {
			t.Fatalf("%s: close: %v", spec.Kind, err)
		}
	}
	if tr, _ := NewTrigger(TriggerSpec{Kind: KindExec}, dir); runtime.GOARCH == "amd64" && !strings.HasSuffix(tr.(*execTrigger).path, "retrobpf-exit0") {
		t.Errorf("exec trigger runs %s, not the tiny exit binary", tr.(*execTrigger).path)
	}
	if _, err := NewTrigger(TriggerSpec{Kind: "teleport"}, dir); err == nil {
		t.Fatal("unknown kind accepted")
	}
}

func loadNet(t *testing.T) *ebpf.Collection {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to load BPF programs")
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		t.Skip(err)
	}
	coll, err := ebpf.LoadCollection("../testdata/net.o")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { coll.Close() })
	return coll
}

// TestMeasureTestRun: the test-run kind has no per-event figure but a
// test-run ns/op and bpf stats from the test runs.
func TestMeasureTestRun(t *testing.T) {
	coll := loadNet(t)
	progs := []*ebpf.Program{coll.Programs["xdp_count"]}
	noAttach := func() (io.Closer, error) { return io.NopCloser(nil), nil }
	r := Measure(TriggerSpec{Kind: KindTestRun, Count: 100}, nil, noAttach, func() []*ebpf.Program { return progs }, Options{})
	o := r.Overhead
	if o.TestRunNsPerOp == nil || *o.TestRunNsPerOp <= 0 {
		t.Fatalf("no test-run figure: %+v", o.NotMeasurable)
	}
	if o.PerEventNs != nil || o.NotMeasurable[reports.MetricPerEvent] == "" {
		t.Fatal("per-event measured for a test-run trigger")
	}
	if o.RunTimeNsPerRun == nil || *o.RunTimeNsPerRun <= 0 || r.Events == nil || *r.Events < 100 {
		t.Fatalf("run time %v events %v: %v", o.RunTimeNsPerRun, r.Events, o.NotMeasurable)
	}
}

// TestMeasurePerEvent attaches XDP (generic mode) to the loopback device
// and drives it with TCP connects over loopback.
func TestMeasurePerEvent(t *testing.T) {
	coll := loadNet(t)
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skip(err)
	}
	prog := coll.Programs["xdp_count"]
	attach := func() (io.Closer, error) {
		for try := 0; ; try++ { // lo may be busy with a concurrent test's XDP program
			l, err := link.AttachXDP(link.XDPOptions{Program: prog, Interface: lo.Index, Flags: link.XDPGenericMode})
			if !errors.Is(err, unix.EBUSY) || try == 50 {
				return l, err
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	l, err := attach()
	if err != nil {
		t.Skipf("cannot attach XDP to lo: %v", err)
	}
	l.Close()
	spec := TriggerSpec{Kind: KindConnect, Count: 20}
	trig, err := NewTrigger(spec, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer trig.Close()
	r := Measure(spec, trig, attach, func() []*ebpf.Program { return []*ebpf.Program{prog} }, Options{Samples: 6})
	o := r.Overhead
	if o.BaselineNs == nil || o.BaselineNs.Median <= 0 || o.Samples != 6 {
		t.Fatalf("baseline missing: %+v", o)
	}
	// Either a cost distinguishable from zero, or a reason quoting the
	// interval — never 0 or a negative cost.
	switch e := o.PerEventNs; {
	case e != nil && (e.CILow <= 0 || e.CILow > e.Median || e.Median > e.CIHigh):
		t.Fatalf("inconsistent estimate: %+v", *e)
	case e == nil && !strings.Contains(o.NotMeasurable[reports.MetricPerEvent], "includes 0"):
		t.Fatalf("no per-event figure and no reason: %v", o.NotMeasurable)
	}
	if r.Events == nil || *r.Events < int64(spec.Count) {
		t.Fatalf("events %v, want ≥ %d packets on lo (%v)", r.Events, spec.Count, o.NotMeasurable)
	}
	t.Logf("baseline %.0f ns/connect, added %+v (%s), run time %.0f ns/run", o.BaselineNs.Median, o.PerEventNs, o.NotMeasurable[reports.MetricPerEvent], *o.RunTimeNsPerRun)
}

// A trigger that never reaches the hook: no per-event figure (it would be
// noise), a reason instead.
func TestMeasureDidNotRun(t *testing.T) {
	coll := loadNet(t)
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skip(err)
	}
	prog := coll.Programs["xdp_count"]
	attach := func() (io.Closer, error) {
		for try := 0; ; try++ {
			l, err := link.AttachXDP(link.XDPOptions{Program: prog, Interface: lo.Index, Flags: link.XDPGenericMode})
			if !errors.Is(err, unix.EBUSY) || try == 50 {
				return l, err
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	spec := TriggerSpec{Kind: KindSleep, Count: 5}
	trig, _ := NewTrigger(spec, t.TempDir())
	o := Measure(spec, trig, attach, func() []*ebpf.Program { return []*ebpf.Program{prog} }, Options{Samples: 6}).Overhead
	if o.PerEventNs != nil || o.NotMeasurable[reports.MetricPerEvent] == "" || o.NotMeasurable[reports.MetricRunTime] == "" {
		t.Fatalf("%+v", o)
	}
}

func TestNotMeasurableOnOldKernel(t *testing.T) {
	_, _, reason := runTime(nil, nil, nil, mustVersion("4.19"))
	if reason == "" {
		t.Fatal("bpf stats claimed on 4.19")
	}
}
