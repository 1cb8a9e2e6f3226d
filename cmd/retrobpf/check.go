package main

import (
	"errors"

	"fmt"
	"github.com/cilium/ebpf"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/retrobpf/retrobpf/btfhub"
	"github.com/retrobpf/retrobpf/cmd/retrobpf/internal/cliutil"
	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/compat/check"
	"github.com/retrobpf/retrobpf/compat/probe"
	"github.com/retrobpf/retrobpf/internal/ksyms"
	"github.com/retrobpf/retrobpf/internal/kversion"
	"github.com/retrobpf/retrobpf/internal/mdtable"
)

func init() {
	register(&cli.Command{
		Name:      "check",
		Usage:     "statically analyse BPF objects: requirements, minimum kernel, compatibility with a target",
		ArgsUsage: "OBJECT.o...",
		Description: "For each program: its type and attach point, every requirement it implies (with where it\n" +
			"comes from) and the first upstream kernel that has them all. With a target (--kernel, --probe\n" +
			"or --host, optionally --btf) every program is compared with it and each unmet requirement is\n" +
			"shown with its hint. By default only the requirements that set the minimum kernel and the\n" +
			"unmet ones are printed; --verbose prints all of them. JSON output (schema_version 1):\n" +
			"compat/check/check.schema.json.\n\n" +
			"Exit 0: every program is compatible (or no target was given and no program is invalid);\n" +
			"exit 1: a program is incompatible, unconfirmed (a requirement the target cannot decide,\n" +
			"such as an attach target against a bare version) or can never load;\n" +
			"exit 2: an input is not a readable BPF object (the others are still reported).",
		Flags: commandFlags(append(checkTargetFlags(), setFlag("object"))...),
		Action: func(c *cli.Context) error {
			objects, err := positionalArgs(c)
			if err != nil {
				return err
			}
			o := options(c)
			if err := o.CheckFormat("table", "json", "markdown"); err != nil {
				return err
			}
			if len(objects) == 0 {
				return cliutil.Usagef("check: no object files given (usage: retrobpf check [--kernel V|--probe FILE|--host] OBJECT.o...)")
			}
			set := settingsFromFlag(c)
			found := map[string]bool{}
			opts := compat.AnalyzeOptions{Prepare: func(spec *ebpf.CollectionSpec) error {
				return set.Only(spec, found).Apply(spec)
			}}
			res := check.Analyze(objects, opts)
			if err := unusedSettings(set, found, "object"); err != nil {
				return err
			}
			var badInput []string // one line per unreadable input
			for _, obj := range res.Objects {
				if obj.Error != "" {
					badInput = append(badInput, obj.Path+": "+obj.Error)
				}
			}
			spec, err := checkResolveTarget(c, o, res.Requirements())
			if err != nil {
				return err
			}
			if facts := spec.Facts(); facts != nil {
				// Again, for that kernel: its .kconfig and CO-RE values
				// decide branches (the first pass told a host probe what
				// to record).
				opts.Kernel = facts
				res = check.Analyze(objects, opts)
			}
			res.Evaluate(spec)
			if err := o.Emit(func(w io.Writer) error {
				switch o.Format {
				case "json":
					return cliutil.JSON(w, res)
				case "markdown":
					return checkMarkdown(w, res, o.Verbose)
				}
				return checkTable(w, res, o.Verbose, o.Color)
			}); err != nil {
				return err
			}
			switch {
			case len(badInput) > 0:
				// One line per bad input; main prints the last one.
				for _, line := range badInput[:len(badInput)-1] {
					fmt.Fprintf(o.Stderr, "retrobpf: check: %s\n", line)
				}
				return cliutil.Usagef("check: %s", badInput[len(badInput)-1])
			case !res.OK:
				return cliutil.Failed(fmt.Errorf("check: %s", res.Summary()))
			}
			return nil
		},
	})
}

