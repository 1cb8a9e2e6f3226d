package guest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/retrobpf/retrobpf/bpf"
	"github.com/retrobpf/retrobpf/btfhub"
	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/compat/probe"
	"github.com/retrobpf/retrobpf/internal/kversion"
	"github.com/retrobpf/retrobpf/internal/loopdev"
	"github.com/retrobpf/retrobpf/internal/objload"
	"github.com/retrobpf/retrobpf/manifest"
	"github.com/retrobpf/retrobpf/matrix/overhead"
	"github.com/retrobpf/retrobpf/matrix/triage"
	"github.com/retrobpf/retrobpf/matrix/verifier"
	"github.com/retrobpf/retrobpf/reports"
)

// Options configure Run.
type Options struct {
	Suite *manifest.Manifest
	// Ref labels the kernel in the results ("6.1", "oci:…"); default: the
	// release.
	Ref string
	// BTF is an external BTF file for CO-RE (--btf); "" uses the kernel's.
	BTF string
	// BTFIfMissing uses BTF only for a kernel without vmlinux BTF;
	// BTFLabel names it in the results (default: "file:" and its path).
	BTFIfMissing bool
	BTFLabel     string
	// VerifierOnly skips attach and overhead.
	VerifierOnly bool
	// AttachOnly attaches every loaded variant and detaches it again,
	// without triggers or overhead.
	AttachOnly bool
	// Deterministic: the VM's clock counts instructions (QEMU -icount),
	// so overhead figures are in reports.UnitIcountNs.
	Deterministic bool
	// NoProbe answers selection from the catalog (kernel version) instead
	// of probing the kernel.
	NoProbe bool
	// Target, when set, answers selection instead of a new probe (a probe
	// report saved by an earlier step).
	Target compat.Target
	// BlockDevice gives fsync triggers without a path a loop block device
	// to write to (a VM has no disk); LoopModule is a loop.ko to load when
	// the kernel has no loop driver.
	BlockDevice bool
	LoopModule  string
	// Programs limits the run to these programs of the suite (all if
	// empty), so the host can run one VM step per program and keep every
	// finished program if the kernel dies later.
	Programs []string
	// Samples is the number of overhead sample pairs (default 10).
	Samples int
	// Accel is how the VM runs ("tcg", "kvm"); "" (the host) counts as
	// kvm: native speed, nothing emulated.
	Accel reports.Accel
	// Logf reports progress (nil: silent).
	Logf func(format string, args ...any)
}

// Output is what guest-run writes: the kernel's results and the verifier
// logs they point to (LogArtifact paths → gzip data).
type Output struct {
	Kernel reports.KernelResult `json:"kernel"`
	Logs   map[string][]byte    `json:"logs,omitempty"`
}

// ErrInput marks unusable input (a BTF file that cannot be read, a
// program the manifest lacks): nothing was loaded.
var ErrInput = errors.New("invalid guest-run input")

