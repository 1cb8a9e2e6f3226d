package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/retrobpf/retrobpf/cmd/retrobpf/internal/cliutil"
	"github.com/retrobpf/retrobpf/vmtest"
	"github.com/retrobpf/retrobpf/vmtest/kernels"
)

// agentEnv names the static retrobpf binary used as the guest's /init when
// the running executable cannot be (a test binary, a cgo build).
const agentEnv = "RETROBPF_AGENT"

func vmFlags(extra ...cli.Flag) []cli.Flag {
	return commandFlags(append([]cli.Flag{
		&cli.StringSliceFlag{Name: "kernel", Aliases: []string{"k"}, Usage: "kernel `REF` (5.10, 6.1, 6.12, deb:PKG, oci:REF, file:PATH, dir:PATH); repeat or comma-separate for several"},
		&cli.StringFlag{Name: "accel", Value: "auto", Usage: "`auto`, kvm or tcg (auto uses KVM only when a short real boot proves it works)"},
		&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: vmtest.DefaultJobs(), Usage: "VMs run at once"},
		&cli.IntFlag{Name: "memory", Value: vmtest.DefaultMemoryMB, Usage: "guest memory in `MB`"},
		&cli.IntFlag{Name: "cpus", Value: 1, Usage: "guest CPUs"},
		&cli.StringFlag{Name: "mirror", Usage: "Debian mirror `URL` for deb: kernels (default: the system's apt sources)"},
		&cli.StringFlag{Name: "cmdline", Usage: "extra kernel command-line `ARGS`"},
		&cli.StringFlag{Name: "keep", Usage: "keep each VM's files (console.log, initramfs) under `DIR`"},
	}, extra...)...)
}

func init() {
	register(&cli.Command{
		Name:  "vm",
		Usage: "run commands inside real kernels in QEMU",
		Subcommands: []*cli.Command{
			{
				Name:      "exec",
				Usage:     "run a static binary inside each kernel and return its exit code and output",
				ArgsUsage: "-- CMD [ARGS...]",
				Description: "Each --file is copied into the guest at /<basename>. CMD runs as root with\n" +
					"proc, sysfs, debugfs, tracefs, bpffs and cgroup2 mounted. The exit code is the\n" +
					"guest command's (the first non-zero one with several kernels); 3 when the VM\n" +
					"itself failed (kernel panic, boot timeout, QEMU error); 124 when --timeout hit.",
				Flags: vmFlags(
					&cli.StringSliceFlag{Name: "file", Aliases: []string{"F"}, Usage: "host `PATH` copied to /<basename> in the guest (repeatable)"},
					&cli.DurationFlag{Name: "timeout", Value: 10 * time.Minute, Usage: "limit for the guest command"},
				),
				Action: vmExec,
			},
			{
				Name:   "probe",
				Usage:  "run `retrobpf probe` inside each kernel and print its report",
				Flags:  vmFlags(),
				Action: vmProbe,
			},
			{
				Name:   "bench-boot",
				Hidden: true,
				Usage:  "measure boot-to-init of a bare init against boot-to-agent-ready (scripts/bench-boot.sh)",
				Flags: vmFlags(
					&cli.StringFlag{Name: "bare-init", Usage: "static `BINARY` that sends a ready frame and powers off"},
					&cli.IntFlag{Name: "runs", Value: 5, Usage: "boots per kernel and init"},
				),
				Action: vmBenchBoot,
			},
		},
	})
}

// vmSetup is what every vm subcommand shares.
type vmSetup struct {
	o       *cliutil.Options
	ctx     context.Context
	stop    context.CancelFunc
	kernels []*kernels.Kernel
	machine vmtest.Machine
	jobs    int
}

