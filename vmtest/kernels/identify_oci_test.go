package kernels_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/retrobpf/retrobpf/vmtest/kernels"
	"github.com/retrobpf/retrobpf/vmtest/kernels/kernelstest"
)

// TestResolveIdentityOCI: oci: resolves to the manifest digest the
// registry has for the tag, reading no blob; retagging moves it, and the
// identity is what a pull pins.
func TestResolveIdentityOCI(t *testing.T) {
	var blobs atomic.Int32
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/blobs/") && r.Method == http.MethodGet {
			blobs.Add(1)
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	c, err := kernels.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	opts := kernels.ResolveOptions{}
	identify := func(ref string) kernels.Resolved {
		t.Helper()
		r, err := c.Identify(ctx, ref, opts)
		if err != nil {
			t.Fatalf("Identify(%s): %v", ref, err)
		}
		return r
	}

	first := push(t, host+"/ci-kernels:6.1", layer(t, entry{"boot/vmlinuz", kernelstest.FakeBzImage("6.1.0-1-test")}))
	blobs.Store(0)
	got := identify("oci:" + host + "/ci-kernels:6.1")
	want := kernels.Resolved{Ref: "oci:" + host + "/ci-kernels:6.1", Identity: host + "/ci-kernels@" + first.String(), Digest: first.String()}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if n := blobs.Load(); n != 0 {
		t.Errorf("Identify read %d blobs, want only the manifest", n)
	}
	if l, _ := c.List(); len(l) != 0 {
		t.Errorf("Identify wrote cache entries: %+v", l)
	}
	if again := identify("oci:" + host + "/ci-kernels:6.1"); again != got {
		t.Errorf("unchanged tag: %+v, was %+v", again, got)
	}
	if byDigest := identify("oci:" + host + "/ci-kernels@" + first.String()); byDigest.Digest != first.String() {
		t.Errorf("by digest: %+v", byDigest)
	}

	// Retagged: the digest, the identity and the key move.
	second := push(t, host+"/ci-kernels:6.1", layer(t, entry{"boot/vmlinuz", kernelstest.FakeBzImage("6.1.0-2-test")}))
	moved := identify("oci:" + host + "/ci-kernels:6.1")
	if moved.Digest != second.String() || moved.Digest == got.Digest || moved.Identity != host+"/ci-kernels@"+second.String() {
		t.Errorf("after retagging: %+v, want digest %s", moved, second)
	}
	if kernels.ResolvedKey([]kernels.Resolved{moved}) == kernels.ResolvedKey([]kernels.Resolved{got}) {
		t.Error("retagging did not change the key")
	}
	k, err := c.Pull(ctx, "oci:"+host+"/ci-kernels:6.1", opts)
	if err != nil {
		t.Fatal(err)
	}
	if k.Source != moved.Identity {
		t.Errorf("Identify says %s, Pull pinned %s", moved.Identity, k.Source)
	}

	// A multi-platform index: the linux/amd64 image's digest, as pulled.
	img, _ := mutate.AppendLayers(empty.Image, layer(t, entry{"boot/vmlinuz", kernelstest.FakeBzImage("6.1.0-3-test")}))
	other, _ := mutate.AppendLayers(empty.Image, layer(t, entry{"boot/vmlinuz", []byte("arm64 image")}))
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: other, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
	)
	ir, _ := name.ParseReference(host + "/multi:latest")
	if err := remote.WriteIndex(ir, idx); err != nil {
		t.Fatal(err)
	}
	amd64, _ := img.Digest()
	if r := identify("oci:" + host + "/multi"); r.Digest != amd64.String() {
		t.Errorf("multi-platform: %+v, want the amd64 image %s", r, amd64)
	}

	for ref, want := range map[string]error{
		"oci:" + host + "/missing:1":    kernels.ErrImageNotFound,
		"oci:" + host + "/ci-kernels:9": kernels.ErrImageNotFound,
		"oci:Bad//Ref":                  kernels.ErrBadRef,
	} {
		if _, err := c.Identify(ctx, ref, opts); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", ref, err, want)
		}
	}
	srv.Close()
	if _, err := c.Identify(ctx, "oci:"+host+"/ci-kernels:6.1", opts); !errors.Is(err, kernels.ErrUnavailable) {
		t.Errorf("registry down: %v, want ErrUnavailable", err)
	}
}
