package bpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/perf"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/retrobpf/retrobpf/internal/kversion"
	"github.com/retrobpf/retrobpf/internal/testutils"
)

// execHelperEnv makes the test binary exit at once: execsnoop's tests exec
// themselves, so the trigger needs nothing else installed (VM guests).
const execHelperEnv = "RETROBPF_BPF_EXEC_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(execHelperEnv) != "" {
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func requireRoot(t *testing.T) {
	t.Helper()
	testutils.RequireRoot(t, "load BPF programs")
}

var memlockOnce sync.Once

// removeMemlock lifts RLIMIT_MEMLOCK, which kernels before 5.11 charge BPF
// memory to.
func removeMemlock(t *testing.T) {
	memlockOnce.Do(func() {
		if err := rlimit.RemoveMemlock(); err != nil {
			t.Logf("remove memlock rlimit: %v", err)
		}
	})
}

// kernelVersion is the running kernel's upstream version.
func kernelVersion(t *testing.T) kversion.Version {
	t.Helper()
	code, err := features.LinuxVersionCode()
	if err != nil {
		t.Fatalf("kernel version: %v", err)
	}
	return kversion.FromCode(code)
}

// isTracing reports whether a program uses BPF trampolines or BTF tracepoints.
func isTracing(spec *ebpf.CollectionSpec) bool {
	for _, p := range spec.Programs {
		if p.Type == ebpf.Tracing {
			return true
		}
	}
	return false
}

// skipUnsupported skips the test when err says the kernel (or this
// environment) cannot do what the variant needs; it returns false for
// errors that must fail the test.
func skipUnsupported(t *testing.T, in intent, spec *ebpf.CollectionSpec, what string, err error) {
	t.Helper()
	if v := kernelVersion(t); v.Less(in.minVersion()) {
		t.Skipf("%s %s needs kernel %s, running %s: %s: %v", in.program, in.variant, in.min, v, what, err)
	}
	switch {
	case errors.Is(err, ebpf.ErrNotSupported):
		t.Skipf("%s: not supported by this kernel: %v", what, err)
	case errors.Is(err, unix.EPERM) && spec != nil && isTracing(spec):
		// Seen on hosts (sandboxed hypervisors) that refuse BPF trampolines.
		t.Skipf("%s: this kernel refuses BPF trampolines (fentry/fexit) with EPERM: %v", what, err)
	case errors.Is(err, os.ErrNotExist) && strings.Contains(in.hook, "kprobe"):
		t.Skipf("%s: kprobes unavailable (no kprobe PMU or kprobe_events, or the symbol is missing): %v", what, err)
	}
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		t.Fatalf("%s: %+v", what, ve)
	}
	t.Fatalf("%s: %v", what, err)
}

// loadVariant loads one variant's object after setup adjusted its spec
// (.rodata configuration).
func loadVariant(t *testing.T, in intent, setup func(*ebpf.CollectionSpec)) (*ebpf.CollectionSpec, *ebpf.Collection) {
	t.Helper()
	return loadVariantWith(t, in, setup, ebpf.CollectionOptions{})
}

// loadVariantWith is loadVariant with collection options (external BTF).
func loadVariantWith(t *testing.T, in intent, setup func(*ebpf.CollectionSpec), opts ebpf.CollectionOptions) (*ebpf.CollectionSpec, *ebpf.Collection) {
	t.Helper()
	requireRoot(t)
	removeMemlock(t)
	spec, err := LoadObjectSpec(in.object)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(spec)
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, opts)
	if err != nil {
		skipUnsupported(t, in, spec, "load "+in.object, err)
	}
	t.Cleanup(func() { coll.Close() })
	return spec, coll
}

// attachAll attaches every program of the collection to its hook; the
// returned function detaches them all (also done at cleanup).
func attachAll(t *testing.T, in intent, spec *ebpf.CollectionSpec, coll *ebpf.Collection) (detach func()) {
	t.Helper()
	// Tracepoints (and kprobes without a PMU) resolve through tracefs,
	// which a fresh machine does not have mounted.
	testutils.RequireTracefs(t)
	var links []io.Closer
	detach = func() {
		for _, l := range links {
			l.Close()
		}
		links = nil
	}
	t.Cleanup(detach)
	for name, prog := range coll.Programs {
		l, err := Attach(spec.Programs[name], prog)
		if err != nil {
			skipUnsupported(t, in, spec, "attach", err)
		}
		links = append(links, l)
	}
	return detach
}

