package kernels

import (
	"context"
	"errors"
	"fmt"
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

func (dirSource) identify(_ context.Context, _ *Cache, r Ref, opts ResolveOptions) (Resolved, error) {
	k, err := resolveDir(r, opts)
	if err != nil {
		return Resolved{}, err
	}
	return localIdentity(k)
}

// resolveDir validates a dir: kernel in place. The release comes from the
// bzImage header: image labels ("vmlinuz-5.4") need not be the release.
func resolveDir(r Ref, opts ResolveOptions) (*Kernel, error) {
	root, fi, err := statLocal(r)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory (use file:PATH for a bzImage)", ErrNotAKernel, r.Path)
	}
	kd, err := scanKernelDir(root)
	if err != nil {
		return nil, err
	}
	k, err := localKernel(r, root, kd.Files[fileVmlinuz])
	if err != nil {
		return nil, err
	}
	k.Config, k.SystemMap, k.BTF, k.Vmlinux = kd.Files[fileConfig], kd.Files[fileSystemMap], kd.Files[fileBTF], kd.Files[fileVmlinux]
	if opts.Modules {
		k.Modules = modulesRoot(root, k.Release)
		if k.Modules == "" && kd.Release != "" {
			k.Modules = modulesRoot(root, kd.Release)
		}
		if k.Modules == "" {
			k.Modules = onlyModulesRoot(root)
		}
		if k.Modules == "" {
			return nil, fmt.Errorf("%w: %s has no lib/modules/%s", ErrNotAKernel, r.Path, k.Release)
		}
	}
	return k, overrideBTF(k, opts)
}
