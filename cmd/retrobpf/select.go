package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/urfave/cli/v2"

	"github.com/retrobpf/retrobpf/cmd/retrobpf/internal/cliutil"
	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/atomicfile"
	"github.com/retrobpf/retrobpf/internal/mdtable"
	"github.com/retrobpf/retrobpf/manifest"
)

func init() {
	register(&cli.Command{
		Name:  "select",
		Usage: "pick, per program of a manifest, the first variant whose requirements hold on a target",
		Description: "Requirements of a variant: its explicit requires: feature IDs, everything `check` derives\n" +
			"from its object and programs, and its kernel: constraint (a last resort: distro kernels\n" +
			"backport features). Each rejected variant is explained by its first failing requirement\n" +
			"(--verbose: all of them); unknown answers reject a variant unless --allow-unknown.\n" +
			"JSON output (schema_version 1) is the stable interface of the matrix; its fields are\n" +
			"documented on manifest.Selection.\n\n" +
			"--write-env FILE records the choice for a loader (a Kubernetes initContainer writes it into\n" +
			"an emptyDir its agent reads): per program, in manifest order,\n" +
			"  RETROBPF_VARIANT_<PROGRAM>=<variant>\n" +
			"  RETROBPF_OBJECT_<PROGRAM>=<object path, as the manifest resolves it>\n" +
			"where <PROGRAM> is the program's name upper-cased with '.' and '-' turned into '_'.\n" +
			"Values are written verbatim, unquoted (names match [A-Za-z0-9_][A-Za-z0-9_.-]*). FILE is\n" +
			"written atomically and only on exit 0; on any other exit it is neither written nor removed\n" +
			"(an old file keeps its content), so a loader must treat a failed select as \"no file\".\n\n" +
			"Exit 0: every program has a variant; 1: a program has none (the reasons are printed);\n" +
			"2: the manifest or one of its objects is invalid (the other variants are still reported),\n" +
			"or --write-env cannot be written.",
		Flags: commandFlags(append(checkTargetFlags(),
			&cli.StringFlag{Name: "manifest", Aliases: []string{"m"}, Usage: "variant manifest `FILE` (YAML, see manifest/manifest.schema.json)", Required: true},
			setFlag("variant's object"),
			&cli.BoolFlag{Name: "allow-unknown", Usage: "accept requirements the target cannot confirm (listed as unconfirmed)"},
			&cli.StringFlag{Name: "write-env", Usage: "on success, also write RETROBPF_VARIANT_<PROGRAM>=<variant> and RETROBPF_OBJECT_<PROGRAM>=<path> lines to `FILE` (atomically; see above)"},
		)...),
		Action: func(c *cli.Context) error {
			o := options(c)
			if err := o.CheckFormat("table", "json", "markdown"); err != nil {
				return err
			}
			if c.NArg() > 0 {
				return cliutil.Usagef("select: unexpected arguments %q (the objects come from --manifest)", c.Args().Slice())
			}
			m, err := manifest.Load(c.String("manifest"))
			if err != nil {
				var me *manifest.ParseError
				if errors.As(err, &me) && o.Verbose && len(me.Problems) > 1 {
					fmt.Fprint(o.Stderr, me.Detail())
				}
				return cliutil.Usage(err)
			}
			envFile := c.String("write-env")
			if envFile != "" {
				// Before the probe: a path that cannot be written fails now,
				// not after the work.
				if err := selectCheckEnvFile(envFile, m); err != nil {
					return err
				}
			}
			spec, err := checkResolveTarget(c, o, selectNeeds(m))
			if err != nil {
				return err
			}
			if spec == nil {
				return cliutil.Usagef("select: give a target: --kernel VERSION, --probe FILE or --host")
			}
			set := settingsFromFlag(c)
			found := map[string]bool{}
			sel, err := manifest.Select(m, spec.Target, manifest.SelectOptions{
				Set: set, SetFound: found,
				AllFailures:  o.Verbose,
				AllowUnknown: c.Bool("allow-unknown"),
				// A version cannot tell whether a kernel symbol exists.
				AcceptUnknownSymbols: spec.VersionOnly,
				Kernel:               spec.Version,
				Facts:                spec.Facts(),
			})
			if err != nil {
				return cliutil.Usage(err)
			}
			if err := unusedSettings(set, found, "variant's object"); err != nil {
				return err
			}
			if err := o.Emit(func(w io.Writer) error {
				switch o.Format {
				case "json":
					return cliutil.JSON(w, sel)
				case "markdown":
					return selectMarkdown(w, sel)
				}
				return selectTable(w, sel)
			}); err != nil {
				return err
			}
			if errs := sel.Errors(); len(errs) > 0 {
				more := ""
				if len(errs) > 1 {
					more = fmt.Sprintf(" (and %d more)", len(errs)-1)
				}
				return cliutil.Usagef("%s%s", errs[0], more)
			}
			if failed := sel.Failed(); len(failed) > 0 {
				var parts []string
				for _, p := range failed {
					parts = append(parts, p.Program+" ("+selectFirstReason(p)+")")
				}
				return cliutil.Failed(fmt.Errorf("select: no runnable variant on %s for %s", sel.Target, strings.Join(parts, "; ")))
			}
			if envFile != "" {
				data, err := selectEnv(sel)
				if err != nil {
					return cliutil.Usage(fmt.Errorf("--write-env %s: %w", envFile, err))
				}
				if err := atomicfile.WriteFile(envFile, data, 0o644); err != nil {
					return cliutil.Usage(fmt.Errorf("--write-env: %w", err))
				}
				o.Debugf("retrobpf: wrote the selected variants to %s", envFile)
			}
			return nil
		},
	})
}

