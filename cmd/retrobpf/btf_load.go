package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/rlimit"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/retrobpf/retrobpf/btfhub"
	"github.com/retrobpf/retrobpf/cmd/retrobpf/internal/cliutil"
)

func btfLoadCmd() *cli.Command {
	return &cli.Command{
		Name:      "load",
		Usage:     "load OBJECT... into the running kernel with the kernel types btfhub picks, and classify failures (root)",
		UsageText: "retrobpf btf load [--btf FILE | --hub URL kernel flags] OBJECT...",
		Description: "Kernel types come from --btf, $RETROBPF_BTF, /sys/kernel/btf/vmlinux, the cache, then the hub.\n" +
			"Each program is loaded on its own; failures are classified as core-relocation (naming the field),\n" +
			"no-kernel-btf or other. Exit 0 if all load, 1 if one does not.",
		Flags: commandFlags(append(append(kernelFlags(), cacheFlags()...),
			&cli.StringFlag{Name: "btf", Usage: "external kernel BTF `FILE` (raw or ELF, full or minimized)"},
			&cli.StringFlag{Name: "hub", Usage: "archive base `URL` to fetch from on a cache miss (default $RETROBPF_BTFHUB)"},
			&cli.IntFlag{Name: "retries", Value: 4, Usage: "retries after a failed download"},
			&cli.DurationFlag{Name: "timeout", Value: 10 * time.Minute, Usage: "limit per download attempt"},
			&cli.BoolFlag{Name: "hide-kernel-btf", Hidden: true, Usage: "mount an empty tmpfs over /sys/kernel/btf in a private mount namespace first (simulates a kernel without BTF)"},
		)...),
		Action: func(c *cli.Context) error {
			objects, err := positionalArgs(c)
			if err != nil {
				return err
			}
			o := options(c)
			if err := o.CheckFormat("table", "json"); err != nil {
				return err
			}
			if len(objects) == 0 {
				return cliutil.Usagef("load needs at least one BPF object")
			}
			for _, p := range objects {
				if _, err := os.Stat(p); err != nil {
					return cliutil.Usage(err)
				}
			}
			if os.Geteuid() != 0 {
				return cliutil.Infra(errors.New("btf load loads BPF programs: run it as root"))
			}
			if c.Bool("hide-kernel-btf") {
				if err := hideKernelBTF(); err != nil {
					return cliutil.Infra(err)
				}
			}
			_ = rlimit.RemoveMemlock()

			lo := btfhub.LoaderOptions{BTFFile: c.String("btf"), CacheDir: c.String("cache")}
			if c.IsSet("probe") || c.IsSet("os-id") || c.IsSet("os-version") || c.IsSet("arch") || c.IsSet("release") || c.IsSet("os-release") {
				k, err := kernelFromFlags(c)
				if err != nil {
					return err
				}
				lo.Kernel = &k
			}
			if hub, err := btfhub.HubFromEnv(c.String("hub")); err == nil {
				retries := c.Int("retries")
				if retries == 0 {
					retries = -1
				}
				lo.Fetcher = &btfhub.Fetcher{Hub: hub, LockPath: c.String("lock"), Retries: retries, Timeout: c.Duration("timeout"), Logf: o.Logf}
			}
			spec, src, err := btfhub.KernelTypes(c.Context, lo)
			sourceNote := src.String()
			if err != nil {
				if src.Kind == btfhub.SourceFlag {
					return cliutil.Usage(err) // the user's --btf file is bad input
				}
				if !errors.Is(err, btfhub.ErrNoKernelBTF) {
					return err
				}
				// Load anyway without types, to show what the kernel says.
				o.Logf("%v", err)
				spec, src, sourceNote = (*btf.Spec)(nil), btfhub.Source{Kind: "none"}, "none ("+err.Error()+")"
			}
			results := btfhub.LoadObjects(objects, spec, src)
			failed := false
			for _, r := range results {
				failed = failed || r.Class != btfhub.ClassOK
			}
			if err := o.Emit(func(w io.Writer) error {
				if o.Format == "json" {
					return cliutil.JSON(w, map[string]any{"source": src, "results": results, "summary": btfhub.Summary(results)})
				}
				fmt.Fprintf(w, "kernel types: %s\n", sourceNote)
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "OBJECT\tPROGRAM\tRESULT\tDETAIL")
				for _, r := range results {
					detail := r.Error
					if len(r.Mismatches) > 0 {
						detail = ""
						for i, m := range r.Mismatches {
							if i > 0 {
								detail += "; "
							}
							detail += m.String()
						}
					}
					if len(detail) > 160 {
						detail = detail[:160] + "…"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Object, r.Program, r.Class, detail)
				}
				return tw.Flush()
			}); err != nil {
				return err
			}
			if failed {
				return cliutil.Failed(fmt.Errorf("not every program loads: %s", btfhub.Summary(results)))
			}
			return nil
		},
	}
}

// hideKernelBTF makes /sys/kernel/btf empty for this process only: it moves
// the calling thread (locked for the rest of the command, which does all its
// loading on it) into a private mount namespace and mounts a tmpfs there.
func hideKernelBTF() error {
	runtime.LockOSThread() // never unlocked: the namespace must stay with this goroutine
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("hide kernel BTF: unshare mount namespace: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("hide kernel BTF: make mounts private: %w", err)
	}
	if err := unix.Mount("tmpfs", "/sys/kernel/btf", "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=4k"); err != nil {
		return fmt.Errorf("hide kernel BTF: mount tmpfs on /sys/kernel/btf: %w", err)
	}
	return nil
}
