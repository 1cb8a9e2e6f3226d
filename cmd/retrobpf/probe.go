package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/retrobpf/retrobpf/cmd/retrobpf/internal/cliutil"
	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/compat/probe"
	"github.com/retrobpf/retrobpf/internal/cache"
	"github.com/retrobpf/retrobpf/internal/mdtable"
)

func init() {
	register(&cli.Command{
		Name:  "probe",
		Usage: "probe the running kernel's BPF features (needs root for meaningful results)",
		Description: "Every result is supported, unsupported, or unknown with the raw error; a permission\n" +
			"error is never read as unsupported. JSON output (schema_version 1, compat/probe/probe.schema.json)\n" +
			"mirrors bpftool's sections and is what `check --probe` and `select --probe` read.\n" +
			"--format nfd writes node-feature-discovery local features (retrobpf.io/<feature>=true|false).\n\n" +
			"--every DURATION keeps probing: probe, write the result (with --output, atomically: readers\n" +
			"never see a partial file), sleep DURATION, again, until SIGTERM or Ctrl-C, which ends it\n" +
			"with exit 0 (a probe in progress is abandoned and its output not written). This is the\n" +
			"loop of a container without a shell, e.g. a node-feature-discovery DaemonSet:\n" +
			"  retrobpf probe -f nfd -o /etc/kubernetes/node-feature-discovery/features.d/retrobpf --every 1h\n" +
			"A failed probe or write ends the loop with its exit code (the container restarts).",
		Flags: commandFlags(
			&cli.BoolFlag{Name: "cache", Usage: "answer from a report of this same kernel, boot, privileges and options saved by an earlier probe --cache (sysctls are read again); for repeated pre-deploy checks"},
			&cli.BoolFlag{Name: "skip-helpers", Usage: "skip the per-program-type helper matrix (the slowest part)"},
			&cli.BoolFlag{Name: "kernel-btf", Usage: "also record the kernel's vmlinux BTF (~1.5 MB compressed, JSON reports only), so check --probe resolves CO-RE relocations and bpf_core_*_exists() guards as a load on this kernel would"},
			&cli.BoolFlag{Name: "no-attach-surface", Usage: "leave the attach surface (kallsyms, BTF functions, tracepoints; ~1 MB, recorded in JSON reports) out: a saved report then cannot decide attach targets"},
			&cli.StringSliceFlag{Name: "ksym", Usage: "also record kernel symbol `NAME` from /proc/kallsyms (repeatable)"},
			&cli.BoolFlag{Name: "catalog-ksyms", Usage: "also record the catalog's well-known kernel symbols (reads /proc/kallsyms)"},
			&cli.BoolFlag{Name: "attach-all", Usage: "also attach uprobe and perf tracepoint programs for real (slower: their teardown waits for RCU grace periods)"},
			&cli.StringSliceFlag{Name: "kfunc", Usage: "also record kfunc `NAME` from vmlinux BTF (repeatable)"},
			&cli.IntFlag{Name: "workers", Usage: "helper-matrix probes run at once (0: one per CPU)"},
			&cli.StringFlag{Name: "from", Usage: "render a saved report `FILE` (probe --format json output) instead of probing"},
			&cli.DurationFlag{Name: "every", Usage: "probe again every `DURATION` (at least 1s) until SIGTERM/Ctrl-C, rewriting the output each time (see above)"},
		),
		Action: runProbe,
	})
}

func runProbe(c *cli.Context) error {
	// A short run that builds a large report (the attach surface holds
	// every kernel symbol): collecting garbage early only costs time.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	o := options(c)
	if err := o.CheckFormat("table", "json", "markdown", "nfd"); err != nil {
		return err
	}
	if c.Int("workers") < 0 {
		return cliutil.Usagef("--workers must be >= 0")
	}
	for _, n := range append(c.StringSlice("ksym"), c.StringSlice("kfunc")...) {
		if _, err := compat.Lookup(compat.FeatureID("ksym:" + n)); err != nil {
			return cliutil.Usagef("bad symbol name %q", n)
		}
	}
	if c.IsSet("every") {
		if c.Duration("every") < time.Second {
			return cliutil.Usagef("--every %s: want at least 1s", c.Duration("every"))
		}
		if c.String("from") != "" {
			return cliutil.Usagef("--every probes the running kernel: it cannot be combined with --from")
		}
		return probeEvery(c, o, c.Duration("every"))
	}
	var rep *probe.Report
	if from := c.String("from"); from != "" {
		r, err := probe.Load(from)
		if err != nil {
			return cliutil.Usage(err)
		}
		rep = r
	} else {
		r, err := probeHost(c, o)
		if err != nil {
			return err
		}
		rep = r
	}
	return probeEmit(o, rep)
}