// checkTargetFlags are the target selection flags shared by check and select.
func checkTargetFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "kernel", Usage: "compare with upstream kernel `VERSION` (catalog knowledge only; distro kernels backport)"},
		&cli.StringFlag{Name: "kernel-image", Usage: "compare with a kernel image `REF` of the kernels cache (kernels pull REF) or a local file:/dir: image, read without booting: its version, config, BTF and System.map"},
		&cli.StringFlag{Name: "probe", Usage: "compare with a saved probe report `FILE` (retrobpf probe --format json)"},
		&cli.BoolFlag{Name: "host", Usage: "probe the running kernel now (run as root)"},
		&cli.StringFlag{Name: "btf", Usage: "an external BTF `FILE` is available to the loader (satisfies btf:core)"},
		&cli.StringFlag{Name: "traceable", Usage: "the target kernel's tracefs available_filter_functions, saved to `FILE`: decides whether fentry/fexit targets can be patched"},
		&cli.StringFlag{Name: "kallsyms", Usage: "the target kernel's symbol table `FILE` (its System.map or a saved /proc/kallsyms, gzip or not): decides kprobe targets and __ksym references"},
	}
}

// checkResolveTarget builds the target from the flags; nil when none was
// given. needs are the objects' requirements, so a host probe records the
// kernel symbols and kfuncs among them.
func checkResolveTarget(c *cli.Context, o *cliutil.Options, needs []compat.Requirement) (*check.Target, error) {
	n := 0
	for _, f := range []string{"kernel", "kernel-image", "probe", "host"} {
		if c.IsSet(f) {
			n++
		}
	}
	if n > 1 {
		return nil, cliutil.Usagef("give only one of --kernel, --kernel-image, --probe and --host")
	}
	for _, f := range []string{"kallsyms", "traceable"} {
		if c.Bool("host") && c.IsSet(f) {
			return nil, cliutil.Usagef("--%s is for a kernel not running here: --host reads the running kernel's own", f)
		}
	}
	spec := &check.Target{}
	switch {
	case c.IsSet("kernel"):
		v, err := kversion.Parse(c.String("kernel"))
		if err != nil || v.Suffix != "" {
			return nil, cliutil.Usagef("--kernel %q: want an upstream version such as 4.19 or 5.10.200", c.String("kernel"))
		}
		spec.Target, spec.Version, spec.VersionOnly = compat.VersionTarget(v), v, true
		spec.Kernel = &compat.Kernel{Version: v, Exact: strings.Count(c.String("kernel"), ".") >= 2}
	case c.IsSet("kernel-image"):
		img, err := imageTarget(o, c.String("kernel-image"))
		if err != nil {
			return nil, err
		}
		spec = img
	case c.IsSet("probe"):
		rep, err := probe.Load(c.String("probe"))
		if err != nil {
			return nil, cliutil.Usage(fmt.Errorf("--probe: %w", err))
		}
		spec.Target, spec.Version = rep, checkProbedVersion(rep)
		spec.Kernel = probedKernel(rep)
		// A report made with --kernel-btf holds the kernel's own types:
		// CO-RE is decided against them unless --btf says otherwise.
		if types, err := rep.KernelTypes(); err == nil && c.String("btf") == "" {
			spec.KernelBTF, spec.Target = types, compat.WithKernelBTF(spec.Target, types)
		} else if err != nil && !errors.Is(err, probe.ErrNoKernelBTF) {
			return nil, cliutil.Usage(fmt.Errorf("--probe %s: %w", c.String("probe"), err))
		}
	case c.Bool("host"):
		if os.Geteuid() != 0 {
			o.Logf("retrobpf: warning: not running as root: most probes will answer unknown (permission denied)")
		}
		var opts probe.Options
		for _, r := range needs {
			opts.Record(r.Feature)
		}
		rep, err := probe.Probe(c.Context, opts)
		if err != nil {
			return nil, cliutil.Infra(err)
		}
		spec.Target, spec.Version = rep, checkProbedVersion(rep)
		spec.Kernel = &compat.Kernel{Running: true}
		// On the host, kernel types for CO-RE come from the loader's own
		// search order (--btf, $RETROBPF_BTF, sysfs, the BTF cache), so
		// check answers btf:core exactly as a load on this node would.
		types, src, err := btfhub.KernelTypes(c.Context, btfhub.LoaderOptions{BTFFile: c.String("btf")})
		if err == nil {
			spec.KernelBTF, spec.Target = types, compat.WithKernelBTF(spec.Target, types)
		}
		switch {
		case err == nil && src.Kind != btfhub.SourceSysfs:
			spec.Target = compat.WithExternalBTF(spec.Target)
			o.Logf("retrobpf: kernel types for CO-RE: %s", src)
		case err == nil:
			o.Debugf("retrobpf: kernel types for CO-RE: %s", src)
		case errors.Is(err, btfhub.ErrNoKernelBTF):
			o.Debugf("retrobpf: %v", err)
		case c.String("btf") != "":
			return nil, cliutil.Usagef("--btf: %v", err)
		default:
			o.Logf("retrobpf: warning: kernel types: %v", err)
		}
		return spec, nil
	}
	if f := c.String("btf"); f != "" {
		if spec.Target == nil {
			return nil, cliutil.Usagef("--btf needs a target (--kernel, --probe or --host)")
		}
		types, err := btfhub.LoadBTFFile(f)
		if err != nil {
			return nil, cliutil.Usagef("--btf %s: not a usable BTF file: %v", f, err)
		}
		// The file is the target kernel's types: attach targets and CO-RE
		// relocations are decided against it.
		spec.KernelBTF = types
		spec.Target = compat.WithExternalBTF(compat.WithKernelBTF(spec.Target, types))
	}
	if f := c.String("kallsyms"); f != "" {
		if spec.Target == nil {
			return nil, cliutil.Usagef("--kallsyms needs a target (--kernel, --probe or --host)")
		}
		syms, err := ksyms.ReadFile(f)
		if err != nil {
			return nil, cliutil.Usagef("--kallsyms: %v", err)
		}
		spec.Target = compat.WithKernelSymbols(spec.Target, syms, filepath.Base(f))
	}
	if f := c.String("traceable"); f != "" {
		if spec.Target == nil {
			return nil, cliutil.Usagef("--traceable needs a target (--kernel, --probe or --host)")
		}
		funcs, err := ksyms.ReadFilterFunctions(f)
		if err != nil {
			return nil, cliutil.Usagef("--traceable: %v", err)
		}
		spec.Target = compat.WithTraceable(spec.Target, funcs, filepath.Base(f))
	} else if c.IsSet("kernel") || c.IsSet("kernel-image") {
		// A version and its BTF know the functions, not which of them
		// ftrace can patch.
		spec.Target = compat.WithTraceable(spec.Target, nil, "")
	}
	if spec.Target == nil {
		return nil, nil
	}
	return spec, nil
}

