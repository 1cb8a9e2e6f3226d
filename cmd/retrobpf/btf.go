package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cilium/ebpf/btf"
	"github.com/urfave/cli/v2"

	"github.com/retrobpf/retrobpf/btfhub"
	"github.com/retrobpf/retrobpf/btfhub/minimize"
	"github.com/retrobpf/retrobpf/cmd/retrobpf/internal/cliutil"
	"github.com/retrobpf/retrobpf/internal/atomicfile"
	"github.com/retrobpf/retrobpf/internal/btflimit"
)

const btfExitCodes = `Exit codes: 0 ok; 1 refused (the archive file changed since it was locked,
or a minimized BTF would relocate differently); 2 bad input (kernel identity,
unreadable or invalid file, kernel not in the archive, no hub configured);
3 network, cache or archive failure.`

func init() {
	register(&cli.Command{
		Name:  "btf",
		Usage: "external kernel BTF for kernels without /sys/kernel/btf/vmlinux (BTFHub archive, cache, minimizer)",
		Description: `The kernel is identified by os-release ID and VERSION_ID, uname -m and uname -r
(of this host, of a saved probe report with --probe, or given with --os-id,
--os-version, --arch and --release) and mapped to <id>/<version>/<arch>/<release>.btf.tar.xz
in a BTFHub-layout archive. The archive base URL comes from --hub or RETROBPF_BTFHUB
(http(s)://… or file:///… for a local mirror); there is no built-in default.
Files are cached under $XDG_CACHE_HOME/retrobpf/btf; retrobpf-btf.lock records the
SHA256 of every fetched tarball.

` + btfExitCodes,
		Subcommands: []*cli.Command{btfFetchCmd(), btfPathCmd(), btfLsCmd(), btfMinimizeCmd(), btfVerifyCmd(), btfLoadCmd()},
	})
}

func kernelFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "probe", Usage: "`FILE`: a saved report of 'retrobpf probe --format json' to take the kernel identity from"},
		&cli.StringFlag{Name: "os-id", Usage: "os-release `ID` (e.g. debian)"},
		&cli.StringFlag{Name: "os-version", Usage: "os-release `VERSION_ID` (e.g. 10)"},
		&cli.StringFlag{Name: "arch", Usage: "`MACHINE` as uname -m prints it (x86_64, aarch64)"},
		&cli.StringFlag{Name: "release", Usage: "kernel `RELEASE` as uname -r prints it"},
		&cli.StringFlag{Name: "os-release", Usage: "os-release `FILE` to read instead of /etc/os-release"},
	}
}

func cacheFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "cache", Usage: "cache `DIR` (default $XDG_CACHE_HOME/retrobpf/btf)"},
		&cli.StringFlag{Name: "lock", Usage: "lock file `PATH` (default <cache>/retrobpf-btf.lock)"},
	}
}

// kernelFromFlags resolves the kernel identity: the host, overridden by a
// probe report, overridden field by field by flags. The host is read only if
// some field is still missing.
func kernelFromFlags(c *cli.Context) (btfhub.Kernel, error) {
	var k btfhub.Kernel
	if p := c.String("probe"); p != "" {
		pk, err := btfhub.KernelFromProbe(p)
		if err != nil {
			return k, cliutil.Usage(err)
		}
		k = pk
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"os-id", &k.OSID}, {"os-version", &k.OSVersion}, {"arch", &k.Arch}, {"release", &k.Release}} {
		if v := c.String(f.name); v != "" {
			*f.dst = v
		}
	}
	if k.OSID == "" || k.OSVersion == "" || k.Arch == "" || k.Release == "" {
		host, err := btfhub.HostKernel(c.String("os-release"))
		if err != nil {
			return k, cliutil.Usage(fmt.Errorf("identify the kernel: %w (give --os-id, --os-version, --arch and --release)", err))
		}
		for _, p := range []struct{ dst, v *string }{{&k.OSID, &host.OSID}, {&k.OSVersion, &host.OSVersion}, {&k.Arch, &host.Arch}, {&k.Release, &host.Release}} {
			if *p.dst == "" {
				*p.dst = *p.v
			}
		}
	}
	if _, err := k.ArchivePath(); err != nil {
		return k, cliutil.Usage(err)
	}
	return k, nil
}

func cacheFromFlags(c *cli.Context) (btfhub.Cache, error) {
	dir := c.String("cache")
	if dir == "" {
		d, err := btfhub.DefaultCacheDir()
		if err != nil {
			return btfhub.Cache{}, cliutil.Usage(err)
		}
		dir = d
	}
	return btfhub.Cache{Dir: dir}, nil
}

