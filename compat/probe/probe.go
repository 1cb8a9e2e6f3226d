package probe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/rlimit"
	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/compat/internal/kenum"
	"golang.org/x/sys/unix"
)

// SchemaVersion is the schema_version of Report JSON
// (documented by probe.schema.json).
const SchemaVersion = 1

// Options tune Probe.
type Options struct {
	// Workers bounds the number of helper-matrix probes run at the same
	// time; 0 means one per CPU (at least 2).
	Workers int
	// SkipHelpers skips the per-program-type helper matrix, by far the
	// largest part of the probe. helper:* then answers Unknown.
	SkipHelpers bool
	// AttachSurface records the attach surface (kallsyms, BTF functions,
	// tracepoints) in the report, so that it decides attach targets once
	// saved. It costs a few hundred milliseconds and ~1 MB of JSON; a
	// report used only in this process answers them live without it.
	AttachSurface bool
	// KernelBTF records the kernel's vmlinux BTF in the report, compressed
	// (about 1.5 MB for a distribution kernel), so check --probe decides
	// CO-RE relocations and bpf_core_*_exists() guards without the kernel.
	KernelBTF bool
	// CacheDir, when set, keeps reports between runs: a probe of the same
	// kernel, boot, privileges, retrobpf build and options answers from
	// there in milliseconds, with only the sysctls (which change at run
	// time) read again. Report.FromCache says when it did.
	CacheDir string
	// Ksyms are kernel symbols to look up in /proc/kallsyms and record in
	// the report, so a saved report can answer ksym:NAME. Reading kallsyms
	// costs more kernel time than the rest of the probe, so it is only read
	// when asked; KsymsCatalog adds the catalog's well-known ksym:NAME.
	// (A report used in-process answers any ksym:NAME by reading kallsyms
	// on first use.)
	Ksyms        []string
	KsymsCatalog bool
	// Kfuncs are extra kfuncs to look up in vmlinux BTF and record (the
	// catalog's kfunc:NAME entries are always recorded).
	Kfuncs []string
	// Targets are attach targets (btf-func:, raw-tp:, tracepoint:) to
	// decide now and record, for a report that is saved without the
	// whole AttachSurface: what a matrix guest needs for its manifest,
	// without reading and encoding every kernel symbol under emulation.
	Targets []compat.FeatureID
	// LimitHelpers probes the helper matrix only for the helpers and
	// program types Record was given (helper:X, helper:X@TYPE, prog:TYPE)
	// instead of every pair: the others read unknown, "not probed". A
	// matrix guest needs a few dozen pairs, not thousands of verifier runs
	// under emulation.
	LimitHelpers bool
	helpers      map[string]bool
	helperTypes  map[string]bool
	// AttachAll also attaches uprobe and perf tracepoint programs for real.
	// Their teardown waits for RCU grace periods under a global kernel
	// mutex (tens of milliseconds each), so by default they are answered
	// from evidence: the program type loads, the kernel config and the
	// tracefs/PMU interface they attach through.
	AttachAll bool
}

// Result is one probe outcome. Unknown always carries the raw error;
// Errno is its symbolic errno when there is one (EPERM, EINVAL, …).
type Result struct {
	State  compat.State `json:"state"`
	Errno  string       `json:"errno,omitempty"`
	Detail string       `json:"detail,omitempty"`
}