// probedKernel is what a probe report tells the analysis of its kernel:
// the version LINUX_KERNEL_VERSION will hold there, exact when the probe
// read the kernel's own version code.
func probedKernel(rep *probe.Report) *compat.Kernel {
	v := checkProbedVersion(rep)
	if v.IsZero() {
		return nil
	}
	return &compat.Kernel{Version: v, Exact: rep.Kernel.VersionCode != 0, Release: rep.Kernel.Release}
}

func checkProbedVersion(rep *probe.Report) kversion.Version {
	v, err := kversion.Parse(rep.Kernel.Version)
	if err != nil {
		v, _ = kversion.Parse(rep.Kernel.Release)
	}
	return v
}

// checkShownRequirements are the requirements printed by default: those that set
// the minimum kernel and the unmet ones (all with --verbose).
func checkShownRequirements(p *compat.ProgramReport, v *compat.ProgramVerdict, verbose bool) []compat.Requirement {
	if verbose {
		return p.Requirements
	}
	keep := map[compat.FeatureID]bool{}
	for _, q := range p.MinKernelBy {
		keep[q.Feature] = true
	}
	if v != nil {
		for _, u := range v.Unmet {
			keep[compat.FeatureID(strings.SplitN(string(u.Feature), "@", 2)[0])] = true
		}
	}
	var out []compat.Requirement
	for _, q := range p.Requirements {
		if keep[q.Feature] {
			out = append(out, q)
		}
	}
	return out
}