// Run does the whole in-kernel job. The error is for a context
// cancellation or unusable input; program failures are results.
func Run(ctx context.Context, o Options) (*Output, error) {
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	pt := newPhaseTimer()
	_ = rlimit.RemoveMemlock()
	limitMemory()
	if !o.VerifierOnly {
		if err := loopbackUp(); err != nil {
			logf("%v (connect triggers and XDP on lo will fail)", err)
		}
	}
	kv := verifier.RunningKernel()
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	release := unix.ByteSliceToString(uts.Release[:])
	if o.Accel == "" {
		o.Accel = reports.AccelKVM // on the host: native speed, nothing emulated
	}
	ref := o.Ref
	if ref == "" {
		ref = release
	}
	kr := reports.KernelResult{
		Ref: ref, Release: release, Version: kversion.Version{Major: kv.Major, Minor: kv.Minor, Patch: kv.Patch},
		Accel: o.Accel, Emulated: o.Accel == reports.AccelTCG, Outcome: reports.OutcomeOK,
	}
	if mode := Lockdown(); mode != "" && mode != "none" {
		kr.Lockdown = mode
	}
	out := &Output{Logs: map[string][]byte{}}

	btfFile := o.BTF
	if o.BTFIfMissing && fileExists(btfhub.DefaultSysfsBTF) {
		btfFile = "" // the kernel's own BTF comes first
	}
	pt.mark("setup")
	kernelTypes, btfSource, err := kernelTypesFor(ctx, btfFile)
	pt.mark("kernel-btf")
	if btfFile != "" && o.BTFLabel != "" && strings.HasPrefix(btfSource, "file:") {
		btfSource = o.BTFLabel
	}
	if err != nil {
		return nil, err
	}
	kr.BTFSource = btfSource

	target := o.Target
	if target == nil {
		target = targetFor(ctx, o, kv, logf)
	}
	if kernelTypes != nil {
		target = compat.WithExternalBTF(target)
	}

	lookup := func(id string) (triage.Feature, bool) {
		f, err := compat.Lookup(compat.FeatureID(id))
		if err != nil {
			return triage.Feature{}, false
		}
		return triage.Feature{ID: id, Since: f.Since, Hint: f.Hint}, true
	}

	tmp, err := os.MkdirTemp("", "retrobpf-guest-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	run, err := o.Suite.Only(o.Programs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	programs := run.Programs
	// The objects are analysed for this kernel as they will load here:
	// its .kconfig values and its CO-RE (the types loadVariant relocates
	// against) decide what is dead code.
	runningTypes := sync.OnceValues(btf.LoadKernelSpec)
	facts := &compat.Kernel{Running: true, BTF: kernelTypes, LoadBTF: runningTypes, COREGuardsOnly: true}
	selections, err := selectAll(run, target, kv, facts)
	pt.mark("select")
	if err != nil {
		return nil, fmt.Errorf("select: %w", err)
	}
	for pi, p := range programs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		specs := map[string]*ebpf.CollectionSpec{}
		pending := map[string][]triage.Input{} // variant → per program
		var results []reports.VariantResult
		for _, v := range p.Variants {
			vr := reports.VariantResult{Program: p.Name, Variant: v.Name, Object: v.Object}
			// As libbpf prepares it for this kernel: weak maps, .kconfig, typed
			// ksyms (by this kernel's own BTF IDs, not an external --btf's).
			spec, err := objload.Load(v.ObjectPath, objload.Options{})
			if err != nil {
				vr.Verdict, vr.Reason = reports.VerdictError, fmt.Sprintf("read object: %v", err)
				results = append(results, vr)
				continue
			}
			// Then what the program's own loader sets: the manifest's
			// set: and maps:.
			if err := v.Settings().Apply(spec); err != nil {
				vr.Verdict, vr.Reason = reports.VerdictError, fmt.Sprintf("loader settings: %v", err)
				results = append(results, vr)
				continue
			}
			specs[v.Name] = spec
			logf("%s: %s/%s: loading", ref, p.Name, v.Name)
			pt.mark("read-objects")
			pending[v.Name] = loadVariant(&vr, spec, v, kv, kernelTypes, ref, out.Logs)
			pt.mark("load")
			results = append(results, vr)
		}

		sel := selections[pi]
		kr.Selection = append(kr.Selection, sel)

		// Triage needs to know which later variants loaded (the fallback).
		for i := range results {
			var fallbacks []string
			for j := i + 1; j < len(results); j++ {
				if results[j].Verdict == reports.VerdictLoaded {
					fallbacks = append(fallbacks, results[j].Variant)
				}
			}
			spec := specs[results[i].Variant]
			for k := range results[i].Programs {
				pr := &results[i].Programs[k]
				if pr.Verdict != reports.VerdictRejected {
					continue
				}
				in := pending[results[i].Variant][k]
				in.Fallbacks, in.Lookup, in.Kernel, in.Lockdown = fallbacks, lookup, kv, kr.Lockdown
				if spec != nil {
					in.Spec = spec.Programs[pr.Name]
				}
				t := triage.Classify(in)
				if t.Class == reports.TriageCORERelocation && spec != nil {
					t.Message = withCOREMismatch(t.Message, spec, pr.Name, kernelTypes)
				}
				pr.Triage = &t
			}
			results[i].Selected = results[i].Variant == sel.Variant
		}

		if !o.VerifierOnly {
			for i := range results {
				if results[i].Verdict != reports.VerdictLoaded {
					continue
				}
				if o.AttachOnly {
					logf("%s: %s/%s: attach", ref, p.Name, results[i].Variant)
				} else {
					logf("%s: %s/%s: attach + overhead (%s)", ref, p.Name, results[i].Variant, p.Trigger.Kind)
				}
				pt.mark("triage")
				measureVariant(&results[i], specs[results[i].Variant], p, kernelTypes, kv, o, tmp)
				pt.mark("attach+measure")
				if results[i].AttachError != "" && kr.Lockdown != "" {
					// Lockdown refuses kprobes (integrity) and hides
					// tracefs (confidentiality): say so beside the error.
					results[i].AttachError += " (the kernel runs with lockdown=" + kr.Lockdown + ", which blocks kprobes and, under confidentiality, tracefs)"
				}
			}
		}

		// Runnable: loaded, and attached where attaching was tried (a
		// missing attach target is the kernel's refusal too).
		runnable := func(vr reports.VariantResult) bool {
			return vr.Verdict == reports.VerdictLoaded && (o.VerifierOnly || vr.AttachError == "")
		}
		for _, vr := range results {
			if vr.Selected && !runnable(vr) {
				why := verdictWhy(vr)
				if vr.Verdict == reports.VerdictLoaded {
					why = "attach: " + firstLine(vr.AttachError)
				}
				msg := fmt.Sprintf("%s: selected variant %q did not load on %s (%s)", p.Name, vr.Variant, release, why)
				kr.SelectionErrors = append(kr.SelectionErrors, msg)
			}
		}
		if sel.Variant == "" {
			for _, vr := range results {
				if runnable(vr) {
					kr.SelectionErrors = append(kr.SelectionErrors, fmt.Sprintf("%s: selection found no variant for %s, but %q loaded", p.Name, release, vr.Variant))
					break
				}
			}
		}
		kr.Variants = append(kr.Variants, results...)
	}

	if len(kr.SelectionErrors) > 0 {
		kr.Outcome = reports.OutcomeFailed
		kr.Error = fmt.Sprintf("%d selection error(s): %s", len(kr.SelectionErrors), kr.SelectionErrors[0])
	}
	pt.mark("triage")
	kr.Phases = pt.phases
	out.Kernel = kr
	if len(out.Logs) == 0 {
		out.Logs = nil
	}
	return out, nil
}