// selectEnvName is the variable suffix of a manifest program name:
// upper-cased, '.' and '-' (the only other characters a name may have)
// turned into '_'.
func selectEnvName(program string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			return r
		}
		return '_'
	}, program)
}

// selectCheckEnvFile refuses a --write-env FILE that cannot be written
// (its directory missing, or FILE a directory) and manifests whose program
// names map to the same variable.
func selectCheckEnvFile(path string, m *manifest.Manifest) error {
	if st, err := os.Stat(filepath.Dir(path)); err != nil {
		return cliutil.Usagef("--write-env %s: %v", path, err)
	} else if !st.IsDir() {
		return cliutil.Usagef("--write-env %s: %s is not a directory", path, filepath.Dir(path))
	}
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return cliutil.Usagef("--write-env %s: not a regular file", path)
	}
	seen := map[string]string{}
	for _, p := range m.Programs {
		n := selectEnvName(p.Name)
		if other, ok := seen[n]; ok {
			return cliutil.Usagef("--write-env: programs %q and %q both become RETROBPF_VARIANT_%s", other, p.Name, n)
		}
		seen[n] = p.Name
	}
	return nil
}

// selectEnv renders a successful selection as --write-env lines.
func selectEnv(sel *manifest.Selection) ([]byte, error) {
	var b strings.Builder
	for _, p := range sel.Programs {
		n := selectEnvName(p.Program)
		for _, v := range []string{p.Selected, p.Object} {
			if strings.ContainsFunc(v, unicode.IsControl) {
				return nil, fmt.Errorf("program %s: %q cannot be one line of an env file", p.Program, v)
			}
		}
		fmt.Fprintf(&b, "RETROBPF_VARIANT_%s=%s\nRETROBPF_OBJECT_%s=%s\n", n, p.Selected, n, p.Object)
	}
	return []byte(b.String()), nil
}

// selectNeeds lists the manifest's explicit requires: entries, so a host
// probe records the kernel symbols and kfuncs among them (the live report
// looks up those derived from the objects itself).
func selectNeeds(m *manifest.Manifest) []compat.Requirement {
	var out []compat.Requirement
	for _, p := range m.Programs {
		for _, v := range p.Variants {
			for _, id := range v.Requires {
				out = append(out, compat.Requirement{Feature: id, Origin: compat.FromManifest})
			}
		}
	}
	return out
}