// Report is what Probe found on one kernel. It implements Target.
// Sections mirror bpftool's "feature probe -j" output (system_config,
// syscall_config, program_types, map_types, helpers, misc) and add
// retrobpf's own (map_flags, attach, btf, insn, test_run, stats, ksyms,
// kfuncs). Section keys are the feature ID without its kind prefix; misc
// keys are whole IDs.
type Report struct {
	SchemaVersion int               `json:"schema_version"`
	ProbedAt      time.Time         `json:"probed_at"`
	DurationMS    float64           `json:"duration_ms"`
	Kernel        KernelInfo        `json:"kernel"`
	Distro        DistroInfo        `json:"distro"`
	SystemConfig  SystemConfig      `json:"system_config"`
	SyscallConfig SyscallConfig     `json:"syscall_config"`
	ProgramTypes  map[string]Result `json:"program_types"`
	MapTypes      map[string]Result `json:"map_types"`
	MapFlags      map[string]Result `json:"map_flags"`
	// Helpers is keyed by program type (bpftool name).
	Helpers map[string]HelperSet `json:"helpers"`
	Misc    map[string]Result    `json:"misc"`
	Attach  map[string]Result    `json:"attach"`
	BTF     map[string]Result    `json:"btf"`
	Insn    map[string]Result    `json:"insn"`
	TestRun map[string]Result    `json:"test_run"`
	Stats   map[string]Result    `json:"stats"`
	Ksyms   map[string]Result    `json:"ksyms,omitempty"`
	Kfuncs  map[string]Result    `json:"kfuncs,omitempty"`
	// AttachSurface is what the kernel offers to attach to, so a saved
	// report decides kprobe, fentry, tracepoint and tp_btf targets.
	AttachSurface *AttachSurface `json:"attach_surface,omitempty"`
	// KernelBTF is the kernel's own vmlinux BTF (Options.KernelBTF), so a
	// saved report resolves CO-RE relocations as a load there would.
	KernelBTF *EmbeddedBTF `json:"kernel_btf,omitempty"`

	// FromCache is set when Probe answered from Options.CacheDir.
	FromCache bool `json:"-"`

	// live is set for a report made in this process: it answers ksym:NAME
	// and kfunc:NAME that were not recorded by looking them up now.
	live *liveLookups
}

// KernelInfo identifies the probed kernel.
type KernelInfo struct {
	Release string `json:"release"` // uname -r
	// Version is the upstream version (from the vDSO LINUX_VERSION_CODE
	// when available, else parsed from Release).
	Version       string `json:"version"`
	VersionCode   uint32 `json:"version_code,omitempty"`
	VersionSource string `json:"version_source"` // "vdso" or "release"
	Machine       string `json:"machine"`
}

// DistroInfo comes from /etc/os-release (empty when missing).
type DistroInfo struct {
	ID         string `json:"id,omitempty"`
	VersionID  string `json:"version_id,omitempty"`
	PrettyName string `json:"pretty_name,omitempty"`
	Error      string `json:"error,omitempty"`
}

// SystemConfig mirrors bpftool's system_config: sysctls (nil when
// unreadable) and the BPF-relevant kernel config options (nil value: not set).
type SystemConfig struct {
	UnprivilegedBPFDisabled *int64             `json:"unprivileged_bpf_disabled"`
	BPFJITEnable            *int64             `json:"bpf_jit_enable"`
	BPFJITHarden            *int64             `json:"bpf_jit_harden"`
	BPFJITKallsyms          *int64             `json:"bpf_jit_kallsyms"`
	BPFJITLimit             *int64             `json:"bpf_jit_limit"`
	BPFStatsEnabled         *int64             `json:"bpf_stats_enabled"`
	SysctlErrors            map[string]string  `json:"sysctl_errors,omitempty"`
	ConfigSource            string             `json:"config_source,omitempty"`
	ConfigError             string             `json:"config_error,omitempty"`
	Config                  map[string]*string `json:"config"`
}

// SyscallConfig mirrors bpftool's syscall_config.
type SyscallConfig struct {
	HaveBPFSyscall Result `json:"have_bpf_syscall"`
}

// HelperSet is the helper availability for one program type.
type HelperSet struct {
	// Probed is false when the helpers of this program type were not
	// probed; Reason says why and every helper answers Unknown (or
	// Unsupported when the program type itself is unsupported).
	Probed      bool              `json:"probed"`
	Reason      string            `json:"reason,omitempty"`
	Supported   []string          `json:"supported,omitempty"`
	Unsupported []string          `json:"unsupported,omitempty"`
	Unknown     map[string]string `json:"unknown,omitempty"` // helper -> raw error
	// Invalid lists the unsupported helpers the kernel does not know at
	// all ("invalid func": the ID is beyond its __BPF_FUNC_MAX_ID), which
	// makes them unsupported for every program type, probed or not.
	Invalid []string `json:"invalid,omitempty"`
}

