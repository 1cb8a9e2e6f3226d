package probe

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/compat/internal/kenum"
	"github.com/retrobpf/retrobpf/internal/kversion"
)

func TestResultOf(t *testing.T) {
	for _, tc := range []struct {
		err   error
		state compat.State
		errno string
	}{
		{nil, compat.Supported, ""},
		{fmt.Errorf("map type: %w", ebpf.ErrNotSupported), compat.Unsupported, ""},
		{fmt.Errorf("load: %w", unix.EPERM), compat.Unknown, "EPERM"},
		{fmt.Errorf("load: %w", unix.EACCES), compat.Unknown, "EACCES"},
		// A permission error is never proof of absence, even when a
		// library also wrapped ErrNotSupported.
		{fmt.Errorf("%w: %w", ebpf.ErrNotSupported, unix.EPERM), compat.Unknown, "EPERM"},
		{fmt.Errorf("load: %w", unix.EINVAL), compat.Unknown, "EINVAL"},
		{fmt.Errorf("run: %w", enotsupp), compat.Unknown, "ENOTSUPP"},
		{errors.New("opaque"), compat.Unknown, ""},
	} {
		r := resultOf(tc.err)
		if r.State != tc.state || r.Errno != tc.errno {
			t.Errorf("resultOf(%v) = %+v, want %s %q", tc.err, r, tc.state, tc.errno)
		}
		if r.State != compat.Supported && r.Detail == "" {
			t.Errorf("resultOf(%v): no detail", tc.err)
		}
	}
}

func TestClassifyHelperLoad(t *testing.T) {
	log := func(lines ...string) []byte { return append([]byte(strings.Join(lines, "\n")+"\n"), 0, 'x') }
	stats := "processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0"
	for _, tc := range []struct {
		name  string
		fn    int32
		errno unix.Errno
		log   []byte
		state compat.State
	}{
		{"args rejected", 130, unix.EACCES, log("0: (85) call bpf_ringbuf_output#130", "R1 type=scalar expected=map_ptr", stats), compat.Supported},
		{"unknown to kernel", 212, unix.EINVAL, log("0: (85) call unknown#212", "invalid func unknown#212", stats), compat.Unsupported},
		{"wrong program type", 44, unix.EINVAL, log("program of this type cannot use helper bpf_xdp_adjust_head#44", stats), compat.Unsupported},
		{"4.9 wording", 44, unix.EINVAL, log("unknown func 44", stats), compat.Unsupported},
		{"tag of another helper", 44, unix.EINVAL, log("invalid func unknown#21", stats), compat.Unknown},
		{"might sleep", 44, unix.EINVAL, log("helper call might sleep in a non-sleepable prog", stats), compat.Unknown},
		{"permission", 44, unix.EPERM, nil, compat.Unknown},
		{"no runner", 173, enotsupp, log("func bpf_get_func_ip#173 not supported for program type 31", stats), compat.Unknown},
		// BPF_LOG_STATS (log level 4): the message, then three stats lines.
		{"stats: wrong program type", 44, unix.EINVAL, log("program of this type cannot use helper bpf_xdp_adjust_head#44", "verification time 5 usec", "stack depth 0", stats), compat.Unsupported},
		{"stats: unknown to kernel", 212, unix.EINVAL, log("invalid func unknown#212", "verification time 3 usec", "stack depth 0", stats), compat.Unsupported},
		{"stats: might sleep", 148, unix.EINVAL, log("helper call might sleep in a non-sleepable prog", "verification time 3 usec", "stack depth 0", stats), compat.Unknown},
		{"stats: args rejected", 1, unix.EACCES, log("R1 type=ctx expected=map_ptr", "verification time 3 usec", "stack depth 0", stats), compat.Supported},
		{"stats: tag of another helper", 44, unix.EINVAL, log("program of this type cannot use helper bpf_xdp_adjust_head#4", "verification time 3 usec", "stack depth 0", stats), compat.Unknown},
	} {
		r := classifyHelperLoad(tc.errno, tc.log, tc.fn)
		if r.State != tc.state {
			t.Errorf("%s: %+v, want %s", tc.name, r, tc.state)
		}
		if r.State == compat.Unknown && tc.log != nil && (r.Detail == "" || strings.HasPrefix(r.Detail, "processed")) {
			t.Errorf("%s: detail %q should be the verifier's reason", tc.name, r.Detail)
		}
	}
}

