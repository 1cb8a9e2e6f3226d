package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/retrobpf/retrobpf/btfhub"
	"github.com/retrobpf/retrobpf/cmd/retrobpf/internal/cliutil"
	"github.com/retrobpf/retrobpf/internal/atomicfile"
	"github.com/retrobpf/retrobpf/manifest"
	"github.com/retrobpf/retrobpf/matrix"
	"github.com/retrobpf/retrobpf/reports"
	"github.com/retrobpf/retrobpf/vmtest"
	"github.com/retrobpf/retrobpf/vmtest/kernels"
)

func init() {
	register(&cli.Command{
		Name:  "run",
		Usage: "run every program and variant of a manifest on a kernel matrix (one VM per kernel)",
		Description: `Boots each kernel in QEMU (parallel up to --jobs) and, inside it, probes the
kernel, selects a variant per program, loads every variant (dead fallbacks
too), attaches it, runs its trigger and measures verifier figures and
overhead. Each kernel's results are saved to DIR/<kernel>.json as soon as
its VM ends; DIR/results.json and DIR/report.<format> combine them.
Exits 1 on a selection error or a kernel that did not finish.`,
		Flags: commandFlags(
			&cli.StringFlag{Name: "manifest", Value: "bpf/suite.yaml", Usage: "manifest `FILE`"},
			&cli.StringFlag{Name: "kernels", Value: "5.10,6.1,6.12", Usage: "comma-separated kernel `REFS` (aliases, deb:, oci:, file:), or @FILE with one per line"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: vmtest.DefaultJobs(), Usage: "VMs at once", DefaultText: "one per CPU"},
			&cli.StringSliceFlag{Name: "btf", Usage: "external BTF for kernels without /sys/kernel/btf/vmlinux: `FILE` for all of them, or KERNEL=FILE for one (repeatable; KERNEL as given to --kernels); a kernel's own BTF always comes first"},
			&cli.StringFlag{Name: "output-dir", Aliases: []string{"d"}, Value: "results", Usage: "results `DIR`"},
			&cli.BoolFlag{Name: "resume", Usage: "skip kernels already finished in --output-dir"},
			&cli.StringFlag{Name: "shard", Usage: "run share `I/N` of the kernels (see 'retrobpf matrix plan')"},
			&cli.StringFlag{Name: "accel", Value: "auto", Usage: "auto, kvm or tcg"},
			&cli.BoolFlag{Name: "verifier-only", Usage: "load and verify only: no attach, no overhead"},
			&cli.StringFlag{Name: "hub", Usage: "BTFHub archive `URL` (http(s):// or file:///) asked, on the host, for each kernel without BTF of its own and no --btf; identified by the kernel's release and its Debian package (or a profile's os:) [$" + btfhub.EnvHub + "]"},
			&cli.BoolFlag{Name: "deterministic", Usage: "run TCG with instruction counting (QEMU -icount): overhead per event becomes reproducible, reported in icount-ns (guest instructions), never real nanoseconds; not with --accel kvm"},
			&cli.BoolFlag{Name: "attach-only", Usage: "load and attach every variant, then detach: whether its attach targets exist, without triggers or overhead"},
			&cli.IntFlag{Name: "samples", Value: 10, Usage: "interleaved with/without overhead sample pairs per variant (at least 6)"},
			&cli.IntFlag{Name: "memory", Value: 1024, Usage: "guest memory in `MiB`"},
			&cli.StringFlag{Name: "agent", EnvVars: []string{agentEnv}, Usage: "static retrobpf `BINARY` for the guest (default: this one)"},
			&cli.StringFlag{Name: "report-format", Value: "markdown", Usage: "format of DIR/report.* (" + strings.Join(reports.Formats, ", ") + ")"},
		),
		Action: runAction,
	})
}