// setVar sets a .rodata/.data variable before load.
func setVar(t *testing.T, spec *ebpf.CollectionSpec, name string, v any) {
	t.Helper()
	vs, ok := spec.Variables[name]
	if !ok {
		t.Fatalf("object has no variable %q", name)
	}
	if err := vs.Set(v); err != nil {
		t.Fatalf("set %s: %v", name, err)
	}
}

// getVar reads a global variable of a loaded collection.
func getVar(t *testing.T, coll *ebpf.Collection, name string, out any) {
	t.Helper()
	v, ok := coll.Variables[name]
	if !ok {
		t.Fatalf("collection has no variable %q", name)
	}
	if err := v.Get(out); err != nil {
		t.Fatalf("get %s: %v", name, err)
	}
}

// putConfig writes key 0 of the config_map of a legacy variant.
func putConfig(t *testing.T, coll *ebpf.Collection, cfg any) {
	t.Helper()
	if err := coll.Maps["config_map"].Put(uint32(0), cfg); err != nil {
		t.Fatalf("write config_map: %v", err)
	}
}

// events reads the "events" map, ring buffer or perf event array alike.
type events struct {
	rb *ringbuf.Reader
	pr *perf.Reader
}

func openEvents(t *testing.T, coll *ebpf.Collection) *events {
	t.Helper()
	m := coll.Maps["events"]
	if m == nil {
		t.Fatal("collection has no events map")
	}
	var (
		e   events
		err error
	)
	switch m.Type() {
	case ebpf.RingBuf:
		e.rb, err = ringbuf.NewReader(m)
	case ebpf.PerfEventArray:
		e.pr, err = perf.NewReader(m, 64*os.Getpagesize())
	default:
		err = fmt.Errorf("unexpected events map type %v", m.Type())
	}
	if err != nil {
		t.Fatalf("open events: %v", err)
	}
	t.Cleanup(func() { e.close() })
	return &e
}

func (e *events) close() {
	if e.rb != nil {
		e.rb.Close()
	}
	if e.pr != nil {
		e.pr.Close()
	}
}

// next returns the next raw sample, or an error after the deadline.
func (e *events) next(deadline time.Time) ([]byte, error) {
	if e.rb != nil {
		e.rb.SetDeadline(deadline)
		rec, err := e.rb.Read()
		return rec.RawSample, err
	}
	e.pr.SetDeadline(deadline)
	for {
		rec, err := e.pr.Read()
		if err != nil {
			return nil, err
		}
		if rec.LostSamples > 0 {
			continue
		}
		return rec.RawSample, nil
	}
}

// eventTimeout bounds the wait for an expected event: generous, since the
// tests also run in emulated (TCG) guests on loaded machines.
const eventTimeout = 15 * time.Second

// nextMatch decodes samples into a fresh T until match accepts one; it
// returns the match, how many samples it read, and an error after timeout.
func nextMatch[T any](e *events, timeout time.Duration, match func(*T) bool) (*T, int, error) {
	deadline := time.Now().Add(timeout)
	seen := 0
	var last *T
	for {
		raw, err := e.next(deadline)
		if err != nil {
			return nil, seen, fmt.Errorf("no matching event after %d samples in %v (last %+v): %w", seen, timeout, last, err)
		}
		seen++
		ev := new(T)
		if err := binary.Read(bytes.NewReader(raw), binary.LittleEndian, ev); err != nil {
			return nil, seen, fmt.Errorf("decode %d-byte sample: %w", len(raw), err)
		}
		last = ev
		if match(ev) {
			return ev, seen, nil
		}
	}
}

// waitFor is nextMatch that fails the test when nothing matches.
func waitFor[T any](t *testing.T, e *events, timeout time.Duration, match func(*T) bool) *T {
	t.Helper()
	ev, _, err := nextMatch(e, timeout, match)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// cstr turns a NUL-terminated C char array into a string.
func cstr(b []int8) string {
	var s strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		s.WriteByte(byte(c))
	}
	return s.String()
}

// arrayCounters reads an array or per-CPU array of u64 counters (summing
// CPUs) by index.
func arrayCounters(t *testing.T, m *ebpf.Map) []uint64 {
	t.Helper()
	out := make([]uint64, m.MaxEntries())
	for i := range out {
		if m.Type() == ebpf.PerCPUArray {
			var per []uint64
			if err := m.Lookup(uint32(i), &per); err != nil {
				t.Fatalf("lookup %d: %v", i, err)
			}
			for _, v := range per {
				out[i] += v
			}
			continue
		}
		if err := m.Lookup(uint32(i), &out[i]); err != nil {
			t.Fatalf("lookup %d: %v", i, err)
		}
	}
	return out
}

func sum(v []uint64) (n uint64) {
	for _, x := range v {
		n += x
	}
	return n
}
