package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/go-multierror"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/retrobpf/retrobpf/cmd/retrobpf/internal/cliutil"
	"github.com/retrobpf/retrobpf/matrix"
	"github.com/retrobpf/retrobpf/vmtest/kernels"
)

func init() {
	cacheDir := &cli.StringFlag{Name: "cache-dir", Usage: "kernel cache `DIR` (default $XDG_CACHE_HOME/retrobpf/kernels)"}
	mirror := &cli.StringFlag{Name: "mirror", Usage: "Debian archive `URL` (default $" + kernels.MirrorEnv + ", then the apt sources)"}
	modules := &cli.BoolFlag{Name: "modules", Usage: "also extract lib/modules/<release>"}
	btf := &cli.StringFlag{Name: "btf", Usage: "external BTF `FILE` for a file: kernel"}
	insecure := &cli.BoolFlag{Name: "insecure", Usage: "allow plain-HTTP OCI registries beyond loopback"}
	register(&cli.Command{
		Name:  "kernels",
		Usage: "fetch and cache kernels for the VM matrix",
		Description: `REF is one of:
   5.10, 6.1, 6.12            the newest Debian cloud kernel of bullseye, bookworm, trixie
   deb:PACKAGE[=VERSION]      a Debian kernel image package (meta packages are followed)
   oci:IMAGE[:TAG|@DIGEST]    an OCI image in the ci-kernels or lvh kernel-images layout
   file:PATH                  a local bzImage (with --btf FILE for its BTF)
   dir:PATH                   a local directory in the lvh or ci-kernels layout: boot/vmlinuz[-<v>],
                              boot/btf-<v>, boot/config-<v>, lib/modules/<v> (used in place, not cached)`,
		Subcommands: []*cli.Command{
			{
				Name:      "pull",
				Usage:     "download kernels into the cache (again, if cached)",
				ArgsUsage: "REF...",
				Flags:     commandFlags(cacheDir, mirror, modules, btf, insecure),
				Action:    func(c *cli.Context) error { return kernelsResolve(c, true) },
			},
			{
				Name:      "path",
				Usage:     "print the vmlinuz path of kernels, pulling them when missing",
				ArgsUsage: "REF...",
				Flags:     commandFlags(cacheDir, mirror, modules, btf, insecure),
				Action:    func(c *cli.Context) error { return kernelsResolve(c, false) },
			},
			{
				Name:  "resolve",
				Usage: "print what kernels refer to now (package, digest) and a cache key, downloading no kernel",
				Description: "Each REF is resolved as a pull would choose it, without fetching the kernel: an alias or\n" +
					"deb: reads the Debian suite indexes and reports the package=version and the index's SHA256\n" +
					"of the .deb; oci: asks the registry for the image manifest and reports its digest; file:\n" +
					"and dir: hash the local files. Formats: table; json, {\"schema_version\":1,\"kernels\":\n" +
					"[{\"ref\",\"identity\",\"digest\"}],\"key\"}; key, only the key: the hex SHA256 over the\n" +
					"sorted \"ref<TAB>identity<TAB>digest\" lines, which changes when an alias moves to a newer\n" +
					"package or a tag to a new image (a CI cache key for the kernel cache). With --modules a dir:\n" +
					"kernel's lib/modules tree counts in its digest.",
				ArgsUsage: "[REF|@FILE...]",
				Flags: commandFlags(cacheDir, mirror, modules, btf, insecure,
					&cli.StringFlag{Name: "kernels", Usage: "comma-separated kernel `REFS`, or @FILE with one per line (with or instead of REF arguments)"}),
				Action: kernelsIdentify,
			},
			{
				Name:   "list",
				Usage:  "list cached kernels",
				Flags:  commandFlags(cacheDir),
				Action: kernelsList,
			},
			{
				Name:      "rm",
				Usage:     "remove kernels from the cache",
				ArgsUsage: "REF|KEY...",
				Flags:     commandFlags(cacheDir),
				Action:    kernelsRemove,
			},
		},
	})
}

