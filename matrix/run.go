package matrix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/retrobpf/retrobpf/internal/atomicfile"
	"github.com/retrobpf/retrobpf/manifest"
	"github.com/retrobpf/retrobpf/matrix/guest"
	"github.com/retrobpf/retrobpf/reports"
	"github.com/retrobpf/retrobpf/vmtest"
	"github.com/retrobpf/retrobpf/vmtest/kernels"
)

// Options configure Run.
type Options struct {
	Suite   *manifest.Manifest
	Kernels []Kernel // parsed, already sharded
	Shard   *reports.Shard
	Jobs    int // VMs at once (default 1)
	// BTF is an external BTF file for kernels without their own.
	BTF string
	// BTFFor gives a kernel (by its ref) its own external BTF file, used
	// when that kernel has no vmlinux BTF; it outranks a btf-<v> shipped
	// with the kernel and BTF.
	BTFFor map[string]string
	// Hub is a BTFHub archive (http(s):// or file://) asked, on the host,
	// for each kernel that has no BTF of its own and no other BTF given;
	// the file is shipped into the VM.
	Hub          string
	OutputDir    string
	Resume       bool
	Accel        vmtest.Accel
	VerifierOnly bool
	// AttachOnly attaches every loaded variant and detaches it, without
	// triggers or overhead figures.
	AttachOnly bool
	// Deterministic runs TCG with instruction counting: overhead figures
	// become reproducible, in icount-ns (see vmtest.Machine.Icount).
	Deterministic bool
	Samples       int
	MemoryMB      int
	// Agent is the static retrobpf binary used as the guest's /init
	// (default: the running executable).
	Agent string
	// Cache resolves kernel references; Resolve tunes it.
	Cache   *kernels.Cache
	Resolve kernels.ResolveOptions
	// ToolVersion goes into the results.
	ToolVersion string
	// PanicAt injects a fault for hostile tests: kernel ref (canonical
	// form) → program
	// whose step crashes the guest kernel (sysrq c) before it starts.
	PanicAt map[string]string
	Logf    func(format string, args ...any)
}

// Guest paths of the shipped files.
const (
	guestSuiteDir = "/suite"
	guestProbe    = "/tmp/retrobpf-probe.json"
	guestBTF      = "/suite/.btf/vmlinux.btf"
	guestLoopKO   = "/suite/.modules/loop.ko"
	// guestModulesDir holds a profile's modules.
	guestModulesDir = "/suite/.modules/profile"
	guestJobDir     = "/suite/.jobs"
)

// guestOutput is where program i's guest-run step writes its results.
func guestOutput(i int) string { return fmt.Sprintf("/tmp/retrobpf-guest-%d.json", i) }

var (
	// ErrInterrupted is returned when the context ended before every
	// kernel finished; the finished ones are saved.
	ErrInterrupted = errors.New("interrupted")
	// ErrOutputDir is returned when the output directory cannot be
	// created: nothing ran.
	ErrOutputDir = errors.New("unusable output directory")
	// ErrUnshippable is returned for a manifest whose objects cannot be
	// copied into a VM (outside the manifest's directory): nothing ran.
	ErrUnshippable = errors.New("manifest cannot be shipped into a VM")
)