func btfFetchCmd() *cli.Command {
	return &cli.Command{
		Name:      "fetch",
		Usage:     "fetch a kernel's BTF from the archive into the cache (--output FILE also writes the raw BTF there)",
		UsageText: "retrobpf btf fetch [--hub URL] [kernel flags] [--output FILE]",
		Description: "Downloads with resume, retries with backoff and timeouts; the tarball must hold exactly one\n" +
			"regular .btf file that parses as kernel BTF, and agree with the lock file (--update accepts a change).\n" + btfExitCodes,
		Flags: commandFlags(append(append(kernelFlags(), cacheFlags()...),
			&cli.StringFlag{Name: "hub", Usage: "archive base `URL` (http(s)://… or file:///…; default $RETROBPF_BTFHUB)"},
			&cli.BoolFlag{Name: "update", Usage: "accept a tarball whose SHA256 differs from the lock file, and refetch a cached one"},
			&cli.IntFlag{Name: "retries", Value: 4, Usage: "retries after a failed download"},
			&cli.DurationFlag{Name: "timeout", Value: 10 * time.Minute, Usage: "limit per download attempt"},
			&cli.DurationFlag{Name: "idle-timeout", Value: 30 * time.Second, Usage: "fail a download attempt whose server sends no headers or data for this long"},
		)...),
		Action: func(c *cli.Context) error {
			o := options(c)
			if err := o.CheckFormat("table", "json"); err != nil {
				return err
			}
			out := o.Output // the raw BTF copy; the report goes to stdout
			o.Output = ""
			k, err := kernelFromFlags(c)
			if err != nil {
				return err
			}
			cache, err := cacheFromFlags(c)
			if err != nil {
				return err
			}
			f := &btfhub.Fetcher{Cache: cache, LockPath: c.String("lock"), Update: c.Bool("update"),
				Retries: c.Int("retries"), Timeout: c.Duration("timeout"), IdleTimeout: c.Duration("idle-timeout"), Logf: o.Logf}
			if !o.Quiet {
				f.Progress = o.Stderr
			}
			if f.Retries == 0 {
				f.Retries = -1 // none (the Fetcher's zero value means its default)
			}
			// The hub is needed only on a cache miss.
			f.Hub, _ = btfhub.HubFromEnv(c.String("hub"))
			ctx := c.Context // cancelled by Ctrl-C and SIGTERM (interruptible)
			res, err := f.Fetch(ctx, k)
			if err != nil {
				return err
			}
			if out != "" {
				raw, err := os.ReadFile(res.File)
				if err != nil {
					return cliutil.Infra(err)
				}
				if out == "-" { // the raw BTF itself on stdout, no report
					_, err := o.Stdout.Write(raw)
					return err
				}
				if err := atomicfile.WriteFile(out, raw, 0o644); err != nil {
					return cliutil.Usage(err)
				}
			}
			return o.Emit(func(w io.Writer) error {
				if o.Format == "json" {
					return cliutil.JSON(w, struct {
						*btfhub.FetchResult
						Output string `json:"output,omitempty"`
					}{res, out})
				}
				how := "fetched"
				if res.Cached {
					how = "cached"
				} else if res.Resumed {
					how = "fetched (resumed)"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\n", how, res.ArchivePath, res.File)
				if out != "" {
					fmt.Fprintf(w, "written\t%s\n", out)
				}
				return nil
			})
		},
	}
}

func btfPathCmd() *cli.Command {
	return &cli.Command{
		Name:  "path",
		Usage: "print the cache path of this (or the given) kernel's BTF; exit 1 if it is not cached",
		Flags: commandFlags(append(kernelFlags(), cacheFlags()...)...),
		Action: func(c *cli.Context) error {
			o := options(c)
			if err := o.CheckFormat("table", "json"); err != nil {
				return err
			}
			k, err := kernelFromFlags(c)
			if err != nil {
				return err
			}
			cache, err := cacheFromFlags(c)
			if err != nil {
				return err
			}
			p, _ := cache.Path(k)
			ap, _ := k.ArchivePath()
			_, lerr := cache.Lookup(k)
			cached := lerr == nil
			if err := o.Emit(func(w io.Writer) error {
				if o.Format == "json" {
					return cliutil.JSON(w, map[string]any{"kernel": k, "archive_path": ap, "path": p, "cached": cached})
				}
				_, err := fmt.Fprintln(w, p)
				return err
			}); err != nil {
				return err
			}
			if !cached {
				return cliutil.Failed(fmt.Errorf("%s is not cached (run: retrobpf btf fetch)", p))
			}
			return nil
		},
	}
}

type lsEntry struct {
	Path   string `json:"path"`             // archive path without .tar.xz
	Cached bool   `json:"cached"`           // in the local cache
	Remote bool   `json:"remote,omitempty"` // listed by the hub
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"` // of the fetched tarball, from the lock file
}

func btfLsCmd() *cli.Command {
	return &cli.Command{
		Name:  "ls",
		Usage: "list cached BTF; with --remote, what the hub has for this (or the given) os/version/arch",
		Flags: commandFlags(append(append(kernelFlags(), cacheFlags()...),
			&cli.BoolFlag{Name: "remote", Usage: "also list the hub's directory for the os/version/arch (needs a directory listing, e.g. a file:// mirror or an autoindex web server)"},
			&cli.StringFlag{Name: "hub", Usage: "archive base `URL` (default $RETROBPF_BTFHUB)"},
		)...),
		Action: func(c *cli.Context) error {
			o := options(c)
			if err := o.CheckFormat("table", "json"); err != nil {
				return err
			}
			cache, err := cacheFromFlags(c)
			if err != nil {
				return err
			}
			lockPath := c.String("lock")
			if lockPath == "" {
				lockPath = cache.LockPath()
			}
			lock, err := btfhub.ReadLockFile(lockPath)
			if err != nil {
				return cliutil.Usage(err)
			}
			ents, err := cache.List()
			if err != nil {
				return cliutil.Infra(err)
			}
			byPath := map[string]*lsEntry{}
			var list []*lsEntry
			for _, e := range ents {
				le := &lsEntry{Path: e.Path, Cached: true, Size: e.Size, SHA256: lock.Entries[e.Path+".tar.xz"].SHA256}
				byPath[e.Path] = le
				list = append(list, le)
			}
			if c.Bool("remote") {
				hub, err := btfhub.HubFromEnv(c.String("hub"))
				if err != nil {
					return cliutil.Usage(err)
				}
				k, err := kernelFromFlags(c)
				if err != nil {
					return err
				}
				id, ver, arch, _ := k.ArchiveDir()
				rels, err := btfhub.ListHub(c.Context, hub, k)
				if err != nil {
					return err
				}
				list = list[:0]
				for _, r := range rels {
					p := strings.Join([]string{id, ver, arch, r + ".btf"}, "/")
					le := byPath[p]
					if le == nil {
						le = &lsEntry{Path: p}
					}
					le.Remote = true
					list = append(list, le)
				}
			}
			return o.Emit(func(w io.Writer) error {
				if o.Format == "json" {
					if list == nil {
						list = []*lsEntry{}
					}
					return cliutil.JSON(w, list)
				}
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "PATH\tCACHED\tSIZE\tSHA256")
				for _, e := range list {
					sum := e.SHA256
					if len(sum) > 12 {
						sum = sum[:12]
					}
					size := "-"
					if e.Cached {
						size = fmt.Sprint(e.Size)
					}
					fmt.Fprintf(tw, "%s\t%v\t%s\t%s\n", e.Path, e.Cached, size, sum)
				}
				return tw.Flush()
			})
		},
	}
}

