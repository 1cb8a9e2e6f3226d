package kernels

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/retrobpf/retrobpf/internal/cache"
)

func init() { register(KindDir, dirSource{}, true) }

// dirSource is a local directory in the lvh or ci-kernels layout:
// dir:PATH with PATH/boot/vmlinuz[-<v>] and optionally btf-<v>,
// config-<v>, System.map-<v>, vmlinux[-<v>] beside it and
// PATH/lib/modules/<release>. Like file:, it is used in place.
type dirSource struct{}

func (dirSource) parse(rest string) (Ref, error) {
	if rest == "" {
		return Ref{}, errors.New("empty path")
	}
	return Ref{Kind: KindDir, Path: rest}, nil
}

func (dirSource) format(r Ref) string { return r.Path }
func (dirSource) local() bool         { return true }

func (dirSource) fetch(_ context.Context, _ *Cache, r Ref, opts ResolveOptions, _ string) (*Kernel, error) {
	return resolveDir(r, opts)
}

// resolveDir validates a dir: kernel in place. The release comes from the
// bzImage header: image labels ("vmlinuz-5.4") need not be the release.
func resolveDir(r Ref, opts ResolveOptions) (*Kernel, error) {
	root, err := filepath.Abs(r.Path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNotAKernel, r.Path, err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotAKernel, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory (use file:PATH for a bzImage)", ErrNotAKernel, r.Path)
	}
	kd, err := scanKernelDir(root)
	if err != nil {
		return nil, err
	}
	vmlinuz := kd.Files[fileVmlinuz]
	rel, v, err := BzImageVersion(vmlinuz)
	if err != nil {
		return nil, err
	}
	sum, err := cache.SHA256File(vmlinuz)
	if err != nil {
		return nil, err
	}
	k := &Kernel{Ref: r.String(), Source: root, Release: rel, Version: v, Vmlinuz: vmlinuz, SHA256: sum,
		Config: kd.Files[fileConfig], SystemMap: kd.Files[fileSystemMap], BTF: kd.Files[fileBTF], Vmlinux: kd.Files[fileVmlinux]}
	if opts.Modules {
		k.Modules = modulesRoot(root, rel)
		if k.Modules == "" && kd.Release != "" {
			k.Modules = modulesRoot(root, kd.Release)
		}
		if k.Modules == "" {
			k.Modules = onlyModulesRoot(root)
		}
		if k.Modules == "" {
			return nil, fmt.Errorf("%w: %s has no lib/modules/%s", ErrNotAKernel, r.Path, rel)
		}
	}
	if opts.BTF != "" {
		b, err := filepath.Abs(opts.BTF)
		if err == nil {
			_, err = os.Stat(b)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: --btf %s: %v", ErrNotAKernel, opts.BTF, err)
		}
		k.BTF = b
	}
	return k, nil
}