// Run runs the suite on every kernel and returns the combined results,
// also saved as OutputDir/results.json. Each kernel's results are saved as
// OutputDir/<kernel>.json as soon as its VM ends.
func Run(ctx context.Context, o Options) (*reports.Results, error) {
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if o.Jobs <= 0 {
		o.Jobs = 1
	}
	if err := os.MkdirAll(o.OutputDir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOutputDir, err)
	}
	files, err := planFiles(o)
	if err != nil {
		return nil, err
	}
	start := time.Now().UTC()
	results := make([]*reports.KernelResult, len(o.Kernels))
	var wg sync.WaitGroup
	sem := make(chan struct{}, o.Jobs)
	for i, k := range o.Kernels {
		ref := k.String()
		if o.Resume {
			if kr := finished(o, ref); kr != nil {
				logf("%s: finished earlier (%s), skipped", ref, kr.Outcome)
				results[i] = kr
				continue
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			kr := runKernel(ctx, o, k, files, logf)
			if ctx.Err() != nil && kr.Outcome != reports.OutcomeOK && kr.Outcome != reports.OutcomeFailed {
				logf("%s: interrupted", ref)
				return // killed by the interrupt: not a result
			}
			if err := saveKernel(o, start, kr); err != nil {
				logf("%s: save: %v", ref, err)
			}
			logf("%s: %s", ref, summary(kr))
			results[i] = kr
		}()
	}
	wg.Wait()

	all := newResults(o, start)
	for _, kr := range results {
		if kr != nil {
			all.Kernels = append(all.Kernels, *kr)
		}
	}
	if err := all.Save(filepath.Join(o.OutputDir, "results.json")); err != nil {
		return all, err
	}
	if ctx.Err() != nil {
		return all, fmt.Errorf("%w: %d of %d kernels finished and saved in %s", ErrInterrupted, len(all.Kernels), len(o.Kernels), o.OutputDir)
	}
	return all, nil
}

func newResults(o Options, start time.Time) *reports.Results {
	return &reports.Results{
		SchemaVersion: reports.SchemaVersion,
		Tool:          reports.Tool{Name: "retrobpf", Version: o.ToolVersion},
		CreatedAt:     start,
		Manifest:      o.Suite.Report(),
		Shard:         o.Shard,
		Kernels:       []reports.KernelResult{},
	}
}

// finished returns the saved result of ref when it ran to the end before.
func finished(o Options, ref string) *reports.KernelResult {
	r, err := reports.Load(filepath.Join(o.OutputDir, FileName(ref)))
	if err != nil || len(r.Kernels) != 1 || r.Manifest.SHA256 != o.Suite.SHA256 {
		return nil
	}
	kr := r.Kernels[0]
	if kr.Ref != ref {
		return nil // another kernel's file (names from before they were injective)
	}
	if kr.Outcome != reports.OutcomeOK && kr.Outcome != reports.OutcomeFailed {
		return nil // panics, timeouts and infra errors run again
	}
	return &kr
}

func saveKernel(o Options, start time.Time, kr *reports.KernelResult) error {
	r := newResults(o, start)
	r.Kernels = []reports.KernelResult{*kr}
	return r.Save(filepath.Join(o.OutputDir, FileName(kr.Ref)))
}

// planFiles ships the manifest (as /suite/<name>) and its objects at the
// same relative paths.
func planFiles(o Options) ([]vmtest.File, error) {
	files := []vmtest.File{{Path: path.Join(guestSuiteDir, "suite.yaml"), Data: o.Suite.Raw}}
	seen := map[string]bool{}
	for _, p := range o.Suite.Programs {
		if t := p.Trigger; t.Kind == manifest.TriggerCommand {
			// The user's workload goes where the guest's manifest finds it.
			rel, err := filepath.Rel(filepath.Dir(o.Suite.Path), t.Path)
			if err != nil || strings.HasPrefix(filepath.ToSlash(rel), "../") {
				return nil, fmt.Errorf("%w: %s: program %s: trigger command %q must be inside the manifest's directory to ship into a VM", ErrUnshippable, o.Suite.Path, p.Name, t.Path)
			}
			rel = filepath.ToSlash(rel)
			if !seen[rel] {
				seen[rel] = true
				files = append(files, vmtest.File{Path: path.Join(guestSuiteDir, rel), Source: t.Path, Mode: 0o755})
			}
		}
		for _, v := range p.Variants {
			rel := filepath.ToSlash(filepath.Clean(v.Object))
			if filepath.IsAbs(v.Object) || strings.HasPrefix(rel, "../") {
				return nil, fmt.Errorf("%w: %s: program %s variant %s: object %q must be relative to the manifest, inside its directory, to ship into a VM", ErrUnshippable, o.Suite.Path, p.Name, v.Name, v.Object)
			}
			if seen[rel] {
				continue
			}
			seen[rel] = true
			files = append(files, vmtest.File{Path: path.Join(guestSuiteDir, rel), Source: v.ObjectPath})
		}
	}
	return files, nil
}