// Probe probes the running kernel. Probes that cannot decide give Unknown
// with the raw error (a permission error is never read as unsupported).
// The error is only for a cancelled context.
func Probe(ctx context.Context, opts Options) (*Report, error) {
	if opts.CacheDir == "" {
		return probe(ctx, opts)
	}
	key, err := cacheKey(opts)
	if err != nil {
		return probe(ctx, opts)
	}
	if r := cached(opts.CacheDir, key); r != nil {
		// Sysctls change without a reboot: read them again.
		p := newProber(opts)
		r.live, r.FromCache = p.rep.live, true // a cached report still looks symbols up live
		if r.Misc == nil {
			r.Misc = map[string]Result{}
		}
		p.rep = r
		p.probeSysctls()
		return r, nil
	}
	r, err := probe(ctx, opts)
	if err == nil {
		saveCached(opts.CacheDir, key, r)
	}
	return r, err
}

func probe(ctx context.Context, opts Options) (*Report, error) {
	start := time.Now()
	// Before 5.11 BPF memory counts against RLIMIT_MEMLOCK; a failure here
	// shows up as EPERM in the probes themselves.
	_ = rlimit.RemoveMemlock()

	p := newProber(opts)
	r := p.rep
	r.ProbedAt = start.UTC()

	// Probe loads spend their time in the kernel, where concurrent loads
	// contend on allocator locks: more workers than CPUs buys nothing.
	workers := opts.Workers
	if workers <= 0 {
		workers = max(runtime.NumCPU(), 2)
	}

	// Phase 1: what the helper matrix depends on (the program types and
	// the version code kprobes need before 5.0); kept short because the
	// matrix, the longest part, waits for it.
	phase1 := []func(){p.probeKernel}
	for _, pt := range kenum.ProgTypes {
		if !needsVmlinuxBTF(pt.Type) {
			phase1 = append(phase1, func() { p.probeProgType(pt) })
		}
	}

	tracef("probe start")
	err := runTasks(ctx, workers, phase1)
	close(p.phase1Done)
	tracef("phase 1 done")
	if err != nil {
		return nil, err
	}

	// Phase 2: the helper matrix (thousands of verifier runs) runs on one
	// locked OS thread per worker. The other probes mostly wait on the
	// kernel (RCU grace periods, perf event teardown): each runs in its
	// own goroutine, started first so that their waits overlap the matrix.
	var jobs []helperJob
	if !opts.SkipHelpers {
		for _, pt := range kenum.ProgTypes {
			jobs = append(jobs, p.helperJobs(pt)...)
		}
	} else {
		for _, pt := range kenum.ProgTypes {
			p.rep.Helpers[pt.Name] = HelperSet{Reason: "helper probes skipped (--skip-helpers)"}
		}
	}
	var waiting sync.WaitGroup
	for _, t := range p.otherTasks() {
		waiting.Add(1)
		go func() {
			defer waiting.Done()
			traced(t)()
		}()
	}
	err = p.runHelperMatrix(ctx, workers, jobs)
	tracef("helper matrix done")
	waiting.Wait()
	tracef("other probes done")
	if err != nil {
		return nil, err
	}
	p.finishHelpers()
	p.rep.Misc["probe-read-kernel"] = p.rep.result("helper:bpf_probe_read_kernel")
	r.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	return r, nil
}

// runTasks runs tasks on a bounded pool of workers, in order of the slice.
func runTasks(ctx context.Context, workers int, tasks []func()) error {
	next := make(chan func())
	var wg sync.WaitGroup
	for range min(workers, len(tasks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range next {
				traced(t)()
			}
		}()
	}
	var err error
	for _, t := range tasks {
		if err = ctx.Err(); err != nil {
			break
		}
		next <- t
	}
	close(next)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	return nil
}