func runAction(c *cli.Context) error {
	o := options(c)
	if err := o.CheckFormat(reports.Formats...); err != nil {
		return err
	}
	if c.Int("samples") < 6 {
		return cliutil.Usagef("--samples %d: at least 6 are needed for a 95%% confidence interval", c.Int("samples"))
	}
	s, err := manifest.Load(c.String("manifest"))
	if err != nil {
		return cliutil.Usage(err)
	}
	// Parsed here, before anything boots or is written: a typo such as
	// 6.2 is bad input (exit 2), not a kernel that fails to resolve.
	refs, err := matrix.ParseKernels(c.String("kernels"))
	if err != nil {
		return fmt.Errorf("--kernels: %w", err)
	}
	allRefs := refs // --btf KERNEL=FILE may name a kernel of another shard
	var shard *reports.Shard
	if v := c.String("shard"); v != "" {
		if shard, err = matrix.ParseShard(v); err != nil {
			return err
		}
		refs = matrix.ShardKernels(refs, shard)
		if len(refs) == 0 {
			o.Logf("shard %s has no kernels", v)
		}
	}
	accel, err := vmtest.ParseAccel(c.String("accel"))
	if err != nil {
		return cliutil.Usage(err)
	}
	if c.Bool("deterministic") && accel == vmtest.AccelKVM {
		return cliutil.Usagef("--deterministic counts instructions under TCG: not with --accel kvm")
	}
	btfAll, btfFor, err := parseBTFFlags(c.StringSlice("btf"), allRefs)
	if err != nil {
		return cliutil.Usage(err)
	}
	if c.Bool("verifier-only") && c.Bool("attach-only") {
		return cliutil.Usagef("give only one of --verifier-only and --attach-only")
	}
	hub, _ := btfhub.HubFromEnv(c.String("hub")) // optional: "" asks no hub
	if hub != "" {
		if _, err := btfhub.ParseHub(hub); err != nil {
			return cliutil.Usage(fmt.Errorf("--hub: %w", err))
		}
	}
	format := c.String("report-format")
	if !slices.Contains(reports.Formats, format) {
		return cliutil.Usagef("unknown --report-format %q (want one of %s)", format, strings.Join(reports.Formats, ", "))
	}
	cache, err := kernels.Open("")
	if err != nil {
		return cliutil.Infra(err)
	}
	ctx := c.Context // cancelled by Ctrl-C and SIGTERM (interruptible)
	dir := c.String("output-dir")
	res, err := matrix.Run(ctx, matrix.Options{
		Suite: s, Kernels: refs, Shard: shard, Jobs: c.Int("jobs"), BTF: btfAll, BTFFor: btfFor,
		OutputDir: dir, Resume: c.Bool("resume"), Accel: accel,
		Hub:           hub,
		Deterministic: c.Bool("deterministic"),
		VerifierOnly:  c.Bool("verifier-only"), AttachOnly: c.Bool("attach-only"), Samples: c.Int("samples"), MemoryMB: c.Int("memory"),
		Agent: c.String("agent"), Cache: cache, Resolve: kernels.ResolveOptions{Logf: o.Debugf},
		ToolVersion: toolVersion(), Logf: o.Logf,
	})
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		o.Debugf("peak RSS of this process (without QEMU): %d KiB", ru.Maxrss)
	}
	if res != nil {
		ext := map[string]string{"markdown": "md", "table": "txt", "junit": "xml"}[format]
		if ext == "" {
			ext = format
		}
		report := filepath.Join(dir, "report."+ext)
		if rerr := atomicfile.Write(report, 0o644, func(w io.Writer) error { return reports.Render(w, res, format) }); rerr != nil {
			o.Logf("report: %v", rerr)
		} else {
			o.Logf("results: %s, report: %s", filepath.Join(dir, "results.json"), report)
		}
		if err == nil {
			if eerr := o.Emit(func(w io.Writer) error { return reports.RenderOptions{Color: o.Color}.Render(w, res, o.Format) }); eerr != nil {
				return eerr
			}
		}
	}
	switch {
	case errors.Is(err, matrix.ErrInterrupted):
		return fmt.Errorf("%w; rerun with --resume", err)
	case errors.Is(err, matrix.ErrOutputDir):
		return fmt.Errorf("--output-dir: %w", err)
	case err != nil:
		return err
	}
	if why := matrix.Failed(res); len(why) > 0 {
		return cliutil.Failed(fmt.Errorf("%d problem(s): %s", len(why), strings.Join(why, "; ")))
	}
	return nil
}

// toolVersion is the module version of this binary ("devel" when built
// from a checkout).
func toolVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// parseBTFFlags reads --btf values: one bare FILE for every kernel without
// BTF, and KERNEL=FILE for one kernel of refs. Every file must exist.
func parseBTFFlags(values []string, refs []matrix.Kernel) (all string, byKernel map[string]string, err error) {
	byKernel = map[string]string{}
	for _, v := range values {
		kernel, file, perKernel := strings.Cut(v, "=")
		if !perKernel {
			if all != "" {
				return "", nil, fmt.Errorf("--btf %s: give one BTF FILE for all kernels (already %s), or KERNEL=FILE", v, all)
			}
			all, file = v, v
		} else {
			// KERNEL is an entry's name (a profile's) or its reference,
			// in any of its spellings.
			name := kernel
			if !slices.ContainsFunc(refs, func(r matrix.Kernel) bool { return r.String() == kernel }) {
				ref, perr := kernels.ParseRef(kernel)
				if perr != nil {
					return "", nil, fmt.Errorf("--btf %s: %w", v, perr)
				}
				name = ref.String()
				if !slices.ContainsFunc(refs, func(r matrix.Kernel) bool { return r.String() == name }) {
					return "", nil, fmt.Errorf("--btf %s: kernel %s is not in --kernels", v, ref)
				}
			}
			if _, dup := byKernel[name]; dup {
				return "", nil, fmt.Errorf("--btf %s: kernel %s already has a BTF file", v, name)
			}
			byKernel[name] = file
		}
		if st, serr := os.Stat(file); serr != nil {
			return "", nil, fmt.Errorf("--btf: %w", serr)
		} else if !st.Mode().IsRegular() {
			return "", nil, fmt.Errorf("--btf %s: not a regular file", file)
		}
	}
	return all, byKernel, nil
}