// probeEvery is probe --every: probe and emit, then wait, until the
// command's context is cancelled (SIGTERM, Ctrl-C), which is a clean stop.
func probeEvery(c *cli.Context, o *cliutil.Options, every time.Duration) error {
	ctx := c.Context
	for {
		rep, err := probeHost(c, o)
		if ctx.Err() != nil {
			o.Logf("retrobpf: probe --every: stopped")
			return nil
		}
		if err != nil {
			return err
		}
		if err := probeEmit(o, rep); err != nil {
			return err
		}
		if o.Output != "" && o.Output != "-" {
			o.Logf("retrobpf: probe --every: wrote %s; next probe in %s", o.Output, every)
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			o.Logf("retrobpf: probe --every: stopped")
			return nil
		case <-t.C:
		}
	}
}

func probeEmit(o *cliutil.Options, rep *probe.Report) error {
	return o.Emit(func(w io.Writer) error {
		switch o.Format {
		case "json":
			return cliutil.JSON(w, rep)
		case "nfd":
			return writeNFD(w, rep)
		case "markdown":
			return writeProbeMarkdown(w, rep, o.Verbose)
		}
		return writeProbeTable(w, rep, o.Verbose)
	})
}

func probeHost(c *cli.Context, o *cliutil.Options) (*probe.Report, error) {
	if os.Geteuid() != 0 {
		o.Logf("retrobpf: warning: not running as root: most probes will answer unknown (permission denied)")
	}
	var cacheDir string
	if c.Bool("cache") {
		var err error
		if cacheDir, err = cache.Dir("probe"); err != nil {
			return nil, cliutil.Infra(err)
		}
	}
	rep, err := probe.Probe(c.Context, probe.Options{
		CacheDir:    cacheDir,
		Workers:     c.Int("workers"),
		SkipHelpers: c.Bool("skip-helpers"),
		// Only a saved report needs the attach surface: a table answers now.
		AttachSurface: o.Format == "json" && !c.Bool("no-attach-surface"),
		KernelBTF:     o.Format == "json" && c.Bool("kernel-btf"),
		Ksyms:         c.StringSlice("ksym"),
		KsymsCatalog:  c.Bool("catalog-ksyms"),
		AttachAll:     c.Bool("attach-all"),
		Kfuncs:        c.StringSlice("kfunc"),
	})
	if err != nil {
		return nil, cliutil.Infra(err)
	}
	if rep.FromCache {
		o.Debugf("retrobpf: probe answered from the cache in %s (same kernel, boot and options; sysctls read again)", cacheDir)
	}
	return rep, nil
}

// probeSection is one result section of a report, in display order.
type probeSection struct {
	name    string
	prefix  string // feature ID prefix of its keys ("" = key is the ID)
	results map[string]probe.Result
}