func targetFor(ctx context.Context, o Options, kv kversion.Version, logf func(string, ...any)) compat.Target {
	if o.NoProbe {
		// The catalog, and what the running kernel shows of its build: its
		// own BTF (hidden by a hide_btf profile) is in sysfs or not.
		var cfg []byte
		if fileExists(btfhub.DefaultSysfsBTF) {
			cfg = []byte("CONFIG_DEBUG_INFO_BTF=y\n")
			if entries, _ := os.ReadDir(filepath.Dir(btfhub.DefaultSysfsBTF)); len(entries) > 1 {
				cfg = append(cfg, "CONFIG_DEBUG_INFO_BTF_MODULES=y\n"...)
			}
		}
		return compat.WithKernelConfig(compat.VersionTarget(kv), cfg)
	}
	start := time.Now()
	rep, err := Probe(ctx, o.Suite)
	if err != nil {
		logf("probe failed (%v): selecting from the catalog for %s", err, kv)
		return compat.VersionTarget(kv)
	}
	logf("probed the kernel in %s", time.Since(start).Round(time.Millisecond))
	return rep
}

// Probe probes the running kernel, recording the kernel symbols and kfuncs
// the suite's variants need (from the manifest and from the objects), so
// a saved report answers them without the kernel.
func Probe(ctx context.Context, s *manifest.Manifest) (*probe.Report, error) {
	// The report is saved for the later steps: it must decide the
	// manifest's attach targets without the kernel. Record decides just
	// those (Targets, Ksyms) instead of recording the whole attach
	// surface, whose reading and encoding cost seconds under TCG.
	opts := probe.Options{LimitHelpers: true}
	for _, p := range s.Programs {
		for _, v := range p.Variants {
			opts.Record(v.Requires...)
			if rep, err := compat.AnalyzeWith(v.ObjectPath, v.Settings().Apply); err == nil {
				for _, r := range rep.Requirements {
					opts.Record(r.Feature)
				}
			}
		}
	}
	return probe.Probe(ctx, opts)
}