func btfMinimizeCmd() *cli.Command {
	return &cli.Command{
		Name:      "minimize",
		Usage:     "keep only the kernel types the CO-RE relocations of OBJECT... need (BTFgen, pure Go)",
		UsageText: "retrobpf btf minimize --btf FULL.btf --output MIN.btf OBJECT.o...",
		Description: "The result is checked before it is written: every object must relocate against it exactly\n" +
			"as against FULL.btf (target type IDs aside), else nothing is written and the exit code is 1.",
		Flags: commandFlags(&cli.StringFlag{Name: "btf", Usage: "full kernel BTF `FILE` (raw or ELF; default /sys/kernel/btf/vmlinux)"}),
		Action: func(c *cli.Context) error {
			// A short run over one big spec: collecting garbage early only costs
			// time (a fifth of the CPU in a profile of the suite's objects).
			defer debug.SetGCPercent(debug.SetGCPercent(400))
			objects, err := positionalArgs(c)
			if err != nil {
				return err
			}
			o := options(c)
			if err := o.CheckFormat("table", "json"); err != nil {
				return err
			}
			out := o.Output
			o.Output = ""
			if out == "" || out == "-" {
				return cliutil.Usagef("minimize needs --output MIN.btf")
			}
			if len(objects) == 0 {
				return cliutil.Usagef("minimize needs at least one BPF object")
			}
			fullPath := c.String("btf")
			if fullPath == "" {
				fullPath = btfhub.DefaultSysfsBTF
			}
			full, err := btfhub.LoadBTFFile(fullPath)
			if err != nil {
				return cliutil.Usage(err)
			}
			start := time.Now()
			raw, st, err := minimize.Objects(full, objects...)
			if err != nil {
				return cliutil.Usage(err)
			}
			elapsed := time.Since(start)
			min, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
			if err != nil {
				return cliutil.Infra(fmt.Errorf("minimized BTF does not parse: %w", err))
			}
			if err := minimize.Check(full, min, objects...); err != nil {
				return err
			}
			if err := atomicfile.WriteFile(out, raw, 0o644); err != nil {
				return cliutil.Usage(err)
			}
			fi, _ := os.Stat(fullPath)
			return o.Emit(func(w io.Writer) error {
				res := map[string]any{"output": out, "full": fullPath, "objects": objects, "stats": st,
					"full_bytes": fi.Size(), "seconds": elapsed.Seconds()}
				if o.Format == "json" {
					return cliutil.JSON(w, res)
				}
				_, err := fmt.Fprintf(w, "%s: %d types, %d bytes (full: %d bytes) for %d relocations in %d objects, %s\n",
					out, st.Types, st.Bytes, fi.Size(), st.Relocations, st.Objects, elapsed.Round(time.Millisecond))
				return err
			})
		},
	}
}