// traced wraps t to print its duration when RETROBPF_PROBE_TRACE is set
// (for tuning the probe; see scripts/bench-probe.sh).
var traceStart = time.Now()

// tracef prints a timeline mark when RETROBPF_PROBE_TRACE is set.
func tracef(what string) {
	if os.Getenv("RETROBPF_PROBE_TRACE") != "" {
		fmt.Fprintf(os.Stderr, "probe mark %-40s at %6d us\n", what, time.Since(traceStart).Microseconds())
	}
}

func traced(t func()) func() {
	if os.Getenv("RETROBPF_PROBE_TRACE") == "" {
		return t
	}
	return func() {
		t0 := time.Now()
		t()
		fmt.Fprintf(os.Stderr, "probe task %-70s start %6d us, took %6d us\n", runtime.FuncForPC(reflect.ValueOf(t).Pointer()).Name(),
			t0.Sub(traceStart).Microseconds(), time.Since(t0).Microseconds())
	}
}

// prober holds the report under construction.
type prober struct {
	opts Options
	// manyArgs is attach:fentry_many_args, probed once for whichever of
	// the attach probes and the attach targets asks first.
	manyArgsOnce sync.Once
	manyArgs     Result
	feat         featureProber
	// btfCache shares the parsed vmlinux BTF between all probe loads
	// (ebpf.NewProgram would parse it again for every tracing program).
	btfCache *btf.Cache
	mu       sync.Mutex
	rep      *Report
	// phase1Done is closed when the phase-1 facts are recorded;
	// btfProgsDone when the program types that need vmlinux BTF are.
	phase1Done   chan struct{}
	btfProgsDone chan struct{}
	configDone   chan struct{} // the kernel config is read
	// helperRef is the reference program type of the helper matrix.
	helperRef *helperReference
	// helper results per program type, indexed like helpers, merged by
	// finishHelpers.
	helperResults map[string][]Result
}

func newProber(opts Options) *prober {
	p := &prober{
		opts:     opts,
		feat:     ciliumFeatures{},
		btfCache: btf.NewCache(),
		rep: &Report{
			SchemaVersion: SchemaVersion,
			SystemConfig:  SystemConfig{Config: map[string]*string{}},
			ProgramTypes:  map[string]Result{},
			MapTypes:      map[string]Result{},
			MapFlags:      map[string]Result{},
			Helpers:       map[string]HelperSet{},
			Misc:          map[string]Result{},
			Attach:        map[string]Result{},
			BTF:           map[string]Result{},
			Insn:          map[string]Result{},
			TestRun:       map[string]Result{},
			Stats:         map[string]Result{},
			Ksyms:         map[string]Result{},
			Kfuncs:        map[string]Result{},
		},
		helperResults: map[string][]Result{},
		phase1Done:    make(chan struct{}),
		btfProgsDone:  make(chan struct{}),
		configDone:    make(chan struct{}),
	}
	p.rep.live = &liveLookups{}
	return p
}

// set records r under key in section m.
func (p *prober) set(m map[string]Result, key string, r Result) {
	p.mu.Lock()
	m[key] = r
	p.mu.Unlock()
}

// get reads a recorded result (zero Result if absent).
func (p *prober) get(m map[string]Result, key string) Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	return m[key]
}

// resultOf maps a probe error to a Result: nil is Supported,
// ebpf.ErrNotSupported is Unsupported, a permission error or anything else
// is Unknown with the raw error. Never a guess.
func resultOf(err error) Result {
	if err == nil {
		return Result{State: compat.Supported}
	}
	r := Result{State: compat.Unknown, Errno: errnoName(err), Detail: err.Error()}
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		r.Detail = "permission denied, not proof of absence: " + r.Detail
	case errors.Is(err, ebpf.ErrNotSupported):
		r.State = compat.Unsupported
	}
	return r
}