// loadVariant loads every listed program of the variant, one by one, and
// fills vr with verdicts and figures; logs go to logs. It returns the
// triage input of each program (used for the rejected ones), aligned with
// vr.Programs, for triage once the fallbacks are known.
func loadVariant(vr *reports.VariantResult, spec *ebpf.CollectionSpec, v manifest.Variant, kv kversion.Version, kt *btf.Spec, ref string, logs map[string][]byte) []triage.Input {
	names := programNames(spec, v)
	vr.Verdict = reports.VerdictLoaded
	var inputs []triage.Input
	if len(names) == 0 {
		vr.Verdict, vr.Reason = reports.VerdictError, "the object has no programs"
		return nil
	}
	for _, name := range names {
		ps := spec.Programs[name]
		pr := reports.ProgramResult{Name: name}
		if ps == nil {
			pr.Verdict, pr.Error = reports.VerdictError, "no such program in the object"
			vr.Programs = append(vr.Programs, pr)
			inputs = append(inputs, triage.Input{})
			vr.Verdict, vr.Reason = reports.VerdictError, fmt.Sprintf("program %s is not in %s", name, v.Object)
			continue
		}
		pr.Type = strings.TrimPrefix(string(compat.FeatureOf(ps.Type)), "prog:")
		if pr.Type == "" {
			pr.Type = strings.ToLower(ps.Type.String())
		}
		if ps.AttachType != ebpf.AttachNone {
			pr.AttachType = ps.AttachType.String()
		}
		pr.Section = ps.SectionName
		n := int64(len(ps.Instructions))
		pr.Verifier.ProgInsns = &n
		l, err := verifier.Load(spec, name, verifier.Options{Kernel: kv, KernelTypes: kt})
		if err != nil {
			pr.Verdict, pr.Error = reports.VerdictError, err.Error()
			vr.Programs = append(vr.Programs, pr)
			inputs = append(inputs, triage.Input{})
			vr.Verdict = reports.VerdictError
			continue
		}
		l.Close() // the runtime collection is loaded again, whole, for attach
		f := l.Figures
		fillStats(&pr.Verifier, f)
		if len(f.Log) > 0 {
			art := fmt.Sprintf("logs/%s/%s.%s.%s.log.gz", safe(ref), safe(vr.Program), safe(vr.Variant), safe(name))
			logs[art] = verifier.Compress(f.Log)
			pr.Verifier.LogArtifact = art
		}
		if f.Verdict == verifier.Accepted {
			pr.Verdict = reports.VerdictLoaded
		} else {
			pr.Verdict = reports.VerdictRejected
			pr.Error = firstLine(f.Error)
			if vr.Verdict == reports.VerdictLoaded {
				vr.Verdict = reports.VerdictRejected
			}
		}
		vr.Programs = append(vr.Programs, pr)
		attach, _ := attachFeature(ps)
		inputs = append(inputs, triage.Input{Err: l.Err, Log: f.Log, ProgType: pr.Type, AttachType: attach, Spec: ps, MapFailures: l.MapFailures})
	}
	if vr.Verdict == reports.VerdictRejected {
		vr.Reason = "rejected by the kernel"
	}
	return inputs
}

func fillStats(s *reports.VerifierStats, f verifier.Figures) {
	s.InsnsProcessed = f.Stats.Insns
	switch f.InsnsSource {
	case verifier.InsnsFromInfo:
		s.InsnsSource = reports.InsnsFromVerifiedInsns
	case verifier.InsnsFromLog:
		s.InsnsSource = reports.InsnsFromLog
	}
	s.InsnsLimit = f.Stats.InsnsLimit
	s.TotalStates, s.PeakStates = f.Stats.TotalStates, f.Stats.PeakStates
	s.MaxStatesPerInsn, s.MarkRead = f.Stats.MaxStatesPerInsn, f.Stats.MarkRead
	s.StackDepth, s.VerificationTimeUs = f.Stats.StackDepth, f.Stats.VerificationMicros
	s.XlatedBytes, s.JitedBytes = f.XlatedBytes, f.JITedBytes
	s.LogLines = len(f.Log)
	if len(f.Log) > 0 {
		s.LogExcerpt = verifier.Excerpt(f.Log, 20, 2048)
	}
	if f.LogNote != "" {
		if s.LogExcerpt != "" {
			s.LogExcerpt = "[" + f.LogNote + "]\n" + s.LogExcerpt
		} else {
			s.LogExcerpt = "[" + f.LogNote + "]"
		}
	}
}