// runKernel boots one kernel and runs guest-run in it.
func runKernel(ctx context.Context, o Options, entry Kernel, files []vmtest.File, logf func(string, ...any)) *reports.KernelResult {
	ref := entry.String()
	kr := &reports.KernelResult{Ref: ref, Outcome: reports.OutcomeInfraError, Accel: reports.AccelTCG}
	if !entry.Profile.IsZero() {
		kr.Profile = &reports.Profile{Kernel: entry.Ref.String(), Cmdline: entry.Profile.Cmdline, Sysctls: entry.Profile.Sysctls,
			Modules: entry.Profile.Modules, ModuleFiles: entry.Profile.ModuleFiles}
	}
	needBlock := !o.VerifierOnly && !o.AttachOnly && hasTrigger(o.Suite, "fsync")
	ropts := o.Resolve
	ropts.Modules = ropts.Modules || needBlock || len(entry.Profile.Modules) > 0 // loop.ko, a profile's modules
	k, err := o.Cache.Resolve(ctx, entry.Ref.String(), ropts)
	if err != nil && ropts.Modules && !o.Resolve.Modules && len(entry.Profile.Modules) == 0 {
		logf("%s: kernel modules unavailable (%v): fsync triggers get no block device", ref, err)
		k, err = o.Cache.Resolve(ctx, entry.Ref.String(), o.Resolve)
	}
	if err != nil {
		kr.Error = fmt.Sprintf("kernel %s: %v", ref, err)
		return kr
	}
	kr.Release, kr.Version = k.Release, k.Version
	var hub btfSource
	hub.File, hub.Label = hubBTF(ctx, o, entry, k, logf)
	plan, err := kernelPlan(o, ref, entry.Profile, k, files, needBlock, hub, logf)
	if err != nil {
		kr.Error = err.Error()
		return kr
	}
	mem := o.MemoryMB
	if mem <= 0 {
		mem = 1024
	}
	logf("%s: booting %s (%s)", ref, k.Release, k.Source)
	res, err := vmtest.Run(ctx, vmtest.Machine{Kernel: k, Accel: o.Accel, MemoryMB: mem, Agent: o.Agent, Icount: o.Deterministic,
		Cmdline: strings.Join(entry.Profile.Cmdline, " ")}, plan)
	if err != nil {
		kr.Error = err.Error()
		return kr
	}
	return fromVM(kr, res, o, logf)
}

// kernelPlan is the VM plan for one kernel: the suite's files, the BTF
// and loop module the kernel needs, and one guest-run step to probe, then
// one per program, each given its Job as a JSON file. The kernel's config
// is not added here: vmtest.Run ships it for every VM.
// btfSource is a BTF file for the guest and what the results call it.
type btfSource struct{ File, Label string }