// supported, unsupported and unknown build Results with evidence.
func supported(detail string) Result   { return Result{State: compat.Supported, Detail: detail} }
func unsupported(detail string) Result { return Result{State: compat.Unsupported, Detail: detail} }
func unknown(err error) Result {
	return Result{State: compat.Unknown, Errno: errnoName(err), Detail: err.Error()}
}

// errnoName returns the symbolic errno wrapped in err, or "".
func errnoName(err error) string {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return ""
	}
	if errno == enotsupp {
		return "ENOTSUPP"
	}
	if n := unix.ErrnoName(errno); n != "" {
		return n
	}
	return fmt.Sprintf("errno %d", int(errno))
}

// enotsupp is the kernel-internal ENOTSUPP (524) that leaks to user space.
const enotsupp = unix.Errno(524)

// finishHelpers turns the per-type helper results into sorted HelperSets.
func (p *prober) finishHelpers() {
	for _, pt := range kenum.ProgTypes {
		res, ok := p.helperResults[pt.Name]
		if !ok {
			continue
		}
		var nSupported int
		for _, r := range res {
			if r.State == compat.Supported {
				nSupported++
			}
		}
		hs := HelperSet{Probed: true, Supported: make([]string, 0, nSupported), Unsupported: make([]string, 0, len(res)-nSupported), Unknown: map[string]string{}}
		for _, i := range helpersByName() {
			r, name := res[i], kenum.Helpers[i].Name
			switch r.State {
			case compat.Supported:
				hs.Supported = append(hs.Supported, name)
			case compat.Unsupported:
				hs.Unsupported = append(hs.Unsupported, name)
				if strings.HasPrefix(r.Detail, "invalid func") {
					hs.Invalid = append(hs.Invalid, name)
				}
			default:
				hs.Unknown[name] = strings.TrimSpace(r.Errno + " " + r.Detail)
			}
		}
		p.rep.Helpers[pt.Name] = hs
	}
}

// helpersByName lists the indices of helpers in name order, so the
// report's helper lists come out sorted without sorting each of them.
var helpersByName = sync.OnceValue(func() []int {
	idx := make([]int, len(kenum.Helpers))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return kenum.Helpers[idx[a]].Name < kenum.Helpers[idx[b]].Name })
	return idx
})

// Record adds the kernel symbols (ksym:NAME) and kfuncs (kfunc:NAME) among
// ids to what Probe records, once each and sorted, so a saved report
// answers them without the kernel; other IDs are ignored.
func (o *Options) Record(ids ...compat.FeatureID) {
	for _, id := range ids {
		kind, name, _ := strings.Cut(string(id), ":")
		switch kind {
		case "ksym":
			o.Ksyms = append(o.Ksyms, name)
		case "kfunc":
			o.Kfuncs = append(o.Kfuncs, name)
		case "btf-func", "raw-tp", "tracepoint", "raw-tp-args", "btf-func-args":
			o.Targets = append(o.Targets, id)
		case "helper":
			helper, typ, qualified := strings.Cut(name, "@")
			o.helpers = addName(o.helpers, helper)
			if qualified {
				o.helperTypes = addName(o.helperTypes, typ)
			}
		case "prog":
			o.helperTypes = addName(o.helperTypes, name)
		}
	}
	slices.Sort(o.Targets)
	o.Targets = slices.Compact(o.Targets)
	slices.Sort(o.Ksyms)
	o.Ksyms = slices.Compact(o.Ksyms)
	slices.Sort(o.Kfuncs)
	o.Kfuncs = slices.Compact(o.Kfuncs)
}

func addName(m map[string]bool, name string) map[string]bool {
	if m == nil {
		m = map[string]bool{}
	}
	m[name] = true
	return m
}

// notProbedHelper is the answer for a pair LimitHelpers left out.
const notProbedHelper = "not probed: the probe was limited to the helpers and program types asked for"
