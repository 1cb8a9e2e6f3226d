package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/retrobpf/retrobpf/cmd/retrobpf/internal/cliutil"
	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/compat/probe"
	"github.com/retrobpf/retrobpf/internal/atomicfile"
	"github.com/retrobpf/retrobpf/internal/inputfile"
	"github.com/retrobpf/retrobpf/manifest"
	"github.com/retrobpf/retrobpf/matrix/guest"
	"github.com/retrobpf/retrobpf/reports"
)

// guest-run is the matrix's in-kernel worker: `retrobpf run` ships the
// manifest, its objects and one guest.Job per step into a VM and runs
// `guest-run --job FILE` there. It also runs on the host (root) to test
// the running kernel, with flags that fill in the same Job.
func init() {
	register(&cli.Command{
		Name:   "guest-run",
		Hidden: true,
		Usage:  "load, attach and measure every variant of a manifest on the running kernel (the matrix's in-VM worker)",
		Flags: commandFlags(
			&cli.StringFlag{Name: "job", Usage: "read every option from this guest.Job JSON `FILE` (what `retrobpf run` ships into the VM); no other flag may be given"},
			&cli.StringFlag{Name: "manifest", Usage: "manifest `FILE` (suite.yaml); required without --job"},
			&cli.StringFlag{Name: "ref", Usage: "kernel `NAME` for the results (default: uname -r)"},
			&cli.StringFlag{Name: "btf", Usage: "external BTF `FILE` for CO-RE"},
			&cli.StringFlag{Name: "log-dir", Usage: "also write the verifier logs under `DIR`"},
			&cli.StringFlag{Name: "accel", Usage: "tcg or kvm: how the VM runs (marks emulated figures)"},
			&cli.BoolFlag{Name: "verifier-only", Usage: "load only: no attach, no overhead"},
			&cli.BoolFlag{Name: "attach-only", Usage: "load and attach, then detach: no triggers, no overhead"},
			&cli.BoolFlag{Name: "no-probe", Usage: "select from the catalog by kernel version instead of probing"},
			&cli.IntFlag{Name: "samples", Value: guest.DefaultSamples, Usage: "interleaved with/without overhead sample pairs (at least 6)"},
			&cli.StringSliceFlag{Name: "program", Usage: "run only this `PROGRAM` of the manifest (repeatable)"},
			&cli.BoolFlag{Name: "probe-only", Usage: "only probe the kernel (recording what the manifest needs) and write the probe report"},
			&cli.StringFlag{Name: "probe-report", Usage: "select with this saved probe report `FILE` instead of probing (probes if it is missing)"},
			&cli.BoolFlag{Name: "block-device", Usage: "give fsync triggers without a path a loop block device (VMs have no disk)"},
			&cli.StringFlag{Name: "loop-module", Usage: "loop.ko `FILE` to load when the kernel has no loop driver"},
			&cli.StringFlag{Name: "fault", Usage: "fault injection for hostile tests: \"panic\" crashes the kernel (sysrq c) before doing anything (needs RETROBPF_ALLOW_CRASH=1)"},
		),
		Action: guestRun,
	})
}

// jobFlags are the guest-run flags a Job replaces.
var jobFlags = []string{"manifest", "ref", "btf", "log-dir", "accel", "verifier-only", "attach-only", "no-probe", "samples",
	"program", "probe-only", "probe-report", "block-device", "loop-module", "fault", cliutil.FlagOutput}