func checkSince(id compat.FeatureID) string {
	f, err := compat.Lookup(id)
	if err != nil || f.Since.IsZero() {
		return "?"
	}
	return f.Since.String()
}

func checkAttachLabel(p *compat.ProgramReport) string {
	s := p.Attach
	if s == "" {
		s = "-"
	}
	if p.AttachTo != "" {
		s += " " + p.AttachTo
	}
	return s
}

func checkVersionLabel(v kversion.Version) string {
	if v.IsZero() {
		return "?"
	}
	return v.String()
}

func checkTable(w io.Writer, r *check.Result, verbose, color bool) error {
	for i, o := range r.Objects {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if o.ObjectReport == nil {
			fmt.Fprintf(w, "%s: error: %s\n", o.Path, o.Error)
			continue
		}
		by := ""
		if len(o.MinKernelBy) > 0 {
			by = " (set by " + checkFeatureList(o.MinKernelBy) + ")"
		}
		fmt.Fprintf(w, "%s: %d program(s), minimum kernel %s%s\n", o.Path, len(o.Programs), checkVersionLabel(o.MinKernel), by)
		for j := range o.Programs {
			p := &o.Programs[j]
			var v *compat.ProgramVerdict
			if r.HasTarget() {
				v = &o.Verdicts[j]
			}
			fmt.Fprintf(w, "\n  %s  [%s]  type %s, attach %s, %d insns, license %q\n", p.Name, p.Section, p.Type, checkAttachLabel(p), p.Instructions, p.License)
			fmt.Fprintf(w, "    minimum kernel %s\n", checkVersionLabel(p.MinKernel))
			reqs := checkShownRequirements(p, v, verbose)
			if len(reqs) > 0 {
				label := "requirements setting the minimum"
				if verbose {
					label = "requirements"
				} else if v != nil && len(v.Unmet) > 0 {
					label = "requirements setting the minimum or unmet"
				}
				fmt.Fprintf(w, "    %s:\n", label)
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				for _, q := range reqs {
					fmt.Fprintf(tw, "      %s\t%s\t%s\t%s\n", checkSince(q.Feature), q.Feature, q.Reason, q.Source)
				}
				tw.Flush()
			}
			for _, f := range p.Findings {
				fmt.Fprintf(w, "    %s: %s (%s)\n", f.Severity, f.Message, f.Source)
			}
			if v != nil {
				fmt.Fprintf(w, "    %s: %s\n", r.Target, verdictLabel(v.Verdict, color))
				for _, u := range v.Unmet {
					fmt.Fprintf(w, "      %s %s (since %s): %s [%s]\n", u.State, u.Feature, checkVersionLabel(u.Since), u.Reason, u.Source)
					if u.Detail != "" {
						fmt.Fprintf(w, "        detail: %s\n", u.Detail)
					}
					if u.Hint != "" {
						fmt.Fprintf(w, "        hint: %s\n", u.Hint)
					}
				}
			}
		}
	}
	if r.HasTarget() {
		fmt.Fprintf(w, "\n%s\n", r.Summary())
	}
	return nil
}

func checkFeatureList(reqs []compat.Requirement) string {
	var s []string
	for _, q := range reqs {
		s = append(s, string(q.Feature))
	}
	return strings.Join(s, ", ")
}

