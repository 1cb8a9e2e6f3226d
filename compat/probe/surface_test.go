package probe

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/testutils"
)

func TestListRoundTrip(t *testing.T) {
	names := []string{"tcp_v4_connect", "tcp_v4_connect.cold", "a", "tcp_sendmsg", "a", "zz"}
	enc, err := encodeList(names)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeList(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || !got["tcp_v4_connect.cold"] || !got["a"] || got["tcp"] {
		t.Fatalf("decoded %v", got)
	}
	for _, bad := range []string{"not base64!", "AAAA", enc[:len(enc)/2]} {
		if _, err := decodeList(bad); err == nil {
			t.Errorf("decodeList(%q) accepted", bad)
		}
	}
}

// TestSavedSurfaceDecides: the host's attach surface, saved in a report
// and read back, decides attach targets without the kernel.
func TestSavedSurfaceDecides(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skip("the host kernel has no vmlinux BTF")
	}
	testutils.RequireTracefs(t)
	rep := &Report{SchemaVersion: SchemaVersion, AttachSurface: collectAttachSurface()}
	for list, why := range rep.AttachSurface.Errors {
		// Kernels without the function tracer have no
		// available_filter_functions; every other list must be there.
		if _, err := os.ReadFile("/sys/kernel/tracing/available_filter_functions"); list == "traceable" && err != nil {
			t.Logf("no traceable list: %s", why)
			continue
		}
		t.Errorf("surface error %s: %s", list, why)
	}
	data, err := json.Marshal(rep.AttachSurface)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("attach surface: %d bytes of JSON", len(data))
	saved := &Report{AttachSurface: &AttachSurface{}}
	if err := json.Unmarshal(data, saved.AttachSurface); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[compat.FeatureID]compat.State{
		"ksym:do_unlinkat":                       compat.Supported,
		"ksym:no_such_symbol_in_any_kernel":      compat.Unsupported,
		"btf-func:do_unlinkat":                   compat.Supported,
		"btf-func:no_such_symbol_in_any_kernel":  compat.Unsupported,
		"raw-tp:sched_switch":                    compat.Supported,
		"raw-tp:no_such_tracepoint":              compat.Unsupported,
		"tracepoint:sched/sched_switch":          compat.Supported,
		"tracepoint:syscalls/sys_enter_execve":   compat.Supported,
		"tracepoint:syscalls/sys_enter_nosuch":   compat.Unsupported,
		"tracepoint:writeback/no_such_event_xyz": compat.Unsupported,
	} {
		a := saved.Has(id)
		if a.State != want || !strings.Contains(a.Detail, "recorded attach surface") {
			t.Errorf("%s: %+v, want %s", id, a, want)
		}
	}
}

func TestSurfaceEncodingChecked(t *testing.T) {
	s := &AttachSurface{Encoding: "gzip"}
	if res, ok := s.result("ksym:x", nil); !ok || res.State != compat.Unknown || !strings.Contains(res.Detail, "encoding") {
		t.Fatalf("unknown encoding: %+v", res)
	}
}

// TestProbeTargetsWithoutSurface: Options.Targets decides just the named
// attach targets and records them, without the whole surface in the
// report (what a matrix guest does).
func TestProbeTargetsWithoutSurface(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skip("the host kernel has no vmlinux BTF")
	}
	testutils.RequireTracefs(t)
	var opts Options
	opts.SkipHelpers = true
	opts.Record("btf-func:do_unlinkat", "btf-func:no_such_symbol_in_any_kernel", "raw-tp:sched_switch",
		"tracepoint:sched/sched_switch", "tracepoint:sched/no_such_event", "ksym:do_unlinkat")
	rep, err := Probe(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.AttachSurface != nil {
		t.Fatal("the whole attach surface was recorded")
	}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var saved Report
	if err := json.Unmarshal(data, &saved); err != nil {
		t.Fatal(err)
	}
	t.Logf("report: %d bytes of JSON", len(data))
	for id, want := range map[compat.FeatureID]compat.State{
		"btf-func:do_unlinkat":                  compat.Supported,
		"btf-func:no_such_symbol_in_any_kernel": compat.Unsupported,
		"raw-tp:sched_switch":                   compat.Supported,
		"tracepoint:sched/sched_switch":         compat.Supported,
		"tracepoint:sched/no_such_event":        compat.Unsupported,
		"ksym:do_unlinkat":                      compat.Supported,
	} {
		if got := saved.Has(id); got.State != want {
			t.Errorf("%s: %s (%s), want %s", id, got.State, got.Detail, want)
		}
	}
	if got := saved.Has("btf-func:vfs_read"); got.State != compat.Unknown {
		t.Errorf("an unrecorded target reads %s, want unknown", got.State)
	}
}