func probeSections(r *probe.Report) []probeSection {
	return []probeSection{
		{"syscall_config", "", map[string]probe.Result{"bpf-syscall": r.SyscallConfig.HaveBPFSyscall}},
		{"program_types", "prog:", r.ProgramTypes},
		{"map_types", "map:", r.MapTypes},
		{"map_flags", "map-flag:", r.MapFlags},
		{"attach", "attach:", r.Attach},
		{"btf", "btf:", r.BTF},
		{"insn", "insn:", r.Insn},
		{"misc", "", r.Misc},
		{"test_run", "test-run:", r.TestRun},
		{"stats", "stats:", r.Stats},
		{"ksyms", "ksym:", r.Ksyms},
		{"kfuncs", "kfunc:", r.Kfuncs},
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func resultDetail(r probe.Result) string {
	d := strings.TrimSpace(r.Errno + " " + r.Detail)
	if len(d) > 140 {
		d = d[:137] + "..."
	}
	return d
}

func probeHeader(r *probe.Report) [][2]string {
	k := r.Kernel
	distro := r.Distro.PrettyName
	if distro == "" {
		distro = "unknown (" + r.Distro.Error + ")"
	}
	cfg := r.SystemConfig.ConfigSource
	if cfg == "" {
		cfg = "unreadable: " + r.SystemConfig.ConfigError
	}
	return [][2]string{
		{"kernel", fmt.Sprintf("%s (version %s from %s, %s)", k.Release, k.Version, k.VersionSource, k.Machine)},
		{"distro", distro},
		{"sysctls", sysctlSummary(r.SystemConfig)},
		{"kernel config", cfg},
		{"probed", fmt.Sprintf("%s in %.1f ms", r.ProbedAt.Format("2006-01-02 15:04:05Z"), r.DurationMS)},
	}
}

func sysctlSummary(s probe.SystemConfig) string {
	f := func(name string, v *int64) string {
		if v == nil {
			return name + "=?"
		}
		return fmt.Sprintf("%s=%d", name, *v)
	}
	return strings.Join([]string{
		f("unprivileged_bpf_disabled", s.UnprivilegedBPFDisabled), f("bpf_jit_enable", s.BPFJITEnable),
		f("bpf_jit_harden", s.BPFJITHarden), f("bpf_jit_kallsyms", s.BPFJITKallsyms),
		f("bpf_jit_limit", s.BPFJITLimit), f("bpf_stats_enabled", s.BPFStatsEnabled),
	}, " ")
}

// helperSummary is one line per program type.
func helperSummary(hs probe.HelperSet) (string, string) {
	if !hs.Probed {
		return "not probed", hs.Reason
	}
	return fmt.Sprintf("%d supported, %d unsupported, %d unknown", len(hs.Supported), len(hs.Unsupported), len(hs.Unknown)), ""
}

func writeProbeTable(w io.Writer, r *probe.Report, verbose bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, h := range probeHeader(r) {
		fmt.Fprintf(tw, "%s:\t%s\n", h[0], h[1])
	}
	for _, s := range probeSections(r) {
		if len(s.results) == 0 {
			continue
		}
		fmt.Fprintf(tw, "\n[%s]\n", s.name)
		for _, k := range sortedKeys(s.results) {
			res := s.results[k]
			fmt.Fprintf(tw, "  %s%s\t%s\t%s\n", s.prefix, k, res.State, resultDetail(res))
		}
	}
	fmt.Fprintf(tw, "\n[helpers]\n")
	for _, pt := range sortedKeys(r.Helpers) {
		hs := r.Helpers[pt]
		sum, reason := helperSummary(hs)
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", pt, sum, reason)
		if verbose && hs.Probed {
			fmt.Fprintf(tw, "    supported:\t%s\n", strings.Join(hs.Supported, " "))
			for _, h := range sortedKeys(hs.Unknown) {
				fmt.Fprintf(tw, "    unknown %s:\t%s\n", h, hs.Unknown[h])
			}
		}
	}
	return tw.Flush()
}

func writeProbeMarkdown(w io.Writer, r *probe.Report, verbose bool) error {
	fmt.Fprintf(w, "# BPF probe: %s\n\n", r.Kernel.Release)
	for _, h := range probeHeader(r) {
		fmt.Fprintf(w, "- **%s**: %s\n", h[0], mdtable.Cell(h[1]))
	}
	for _, s := range probeSections(r) {
		if len(s.results) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n## %s\n\n| Feature | State | Detail |\n|---|---|---|\n", s.name)
		for _, k := range sortedKeys(s.results) {
			res := s.results[k]
			fmt.Fprintf(w, "| `%s%s` | %s | %s |\n", s.prefix, k, res.State, mdtable.Cell(resultDetail(res)))
		}
	}
	fmt.Fprintf(w, "\n## helpers\n\n| Program type | Helpers | Note |\n|---|---|---|\n")
	for _, pt := range sortedKeys(r.Helpers) {
		sum, reason := helperSummary(r.Helpers[pt])
		fmt.Fprintf(w, "| `%s` | %s | %s |\n", pt, sum, mdtable.Cell(reason))
	}
	if verbose {
		for _, pt := range sortedKeys(r.Helpers) {
			if hs := r.Helpers[pt]; hs.Probed {
				fmt.Fprintf(w, "\n### %s helpers\n\n%s\n", pt, "`"+strings.Join(hs.Supported, "` `")+"`")
			}
		}
	}
	return nil
}

// nfdName turns a feature ID into a node-feature-discovery feature name:
// the name part of a label allows [A-Za-z0-9._-], at most 63 characters,
// starting and ending alphanumeric.
func nfdName(id compat.FeatureID) string {
	b := []byte(id)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		case c == ':' || c == '@':
			b[i] = '.'
		default:
			b[i] = '-'
		}
	}
	s := string(b)
	if len(s) > 63 {
		s = s[:63]
	}
	return strings.Trim(s, "-_.")
}

// writeNFD writes one "retrobpf.io/<feature>=true|false" line per catalog
// feature and recorded symbol whose result is conclusive; unknown results
// are omitted (NFD would otherwise publish a guess).
func writeNFD(w io.Writer, r *probe.Report) error {
	ids := map[compat.FeatureID]bool{}
	for _, f := range compat.Catalog() {
		ids[f.ID] = true
	}
	for k := range r.Ksyms {
		ids[compat.FeatureID("ksym:"+k)] = true
	}
	for k := range r.Kfuncs {
		ids[compat.FeatureID("kfunc:"+k)] = true
	}
	lines := map[string]string{}
	for id := range ids {
		var v string
		switch r.Has(id).State {
		case compat.Supported:
			v = "true"
		case compat.Unsupported:
			v = "false"
		default:
			continue
		}
		lines["retrobpf.io/"+nfdName(id)] = v
	}
	for _, k := range sortedKeys(lines) {
		if _, err := fmt.Fprintf(w, "%s=%s\n", k, lines[k]); err != nil {
			return err
		}
	}
	return nil
}