func newVMSetup(c *cli.Context) (*vmSetup, error) {
	o := options(c)
	accel, err := vmtest.ParseAccel(c.String("accel"))
	if err != nil {
		return nil, cliutil.Usage(err)
	}
	if len(splitList(c.StringSlice("kernel"))) == 0 {
		return nil, cliutil.Usagef("--kernel is required (e.g. --kernel 6.1)")
	}
	// Every reference is parsed before anything is pulled or booted, so a
	// bad second one does not cost a download of the first.
	var refs []kernels.Ref
	for _, s := range splitList(c.StringSlice("kernel")) {
		ref, err := kernels.ParseRef(s)
		if err != nil {
			return nil, fmt.Errorf("--kernel: %w", err)
		}
		refs = append(refs, ref)
	}
	if c.Int("memory") < 64 || c.Int("cpus") < 1 || c.Int("jobs") < 1 {
		return nil, cliutil.Usagef("--memory must be at least 64, --cpus and --jobs at least 1")
	}
	// Ctrl-C and SIGTERM cancel the context (see interruptible): every
	// QEMU is killed and the temporary directories are removed before we exit.
	ctx, stop := context.WithCancel(c.Context)
	s := &vmSetup{o: o, ctx: ctx, stop: stop, jobs: c.Int("jobs")}
	cache, err := kernels.Open("")
	if err != nil {
		stop()
		return nil, err
	}
	opts := kernels.ResolveOptions{Mirror: c.String("mirror"), Logf: o.Logf}
	if f, ok := o.Stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) && !o.Quiet {
		opts.Progress = f
	}
	for _, ref := range refs {
		k, err := cache.Resolve(ctx, ref.String(), opts)
		if err != nil {
			stop()
			return nil, fmt.Errorf("kernel %s: %w", ref, err)
		}
		s.kernels = append(s.kernels, k)
	}
	s.machine = vmtest.Machine{
		Accel:    accel,
		MemoryMB: c.Int("memory"),
		CPUs:     c.Int("cpus"),
		Agent:    os.Getenv(agentEnv),
		Cmdline:  c.String("cmdline"),
	}
	if keep := c.String("keep"); keep != "" {
		s.machine.WorkDir = keep
	}
	return s, nil
}

