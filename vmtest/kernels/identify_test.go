package kernels

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// debSum is the SHA256 of a package in the test archive's pool.
func debSum(t *testing.T, a *testArchive, base, name, version string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(a.Root, base, "pool/main/l/linux", name+"_"+version+"_amd64.deb"))
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(s[:])
}

func identify(t *testing.T, c *Cache, ref string, opts ResolveOptions) Resolved {
	t.Helper()
	r, err := c.Identify(context.Background(), ref, opts)
	if err != nil {
		t.Fatalf("Identify(%s): %v", ref, err)
	}
	return r
}

// noKernels fails when anything but indexes and locks is in the cache.
func noKernels(t *testing.T, c *Cache, a *testArchive) {
	t.Helper()
	if l, err := c.List(); err != nil || len(l) != 0 {
		t.Errorf("Identify wrote cache entries: %+v (%v)", l, err)
	}
	if des, _ := os.ReadDir(filepath.Join(c.Dir(), ".downloads")); len(des) != 0 {
		t.Errorf("Identify downloaded packages: %v", des)
	}
	if a != nil {
		if n := a.countMethod("GET", ".deb"); n != 0 {
			t.Errorf("Identify fetched %d packages (GET .deb), want none", n)
		}
	}
}

// TestResolveIdentityDeb: an alias names the package a pull fetches (the
// newest the pool has: the newest listed one answers 404) with the
// index's SHA256, and only HEADs packages. Publishing a newer package on
// the mirror changes identity, digest and key; republishing the same
// tree changes nothing.
func TestResolveIdentityDeb(t *testing.T) {
	a := bookwormArchive(t)
	c := openTestCache(t)
	opts := ResolveOptions{Mirror: a.URL}

	got := identify(t, c, "6.1", opts)
	want := Resolved{Ref: "6.1", Identity: "linux-image-6.1.0-11-cloud-amd64=6.1.55-1",
		Digest: debSum(t, a, "debian-security", "linux-image-6.1.0-11-cloud-amd64", "6.1.55-1")}
	if got != want {
		t.Fatalf("6.1 resolved to %+v, want %+v", got, want)
	}
	if a.countMethod("HEAD", "linux-image-6.1.0-12-cloud-amd64_6.1.60-1_amd64.deb") != 1 {
		t.Error("the newest listed candidate (missing from the pool) was not asked for")
	}
	pinned := identify(t, c, "deb:linux-image-6.1.0-10-cloud-amd64=6.1.50-1", opts)
	if pinned.Identity != "linux-image-6.1.0-10-cloud-amd64=6.1.50-1" || pinned.Digest != debSum(t, a, "debian", "linux-image-6.1.0-10-cloud-amd64", "6.1.50-1") {
		t.Errorf("deb:PACKAGE=VERSION resolved to %+v", pinned)
	}
	noKernels(t, c, a)
	key := ResolvedKey([]Resolved{got, pinned})
	if ResolvedKey([]Resolved{pinned, got}) != key {
		t.Error("the key depends on the order of the kernels")
	}

	// What Identify names is what Pull fetches (into other caches).
	for _, ref := range []string{"6.1", "deb:linux-image-6.1.0-10-cloud-amd64=6.1.50-1"} {
		k, err := openTestCache(t).Pull(context.Background(), ref, opts)
		if err != nil {
			t.Fatal(err)
		}
		if r := identify(t, c, ref, opts); r.Identity != k.Source {
			t.Errorf("%s: Identify says %s, Pull fetched %s", ref, r.Identity, k.Source)
		}
	}
	pulled := a.countMethod("GET", ".deb")

	// The same tree published again (as bookwormArchive has it): same
	// identity and key.
	security := []testPkg{
		{Name: "linux-image-6.1.0-11-cloud-amd64", Version: "6.1.55-1"},
		{Name: "linux-image-6.1.0-12-cloud-amd64", Version: "6.1.60-1", Missing: true},
		{Name: "linux-image-6.1.0-13-cloud-amd64-unsigned", Version: "6.1.70-1"},
		{Name: "linux-image-6.12.50+deb12-cloud-amd64", Version: "6.12.50-1~deb12u1"},
		{Name: "linux-image-cloud-amd64", Version: "6.1.60-1", Depends: "linux-image-6.1.0-12-cloud-amd64 (= 6.1.60-1)", Missing: true},
	}
	a.publish(t, map[string][]testPkg{"bookworm-security": security})
	if again := identify(t, c, "6.1", opts); again != got {
		t.Errorf("unchanged mirror: %+v, was %+v", again, got)
	}

	// A newer 6.1 cloud kernel on the mirror: the alias moves.
	a.publish(t, map[string][]testPkg{"bookworm-security": append(security,
		testPkg{Name: "linux-image-6.1.0-14-cloud-amd64", Version: "6.1.80-1"})})
	moved := identify(t, c, "6.1", opts)
	if moved.Identity != "linux-image-6.1.0-14-cloud-amd64=6.1.80-1" ||
		moved.Digest != debSum(t, a, "debian-security", "linux-image-6.1.0-14-cloud-amd64", "6.1.80-1") {
		t.Errorf("after publishing 6.1.80-1: %+v", moved)
	}
	if moved.Digest == got.Digest || ResolvedKey([]Resolved{moved, pinned}) == key {
		t.Error("a newer package did not change the digest and key")
	}
	// The pinned package did not move.
	if p := identify(t, c, "deb:linux-image-6.1.0-10-cloud-amd64=6.1.50-1", opts); p != pinned {
		t.Errorf("pinned package changed: %+v, was %+v", p, pinned)
	}
	noKernels(t, c, nil)
	if n := a.countMethod("GET", ".deb"); n != pulled {
		t.Errorf("Identify fetched %d packages (GET .deb), want none", n-pulled)
	}
}

