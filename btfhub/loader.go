package btfhub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/retrobpf/retrobpf/internal/btflimit"

	"github.com/retrobpf/retrobpf/internal/inputfile"
)

// EnvBTF names the environment variable holding an external BTF file.
const EnvBTF = "RETROBPF_BTF"

// DefaultSysfsBTF is where kernels since 5.4 expose their own BTF.
const DefaultSysfsBTF = "/sys/kernel/btf/vmlinux"

// ErrNoKernelBTF is returned when no source has kernel types: the kernel has
// no /sys/kernel/btf/vmlinux and no external BTF was given, cached or
// fetchable. CO-RE programs cannot be relocated.
var ErrNoKernelBTF = errors.New("no kernel BTF")

// SourceKind says where kernel types came from.
type SourceKind string

// Kernel type sources, in the order KernelTypes tries them.
const (
	SourceFlag  SourceKind = "flag"  // --btf FILE
	SourceEnv   SourceKind = "env"   // $RETROBPF_BTF
	SourceSysfs SourceKind = "sysfs" // /sys/kernel/btf/vmlinux
	SourceCache SourceKind = "cache" // the BTF cache
	SourceHub   SourceKind = "hub"   // fetched from the archive just now
)

// Source describes the kernel types used for a load.
type Source struct {
	Kind SourceKind `json:"kind"`
	Path string     `json:"path"`
	URL  string     `json:"url,omitempty"` // for SourceHub
}

func (s Source) String() string {
	if s.URL != "" {
		return fmt.Sprintf("%s %s (from %s)", s.Kind, s.Path, s.URL)
	}
	return fmt.Sprintf("%s %s", s.Kind, s.Path)
}

// LoaderOptions configure KernelTypes. The zero value tries $RETROBPF_BTF,
// /sys/kernel/btf/vmlinux and the default cache, without network.
type LoaderOptions struct {
	BTFFile   string  // explicit file (--btf); an error if it is bad
	SysfsPath string  // default DefaultSysfsBTF
	Kernel    *Kernel // identity for the cache/hub; default HostKernel("")
	CacheDir  string  // default DefaultCacheDir()
	// Fetcher, if set, is used when the cache misses (its Cache is replaced
	// by CacheDir's). Without it the hub is never contacted.
	Fetcher *Fetcher
	// SkipBrokenSysfs moves on to the cache when /sys/kernel/btf/vmlinux
	// exists but does not parse; by default that is an error, since broken
	// kernel BTF is worth knowing about.
	SkipBrokenSysfs bool
}