// guestJob reads the Job from --job, or builds it from the flags.
func guestJob(c *cli.Context) (*guest.Job, error) {
	if p := c.String("job"); p != "" {
		for _, name := range jobFlags {
			if c.IsSet(name) {
				return nil, cliutil.Usagef("--job %s: --%s cannot be given with --job (set it in the job)", p, name)
			}
		}
		data, err := inputfile.Read(p, inputfile.MaxDocument)
		if err != nil {
			return nil, cliutil.Usage(fmt.Errorf("--job %s: %w", p, err))
		}
		job, err := guest.DecodeJob(data)
		if err != nil {
			return nil, fmt.Errorf("--job %s: %w", p, err)
		}
		return job, nil
	}
	if c.String("manifest") == "" {
		return nil, cliutil.Usagef("Required flag \"manifest\" not set (or give --job FILE)")
	}
	job := &guest.Job{
		Manifest: c.String("manifest"), Ref: c.String("ref"), BTF: c.String("btf"), LogDir: c.String("log-dir"),
		Accel: reports.Accel(c.String("accel")), VerifierOnly: c.Bool("verifier-only"), AttachOnly: c.Bool("attach-only"), NoProbe: c.Bool("no-probe"),
		Samples: c.Int("samples"), Programs: c.StringSlice("program"), ProbeOnly: c.Bool("probe-only"),
		ProbeReport: c.String("probe-report"), BlockDevice: c.Bool("block-device"), LoopModule: c.String("loop-module"),
		Fault: c.String("fault"),
	}
	if err := job.Check(); err != nil {
		return nil, err
	}
	return job, nil
}

func guestRun(c *cli.Context) error {
	job, err := guestJob(c)
	if err != nil {
		return err
	}
	o := options(c)
	if job.Output != "" {
		o.Output = job.Output
	}
	if o.Format == "table" {
		o.Format = "json"
	}
	if err := o.CheckFormat("json"); err != nil {
		return err
	}
	s, err := manifest.Load(job.Manifest)
	if err != nil {
		return cliutil.Usage(err)
	}
	if os.Geteuid() != 0 {
		return cliutil.Infra(errors.New("guest-run loads BPF programs: run it as root"))
	}
	if err := job.ApplyProfile(); err != nil {
		return cliutil.Infra(fmt.Errorf("kernel profile: %w", err))
	}
	if job.ProbeOnly {
		rep, err := guest.Probe(c.Context, s)
		if err != nil {
			return cliutil.Infra(err)
		}
		return o.Emit(func(w io.Writer) error { return cliutil.JSON(w, rep) })
	}
	var target compat.Target
	if p := job.ProbeReport; p != "" {
		if data, err := os.ReadFile(p); err == nil {
			var rep probe.Report
			if err := json.Unmarshal(data, &rep); err != nil {
				return cliutil.Usage(fmt.Errorf("probe report %s: %w", p, err))
			}
			target = &rep
		} else {
			o.Logf("probe report %s: %v: probing again", p, err)
		}
	}
	if job.Fault == "panic" {
		crashKernel()
	}
	out, err := guest.Run(c.Context, job.Options(s, target, o.Logf))
	if err != nil {
		if errors.Is(err, guest.ErrInput) {
			return cliutil.Usage(err)
		}
		return cliutil.Infra(err)
	}
	if dir := job.LogDir; dir != "" {
		for name, data := range out.Logs {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return cliutil.Usage(err)
			}
			if err := atomicfile.WriteFile(p, data, 0o644); err != nil {
				return cliutil.Usage(err)
			}
		}
	}
	if err := o.Emit(func(w io.Writer) error { return cliutil.JSON(w, out) }); err != nil {
		return err
	}
	if n := len(out.Kernel.SelectionErrors); n > 0 {
		return cliutil.Failed(fmt.Errorf("%d selection error(s): %s", n, out.Kernel.SelectionErrors[0]))
	}
	return nil
}

// crashKernel panics the kernel through sysrq (the hostile tests' "kernel
// that panics mid-run"). It does nothing unless RETROBPF_ALLOW_CRASH=1 is
// set, which only the matrix's fault injection sets inside a VM.
func crashKernel() {
	if os.Getenv("RETROBPF_ALLOW_CRASH") != "1" {
		fmt.Fprintln(os.Stderr, "retrobpf: --fault ignored: RETROBPF_ALLOW_CRASH=1 is not set")
		return
	}
	os.WriteFile("/proc/sys/kernel/sysrq", []byte("1\n"), 0o644)
	os.WriteFile("/proc/sysrq-trigger", []byte("c"), 0o200)
}
