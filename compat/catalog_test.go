package compat

import (
	"errors"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/retrobpf/retrobpf/compat/internal/kenum"
	"github.com/retrobpf/retrobpf/internal/kversion"
)

func TestCatalogSortedUniqueComplete(t *testing.T) {
	c := Catalog()
	if !sort.SliceIsSorted(c, func(i, j int) bool { return c[i].ID < c[j].ID }) {
		t.Fatal("Catalog() is not sorted by ID")
	}
	idRE := regexp.MustCompile(`^([a-z-]+:)?[A-Za-z0-9_.-]+$`)
	seen := map[FeatureID]bool{}
	for _, f := range c {
		if seen[f.ID] {
			t.Errorf("duplicate %s", f.ID)
		}
		seen[f.ID] = true
		if !idRE.MatchString(string(f.ID)) {
			t.Errorf("%s: malformed ID", f.ID)
		}
		if f.Kind != KindOf(f.ID) {
			t.Errorf("%s: kind %q, KindOf says %q", f.ID, f.Kind, KindOf(f.ID))
		}
		if f.Description == "" || f.Probe == "" || f.Hint == "" {
			t.Errorf("%s: description, probe and hint must all be set: %+v", f.ID, f)
		}
		if f.Since.IsZero() && f.Kind != KindTestRun {
			t.Errorf("%s: no Since", f.ID)
		}
		if !f.Since.IsZero() && (f.Since.Less(kversion.MustParse("3.15")) || kversion.MustParse("6.20").Less(f.Since)) {
			t.Errorf("%s: implausible Since %s", f.ID, f.Since)
		}
	}
	// The portability features of the issue, with their versions.
	for id, since := range map[FeatureID]string{
		"bpf2bpf-calls": "4.16", "attach:raw_tp": "4.17", "prog:raw_tracepoint": "4.17", "btf:kernel": "4.18",
		"global-data": "5.2", "limit:1m-insns": "5.2", "insn:bounded-loops": "5.3", "btf:vmlinux": "5.4",
		"attach:fentry": "5.5", "attach:fexit": "5.5", "attach:tp_btf": "5.5", "helper:bpf_probe_read_kernel": "5.5",
		"map-flag:mmapable": "5.5", "prog:lsm": "5.7", "map:ringbuf": "5.8", "helper:bpf_ringbuf_output": "5.8",
		"sleepable": "5.10", "map:task_storage": "5.11", "insn:atomics": "5.12", "stats:verified-insns": "5.16",
		"helper:bpf_loop": "5.17", "attach:kprobe_multi": "5.18", "insn:v4": "6.6", "insn:v2": "4.14", "insn:v3": "5.1",
		"insn:jmp32": "5.1", "btf:modules": "5.11", "btf:func": "5.0", "stats:run-time": "5.1", "test-run:xdp": "4.12",
		"map:perf_event_array": "4.3", "prog:sched_cls": "4.1", "helper:bpf_get_current_task_btf": "5.11",
		"helper:bpf_cgrp_storage_get": "6.2", "helper:bpf_map_lookup_elem": "3.19", "ksym:do_sys_openat2": "5.6",
	} {
		f, err := Lookup(id)
		if err != nil {
			t.Errorf("Lookup(%s): %v", id, err)
			continue
		}
		if f.Since.String() != since {
			t.Errorf("%s: Since %s, want %s", id, f.Since, since)
		}
	}
}

// TestCatalogCoversCiliumEbpf proves every program type, map type and helper
// cilium/ebpf knows has a catalog entry with a bpftool-style name.
func TestCatalogCoversCiliumEbpf(t *testing.T) {
	for pt := ebpf.SocketFilter; pt <= ebpf.Netfilter; pt++ {
		id := programTypeFeature(pt)
		if id == "" {
			t.Errorf("program type %v (%d) missing", pt, pt)
			continue
		}
		if _, err := Lookup(id); err != nil {
			t.Errorf("%v: %v", pt, err)
		}
		// cilium/ebpf's String() is CamelCase of the same name.
		if got, want := strings.ReplaceAll(strings.TrimPrefix(string(id), "prog:"), "_", ""), strings.ToLower(pt.String()); got != want && !knownProgNameDiffs[string(id)] {
			t.Errorf("%s does not match cilium/ebpf name %s", id, pt)
		}
	}
	for mt := ebpf.Hash; mt <= ebpf.Arena; mt++ {
		id := mapTypeFeature(mt)
		if id == "" {
			t.Errorf("map type %v (%d) missing", mt, mt)
			continue
		}
		if _, err := Lookup(id); err != nil {
			t.Errorf("%v: %v", mt, err)
		}
	}
	n := 0
	for fn := asm.FnMapLookupElem; fn <= asm.FnCgrpStorageDelete; fn++ {
		id := helperFeature(fn)
		if id == "" {
			t.Errorf("helper %v (%d) missing", fn, fn)
			continue
		}
		n++
		// bpf_map_lookup_elem <-> FnMapLookupElem
		camel := ""
		for _, part := range strings.Split(strings.TrimPrefix(string(id), "helper:bpf_"), "_") {
			camel += strings.ToUpper(part[:1]) + part[1:]
		}
		if "Fn"+camel != fn.String() {
			t.Errorf("%s does not match %s", id, fn)
		}
	}
	if n != 211 {
		t.Errorf("%d helpers, want 211", n)
	}
	// The version ranges must be monotonic in helper ID order.
	for i := 1; i < len(kenum.Helpers); i++ {
		if v(kenum.Helpers[i].Since).Less(v(kenum.Helpers[i-1].Since)) {
			t.Errorf("%s (%s) is older than its predecessor %s (%s)", kenum.Helpers[i].Name, kenum.Helpers[i].Since, kenum.Helpers[i-1].Name, kenum.Helpers[i-1].Since)
		}
	}
}

