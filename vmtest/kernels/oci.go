package kernels

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrImageNotFound is returned when the registry has no such image or tag
// (or refuses access to it): an input error.
var ErrImageNotFound = errors.New("image not found in registry")

// ociPlatform is the platform picked from multi-platform images.
var ociPlatform = v1.Platform{OS: "linux", Architecture: "amd64"}

func init() { register(KindOCI, ociSource{}, true) }

// ociSource pulls kernel images from OCI registries: oci:IMAGE[:TAG|@DIGEST].
type ociSource struct{}

func (ociSource) parse(rest string) (Ref, error) {
	if _, err := name.ParseReference(rest); err != nil {
		return Ref{}, err
	}
	return Ref{Kind: KindOCI, Image: rest}, nil
}

func (ociSource) format(r Ref) string { return r.Image }
func (ociSource) local() bool         { return false }

func (ociSource) fetch(ctx context.Context, c *Cache, r Ref, opts ResolveOptions, tmp string) (*Kernel, error) {
	return c.pullOCI(ctx, r, opts, tmp)
}

func (ociSource) identify(ctx context.Context, _ *Cache, r Ref, opts ResolveOptions) (Resolved, error) {
	ref, err := ociReference(r, opts)
	if err != nil {
		return Resolved{}, err
	}
	img, err := remoteImage(ctx, ref)
	if err != nil {
		return Resolved{}, err
	}
	// The manifest is all that has been fetched: its digest is hashed
	// from it, the layers stay on the registry.
	digest, err := img.Digest()
	if err != nil {
		return Resolved{}, classifyRegistryError(ref, err)
	}
	return Resolved{Identity: ref.Context().Name() + "@" + digest.String(), Digest: digest.String()}, nil
}

// ociReference parses r's image reference (plain HTTP allowed beyond
// loopback with opts.Insecure).
func ociReference(r Ref, opts ResolveOptions) (name.Reference, error) {
	var nameOpts []name.Option
	if opts.Insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	ref, err := name.ParseReference(r.Image, nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRef, err)
	}
	return ref, nil
}

// remoteImage reads ref's manifest (for an index, the linux/amd64
// image's) from the registry; the layers are fetched only when read.
func remoteImage(ctx context.Context, ref name.Reference) (v1.Image, error) {
	img, err := remote.Image(ref,
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithPlatform(ociPlatform),
		remote.WithUserAgent("retrobpf"),
	)
	if err != nil {
		return nil, classifyRegistryError(ref, err)
	}
	return img, nil
}

// pullOCI fetches a kernel image and unpacks its kernel files into tmp.
// Both published layouts are understood: /boot/vmlinuz (+ /boot/vmlinux)
// as in cilium's ci-kernels, and /boot/vmlinuz-<v> + /boot/btf-<v> as in
// the lvh kernel-images. The image is pinned: Source records its digest.
func (c *Cache) pullOCI(ctx context.Context, r Ref, opts ResolveOptions, tmp string) (*Kernel, error) {
	ref, err := ociReference(r, opts)
	if err != nil {
		return nil, err
	}
	opts.logf("pulling %s", ref.Name())
	img, err := remoteImage(ctx, ref)
	if err != nil {
		return nil, err
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, classifyRegistryError(ref, err)
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	contents, err := unpackKernelTar(tar.NewReader(rc), tmp, opts.Modules)
	if errors.Is(err, ErrNoKernelImage) {
		return nil, fmt.Errorf("%w: %s has no /boot/vmlinuz or /boot/vmlinuz-<version>", ErrNoKernelImage, ref.Name())
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, classifyRegistryError(ref, err)
	}
	k := &Kernel{Source: ref.Context().Name() + "@" + digest.String()}
	if err := fillKernel(k, tmp, contents, true); err != nil {
		return nil, fmt.Errorf("%s: %w", ref.Name(), err)
	}
	return k, nil
}

// classifyRegistryError tells "no such image" (input) from network and
// server failures (infrastructure).
func classifyRegistryError(ref name.Reference, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		switch {
		case te.StatusCode == http.StatusNotFound, te.StatusCode == http.StatusUnauthorized, te.StatusCode == http.StatusForbidden:
			return fmt.Errorf("%w: %s: %v", ErrImageNotFound, ref.Name(), err)
		case te.StatusCode >= 500:
			return fmt.Errorf("%w: %s: %v", ErrUnavailable, ref.Name(), err)
		}
		for _, d := range te.Errors {
			switch d.Code {
			case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
				return fmt.Errorf("%w: %s: %v", ErrImageNotFound, ref.Name(), err)
			}
		}
	}
	var ne net.Error
	if errors.As(err, &ne) || strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such host") {
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, ref.Name(), err)
	}
	if strings.Contains(err.Error(), "no child with platform") {
		return fmt.Errorf("%w: %s has no linux/amd64 image", ErrImageNotFound, ref.Name())
	}
	return fmt.Errorf("%w: %s: %v", ErrUnavailable, ref.Name(), err)
}