// selectFirstReason is the first failure of the first variant, for the
// one-line error.
func selectFirstReason(p manifest.ProgramSelection) string {
	for _, v := range p.Variants {
		if len(v.Failures) > 0 {
			f := v.Failures[0]
			return fmt.Sprintf("%s: %s %s", v.Name, f.State, f.Feature)
		}
	}
	return "no variants"
}

func selectObjectLabel(sel *manifest.Selection, path string) string {
	if rel, err := filepath.Rel(filepath.Dir(sel.Manifest), path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}

func selectFailureLines(u compat.Unmet) []string {
	since := ""
	if !u.Since.IsZero() {
		since = " (since " + u.Since.String() + ")"
	}
	lines := []string{fmt.Sprintf("%s %s%s: %s [%s]", u.State, u.Feature, since, u.Reason, u.Source)}
	if u.Detail != "" {
		lines = append(lines, "  detail: "+u.Detail)
	}
	if u.Hint != "" {
		lines = append(lines, "  hint: "+u.Hint)
	}
	return lines
}

func selectTable(w io.Writer, sel *manifest.Selection) error {
	kernel := "unknown"
	if !sel.Kernel.IsZero() {
		kernel = sel.Kernel.String()
	}
	fmt.Fprintf(w, "%s on %s (kernel version %s)\n\n", sel.Manifest, sel.Target, kernel)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROGRAM\tSELECTED\tOBJECT\tPROGRAMS\tMIN KERNEL")
	for _, p := range sel.Programs {
		if p.Selected == "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\tnone runnable\n", p.Program)
			continue
		}
		var min string
		for _, v := range p.Variants {
			if v.Selected {
				min = checkVersionLabel(v.MinKernel)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Program, p.Selected, selectObjectLabel(sel, p.Object), strings.Join(p.Programs, ","), min)
	}
	tw.Flush()
	var rejected []string
	for _, p := range sel.Programs {
		for _, v := range p.Variants {
			if v.Runnable {
				for _, u := range v.Unconfirmed {
					rejected = append(rejected, fmt.Sprintf("  %s/%s: accepted unconfirmed %s %s: %s", p.Program, v.Name, u.State, u.Feature, u.Detail))
				}
				continue
			}
			more := ""
			if n := v.FailureCount - len(v.Failures); n > 0 {
				more = fmt.Sprintf(" (+%d more, --verbose)", n)
			}
			rejected = append(rejected, fmt.Sprintf("  %s/%s: rejected%s", p.Program, v.Name, more))
			for _, u := range v.Failures {
				for _, l := range selectFailureLines(u) {
					rejected = append(rejected, "    "+l)
				}
			}
		}
	}
	if len(rejected) > 0 {
		fmt.Fprintf(w, "\nvariants not selected:\n%s\n", strings.Join(rejected, "\n"))
	}
	if failed := sel.Failed(); len(failed) > 0 {
		fmt.Fprintf(w, "\n%d program(s) without a runnable variant\n", len(failed))
	}
	return nil
}

func selectMarkdown(w io.Writer, sel *manifest.Selection) error {
	fmt.Fprintf(w, "# Variant selection: %s\n\nTarget: %s\n\n", mdtable.Cell(sel.Manifest), mdtable.Cell(sel.Target))
	fmt.Fprintln(w, "| Program | Variant | Runnable | Selected | Min kernel | First failing requirement |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, p := range sel.Programs {
		for _, v := range p.Variants {
			fail := ""
			if len(v.Failures) > 0 {
				f := v.Failures[0]
				fail = fmt.Sprintf("%s `%s`: %s", f.State, f.Feature, mdtable.Cell(f.Reason))
				if f.Hint != "" {
					fail += " — " + mdtable.Cell(f.Hint)
				}
			}
			yes := func(b bool) string {
				if b {
					return "yes"
				}
				return "no"
			}
			fmt.Fprintf(w, "| `%s` | `%s` | %s | %s | %s | %s |\n", p.Program, v.Name, yes(v.Runnable), yes(v.Selected), checkVersionLabel(v.MinKernel), fail)
		}
	}
	if failed := sel.Failed(); len(failed) > 0 {
		fmt.Fprintf(w, "\n**%d program(s) without a runnable variant.**\n", len(failed))
	}
	return nil
}