// programNames is the variant's program list, or every program of the
// object, sorted.
func programNames(spec *ebpf.CollectionSpec, v manifest.Variant) []string {
	if len(v.Programs) > 0 {
		return v.Programs
	}
	var names []string
	for n := range spec.Programs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// attachFeature is the attach feature name of a program (fentry, kprobe…).
func attachFeature(ps *ebpf.ProgramSpec) (string, bool) {
	kind, _, _ := strings.Cut(ps.SectionName, "/")
	switch kind {
	case "fentry", "fexit", "fmod_ret", "tp_btf", "kprobe", "kretprobe", "tracepoint", "raw_tp", "raw_tracepoint", "lsm", "xdp", "tc", "tcx":
		if kind == "raw_tracepoint" {
			kind = "raw_tp"
		}
		return kind, true
	}
	return "", false
}

func verdictWhy(vr reports.VariantResult) string {
	for _, p := range vr.Programs {
		if p.Triage != nil {
			return fmt.Sprintf("%s: %s: %s", p.Name, p.Triage.Class, p.Triage.Message)
		}
		if p.Error != "" {
			return p.Name + ": " + p.Error
		}
	}
	if vr.Reason != "" {
		return vr.Reason
	}
	return string(vr.Verdict)
}

// measureVariant loads the variant's listed programs as one collection
// (so entry/return pairs share their maps), attaches them and measures.
func measureVariant(vr *reports.VariantResult, spec *ebpf.CollectionSpec, p manifest.Program, kt *btf.Spec, kv kversion.Version, o Options, tmp string) {
	rt, err := newRuntime(spec, programsOf(vr), kt)
	if err != nil {
		vr.AttachError = fmt.Sprintf("load for attach: %v", firstLine(err.Error()))
		return
	}
	defer rt.Close()

	needAttach := p.Trigger.Kind != overhead.KindTestRun
	attach := func() (io.Closer, error) { return rt.attach(needAttach) }
	l, err := attach()
	if err != nil {
		vr.AttachError = err.Error()
		return
	}
	vr.Attached = len(l.(multiCloser)) > 0 || !needAttach
	l.Close()
	if o.AttachOnly {
		return
	}

	spec2 := overhead.TriggerSpec{Kind: string(p.Trigger.Kind), Count: p.Trigger.Count, Path: p.Trigger.Path, Args: p.Trigger.Args, Port: p.Trigger.Port, Duration: p.Trigger.Duration}
	if spec2.Kind == overhead.KindFsync && spec2.Path == "" && o.BlockDevice {
		dev, cleanup, err := loopdev.Attach(tmp, o.LoopModule)
		if err != nil {
			o.logf("no block device for the fsync trigger (%v): writing to tmpfs, block-layer programs will not run", err)
		} else {
			defer cleanup()
			spec2.Path = dev
		}
	}
	var trig overhead.Trigger
	if needAttach {
		trig, err = overhead.NewTrigger(spec2, tmp)
		if err != nil {
			vr.AttachError = fmt.Sprintf("trigger: %v", err)
			return
		}
		defer trig.Close()
	}
	packet := overhead.IPv4TCPPacket()
	if p.Trigger.Packet == "ipv4-udp" {
		packet = overhead.IPv4UDPPacket()
	}
	res := overhead.Measure(spec2, trig, attach, rt.programs, overhead.Options{
		Samples: o.Samples, Kernel: kv, Emulated: o.Accel == reports.AccelTCG, Packet: packet,
	})
	vr.Overhead = &res.Overhead
	if o.Deterministic {
		vr.Overhead.Unit = reports.UnitIcountNs
	}
	vr.Events = res.Events
}

// runtime is a variant loaded for attaching. Before 5.11 a tracing program
// (fentry, fexit, tp_btf) that was attached and detached cannot be
// attached again (ENOENT: its trampoline target is consumed), so attach
// reloads the collection when a re-attach fails that way.
type runtime struct {
	spec     *ebpf.CollectionSpec
	names    []string
	kt       *btf.Spec
	coll     *ebpf.Collection
	attached bool
	old      []*ebpf.Collection
}

func newRuntime(spec *ebpf.CollectionSpec, names []string, kt *btf.Spec) (*runtime, error) {
	cs := spec.Copy()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for n := range cs.Programs {
		if !want[n] {
			delete(cs.Programs, n)
		}
	}
	rt := &runtime{spec: cs, names: append([]string(nil), names...), kt: kt}
	sort.Strings(rt.names)
	return rt, rt.load()
}

func (r *runtime) load() error {
	coll, err := ebpf.NewCollectionWithOptions(r.spec, ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{KernelTypes: r.kt}})
	if err != nil {
		return err
	}
	if r.coll != nil {
		r.old = append(r.old, r.coll)
	}
	r.coll = coll
	r.attached = false
	return nil
}

