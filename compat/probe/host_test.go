package probe

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/compat/internal/kenum"
	"github.com/retrobpf/retrobpf/internal/kversion"
)

// These tests probe the real kernel of the machine they run on and assert
// what is true there; they need root and skip otherwise.

var (
	hostOnce   sync.Once
	hostReport *Report
	hostErr    error
)

// hostProbe probes this host once for all tests.
func hostProbe(t *testing.T) *Report {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("probing the kernel needs root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_SYS_ADMIN)")
	}
	hostOnce.Do(func() {
		hostReport, hostErr = Probe(context.Background(), Options{Ksyms: []string{"vfs_read", "retrobpf_no_such_symbol"}, KsymsCatalog: true})
	})
	if hostErr != nil {
		t.Fatal(hostErr)
	}
	if os.Getenv("RETROBPF_PROBE_DUMP") != "" {
		b, _ := json.MarshalIndent(hostReport, "", "  ")
		os.WriteFile(os.Getenv("RETROBPF_PROBE_DUMP"), b, 0o644)
	}
	return hostReport
}

func hostVersion(t *testing.T, r *Report) kversion.Version {
	v, err := kversion.Parse(r.Kernel.Version)
	if err != nil {
		t.Fatalf("kernel version %q: %v", r.Kernel.Version, err)
	}
	return v
}

func requireKernel(t *testing.T, r *Report, min string) {
	if hostVersion(t, r).Less(kversion.MustParse(min)) {
		t.Skipf("needs Linux %s, host runs %s", min, r.Kernel.Version)
	}
}

func wantState(t *testing.T, r *Report, id compat.FeatureID, want compat.State) {
	t.Helper()
	if got := r.Has(id); got.State != want {
		t.Errorf("%s = %s (%s), want %s", id, got.State, got.Detail, want)
	}
}

func TestProbeHostBasics(t *testing.T) {
	r := hostProbe(t)
	if r.Kernel.Release == "" || r.Kernel.Version == "" || r.Kernel.Machine == "" {
		t.Errorf("kernel info incomplete: %+v", r.Kernel)
	}
	var u syscall.Utsname
	syscall.Uname(&u)
	if !strings.HasPrefix(r.Kernel.Release, hostVersion(t, r).String()[:3]) {
		t.Errorf("version %s does not match release %s", r.Kernel.Version, r.Kernel.Release)
	}
	wantState(t, r, "bpf-syscall", compat.Supported)
	if r.SystemConfig.BPFJITEnable == nil || r.SystemConfig.UnprivilegedBPFDisabled == nil {
		t.Errorf("sysctls not read: %+v", r.SystemConfig.SysctlErrors)
	}
	if err := r.ValidateJSON(); err != nil {
		t.Errorf("host report does not match probe.schema.json: %v", err)
	}
	// Every catalog feature except the dynamic ones has a recorded answer.
	for _, f := range compat.Catalog() {
		if got := r.Has(f.ID); got.State == compat.Unknown && strings.HasPrefix(got.Detail, "not probed:") &&
			f.Kind != compat.KindKfunc && !strings.HasPrefix(string(f.ID), "ksym:") && !strings.HasPrefix(f.Probe, "not probed") {
			t.Errorf("%s was not probed", f.ID)
		}
	}
}

func TestProbeHostModernKernel(t *testing.T) {
	r := hostProbe(t)
	requireKernel(t, r, "5.8")
	for _, id := range []compat.FeatureID{
		"prog:xdp", "prog:sched_cls", "prog:kprobe", "prog:socket_filter", "prog:raw_tracepoint",
		"map:ringbuf", "map:hash", "map:perf_event_array", "map-flag:mmapable",
		"helper:bpf_ringbuf_output", "helper:bpf_ringbuf_output@xdp", "helper:bpf_probe_read_kernel@kprobe",
		"ringbuf-reserve", "global-data", "bpf2bpf-calls", "limit:1m-insns",
		"insn:v2", "insn:v3", "insn:bounded-loops", "insn:atomics",
		"btf:kernel", "btf:func", "btf:datasec", "test-run:xdp", "test-run:sched_cls",
		"attach:raw_tp", "attach:link", "stats:enable-stats",
	} {
		wantState(t, r, id, compat.Supported)
	}
	// xdp programs can never call kprobe-only helpers.
	wantState(t, r, "helper:bpf_override_return@xdp", compat.Unsupported)
	wantState(t, r, "helper:bpf_xdp_adjust_head@kprobe", compat.Unsupported)
	wantState(t, r, "test-run:kprobe", compat.Unsupported)
	wantState(t, r, "ksym:retrobpf_no_such_symbol", compat.Unsupported)
	wantState(t, r, "ksym:vfs_read", compat.Supported)
}

func TestProbeHostBTF(t *testing.T) {
	r := hostProbe(t)
	_, err := os.Stat("/sys/kernel/btf/vmlinux")
	if err != nil {
		wantState(t, r, "btf:vmlinux", compat.Unsupported)
		t.Skip("no /sys/kernel/btf/vmlinux on this host")
	}
	wantState(t, r, "btf:vmlinux", compat.Supported)
	wantState(t, r, "btf:core", compat.Supported)
	wantState(t, r, "attach:tp_btf", compat.Supported)
	requireKernel(t, r, "6.6")
	wantState(t, r, "insn:v4", compat.Supported)
}