// splitList flattens repeated and comma-separated flag values.
func splitList(in []string) []string {
	var out []string
	for _, s := range in {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// runAll boots one VM per kernel with plan. Per-kernel work dirs under
// --keep are named after the kernel reference.
func (s *vmSetup) runAll(plan vmtest.Plan) ([]*vmtest.Result, error) {
	jobs := make([]vmtest.Job, len(s.kernels))
	for i, k := range s.kernels {
		m := s.machine
		m.Kernel = k
		if m.WorkDir != "" {
			m.WorkDir = filepath.Join(m.WorkDir, strings.NewReplacer("/", "_", ":", "_").Replace(k.Ref))
		}
		jobs[i] = vmtest.Job{Machine: m, Plan: plan}
	}
	results, errs := vmtest.RunAll(s.ctx, s.jobs, jobs)
	for i, err := range errs {
		if err == nil {
			continue
		}
		if errors.Is(err, vmtest.ErrInput) {
			return nil, err
		}
		return nil, fmt.Errorf("kernel %s: %w", s.kernels[i].Ref, err)
	}
	for i, r := range results {
		s.o.Debugf("kernel %s (%s): %s, accel %s, boot to agent %s (guest clock %s, QEMU CPU %s), total %s", s.kernels[i].Ref, r.Release, r.Outcome, r.Accel, r.BootToReady.Round(time.Millisecond), r.GuestReady, r.ReadyCPU, r.Total.Round(time.Millisecond))
	}
	return results, nil
}

// vmFailure describes an outcome where the VM, not the command, failed.
func vmFailure(k *kernels.Kernel, r *vmtest.Result) error {
	msg := fmt.Sprintf("kernel %s: %s: %s", k.Ref, r.Outcome, r.Reason)
	if strings.Contains(r.Reason, "not statically linked") {
		msg += " (the guest's /init is this retrobpf binary: build it with CGO_ENABLED=0, or point " + agentEnv + " at a static build)"
	}
	if r.ConsoleTail != "" {
		msg += "\n--- console tail ---\n" + r.ConsoleTail
	}
	if r.ConsoleLog != "" {
		msg += "\n--- full console: " + r.ConsoleLog
	}
	return cliutil.Infra(errors.New(msg))
}

func vmExec(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) == 0 {
		return cliutil.Usagef("vm exec: no command (usage: retrobpf vm exec --kernel REF -- CMD [ARGS...])")
	}
	plan := vmtest.Plan{}
	for _, f := range c.StringSlice("file") {
		st, err := os.Stat(f)
		if err != nil {
			return cliutil.Usagef("--file %s: %v", f, err)
		}
		if !st.Mode().IsRegular() {
			return cliutil.Usagef("--file %s: not a regular file", f)
		}
		plan.Files = append(plan.Files, vmtest.File{Path: "/" + filepath.Base(f), Source: f})
	}
	timeout := c.Duration("timeout")
	if timeout <= 0 {
		return cliutil.Usagef("--timeout must be positive")
	}
	s, err := newVMSetup(c)
	if err != nil {
		return err
	}
	defer s.stop()
	// The run deadline leaves the step's own timeout room to be reported.
	s.machine.RunTimeout = timeout + 30*time.Second
	plan.Steps = []vmtest.Step{{Name: args[0], Args: args, Timeout: timeout}}
	results, err := s.runAll(plan)
	if err != nil {
		return err
	}
	code := 0
	var failure error
	for i, r := range results {
		k := s.kernels[i]
		if len(results) > 1 {
			fmt.Fprintf(s.o.Stderr, "=== kernel %s (%s): %s\n", k.Ref, r.Release, r.Outcome)
		}
		if len(r.Steps) > 0 {
			st := r.Steps[0]
			s.o.Stdout.Write(st.Stdout)
			s.o.Stderr.Write(st.Stderr)
		}
		switch r.Outcome {
		case vmtest.OutcomeOK:
		case vmtest.OutcomeFailed:
			st := r.Steps[0]
			c := st.ExitCode
			switch {
			case st.TimedOut:
				c = 124
				fmt.Fprintf(s.o.Stderr, "retrobpf: kernel %s: %s timed out after %s\n", k.Ref, args[0], timeout)
			case c <= 0:
				c = 1
				fmt.Fprintf(s.o.Stderr, "retrobpf: kernel %s: %s: %s\n", k.Ref, args[0], st.Error)
			}
			if code == 0 {
				code = c
			}
		default:
			if failure == nil {
				failure = vmFailure(k, r)
			}
		}
	}
	if failure != nil {
		return failure
	}
	if code != 0 {
		return &cliutil.ExitError{Code: code, Err: fmt.Errorf("guest command %s exited with code %d", args[0], code)}
	}
	return nil
}

func vmProbe(c *cli.Context) error {
	o := options(c)
	if err := o.CheckFormat("table", "json", "markdown", "nfd"); err != nil {
		return err
	}
	s, err := newVMSetup(c)
	if err != nil {
		return err
	}
	defer s.stop()
	// The guest runs this very binary, so its rendering is the host
	// probe's own, in whatever format was asked for.
	plan := vmtest.Plan{Steps: []vmtest.Step{{Name: "probe", Args: []string{"/bin/retrobpf", "probe", "--format", o.Format}}}}
	results, err := s.runAll(plan)
	if err != nil {
		return err
	}
	var out []byte
	for i, r := range results {
		k := s.kernels[i]
		switch r.Outcome {
		case vmtest.OutcomeOK:
		case vmtest.OutcomeFailed:
			st := r.Steps[0]
			return cliutil.Infra(fmt.Errorf("kernel %s: probe in the guest failed (exit %d): %s%s", k.Ref, st.ExitCode, strings.TrimSpace(string(st.Stderr)), st.Error))
		default:
			return vmFailure(k, r)
		}
		if len(results) > 1 && o.Format != "json" {
			out = append(out, fmt.Sprintf("== kernel %s (%s)\n", k.Ref, r.Release)...)
		}
		out = append(out, r.Steps[0].Stdout...)
	}
	if len(results) > 1 && o.Format == "json" {
		// One JSON document per kernel would not parse as one; wrap them.
		var parts []string
		for i, r := range results {
			parts = append(parts, fmt.Sprintf("{\"kernel\":%q,\"release\":%q,\"probe\":%s}", s.kernels[i].Ref, r.Release, strings.TrimSpace(string(r.Steps[0].Stdout))))
		}
		out = []byte("[" + strings.Join(parts, ",\n") + "]\n")
	}
	return o.Emit(func(w io.Writer) error {
		_, err := w.Write(out)
		return err
	})
}