func (r *runtime) programs() []*ebpf.Program {
	var ps []*ebpf.Program
	for _, n := range r.names {
		ps = append(ps, r.coll.Programs[n])
	}
	return ps
}

func (r *runtime) attach(needAttach bool) (io.Closer, error) {
	links, err := r.attachAll(needAttach)
	if err != nil && r.attached && errors.Is(err, unix.ENOENT) {
		if lerr := r.load(); lerr != nil {
			return nil, fmt.Errorf("%w (reload for re-attach: %v)", err, lerr)
		}
		links, err = r.attachAll(needAttach)
	}
	if err != nil {
		return nil, err
	}
	r.attached = true
	return links, nil
}

func (r *runtime) attachAll(needAttach bool) (multiCloser, error) {
	var links multiCloser
	for _, n := range r.names {
		l, err := attachOne(r.spec.Programs[n], r.coll.Programs[n])
		if errors.Is(err, bpf.ErrNotAttachable) && !needAttach {
			continue
		}
		if err != nil {
			links.Close()
			return nil, err
		}
		links = append(links, l)
	}
	return links, nil
}

func (r *runtime) Close() {
	for _, c := range append(r.old, r.coll) {
		c.Close()
	}
}

func programsOf(vr *reports.VariantResult) []string {
	var n []string
	for _, p := range vr.Programs {
		n = append(n, p.Name)
	}
	return n
}

// attachOne attaches tracing programs by section (bpf.Attach) and XDP
// programs to the loopback device in generic mode.
func attachOne(ps *ebpf.ProgramSpec, prog *ebpf.Program) (io.Closer, error) {
	if ps.Type == ebpf.XDP {
		lo, err := net.InterfaceByName("lo")
		if err != nil {
			return nil, fmt.Errorf("attach %s: %w", ps.Name, err)
		}
		// Another XDP user of lo (a concurrent test) makes this EBUSY:
		// wait for it a little.
		var l link.Link
		for try := 0; ; try++ {
			l, err = link.AttachXDP(link.XDPOptions{Program: prog, Interface: lo.Index, Flags: link.XDPGenericMode})
			if !errors.Is(err, unix.EBUSY) || try == 50 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			return nil, fmt.Errorf("attach %s to lo: %w", ps.Name, err)
		}
		return l, nil
	}
	return bpf.Attach(ps, prog)
}

type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var errs []error
	for i := len(m) - 1; i >= 0; i-- {
		errs = append(errs, m[i].Close())
	}
	return errors.Join(errs...)
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safe(s string) string { return unsafeChars.ReplaceAllString(s, "_") }

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func (o Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// phaseTimer adds up where a guest-run's time goes, by phase name: the
// breakdown bench-matrix prints. "start" is the time from the process's
// creation to Run (the binary's start under emulation).
type phaseTimer struct {
	last   time.Time
	phases []reports.Phase
}

func newPhaseTimer() *phaseTimer {
	t := &phaseTimer{last: time.Now()}
	if age, ok := processAge(); ok {
		t.phases = append(t.phases, reports.Phase{Name: "start", Seconds: age.Seconds()})
	}
	return t
}

// mark charges the time since the last mark to name.
func (t *phaseTimer) mark(name string) {
	now := time.Now()
	d := now.Sub(t.last).Seconds()
	t.last = now
	for i := range t.phases {
		if t.phases[i].Name == name {
			t.phases[i].Seconds += d
			return
		}
	}
	t.phases = append(t.phases, reports.Phase{Name: name, Seconds: d})
}

// processAge is how long ago this process was created, from its start
// time in /proc/self/stat (clock ticks since boot) and /proc/uptime.
func processAge() (time.Duration, bool) {
	stat, err1 := os.ReadFile("/proc/self/stat")
	up, err2 := os.ReadFile("/proc/uptime")
	if err1 != nil || err2 != nil {
		return 0, false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return 0, false
	}
	ticks, err := strconv.ParseFloat(fields[19], 64) // field 22 overall: starttime
	uptime, err2 := strconv.ParseFloat(strings.Fields(string(up))[0], 64)
	if err != nil || err2 != nil {
		return 0, false
	}
	age := uptime - ticks/100 // USER_HZ is 100 on every architecture Linux exports
	if age < 0 {
		return 0, false
	}
	return time.Duration(age * float64(time.Second)), true
}
