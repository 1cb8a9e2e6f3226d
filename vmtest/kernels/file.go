package kernels

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/retrobpf/retrobpf/internal/cache"
)

func init() { register(KindFile, fileSource{}, true) }

// fileSource is a local bzImage: file:PATH.
type fileSource struct{}

func (fileSource) parse(rest string) (Ref, error) {
	if rest == "" {
		return Ref{}, errors.New("empty path")
	}
	return Ref{Kind: KindFile, Path: rest}, nil
}

func (fileSource) format(r Ref) string { return r.Path }
func (fileSource) local() bool         { return true }

func (fileSource) fetch(_ context.Context, _ *Cache, r Ref, opts ResolveOptions, _ string) (*Kernel, error) {
	return resolveFile(r, opts)
}

func (fileSource) identify(_ context.Context, _ *Cache, r Ref, opts ResolveOptions) (Resolved, error) {
	k, err := resolveFile(r, opts)
	if err != nil {
		return Resolved{}, err
	}
	return localIdentity(k)
}

// resolveFile validates a file: kernel (and its --btf file) in place.
// A --btf file overrides a btf-<v> found beside vmlinuz-<v>.
func resolveFile(r Ref, opts ResolveOptions) (*Kernel, error) {
	p, fi, err := statLocal(r)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrNotAKernel, r.Path)
	}
	k, err := localKernel(r, p, p)
	if err != nil {
		return nil, err
	}
	// Files beside it in the /boot naming (vmlinuz-<v> → config-<v>,
	// System.map-<v>, btf-<v> as in lvh images) come along.
	base := filepath.Base(p)
	if suffix, ok := strings.CutPrefix(base, "vmlinuz"); ok {
		for prefix, dst := range map[string]*string{"config": &k.Config, "System.map": &k.SystemMap, "btf": &k.BTF} {
			sib := filepath.Join(filepath.Dir(p), prefix+suffix)
			if fi, err := os.Stat(sib); err == nil && fi.Mode().IsRegular() {
				*dst = sib
			}
		}
	}
	return k, overrideBTF(k, opts)
}

// statLocal resolves a local reference's path.
func statLocal(r Ref) (string, os.FileInfo, error) {
	p, err := filepath.Abs(r.Path)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %s: %v", ErrNotAKernel, r.Path, err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrNotAKernel, err)
	}
	return p, fi, nil
}

// localKernel describes the bzImage vmlinuz of a local reference, its
// release from the image header.
func localKernel(r Ref, source, vmlinuz string) (*Kernel, error) {
	rel, v, err := BzImageVersion(vmlinuz)
	if err != nil {
		return nil, err
	}
	sum, err := cache.SHA256File(vmlinuz)
	if err != nil {
		return nil, err
	}
	return &Kernel{Ref: r.String(), Source: source, Release: rel, Version: v, Vmlinuz: vmlinuz, SHA256: sum}, nil
}

// overrideBTF applies a --btf file to a local kernel.
func overrideBTF(k *Kernel, opts ResolveOptions) error {
	if opts.BTF == "" {
		return nil
	}
	b, err := filepath.Abs(opts.BTF)
	if err == nil {
		_, err = os.Stat(b)
	}
	if err != nil {
		return fmt.Errorf("%w: --btf %s: %v", ErrNotAKernel, opts.BTF, err)
	}
	k.BTF = b
	return nil
}
