package kernels_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/retrobpf/retrobpf/vmtest/kernels"
	"github.com/retrobpf/retrobpf/vmtest/kernels/kernelstest"
)

type entry struct {
	name string
	data []byte
}

func layer(t *testing.T, entries ...entry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.data)
	}
	tw.Close()
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func push(t *testing.T, ref string, layers ...v1.Layer) v1.Hash {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d
}

// TestOCIRoundTrip pushes a real Debian kernel to an in-process registry
// in the ci-kernels and lvh layouts and pulls it back through oci:.
func TestOCIRoundTrip(t *testing.T) {
	deb := kernelstest.Get(t, "6.1")
	vmlinuz, err := os.ReadFile(deb.Vmlinuz)
	if err != nil {
		t.Fatal(err)
	}
	config, _ := os.ReadFile(deb.Config)
	btf, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		btf = []byte{0x9f, 0xeb, 0x01, 0x00} // BTF magic; the content is only copied
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	// ci-kernels: /boot/vmlinuz without a version, modules in a second layer.
	ciDigest := push(t, host+"/ci-kernels:6.1",
		layer(t, entry{"boot/vmlinuz", vmlinuz}),
		layer(t, entry{"usr/lib/modules/" + deb.Release + "/modules.order", []byte("kernel/a.ko\n")}),
	)
	// lvh kernel-images: /boot/vmlinuz-<label> and /boot/btf-<label>.
	lvhDigest := push(t, host+"/kernel-images:6.1-20260101.000000",
		layer(t, entry{"boot/vmlinuz-6.1", vmlinuz}, entry{"boot/btf-6.1", btf}, entry{"boot/config-6.1", config}),
	)

	c, err := kernels.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	ci, err := c.Resolve(ctx, "oci:"+host+"/ci-kernels:6.1", kernels.ResolveOptions{Modules: true})
	if err != nil {
		t.Fatal(err)
	}
	if ci.Release != deb.Release || ci.SHA256 != deb.SHA256 || ci.Version.Major != 6 || ci.Version.Minor != 1 {
		t.Errorf("ci-kernels: release %s sha %s, want %s %s", ci.Release, ci.SHA256, deb.Release, deb.SHA256)
	}
	if want := host + "/ci-kernels@" + ciDigest.String(); ci.Source != want {
		t.Errorf("source %s, want pinned %s", ci.Source, want)
	}
	if b, err := os.ReadFile(ci.Modules + "/lib/modules/" + deb.Release + "/modules.order"); err != nil || string(b) != "kernel/a.ko\n" {
		t.Errorf("modules from the second layer: %q %v", b, err)
	}

	lvh, err := c.Resolve(ctx, "oci:"+host+"/kernel-images:6.1-20260101.000000", kernels.ResolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if lvh.Release != deb.Release || !strings.HasSuffix(lvh.Source, "@"+lvhDigest.String()) {
		t.Errorf("lvh: release %s source %s", lvh.Release, lvh.Source)
	}
	if b, err := os.ReadFile(lvh.BTF); err != nil || !bytes.Equal(b, btf) {
		t.Errorf("lvh BTF not extracted: %v", err)
	}
	if lvh.Config == "" {
		t.Error("lvh config not extracted")
	}

	// By digest, and through a multi-platform index.
	byDigest, err := c.Resolve(ctx, "oci:"+host+"/kernel-images@"+lvhDigest.String(), kernels.ResolveOptions{})
	if err != nil || byDigest.SHA256 != deb.SHA256 {
		t.Fatalf("by digest: %v", err)
	}
	img, _ := mutate.AppendLayers(empty.Image, layer(t, entry{"boot/vmlinuz", vmlinuz}))
	other, _ := mutate.AppendLayers(empty.Image, layer(t, entry{"boot/vmlinuz", []byte("arm64 image")}))
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: other, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
	)
	ir, _ := name.ParseReference(host + "/multi:latest")
	if err := remote.WriteIndex(ir, idx); err != nil {
		t.Fatal(err)
	}
	multi, err := c.Resolve(ctx, "oci:"+host+"/multi", kernels.ResolveOptions{})
	if err != nil || multi.Release != deb.Release {
		t.Fatalf("multi-platform: %+v %v", multi, err)
	}

	// The cached image needs no registry.
	srv.Close()
	if again, err := c.Resolve(ctx, "oci:"+host+"/ci-kernels:6.1", kernels.ResolveOptions{}); err != nil || again.Source != ci.Source {
		t.Errorf("cached oci kernel: %v", err)
	}
	if _, err := c.Pull(ctx, "oci:"+host+"/ci-kernels:6.1", kernels.ResolveOptions{}); !errors.Is(err, kernels.ErrUnavailable) {
		t.Errorf("pull from a stopped registry: %v, want ErrUnavailable", err)
	}
}

func TestOCIErrors(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	push(t, host+"/not-a-kernel:1", layer(t, entry{"etc/os-release", []byte("ID=debian\n")}))
	c, err := kernels.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for ref, want := range map[string]error{
		"oci:" + host + "/not-a-kernel:1": kernels.ErrNoKernelImage,
		"oci:" + host + "/missing:1":      kernels.ErrImageNotFound,
		"oci:" + host + "/not-a-kernel:2": kernels.ErrImageNotFound,
		"oci:Bad//Ref":                    kernels.ErrBadRef,
	} {
		_, err := c.Resolve(ctx, ref, kernels.ResolveOptions{})
		if !errors.Is(err, want) || !kernels.IsInputError(err) {
			t.Errorf("%s: %v, want %v", ref, err, want)
		}
	}
	if l, _ := c.List(); len(l) != 0 {
		t.Errorf("failed pulls left entries: %+v", l)
	}
}