type verifyResult struct {
	File    string   `json:"file"`
	OK      bool     `json:"ok"`
	Error   string   `json:"error,omitempty"`
	Size    int64    `json:"size"`
	SHA256  string   `json:"sha256"`
	Types   int      `json:"types"`
	Missing []string `json:"missing,omitempty"` // basic kernel types not found
}

func btfVerifyCmd() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check that BTF files parse and have the basic kernel types (exit 2 if one does not)",
		UsageText: "retrobpf btf verify [--partial] FILE...",
		Flags:     commandFlags(&cli.BoolFlag{Name: "partial", Usage: "only require that the file parses (minimized BTF lacks most kernel types)"}),
		Action: func(c *cli.Context) error {
			files, err := positionalArgs(c)
			if err != nil {
				return err
			}
			o := options(c)
			if err := o.CheckFormat("table", "json"); err != nil {
				return err
			}
			if len(files) == 0 {
				return cliutil.Usagef("verify needs at least one BTF file")
			}
			var results []verifyResult
			var firstErr error
			for _, f := range files {
				r := verifyFile(f, c.Bool("partial"))
				if !r.OK && firstErr == nil {
					firstErr = cliutil.Usage(fmt.Errorf("%s: %s", f, r.Error))
				}
				results = append(results, r)
			}
			if err := o.Emit(func(w io.Writer) error {
				if o.Format == "json" {
					return cliutil.JSON(w, results)
				}
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "FILE\tOK\tTYPES\tSIZE\tSHA256\tPROBLEM")
				for _, r := range results {
					fmt.Fprintf(tw, "%s\t%v\t%d\t%d\t%.12s\t%s\n", r.File, r.OK, r.Types, r.Size, r.SHA256, r.Error)
				}
				return tw.Flush()
			}); err != nil {
				return err
			}
			return firstErr
		},
	}
}

func verifyFile(path string, partial bool) verifyResult {
	r := verifyResult{File: path}
	raw, err := btfhub.ReadBTFFile(path)
	if err != nil {
		r.Error = strings.TrimPrefix(strings.TrimPrefix(err.Error(), "open "+path+": "), path+": ")
		if errors.Is(err, fs.ErrNotExist) {
			r.Error = "no such file"
		}
		return r
	}
	sum := sha256.Sum256(raw)
	r.Size, r.SHA256 = int64(len(raw)), hex.EncodeToString(sum[:])
	spec, err := btflimit.Load(raw)
	if err != nil {
		r.Error = fmt.Sprintf("not BTF: %v", err)
		return r
	}
	for _, err := range spec.All() {
		if err != nil {
			r.Error = fmt.Sprintf("bad type: %v", err)
			return r
		}
		r.Types++
	}
	if !partial {
		if r.Missing = btfhub.MissingKernelTypes(spec); len(r.Missing) > 0 {
			r.Error = "not kernel BTF: no struct " + strings.Join(r.Missing, ", ")
			return r
		}
	}
	r.OK = true
	return r
}