// oneLinePerError formats a multierror as one line per error, the first
// on the "retrobpf: " line itself.
func oneLinePerError(errs []error) string {
	lines := make([]string, len(errs))
	for i, err := range errs {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

func openKernelCache(c *cli.Context) (*kernels.Cache, error) {
	return kernels.Open(c.String("cache-dir"))
}

func kernelsResolve(c *cli.Context, pull bool) error {
	refs, err := positionalArgs(c)
	if err != nil {
		return err
	}
	o := options(c)
	if err := o.CheckFormat("table", "json"); err != nil {
		return err
	}
	if len(refs) == 0 {
		return cliutil.Usagef("kernels %s: give at least one REF (e.g. 6.1)", c.Command.Name)
	}
	// Reject bad references before downloading anything, naming all of
	// them at once rather than one per attempt.
	var bad *multierror.Error
	var parsed []kernels.Ref
	for _, r := range refs {
		ref, err := kernels.ParseRef(r)
		if err != nil {
			bad = multierror.Append(bad, err)
		}
		parsed = append(parsed, ref)
	}
	if bad != nil {
		bad.ErrorFormat = oneLinePerError
		return cliutil.Usage(bad)
	}
	if err := btfOnlyForFiles(c, refs); err != nil {
		return err
	}
	cache, err := openKernelCache(c)
	if err != nil {
		return err
	}
	opts := resolveOptions(c, o)
	if f, ok := o.Stderr.(*os.File); ok && !o.Quiet && term.IsTerminal(int(f.Fd())) {
		opts.Progress = f
	}
	ctx := c.Context // cancelled by Ctrl-C and SIGTERM (interruptible)
	var got []*kernels.Kernel
	for _, r := range parsed {
		var k *kernels.Kernel
		if pull {
			k, err = cache.Pull(ctx, r.String(), opts)
		} else {
			k, err = cache.Resolve(ctx, r.String(), opts)
		}
		if err != nil {
			return err
		}
		got = append(got, k)
	}
	return o.Emit(func(w io.Writer) error {
		if o.Format == "json" {
			return cliutil.JSON(w, got)
		}
		if !pull {
			for _, k := range got {
				fmt.Fprintln(w, k.Vmlinuz)
			}
			return nil
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "REF\tRELEASE\tVERSION\tSOURCE\tVMLINUZ")
		for _, k := range got {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.Ref, k.Release, k.Version, k.Source, k.Vmlinuz)
		}
		return tw.Flush()
	})
}

func kernelsList(c *cli.Context) error {
	o := options(c)
	if err := o.CheckFormat("table", "json"); err != nil {
		return err
	}
	if c.Args().Len() > 0 {
		return cliutil.Usagef("kernels list takes no arguments")
	}
	cache, err := openKernelCache(c)
	if err != nil {
		return err
	}
	entries, err := cache.List()
	if err != nil {
		return err
	}
	return o.Emit(func(w io.Writer) error {
		if o.Format == "json" {
			if entries == nil {
				entries = []kernels.Entry{}
			}
			return cliutil.JSON(w, entries)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "REF\tRELEASE\tVERSION\tSOURCE\tSIZE\tPULLED")
		for _, e := range entries {
			if e.Kernel == nil {
				fmt.Fprintf(tw, "%s\tdamaged: %s (retrobpf kernels rm %s)\t\t\t%.1f MiB\t\n", e.Key, oneLine(e.Damaged), e.Key, float64(e.Bytes)/(1<<20))
				continue
			}
			mods := ""
			if e.Kernel.Modules != "" {
				mods = " +modules"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1f MiB%s\t%s\n", e.Kernel.Ref, e.Kernel.Release, e.Kernel.Version, e.Kernel.Source,
				float64(e.Bytes)/(1<<20), mods, e.PulledAt.Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	})
}

func kernelsRemove(c *cli.Context) error {
	refs, err := positionalArgs(c)
	if err != nil {
		return err
	}
	o := options(c)
	if len(refs) == 0 {
		return cliutil.Usagef("kernels rm: give at least one REF")
	}
	cache, err := openKernelCache(c)
	if err != nil {
		return err
	}
	for _, r := range refs {
		if err := cache.Remove(c.Context, r); err != nil {
			return err
		}
		o.Logf("removed %s", r)
	}
	return nil
}

// resolveOutput is the JSON of kernels resolve (schema_version 1).
type resolveOutput struct {
	SchemaVersion int                `json:"schema_version"`
	Kernels       []kernels.Resolved `json:"kernels"`
	Key           string             `json:"key"`
}

// kernelsIdentify is kernels resolve: every reference is parsed (all bad
// ones named at once) before any mirror or registry is asked.
func kernelsIdentify(c *cli.Context) error {
	args, err := positionalArgs(c)
	if err != nil {
		return err
	}
	o := options(c)
	if err := o.CheckFormat("table", "json", "key"); err != nil {
		return err
	}
	var bad *multierror.Error
	var refs []kernels.Ref
	seen := map[string]bool{}
	add := func(rs ...kernels.Ref) {
		for _, r := range rs {
			if !seen[r.String()] {
				seen[r.String()] = true
				refs = append(refs, r)
			}
		}
	}
	if c.IsSet("kernels") {
		rs, err := matrix.ParseKernels(c.String("kernels"))
		if err != nil {
			bad = multierror.Append(bad, fmt.Errorf("--kernels: %w", err))
		}
		add(kernelRefs(rs)...)
	}
	for _, a := range args {
		if strings.HasPrefix(a, "@") {
			rs, err := matrix.ParseKernels(a)
			if err != nil {
				bad = multierror.Append(bad, err)
			}
			add(kernelRefs(rs)...)
			continue
		}
		r, err := kernels.ParseRef(a)
		if err != nil {
			bad = multierror.Append(bad, err)
			continue
		}
		add(r)
	}
	if bad != nil {
		bad.ErrorFormat = oneLinePerError
		return cliutil.Usage(bad)
	}
	if len(refs) == 0 {
		return cliutil.Usagef("kernels resolve: give at least one REF (e.g. 6.1) or --kernels REFS")
	}
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = r.String()
	}
	if err := btfOnlyForFiles(c, names); err != nil {
		return err
	}
	cache, err := openKernelCache(c)
	if err != nil {
		return err
	}
	opts := resolveOptions(c, o)
	ctx := c.Context // cancelled by Ctrl-C and SIGTERM (interruptible)
	out := resolveOutput{SchemaVersion: 1, Kernels: []kernels.Resolved{}}
	for _, r := range refs {
		res, err := cache.Identify(ctx, r.String(), opts)
		if err != nil {
			return err
		}
		out.Kernels = append(out.Kernels, res)
	}
	out.Key = kernels.ResolvedKey(out.Kernels)
	return o.Emit(func(w io.Writer) error {
		switch o.Format {
		case "json":
			return cliutil.JSON(w, out)
		case "key":
			_, err := fmt.Fprintln(w, out.Key)
			return err
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "REF\tIDENTITY\tDIGEST")
		for _, k := range out.Kernels {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", k.Ref, k.Identity, k.Digest)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		_, err := fmt.Fprintf(w, "key: %s\n", out.Key)
		return err
	})
}

// kernelRefs are the kernels of a matrix list, profiles aside: a profile
// boots the same image.
func kernelRefs(ks []matrix.Kernel) []kernels.Ref {
	out := make([]kernels.Ref, len(ks))
	for i, k := range ks {
		out[i] = k.Ref
	}
	return out
}

// btfOnlyForFiles refuses --btf for any kernel but a file: one (the
// other sources bring their own BTF, or the kernel has it).
func btfOnlyForFiles(c *cli.Context, refs []string) error {
	if c.String("btf") == "" {
		return nil
	}
	for _, r := range refs {
		if !strings.HasPrefix(r, "file:") {
			return cliutil.Usagef("--btf applies to file: kernels only, not %s", r)
		}
	}
	return nil
}

// resolveOptions are the kernel commands' shared flags.
func resolveOptions(c *cli.Context, o *cliutil.Options) kernels.ResolveOptions {
	return kernels.ResolveOptions{
		Mirror:   c.String("mirror"),
		Modules:  c.Bool("modules"),
		BTF:      c.String("btf"),
		Insecure: c.Bool("insecure"),
		Logf:     o.Logf,
		Debugf:   o.Debugf,
	}
}