// KernelTypes returns the kernel types to relocate CO-RE programs against,
// trying in order: opts.BTFFile, $RETROBPF_BTF, /sys/kernel/btf/vmlinux, the
// cache, and the hub (if opts.Fetcher is set). An explicitly named file that
// is missing or invalid is an error, not a reason to fall through. When
// nothing has types the error wraps ErrNoKernelBTF and lists what was tried.
func KernelTypes(ctx context.Context, opts LoaderOptions) (*btf.Spec, Source, error) {
	if opts.BTFFile != "" {
		spec, err := LoadBTFFile(opts.BTFFile)
		return spec, Source{Kind: SourceFlag, Path: opts.BTFFile}, err
	}
	if p := os.Getenv(EnvBTF); p != "" {
		spec, err := LoadBTFFile(p)
		if err != nil {
			err = fmt.Errorf("%s: %w", EnvBTF, err)
		}
		return spec, Source{Kind: SourceEnv, Path: p}, err
	}
	var tried []string
	sysfs := opts.SysfsPath
	if sysfs == "" {
		sysfs = DefaultSysfsBTF
	}
	spec, err := LoadBTFFile(sysfs)
	switch {
	case err == nil:
		return spec, Source{Kind: SourceSysfs, Path: sysfs}, nil
	case errors.Is(err, fs.ErrNotExist) || opts.SkipBrokenSysfs:
		tried = append(tried, sysfs+" (missing)")
	default:
		return nil, Source{Kind: SourceSysfs, Path: sysfs}, err
	}

	var k Kernel
	if opts.Kernel != nil {
		k = *opts.Kernel
	} else if k, err = HostKernel(""); err != nil {
		return nil, Source{}, fmt.Errorf("%w: tried %s; cannot identify the kernel for the cache: %v", ErrNoKernelBTF, strings.Join(tried, ", "), err)
	}
	dir := opts.CacheDir
	if dir == "" {
		if dir, err = DefaultCacheDir(); err != nil {
			return nil, Source{}, err
		}
	}
	cache := Cache{Dir: dir}
	if p, err := cache.Lookup(k); err == nil {
		spec, err := LoadBTFFile(p)
		return spec, Source{Kind: SourceCache, Path: p}, err
	} else if errors.Is(err, ErrBadKernel) {
		return nil, Source{}, err
	}
	cp, _ := cache.Path(k)
	tried = append(tried, cp+" (not cached)")
	if opts.Fetcher == nil {
		return nil, Source{}, fmt.Errorf("%w for %s: tried %s, no hub configured (set --hub or %s, or give --btf FILE)", ErrNoKernelBTF, k, strings.Join(tried, ", "), EnvHub)
	}
	f := *opts.Fetcher
	f.Cache = cache
	res, err := f.Fetch(ctx, k)
	if err != nil {
		if errors.Is(err, ErrNotInHub) {
			return nil, Source{}, fmt.Errorf("%w for %s: tried %s; %v", ErrNoKernelBTF, k, strings.Join(tried, ", "), err)
		}
		return nil, Source{}, err
	}
	spec, err = LoadBTFFile(res.File)
	return spec, Source{Kind: SourceHub, Path: res.File, URL: res.URL}, err
}

// LoadBTFFile parses a BTF file (raw BTF or an ELF with .BTF). It does not
// require the basic kernel types: minimized BTF has only what its objects
// need.
//
// The file must be a regular file (a FIFO would block forever) no larger
// than btflimit.DefaultLimits allows, and its type graph must pass
// btflimit.Check before cilium/ebpf decodes it.
//
// The running kernel's own BTF (DefaultSysfsBTF) is the exception to the
// graph check: the kernel validated it when it booted (btf_parse_vmlinux),
// and the check costs more than decoding it (28 ms against 21 ms for a
// 6.18 vmlinux), which btf minimize pays on every call.
func LoadBTFFile(path string) (*btf.Spec, error) {
	raw, err := ReadBTFFile(path)
	if err != nil {
		return nil, err
	}
	if filepath.Clean(path) == DefaultSysfsBTF && onSysfs(path) {
		spec, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %v", path, ErrInvalidBTF, err)
		}
		return spec, nil
	}
	spec, err := btflimit.Load(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrInvalidBTF, err)
	}
	return spec, nil
}

// ReadBTFFile reads a BTF file whole, refusing anything but a regular file
// and anything larger than btflimit.DefaultLimits.MaxBytes.
func ReadBTFFile(path string) ([]byte, error) {
	raw, err := inputfile.Read(path, int64(btflimit.DefaultLimits.MaxBytes))
	if errors.Is(err, inputfile.ErrNotRegular) || errors.Is(err, inputfile.ErrTooLarge) {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBTF, err)
	}
	return raw, err
}

// CollectionOptions returns load options that relocate against spec. For
// the kernel's own BTF (SourceSysfs) KernelTypes stays nil, so cilium/ebpf
// also consults module BTF; setting it would restrict relocation to vmlinux.
func CollectionOptions(spec *btf.Spec, src Source) ebpf.CollectionOptions {
	var opts ebpf.CollectionOptions
	if src.Kind != SourceSysfs {
		opts.Programs.KernelTypes = spec
	}
	return opts
}

// onSysfs reports whether path is on sysfs (not a file someone put at
// that path in a container or a chroot).
func onSysfs(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.SYSFS_MAGIC
}