// TestProbeHostKprobes asserts what is true here: with CONFIG_KPROBES the
// kprobe attach works (or is unknown), without it the probe says
// unsupported, never supported.
func TestProbeHostKprobes(t *testing.T) {
	r := hostProbe(t)
	cfg := r.SystemConfig.Config
	if cfg == nil {
		t.Skip("kernel config unreadable: " + r.SystemConfig.ConfigError)
	}
	got := r.Has("attach:kprobe")
	if v := cfg["CONFIG_KPROBES"]; v == nil {
		if got.State != compat.Unsupported || !strings.Contains(got.Detail, "CONFIG_KPROBES is not set") {
			t.Errorf("attach:kprobe = %+v, want unsupported because CONFIG_KPROBES is not set", got)
		}
		wantState(t, r, "attach:kretprobe", compat.Unsupported)
		if fp := cfg["CONFIG_FPROBE"]; fp == nil {
			wantState(t, r, "attach:kprobe_multi", compat.Unsupported)
		}
	} else if got.State == compat.Unsupported {
		t.Errorf("attach:kprobe = %+v with CONFIG_KPROBES=%s", got, *v)
	}
}

// TestProbeHelperMatrixMatchesCilium cross-checks the raw helper prober
// with cilium/ebpf's HaveProgramHelper wherever the latter is conclusive.
func TestProbeHelperMatrixMatchesCilium(t *testing.T) {
	r := hostProbe(t)
	checked := 0
	for _, ptName := range []string{"xdp", "kprobe", "socket_filter", "sched_cls", "cgroup_sock_addr", "tracepoint"} {
		pt, _ := kenum.ProgTypeByName(ptName)
		if r.ProgramTypes[ptName].State != compat.Supported {
			continue
		}
		for i, h := range kenum.Helpers {
			if i%4 != 0 && !strings.HasPrefix(h.Name, "bpf_ringbuf") && h.Name != "bpf_probe_read_kernel" {
				continue // a sample keeps the test fast
			}
			want := ciliumHelperResult(pt.Type, h)
			if want.State == compat.Unknown {
				continue
			}
			got := r.Has(compat.FeatureID("helper:" + h.Name + "@" + ptName))
			if got.State != want.State {
				t.Errorf("%s@%s: retrobpf %s (%s), cilium/ebpf %s (%s)", h.Name, ptName, got.State, got.Detail, want.State, want.Detail)
			}
			checked++
		}
	}
	if checked < 50 {
		t.Errorf("only %d helper results compared", checked)
	}
}

// TestProbeUnprivileged runs the probe as nobody: permission errors must
// come out unknown, never unsupported.
func TestProbeUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch to an unprivileged user")
	}
	dir, err := os.MkdirTemp("", "retrobpf-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o777)
	exe := filepath.Join(dir, "compat.test")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "report.json")
	cmd := exec.Command(exe, "-test.run=^TestProbeUnprivilegedChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "RETROBPF_PROBE_CHILD="+out, "HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, b)
	}
	r, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	var unknown int
	for _, sec := range []map[string]Result{r.ProgramTypes, r.MapTypes, r.Attach, r.TestRun, r.Misc, r.Insn} {
		for k, res := range sec {
			if res.State == compat.Unsupported && (res.Errno == "EPERM" || res.Errno == "EACCES" || strings.Contains(res.Detail, "permission denied")) {
				t.Errorf("%s: unsupported from a permission error: %+v", k, res)
			}
			if res.State == compat.Unknown {
				unknown++
			}
		}
	}
	if unknown < 20 {
		t.Errorf("only %d unknown results as nobody: the probe is not honest about permissions", unknown)
	}
	wantState(t, r, "prog:xdp", compat.Unknown)
	wantState(t, r, "map:ringbuf", compat.Unknown)
}

// TestProbeUnprivilegedChild is the child of TestProbeUnprivileged.
func TestProbeUnprivilegedChild(t *testing.T) {
	out := os.Getenv("RETROBPF_PROBE_CHILD")
	if out == "" {
		t.Skip("only run by TestProbeUnprivileged")
	}
	r, err := Probe(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ciliumHelperResult is cilium/ebpf's own answer for a helper.
func ciliumHelperResult(pt ebpf.ProgramType, h kenum.Helper) Result {
	err := haveProgramHelperCilium(pt, h.Fn)
	return resultOf(err)
}

// LimitHelpers probes only the recorded pairs; those agree with the full
// probe and everything else reads unknown, never unsupported.
func TestProbeLimitHelpers(t *testing.T) {
	full := hostProbe(t)
	var opts Options
	opts.LimitHelpers = true
	opts.Record("prog:tracepoint", "helper:bpf_ringbuf_output", "helper:bpf_get_current_pid_tgid@kprobe", "helper:bpf_skb_load_bytes")
	rep, err := Probe(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []compat.FeatureID{"helper:bpf_ringbuf_output@tracepoint", "helper:bpf_get_current_pid_tgid@kprobe",
		"helper:bpf_skb_load_bytes@tracepoint", "helper:bpf_get_current_pid_tgid@tracepoint"} {
		if got, want := rep.Has(id).State, full.Has(id).State; got != want {
			t.Errorf("%s: limited probe %s, full probe %s", id, got, want)
		}
	}
	for _, id := range []compat.FeatureID{"helper:bpf_loop@tracepoint", "helper:bpf_ringbuf_output@xdp"} {
		if got := rep.Has(id); got.State != compat.Unknown || !strings.Contains(got.Detail, "not probed") {
			t.Errorf("%s: %s (%s), want unknown, not probed", id, got.State, got.Detail)
		}
	}
	if hs := rep.Helpers["tracepoint"]; !hs.Probed || len(hs.Supported)+len(hs.Unsupported) > 3 {
		t.Errorf("tracepoint helpers: probed %v, %d supported, %d unsupported: want only the recorded ones", hs.Probed, len(hs.Supported), len(hs.Unsupported))
	}
}