// Names where bpftool and cilium/ebpf's Go identifier differ beyond case
// and underscores.
var knownProgNameDiffs = map[string]bool{"prog:ext": true}

func TestLookupDynamic(t *testing.T) {
	for _, tc := range []struct {
		id      FeatureID
		kind    Kind
		since   string
		wantErr bool
	}{
		{id: "kfunc:bpf_cpumask_create", kind: KindKfunc, since: "6.3"},
		{id: "kfunc:bpf_some_new_thing", kind: KindKfunc},
		{id: "ksym:do_sys_openat2", kind: KindMisc, since: "5.6"},
		{id: "ksym:tcp_sendmsg.cold", kind: KindMisc},
		{id: "helper:bpf_ringbuf_output@kprobe", kind: KindHelper, since: "5.8"},
		{id: "helper:bpf_map_lookup_elem@lsm", kind: KindHelper, since: "5.7"},
		{id: "helper:bpf_nope@kprobe", wantErr: true},
		{id: "helper:bpf_map_lookup_elem@nope", wantErr: true},
		{id: "kfunc:", wantErr: true},
		{id: "ksym:bad name", wantErr: true},
		{id: "map:nope", wantErr: true},
		{id: "nope", wantErr: true},
	} {
		f, err := Lookup(tc.id)
		if tc.wantErr {
			if !errors.Is(err, ErrUnknownFeature) {
				t.Errorf("Lookup(%q) = %v, want ErrUnknownFeature", tc.id, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Lookup(%q): %v", tc.id, err)
			continue
		}
		if f.ID != tc.id || f.Kind != tc.kind || f.Since.String() != v(tc.since).String() {
			t.Errorf("Lookup(%q) = %+v, want kind %s since %q", tc.id, f, tc.kind, tc.since)
		}
		if f.Description == "" || f.Hint == "" || f.Probe == "" {
			t.Errorf("Lookup(%q): incomplete %+v", tc.id, f)
		}
	}
}

func TestKindOf(t *testing.T) {
	for id, want := range map[FeatureID]Kind{
		"prog:xdp": KindProg, "map-flag:mmapable": KindMapFlag, "helper:bpf_loop@xdp": KindHelper,
		"global-data": KindMisc, "ksym:vfs_read": KindMisc, "test-run:xdp": KindTestRun, "weird:x": KindMisc,
	} {
		if got := KindOf(id); got != want {
			t.Errorf("KindOf(%s) = %s, want %s", id, got, want)
		}
	}
}

func TestVersionTarget(t *testing.T) {
	t419 := VersionTarget(kversion.MustParse("4.19"))
	t510 := VersionTarget(kversion.MustParse("5.10.0-28-amd64"))
	for _, tc := range []struct {
		tgt  Target
		id   FeatureID
		want State
	}{
		{t419, "map:ringbuf", Unsupported},
		{t510, "map:ringbuf", Supported},
		{t419, "bpf2bpf-calls", Supported},
		{t419, "btf:core", Unsupported},
		{WithExternalBTF(t419), "btf:core", Supported},
		{WithExternalBTF(t419), "btf:vmlinux", Unsupported},
		{t510, "map:task_storage", Unsupported},
		{t510, "ksym:vfs_read", Unknown},
		{t510, "test-run:kprobe", Unknown},
		{t510, "no-such-feature", Unknown},
		{t510, "helper:bpf_ringbuf_output@xdp", Supported},
		{t419, "helper:bpf_ringbuf_output@xdp", Unsupported},
	} {
		got := tc.tgt.Has(tc.id)
		if got.State != tc.want {
			t.Errorf("%s.Has(%s) = %+v, want %s", tc.tgt.Name(), tc.id, got, tc.want)
		}
		if got.Detail == "" {
			t.Errorf("%s.Has(%s): empty detail", tc.tgt.Name(), tc.id)
		}
	}
	if got := WithExternalBTF(t419).Name(); got != "kernel 4.19 (catalog) + external BTF" {
		t.Errorf("Name() = %q", got)
	}
}

func TestFeatureOf(t *testing.T) {
	if got := FeatureOf(ebpf.RingBuf); got != "map:ringbuf" {
		t.Errorf("ringbuf: %q", got)
	}
	if got := FeatureOf(ebpf.XDP); got != "prog:xdp" {
		t.Errorf("xdp: %q", got)
	}
	if got := FeatureOf(ebpf.MapType(9999)); got != "" {
		t.Errorf("unknown map type: %q", got)
	}
}