func TestResolveIdentityDebErrors(t *testing.T) {
	a := bookwormArchive(t)
	c := openTestCache(t)
	ctx := context.Background()
	if _, err := c.Identify(ctx, "deb:linux-image-9.9.9-cloud-amd64", ResolveOptions{Mirror: a.URL}); !errors.Is(err, ErrPackageNotFound) {
		t.Errorf("unknown package: %v, want ErrPackageNotFound", err)
	}
	if _, err := c.Identify(ctx, "6.1", ResolveOptions{Mirror: "ftp://x/debian"}); !errors.Is(err, ErrBadMirror) {
		t.Errorf("bad mirror: %v, want ErrBadMirror", err)
	}
	if _, err := c.Identify(ctx, "4.19", ResolveOptions{Mirror: a.URL}); !errors.Is(err, ErrUnknownAlias) {
		t.Errorf("unknown alias: %v, want ErrUnknownAlias", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := openTestCache(t).Identify(cancelled, "6.1", ResolveOptions{Mirror: a.URL}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
	a.srv.Close()
	if _, err := openTestCache(t).Identify(ctx, "6.1", ResolveOptions{Mirror: a.URL}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("mirror down: %v, want ErrUnavailable", err)
	}
}

// TestResolveIdentityFile: a bare bzImage's digest is its SHA256; the
// files beside it in /boot naming count, wherever the kernel lies.
func TestResolveIdentityFile(t *testing.T) {
	c := openTestCache(t)
	dir := t.TempDir()
	bare := filepath.Join(dir, "bzImage")
	writeFile(t, bare, fakeBzImage("6.6.0-test"))
	sum := sha256.Sum256(fakeBzImage("6.6.0-test"))
	got := identify(t, c, "file:"+bare, ResolveOptions{})
	if got != (Resolved{Ref: "file:" + bare, Identity: bare, Digest: "sha256:" + hex.EncodeToString(sum[:])}) {
		t.Errorf("bare bzImage: %+v", got)
	}

	boot := filepath.Join(dir, "boot")
	writeFile(t, filepath.Join(boot, "vmlinuz-6.6.0-test"), fakeBzImage("6.6.0-test"))
	writeFile(t, filepath.Join(boot, "btf-6.6.0-test"), []byte{0x9f, 0xeb, 1})
	withBTF := identify(t, c, "file:"+filepath.Join(boot, "vmlinuz-6.6.0-test"), ResolveOptions{})
	if withBTF.Digest == got.Digest {
		t.Error("the sibling BTF does not count in the digest")
	}
	writeFile(t, filepath.Join(boot, "btf-6.6.0-test"), []byte{0x9f, 0xeb, 2})
	if d := identify(t, c, "file:"+filepath.Join(boot, "vmlinuz-6.6.0-test"), ResolveOptions{}).Digest; d == withBTF.Digest {
		t.Error("a changed BTF left the digest as it was")
	} else {
		withBTF.Digest = d
	}
	// The same files elsewhere: another identity, the same digest.
	other := filepath.Join(t.TempDir(), "boot")
	writeFile(t, filepath.Join(other, "vmlinuz-6.6.0-test"), fakeBzImage("6.6.0-test"))
	writeFile(t, filepath.Join(other, "btf-6.6.0-test"), []byte{0x9f, 0xeb, 2})
	if r := identify(t, c, "file:"+filepath.Join(other, "vmlinuz-6.6.0-test"), ResolveOptions{}); r.Digest != withBTF.Digest || r.Identity == withBTF.Identity {
		t.Errorf("copy: %+v, original %+v", r, withBTF)
	}
	// --btf counts like a sibling.
	if r := identify(t, c, "file:"+bare, ResolveOptions{BTF: filepath.Join(boot, "btf-6.6.0-test")}); r.Digest == got.Digest {
		t.Error("--btf does not count in the digest")
	}
	for _, ref := range []string{"file:" + filepath.Join(dir, "missing"), "file:" + dir} {
		if _, err := c.Identify(context.Background(), ref, ResolveOptions{}); !errors.Is(err, ErrNotAKernel) {
			t.Errorf("%s: %v, want ErrNotAKernel", ref, err)
		}
	}
	noKernels(t, c, nil)
}

// TestResolveIdentityDir: every file the dir: source uses counts, the
// modules tree only with Modules (when the source uses it).
func TestResolveIdentityDir(t *testing.T) {
	c := openTestCache(t)
	root := lvhTree(t, "5.4", "5.4.290-test", true)
	got := identify(t, c, "dir:"+root, ResolveOptions{})
	if got.Ref != "dir:"+root || got.Identity != root || len(got.Digest) != len("sha256:")+64 {
		t.Fatalf("dir: %+v", got)
	}
	mods := identify(t, c, "dir:"+root, ResolveOptions{Modules: true})
	if mods.Digest == got.Digest {
		t.Error("the modules tree does not count with Modules")
	}
	writeFile(t, filepath.Join(root, "lib", "modules", "5.4.290-test", "modules.order"), []byte("kernel/b.ko\n"))
	if r := identify(t, c, "dir:"+root, ResolveOptions{}); r != got {
		t.Errorf("modules changed the digest without Modules: %+v, was %+v", r, got)
	}
	if r := identify(t, c, "dir:"+root, ResolveOptions{Modules: true}); r.Digest == mods.Digest {
		t.Error("a changed module left the digest as it was")
	}
	writeFile(t, filepath.Join(root, "boot", "config-5.4"), []byte("CONFIG_BPF=n\n"))
	if r := identify(t, c, "dir:"+root, ResolveOptions{}); r.Digest == got.Digest {
		t.Error("a changed config left the digest as it was")
	}
	if _, err := c.Identify(context.Background(), "dir:"+t.TempDir(), ResolveOptions{}); !errors.Is(err, ErrNotAKernel) {
		t.Errorf("empty dir: %v, want ErrNotAKernel", err)
	}
	noKernels(t, c, nil)
}