func checkMarkdown(w io.Writer, r *check.Result, verbose bool) error {
	title := "BPF object check"
	if r.HasTarget() {
		title += " against " + r.Target
	}
	fmt.Fprintf(w, "# %s\n", mdtable.Cell(title))
	for _, o := range r.Objects {
		fmt.Fprintf(w, "\n## `%s`\n\n", o.Path)
		if o.ObjectReport == nil {
			fmt.Fprintf(w, "**Error:** %s\n", mdtable.Cell(o.Error))
			continue
		}
		fmt.Fprintf(w, "Minimum kernel: **%s**", checkVersionLabel(o.MinKernel))
		if len(o.MinKernelBy) > 0 {
			fmt.Fprintf(w, " (set by `%s`)", strings.Join(strings.Split(checkFeatureList(o.MinKernelBy), ", "), "`, `"))
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w)
		if r.HasTarget() {
			fmt.Fprintln(w, "| Program | Type | Attach | Min kernel | Verdict | Unmet |")
			fmt.Fprintln(w, "|---|---|---|---|---|---|")
		} else {
			fmt.Fprintln(w, "| Program | Type | Attach | Min kernel | Set by |")
			fmt.Fprintln(w, "|---|---|---|---|---|")
		}
		for j := range o.Programs {
			p := &o.Programs[j]
			row := fmt.Sprintf("| `%s` | %s | %s | %s |", p.Name, p.Type, mdtable.Cell(checkAttachLabel(p)), checkVersionLabel(p.MinKernel))
			if r.HasTarget() {
				v := o.Verdicts[j]
				var un []string
				for _, u := range v.Unmet {
					un = append(un, fmt.Sprintf("`%s` (%s)", u.Feature, u.State))
				}
				row += fmt.Sprintf(" %s | %s |", v.Verdict, mdtable.Cell(strings.Join(un, ", ")))
			} else {
				row += fmt.Sprintf(" %s |", mdtable.Cell(checkFeatureList(p.MinKernelBy)))
			}
			fmt.Fprintln(w, row)
		}
		for j := range o.Programs {
			p := &o.Programs[j]
			var v *compat.ProgramVerdict
			if r.HasTarget() {
				v = &o.Verdicts[j]
			}
			reqs := checkShownRequirements(p, v, verbose)
			if len(reqs) == 0 && len(p.Findings) == 0 && (v == nil || len(v.Unmet) == 0) {
				continue
			}
			fmt.Fprintf(w, "\n### `%s`\n\n", p.Name)
			for _, f := range p.Findings {
				fmt.Fprintf(w, "- **%s:** %s (%s)\n", f.Severity, mdtable.Cell(f.Message), mdtable.Cell(f.Source))
			}
			if len(reqs) > 0 {
				fmt.Fprintln(w, "| Since | Feature | Reason | Source |")
				fmt.Fprintln(w, "|---|---|---|---|")
				for _, q := range reqs {
					fmt.Fprintf(w, "| %s | `%s` | %s | %s |\n", checkSince(q.Feature), q.Feature, mdtable.Cell(q.Reason), mdtable.Cell(q.Source))
				}
			}
			if v != nil {
				for _, u := range v.Unmet {
					fmt.Fprintf(w, "\n- **%s** `%s`: %s", u.State, u.Feature, mdtable.Cell(u.Reason))
					if u.Hint != "" {
						fmt.Fprintf(w, " — hint: %s", mdtable.Cell(u.Hint))
					}
				}
				if len(v.Unmet) > 0 {
					fmt.Fprintln(w)
				}
			}
		}
	}
	if r.HasTarget() {
		fmt.Fprintf(w, "\n%s\n", mdtable.Cell(r.Summary()))
	}
	return nil
}

// verdictLabel is a verdict as the table prints it: upper case, and on a
// terminal (without NO_COLOR) ✔ green, ✗ red, ? yellow.
func verdictLabel(v compat.Verdict, color bool) string {
	label := strings.ToUpper(string(v))
	if !color {
		return label
	}
	switch v {
	case compat.Compatible:
		return "\x1b[32m✔ " + label + "\x1b[0m"
	case compat.Unconfirmed:
		return "\x1b[33m? " + label + "\x1b[0m"
	}
	return "\x1b[31m✗ " + label + "\x1b[0m"
}