func TestLastLines(t *testing.T) {
	in := []byte("a\nb\nc\n")
	for n, want := range map[int]string{1: "c", 2: "b\nc", 5: "a\nb\nc"} {
		if got := string(lastLines(in, n)); got != want {
			t.Errorf("lastLines(%d) = %q, want %q", n, got, want)
		}
	}
	for in, want := range map[string]string{
		"x\nreal reason\nprocessed 3 insns\n":                                                  "real reason",
		"helper call might sleep\nverification time 12 usec\nstack depth 0\nprocessed 1 insns": "helper call might sleep",
		"real reason\nverification time 12 usec\nstack depth 0+8+16\nprocessed 9 insns\n":      "real reason",
		// Lines that only look like statistics are reasons.
		"stack depth 512 exceeds limit\nprocessed 3 insns": "stack depth 512 exceeds limit",
		"verification time out\n":                          "verification time out",
		"":                                                 "",
	} {
		if got := verifierReason([]byte(in)); got != want {
			t.Errorf("verifierReason(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHelperLogLevel(t *testing.T) {
	for code, want := range map[uint32]uint32{
		0:                                   1, // version unknown
		kversion.MustParse("4.19.0").Code(): 1,
		kversion.MustParse("5.1.21").Code(): 1,
		kversion.MustParse("5.2.0").Code():  logLevelStats,
		kversion.MustParse("6.18.4").Code(): logLevelStats,
	} {
		if got := helperLogLevel(code); got != want {
			t.Errorf("helperLogLevel(%#x) = %d, want %d", code, got, want)
		}
	}
}

func TestParseKernelConfig(t *testing.T) {
	cfg := parseKernelConfig([]byte("#\n# CONFIG_KPROBES is not set\nCONFIG_BPF=y\nCONFIG_NET_CLS_BPF=m\nCONFIG_HZ=250\nCONFIG_LSM=\"landlock,bpf\"\n"), nil)
	want := map[string]string{"CONFIG_BPF": "y", "CONFIG_NET_CLS_BPF": "m", "CONFIG_HZ": "250", "CONFIG_LSM": "landlock,bpf"}
	if len(cfg) != len(want) {
		t.Fatalf("got %v", cfg)
	}
	for k, v := range want {
		if cfg[k] != v {
			t.Errorf("%s = %q, want %q", k, cfg[k], v)
		}
	}
	kept := parseKernelConfig([]byte("CONFIG_BPF=y\r\nCONFIG_HZ=250\nCONFIG_BPF_JIT=y"), map[string]bool{"CONFIG_BPF": true, "CONFIG_BPF_JIT": true, "CONFIG_KPROBES": true})
	if !reflect.DeepEqual(kept, map[string]string{"CONFIG_BPF": "y", "CONFIG_BPF_JIT": "y"}) {
		t.Errorf("kept only wanted options: got %v", kept)
	}
}

func TestParseOSRelease(t *testing.T) {
	kv := parseOSRelease([]byte("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID='12'\n# comment=x\n"))
	if kv["PRETTY_NAME"] != "Debian GNU/Linux 12 (bookworm)" || kv["ID"] != "debian" || kv["VERSION_ID"] != "12" || kv["# comment"] != "" {
		t.Errorf("got %v", kv)
	}
}

func TestConfigState(t *testing.T) {
	y, m := "y", "m"
	p := newProber(Options{})
	close(p.configDone)
	p.rep.SystemConfig = SystemConfig{ConfigSource: "/proc/config.gz", Config: map[string]*string{"CONFIG_A": &y, "CONFIG_B": &m, "CONFIG_C": nil}}
	if r := p.configState("CONFIG_A", "CONFIG_B"); r.State != compat.Supported {
		t.Errorf("A,B: %+v", r)
	}
	if r := p.configState("CONFIG_A", "CONFIG_C"); r.State != compat.Unsupported || !strings.Contains(r.Detail, "CONFIG_C is not set") {
		t.Errorf("A,C: %+v", r)
	}
	if r := p.configState("CONFIG_D"); r.State != compat.Unknown {
		t.Errorf("D (not read): %+v", r)
	}
	p.rep.SystemConfig = SystemConfig{ConfigError: "no config"}
	if r := p.configState("CONFIG_A"); r.State != compat.Unknown {
		t.Errorf("unreadable config: %+v", r)
	}
}

// sampleReport is a hand-built report of a 5.10-like kernel.
func sampleReport() *Report {
	sup, uns := Result{State: compat.Supported}, Result{State: compat.Unsupported, Detail: "x not supported (requires >= 5.11)"}
	unk := Result{State: compat.Unknown, Errno: "EPERM", Detail: "permission denied"}
	return &Report{
		SchemaVersion: 1,
		ProbedAt:      time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Kernel:        KernelInfo{Release: "5.10.0-28-amd64", Version: "5.10.209", VersionCode: 330449, VersionSource: "vdso", Machine: "x86_64"},
		Distro:        DistroInfo{ID: "debian", VersionID: "11", PrettyName: "Debian GNU/Linux 11 (bullseye)"},
		SystemConfig:  SystemConfig{Config: nil, ConfigError: "kernel config not readable"},
		SyscallConfig: SyscallConfig{HaveBPFSyscall: sup},
		ProgramTypes:  map[string]Result{"kprobe": sup, "xdp": sup, "lsm": unk, "syscall": uns},
		MapTypes:      map[string]Result{"ringbuf": sup, "task_storage": uns},
		MapFlags:      map[string]Result{"mmapable": sup},
		Helpers: map[string]HelperSet{
			"kprobe":  {Probed: true, Supported: []string{"bpf_ringbuf_output", "bpf_probe_read_kernel"}, Unsupported: []string{"bpf_loop"}, Unknown: map[string]string{"bpf_copy_from_user": "EINVAL helper call might sleep"}},
			"xdp":     {Probed: true, Supported: []string{"bpf_xdp_adjust_head"}, Unsupported: []string{"bpf_loop", "bpf_copy_from_user", "bpf_cgrp_storage_get"}, Invalid: []string{"bpf_cgrp_storage_get"}},
			"lsm":     {Reason: "no reliable helper probe for lsm programs"},
			"syscall": {Reason: "program type syscall is unsupported"},
		},
		Misc:    map[string]Result{"global-data": sup, "limit:1m-insns": sup},
		Attach:  map[string]Result{"fentry": sup, "kprobe": unk},
		BTF:     map[string]Result{"vmlinux": sup, "core": sup},
		Insn:    map[string]Result{"v3": sup, "v4": uns},
		TestRun: map[string]Result{"xdp": sup},
		Stats:   map[string]Result{"verified-insns": uns},
		Ksyms:   map[string]Result{"do_sys_openat2": sup, "_do_fork": {State: compat.Unsupported, Detail: "not in /proc/kallsyms"}},
		Kfuncs:  map[string]Result{"bpf_task_acquire": {State: compat.Unsupported, Detail: "no FUNC bpf_task_acquire in vmlinux BTF"}},
	}
}

func TestProbeReportHas(t *testing.T) {
	r := sampleReport()
	for id, want := range map[compat.FeatureID]compat.State{
		"prog:xdp": compat.Supported, "prog:lsm": compat.Unknown, "prog:syscall": compat.Unsupported, "prog:tracing": compat.Unknown,
		"map:ringbuf": compat.Supported, "map:task_storage": compat.Unsupported, "map-flag:mmapable": compat.Supported,
		"helper:bpf_ringbuf_output":          compat.Supported,
		"helper:bpf_ringbuf_output@kprobe":   compat.Supported,
		"helper:bpf_ringbuf_output@xdp":      compat.Unknown, // not in xdp's lists
		"helper:bpf_loop":                    compat.Unknown, // unsupported where probed, but lsm is inconclusive
		"helper:bpf_loop@kprobe":             compat.Unsupported,
		"helper:bpf_copy_from_user@kprobe":   compat.Unknown,
		"helper:bpf_map_lookup_elem@syscall": compat.Unsupported, // program type unsupported
		"helper:bpf_map_lookup_elem@lsm":     compat.Unknown,
		"helper:bpf_map_lookup_elem@sk_msg":  compat.Unknown, // not in report
		"attach:fentry":                      compat.Supported,
		"attach:kprobe":                      compat.Unknown,
		"btf:core":                           compat.Supported,
		"insn:v4":                            compat.Unsupported,
		"test-run:xdp":                       compat.Supported,
		"stats:verified-insns":               compat.Unsupported,
		"global-data":                        compat.Supported,
		"limit:1m-insns":                     compat.Supported,
		"bpf2bpf-calls":                      compat.Unknown, // not probed
		"ksym:do_sys_openat2":                compat.Supported,
		"ksym:_do_fork":                      compat.Unsupported,
		"ksym:vfs_read":                      compat.Unknown, // not recorded, loaded report
		"kfunc:bpf_task_acquire":             compat.Unsupported,
		"kfunc:bpf_cpumask_create":           compat.Unknown,
		"no-such-feature":                    compat.Unknown,
	} {
		got := r.Has(id)
		if got.State != want {
			t.Errorf("Has(%s) = %+v, want %s", id, got, want)
		}
		if got.State == compat.Unknown && got.Detail == "" {
			t.Errorf("Has(%s): unknown without detail", id)
		}
	}
	if r.Has("attach:kprobe").Detail != "EPERM permission denied" {
		t.Errorf("detail should carry the errno: %q", r.Has("attach:kprobe").Detail)
	}
	if got := r.Name(); got != "probed kernel 5.10.0-28-amd64 (Debian GNU/Linux 11 (bullseye))" {
		t.Errorf("Name() = %q", got)
	}
}

func TestDecodeProbeReport(t *testing.T) {
	good, err := json.Marshal(sampleReport())
	if err != nil {
		t.Fatal(err)
	}
	r, err := Decode(good)
	if err != nil {
		t.Fatalf("valid report rejected: %v", err)
	}
	if r.Has("helper:bpf_ringbuf_output@kprobe").State != compat.Supported || r.Kernel.Version != "5.10.209" {
		t.Errorf("decoded report lost data: %+v", r.Kernel)
	}
	if err := sampleReport().ValidateJSON(); err != nil {
		t.Errorf("ValidateJSON: %v", err)
	}

	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		json.Unmarshal(good, &m)
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"not json":        {[]byte("{"), "not JSON"},
		"array":           {[]byte("[]"), "not a JSON object"},
		"no version":      {edit(func(m map[string]any) { delete(m, "schema_version") }), "no schema_version"},
		"future version":  {edit(func(m map[string]any) { m["schema_version"] = 2 }), "schema_version 2 is not supported"},
		"bad state":       {edit(func(m map[string]any) { m["map_types"].(map[string]any)["ringbuf"] = map[string]any{"state": "maybe"} }), "map_types"},
		"unknown no why":  {edit(func(m map[string]any) { m["attach"].(map[string]any)["kprobe"] = map[string]any{"state": "unknown"} }), "attach"},
		"missing section": {edit(func(m map[string]any) { delete(m, "helpers") }), "helpers"},
		"unknown field":   {edit(func(m map[string]any) { m["surprise"] = 1 }), "surprise"},
		"bad helper name": {edit(func(m map[string]any) {
			m["helpers"].(map[string]any)["xdp"] = map[string]any{"probed": true, "supported": []string{"Nope"}}
		}), "helpers"},
		"unprobed no why": {edit(func(m map[string]any) { m["helpers"].(map[string]any)["xdp"] = map[string]any{"probed": false} }), "reason"},
	} {
		_, err := Decode(tc.data)
		if !errors.Is(err, ErrBadReport) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrBadReport mentioning %q", name, err, tc.want)
		}
	}

	dir := t.TempDir()
	bad := filepath.Join(dir, "node.json")
	os.WriteFile(bad, []byte("{}"), 0o644)
	if _, err := Load(bad); err == nil || !strings.HasPrefix(err.Error(), bad+": ") {
		t.Errorf("Load(bad) = %v, want an error naming the file", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("Load(missing) = %v", err)
	}
}

// TestProbeSchemaDocumentsEverySection keeps the schema and the Go type in
// step: every JSON field of Report is a schema property.
func TestProbeSchemaDocumentsEverySection(t *testing.T) {
	var schema struct {
		Properties map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(JSONSchema, &schema); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(sampleReport())
	var m map[string]any
	json.Unmarshal(b, &m)
	for k := range m {
		if _, ok := schema.Properties[k]; !ok {
			t.Errorf("field %q not documented in probe.schema.json", k)
		}
	}
	for _, s := range []string{"system_config", "syscall_config", "program_types", "map_types", "helpers", "misc", "attach", "btf", "insn", "test_run", "stats"} {
		if _, ok := m[s]; !ok {
			t.Errorf("section %s missing from the JSON", s)
		}
	}
}

// TestFinishHelpers: the helper lists come out sorted by name, invalid
// helpers are also unsupported, unknown ones keep their errno and reason.
func TestFinishHelpers(t *testing.T) {
	p := newProber(Options{})
	res := make([]Result, len(kenum.Helpers))
	for i := range res {
		switch i % 4 {
		case 0:
			res[i] = Result{State: compat.Supported, Detail: "verifier accepted the call"}
		case 1:
			res[i] = Result{State: compat.Unsupported, Errno: "EINVAL", Detail: "program of this type cannot use helper"}
		case 2:
			res[i] = Result{State: compat.Unsupported, Errno: "EINVAL", Detail: "invalid func (unknown to this kernel)"}
		case 3:
			res[i] = Result{State: compat.Unknown, Errno: "EINVAL", Detail: "helper call might sleep in a non-sleepable prog"}
		}
	}
	p.helperResults["kprobe"] = res
	p.finishHelpers()
	hs := p.rep.Helpers["kprobe"]
	if !hs.Probed {
		t.Fatal("kprobe helpers not marked probed")
	}
	for name, list := range map[string][]string{"supported": hs.Supported, "unsupported": hs.Unsupported, "invalid": hs.Invalid} {
		if !sort.StringsAreSorted(list) {
			t.Errorf("%s helpers not sorted: %v", name, list)
		}
	}
	count := func(r int) int { return (len(kenum.Helpers) - r + 3) / 4 } // i%4 == r
	if len(hs.Supported) != count(0) || len(hs.Unsupported) != count(1)+count(2) || len(hs.Invalid) != count(2) || len(hs.Unknown) != count(3) {
		t.Errorf("counts: %d supported, %d unsupported, %d invalid, %d unknown", len(hs.Supported), len(hs.Unsupported), len(hs.Invalid), len(hs.Unknown))
	}
	if got := hs.Unknown[kenum.Helpers[3].Name]; got != "EINVAL helper call might sleep in a non-sleepable prog" {
		t.Errorf("unknown %s = %q", kenum.Helpers[3].Name, got)
	}
}

func TestOptionsRecord(t *testing.T) {
	var o Options
	o.Record("ksym:tcp_sendmsg", "kfunc:bpf_task_acquire", "map:ringbuf", "ksym:do_unlinkat", "ksym:tcp_sendmsg")
	o.Record("kfunc:bpf_task_acquire")
	if !slices.Equal(o.Ksyms, []string{"do_unlinkat", "tcp_sendmsg"}) || !slices.Equal(o.Kfuncs, []string{"bpf_task_acquire"}) {
		t.Fatalf("ksyms %v kfuncs %v", o.Ksyms, o.Kfuncs)
	}
}