func kernelPlan(o Options, ref string, profile Profile, k *kernels.Kernel, files []vmtest.File, needBlock bool, hub btfSource, logf func(string, ...any)) (vmtest.Plan, error) {
	plan := vmtest.Plan{Files: slices.Clone(files)}
	base := guest.Job{Manifest: path.Join(guestSuiteDir, "suite.yaml"), Ref: ref}
	// The profile: sysctls and modules every step applies before it runs
	// (the boot parameters are the machine's).
	base.Sysctls, base.HideKernelBTF = profile.Sysctls, profile.HideBTF
	for _, name := range profile.Modules {
		ko, err := k.Module(name)
		if err != nil {
			return plan, fmt.Errorf("%w: profile %s: module %s: %w", ErrKernelList, ref, name, err)
		}
		guestPath := path.Join(guestModulesDir, name+".ko")
		plan.Files = append(plan.Files, vmtest.File{Path: guestPath, Data: ko})
		base.Modules = append(base.Modules, guestPath)
	}
	for i, f := range profile.ModuleFiles {
		guestPath := path.Join(guestModulesDir, fmt.Sprintf("file%d-%s", i, path.Base(filepath.ToSlash(f))))
		plan.Files = append(plan.Files, vmtest.File{Path: guestPath, Source: f})
		base.Modules = append(base.Modules, guestPath)
	}
	// Per kernel, after its own vmlinux BTF (the guest checks that first):
	// --btf KERNEL=FILE, a btf-<v> shipped with the kernel, a bare --btf,
	// the hub.
	var btfFile, label string
	switch {
	case o.BTFFor[ref] != "":
		btfFile = o.BTFFor[ref]
	case k.BTF != "":
		btfFile = k.BTF
	case o.BTF != "":
		btfFile = o.BTF
	default:
		btfFile, label = hub.File, hub.Label
	}
	if btfFile != "" {
		if label == "" {
			label = "file:" + btfFile
		}
		plan.Files = append(plan.Files, vmtest.File{Path: guestBTF, Source: btfFile})
		base.BTF, base.BTFIfMissing, base.BTFLabel = guestBTF, true, label
	}
	if needBlock {
		base.BlockDevice = true
		if ko, err := k.Module("loop"); err == nil {
			plan.Files = append(plan.Files, vmtest.File{Path: guestLoopKO, Data: ko})
			base.LoopModule = guestLoopKO
		} else {
			logf("%s: %v: fsync triggers get a block device only if loop is built in", ref, err)
		}
	}
	addStep := func(name, jobFile string, job guest.Job, env []string) error {
		data, err := job.Marshal()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		plan.Files = append(plan.Files, vmtest.File{Path: jobFile, Data: data})
		plan.Steps = append(plan.Steps, vmtest.Step{Name: name,
			Args: []string{"/bin/retrobpf", "guest-run", "--job", jobFile}, Env: env, Collect: []string{job.Output}})
		return nil
	}
	// One probe step, then one step per program: each finished program's
	// results come back at once, so a kernel that dies later keeps them.
	probe := base
	probe.ProbeOnly, probe.Output = true, guestProbe
	if err := addStep("probe", path.Join(guestJobDir, "probe.json"), probe, nil); err != nil {
		return plan, err
	}
	for i, p := range o.Suite.Programs {
		job := base
		job.Programs, job.ProbeReport, job.Output = []string{p.Name}, guestProbe, guestOutput(i)
		job.VerifierOnly, job.AttachOnly, job.Deterministic = o.VerifierOnly, o.AttachOnly, o.Deterministic
		if o.Samples > 0 {
			job.Samples = o.Samples
		}
		var env []string
		if o.PanicAt[ref] == p.Name {
			job.Fault = "panic"
			env = []string{"RETROBPF_ALLOW_CRASH=1"}
		}
		if err := addStep(p.Name, path.Join(guestJobDir, fmt.Sprintf("%d.json", i)), job, env); err != nil {
			return plan, err
		}
	}
	return plan, nil
}

// fromVM turns the VM's result into the kernel's result: the guest's own
// per-program results for every step that finished, and what the VM run
// says happened to the rest.
func fromVM(kr *reports.KernelResult, res *vmtest.Result, o Options, logf func(string, ...any)) *reports.KernelResult {
	boot, wall := res.BootToReady.Seconds(), res.Total.Seconds()
	accel := reports.AccelTCG
	if res.Accel == vmtest.AccelKVM {
		accel = reports.AccelKVM
	}
	if res.Release != "" {
		kr.Release = res.Release
	}
	steps := map[string]*vmtest.StepResult{}
	kr.Phases = []reports.Phase{{Name: "boot", Seconds: boot}}
	rest := wall - boot
	for i := range res.Steps {
		steps[res.Steps[i].Name] = &res.Steps[i]
		d := res.Steps[i].Duration.Seconds()
		kr.Phases = append(kr.Phases, reports.Phase{Name: res.Steps[i].Name, Seconds: d})
		rest -= d
	}
	kr.Phases = append(kr.Phases, reports.Phase{Name: "other", Seconds: max(rest, 0)})
	var problems []string
	if st := steps["probe"]; st != nil && st.Failed() {
		logf("%s: probe step failed (exit %d): programs probe for themselves", kr.Ref, st.ExitCode)
	}
	got := 0
	for i, p := range o.Suite.Programs {
		st := steps[p.Name]
		if st == nil {
			continue // never ran: the kernel died or the run was cut short
		}
		data, ok := st.Files[guestOutput(i)]
		var g guest.Output
		if !ok || json.Unmarshal(data, &g) != nil {
			why := st.Error
			if why == "" {
				why = fmt.Sprintf("exit %d", st.ExitCode)
			}
			if st.TimedOut {
				why = "timed out"
			}
			problems = append(problems, fmt.Sprintf("%s: guest-run wrote no results (%s): %s", p.Name, why, tail(string(st.Stderr), 1000)))
			continue
		}
		got++
		if kr.Release == "" {
			kr.Release = g.Kernel.Release
		}
		if kr.Version.IsZero() {
			kr.Version = g.Kernel.Version
		}
		kr.BTFSource, kr.Lockdown = g.Kernel.BTFSource, g.Kernel.Lockdown
		kr.Selection = append(kr.Selection, g.Kernel.Selection...)
		kr.Variants = append(kr.Variants, g.Kernel.Variants...)
		for _, ph := range g.Kernel.Phases { // inside the step: PROGRAM/PHASE
			kr.Phases = append(kr.Phases, reports.Phase{Name: p.Name + "/" + ph.Name, Seconds: ph.Seconds})
		}
		kr.SelectionErrors = append(kr.SelectionErrors, g.Kernel.SelectionErrors...)
		for name, data := range g.Logs {
			p := filepath.Join(o.OutputDir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				if err := atomicfile.WriteFile(p, data, 0o644); err != nil {
					logf("%s: %v", kr.Ref, err)
				}
			}
		}
	}
	switch {
	case res.Outcome == vmtest.OutcomeKernelPanic || res.Outcome == vmtest.OutcomeOops || res.Outcome == vmtest.OutcomeTimeout || res.Outcome == vmtest.OutcomeInfraError:
		kr.Outcome = reports.Outcome(res.Outcome)
		kr.Error = fmt.Sprintf("%s (%d of %d programs finished)", res.Reason, got, len(o.Suite.Programs))
	case len(problems) > 0 || got < len(o.Suite.Programs):
		kr.Outcome = reports.OutcomeFailed
		kr.Error = fmt.Sprintf("%d of %d programs finished", got, len(o.Suite.Programs))
		if len(problems) > 0 {
			kr.Error += ": " + strings.Join(problems, "; ")
		}
	case len(kr.SelectionErrors) > 0:
		kr.Outcome = reports.OutcomeFailed
		kr.Error = fmt.Sprintf("%d selection error(s): %s", len(kr.SelectionErrors), kr.SelectionErrors[0])
	default:
		kr.Outcome = reports.OutcomeOK
		kr.Error = ""
	}
	if kr.Outcome != reports.OutcomeOK {
		kr.ConsoleTail = tail(res.ConsoleTail, 4000)
	}
	kr.Accel, kr.Emulated = accel, accel == reports.AccelTCG
	for i := range kr.Variants {
		if ov := kr.Variants[i].Overhead; ov != nil {
			ov.Emulated = kr.Emulated
		}
	}
	kr.BootSeconds, kr.WallSeconds = &boot, &wall
	return kr
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

func summary(kr *reports.KernelResult) string {
	loaded, total := 0, 0
	for _, v := range kr.Variants {
		total++
		if v.Verdict == reports.VerdictLoaded {
			loaded++
		}
	}
	s := fmt.Sprintf("%s, %d/%d variants loaded", kr.Outcome, loaded, total)
	if kr.Error != "" {
		s += ": " + kr.Error
	}
	return s
}

// Failed lists why the run must exit 1: selection errors and kernels that
// did not run to the end.
func Failed(r *reports.Results) []string {
	var why []string
	for _, k := range r.Kernels {
		for _, e := range k.SelectionErrors {
			why = append(why, k.Ref+": "+e)
		}
		if k.Outcome != reports.OutcomeOK && len(k.SelectionErrors) == 0 {
			why = append(why, fmt.Sprintf("%s: %s: %s", k.Ref, k.Outcome, k.Error))
		}
	}
	return why
}
