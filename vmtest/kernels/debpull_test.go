package kernels

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/retrobpf/retrobpf/vmtest/kernels/debian"
)

func init() { retryBackoff = time.Millisecond }

// bookwormArchive is a small bookworm tree: the newest 6.1 kernel is
// listed but missing from the pool, a newer 6.12 backport and an
// -unsigned twin must not be picked for the 6.1 alias.
func bookwormArchive(t *testing.T) *testArchive {
	return newTestArchive(t, map[string][]testPkg{
		"bookworm": {
			{Name: "linux-image-6.1.0-10-cloud-amd64", Version: "6.1.50-1"},
			{Name: "linux-image-cloud-amd64", Version: "6.1.50-1", Depends: "linux-image-6.1.0-10-cloud-amd64 (= 6.1.50-1)"},
			{Name: "linux-image-6.1.0-10-amd64", Version: "6.1.50-1"},
		},
		"bookworm-updates": {},
		"bookworm-security": {
			{Name: "linux-image-6.1.0-11-cloud-amd64", Version: "6.1.55-1"},
			{Name: "linux-image-6.1.0-12-cloud-amd64", Version: "6.1.60-1", Missing: true},
			{Name: "linux-image-6.1.0-13-cloud-amd64-unsigned", Version: "6.1.70-1"},
			{Name: "linux-image-6.12.50+deb12-cloud-amd64", Version: "6.12.50-1~deb12u1"},
			{Name: "linux-image-cloud-amd64", Version: "6.1.60-1", Depends: "linux-image-6.1.0-12-cloud-amd64 (= 6.1.60-1)", Missing: true},
		},
	})
}

func openTestCache(t *testing.T) *Cache {
	t.Helper()
	c, err := Open(filepath.Join(t.TempDir(), "kernels"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestResolveAliasFallsBackOn404(t *testing.T) {
	a := bookwormArchive(t)
	c := openTestCache(t)
	var logs []string
	k, err := c.Resolve(context.Background(), "6.1", ResolveOptions{Mirror: a.URL, Logf: func(f string, args ...any) {
		logs = append(logs, f)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if k.Release != "6.1.0-11-cloud-amd64" || k.Source != "linux-image-6.1.0-11-cloud-amd64=6.1.55-1" {
		t.Fatalf("got %s (%s), want the newest available 6.1 cloud kernel 6.1.0-11", k.Release, k.Source)
	}
	if k.Version.String() != "6.1.55" {
		t.Errorf("version %s, want 6.1.55 from the package version", k.Version)
	}
	if a.count("/debian-security/pool/main/l/linux/linux-image-6.1.0-12-cloud-amd64_6.1.60-1_amd64.deb") == 0 {
		t.Error("the newest candidate was never tried")
	}
	if !strings.Contains(strings.Join(logs, "\n"), "missing on the mirror") {
		t.Errorf("no fallback message in %q", logs)
	}
	for _, p := range []string{k.Vmlinuz, k.Config, k.SystemMap} {
		if !strings.HasPrefix(p, filepath.Join(c.Dir(), "6.1")+"/") {
			t.Errorf("%s is not inside the cache entry", p)
		}
	}
	if k.Modules != "" {
		t.Errorf("modules extracted without being asked: %s", k.Modules)
	}
	// The download is gone once unpacked.
	if des, _ := os.ReadDir(filepath.Join(c.Dir(), ".downloads")); len(des) != 0 {
		t.Errorf("downloads left behind: %v", des)
	}
}

func TestResolveCachedNeedsNoNetwork(t *testing.T) {
	a := bookwormArchive(t)
	c := openTestCache(t)
	ctx := context.Background()
	first, err := c.Resolve(ctx, "6.1", ResolveOptions{Mirror: a.URL})
	if err != nil {
		t.Fatal(err)
	}
	a.srv.Close()
	again, err := c.Resolve(ctx, "6.1", ResolveOptions{Mirror: a.URL})
	if err != nil {
		t.Fatalf("cached kernel needed the network: %v", err)
	}
	if *again != *first {
		t.Errorf("cached kernel differs:\n%+v\n%+v", again, first)
	}
	// A damaged entry is not served; with the mirror gone the re-pull fails
	// as an infrastructure error.
	if err := os.WriteFile(first.Vmlinuz, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lookup("6.1"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Lookup of a damaged entry: %v, want ErrCorrupt", err)
	}
	if _, err := c.Resolve(ctx, "6.1", ResolveOptions{Mirror: a.URL}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Resolve of a damaged entry without mirror: %v, want ErrUnavailable", err)
	}
}

func TestResolveRepullsCorruptEntry(t *testing.T) {
	a := bookwormArchive(t)
	c := openTestCache(t)
	ctx := context.Background()
	k, err := c.Resolve(ctx, "6.1", ResolveOptions{Mirror: a.URL})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(k.Config, []byte("CONFIG_TAMPERED=y\n"), 0o644)
	k2, err := c.Resolve(ctx, "6.1", ResolveOptions{Mirror: a.URL})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(k2.Config); string(got) != "CONFIG_BPF_SYSCALL=y\n" {
		t.Errorf("corrupt config served: %q", got)
	}
	if n := a.countSuffix("6.1.0-11-cloud-amd64_6.1.55-1_amd64.deb"); n != 2 {
		t.Errorf("package fetched %d times, want 2 (pull + re-pull)", n)
	}
}

func TestResolveDebPackage(t *testing.T) {
	a := newTestArchive(t, map[string][]testPkg{
		"trixie": {
			{Name: "linux-image-6.12.40+deb13-cloud-amd64", Version: "6.12.40-1"},
			{Name: "linux-image-6.12.41+deb13-cloud-amd64", Version: "6.12.41-1"},
			{Name: "linux-image-cloud-amd64", Version: "6.12.40-1", Depends: "linux-image-6.12.40+deb13-cloud-amd64 (= 6.12.40-1)"},
			{Name: "bash", Version: "5.2.37-2", Deb: buildAr(arMember{"debian-binary", []byte("2.0\n")}, arMember{"data.tar.xz", compress(t, "xz", buildTar(t, []tarFile{{Name: "./bin/bash", Data: []byte("ELF")}}))})},
		},
	})
	c := openTestCache(t)
	ctx := context.Background()
	opts := ResolveOptions{Mirror: a.URL}

	// A meta package leads to the kernel it depends on.
	k, err := c.Resolve(ctx, "deb:linux-image-cloud-amd64", opts)
	if err != nil {
		t.Fatal(err)
	}
	if k.Release != "6.12.40+deb13-cloud-amd64" || k.Ref != "deb:linux-image-cloud-amd64" {
		t.Errorf("meta package resolved to %s (ref %s)", k.Release, k.Ref)
	}
	// A pinned version.
	k, err = c.Resolve(ctx, "deb:linux-image-6.12.41+deb13-cloud-amd64=6.12.41-1", opts)
	if err != nil || k.Source != "linux-image-6.12.41+deb13-cloud-amd64=6.12.41-1" {
		t.Fatalf("pinned: %+v, %v", k, err)
	}
	// Bad input.
	if _, err := c.Resolve(ctx, "deb:linux-image-6.12.41+deb13-cloud-amd64=9.9-9", opts); !errors.Is(err, ErrPackageNotFound) {
		t.Errorf("unknown version: %v, want ErrPackageNotFound", err)
	}
	if _, err := c.Resolve(ctx, "deb:no-such-package", opts); !errors.Is(err, ErrPackageNotFound) {
		t.Errorf("unknown package: %v, want ErrPackageNotFound", err)
	}
	if _, err := c.Resolve(ctx, "deb:bash", opts); !errors.Is(err, ErrNoKernelImage) {
		t.Errorf("package without a kernel: %v, want ErrNoKernelImage", err)
	}
	assertNoPartialEntries(t, c)
	if _, err := c.Lookup("deb:bash"); !errors.Is(err, ErrNotCached) {
		t.Errorf("failed pull left an entry: %v", err)
	}
}

func TestChecksumMismatchIsRejected(t *testing.T) {
	a := newTestArchive(t, map[string][]testPkg{
		"bookworm": {{Name: "linux-image-6.1.0-10-cloud-amd64", Version: "6.1.50-1", BadSum: true}},
	})
	c := openTestCache(t)
	_, err := c.Resolve(context.Background(), "6.1", ResolveOptions{Mirror: a.URL})
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("got %v, want ErrChecksum", err)
	}
	assertNoPartialEntries(t, c)
	if des, _ := os.ReadDir(filepath.Join(c.Dir(), ".downloads")); len(des) != 0 {
		t.Errorf("mismatching download kept: %v", des)
	}
	if l, _ := c.List(); len(l) != 0 {
		t.Errorf("List after a failed pull: %+v", l)
	}
}

// assertNoPartialEntries checks that the cache holds no temporary or
// manifest-less entry directories.
func assertNoPartialEntries(t *testing.T, c *Cache) {
	t.Helper()
	des, _ := os.ReadDir(c.Dir())
	for _, de := range des {
		n := de.Name()
		if strings.HasPrefix(n, ".tmp-") || strings.HasPrefix(n, ".old-") || strings.HasPrefix(n, ".rm-") {
			t.Errorf("leftover %s", n)
		}
		if !strings.HasPrefix(n, ".") {
			if _, err := os.Stat(filepath.Join(c.Dir(), n, manifestName)); err != nil {
				t.Errorf("entry %s without manifest", n)
			}
		}
	}
}

func TestDownloadResumes(t *testing.T) {
	a := bookwormArchive(t)
	c := openTestCache(t)
	// Simulate an interrupted download: the first half of the package.
	deb, err := os.ReadFile(filepath.Join(a.Root, "debian-security/pool/main/l/linux/linux-image-6.1.0-11-cloud-amd64_6.1.55-1_amd64.deb"))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := parsePackagesFile(t, filepath.Join(a.Root, "debian-security/dists/bookworm-security/main/binary-amd64/Packages.xz"))
	if err != nil {
		t.Fatal(err)
	}
	var sum string
	for _, e := range entries {
		if e.Package == "linux-image-6.1.0-11-cloud-amd64" {
			sum = e.SHA256
		}
	}
	writeFile(t, filepath.Join(c.Dir(), ".downloads", sum+".deb.part"), deb[:len(deb)/2])
	if _, err := c.Resolve(context.Background(), "6.1", ResolveOptions{Mirror: a.URL}); err != nil {
		t.Fatal(err)
	}
	if a.ranges == 0 {
		t.Error("the partial download was not resumed with a Range request")
	}
}

func parsePackagesFile(t *testing.T, path string) ([]debian.Package, error) {
	return debian.ReadIndex(path, func(string) bool { return true })
}

func TestRetriesServerErrors(t *testing.T) {
	a := bookwormArchive(t)
	a.fail["/debian/dists/bookworm/InRelease"] = 2
	c := openTestCache(t)
	if _, err := c.Resolve(context.Background(), "6.1", ResolveOptions{Mirror: a.URL}); err != nil {
		t.Fatalf("two 503s then success: %v", err)
	}
	if n := a.count("/debian/dists/bookworm/InRelease"); n != 3 {
		t.Errorf("InRelease fetched %d times, want 3", n)
	}

	b := bookwormArchive(t)
	for _, s := range []string{"bookworm", "bookworm-updates"} {
		b.fail["/debian/dists/"+s+"/InRelease"] = 1000
	}
	b.fail["/debian-security/dists/bookworm-security/InRelease"] = 1000
	_, err := openTestCache(t).Resolve(context.Background(), "6.1", ResolveOptions{Mirror: b.URL})
	if !errors.Is(err, ErrUnavailable) || IsInputError(err) {
		t.Fatalf("persistent 503: %v, want ErrUnavailable", err)
	}
}

func TestMirrorUnreachable(t *testing.T) {
	a := bookwormArchive(t)
	url := a.URL
	a.srv.Close()
	_, err := openTestCache(t).Resolve(context.Background(), "6.1", ResolveOptions{Mirror: url})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
	if _, err := openTestCache(t).Resolve(context.Background(), "6.1", ResolveOptions{Mirror: "ftp://x"}); !errors.Is(err, ErrBadMirror) || !IsInputError(err) {
		t.Fatalf("bad mirror URL: %v", err)
	}
}

func TestSuiteMissingFromMirror(t *testing.T) {
	a := bookwormArchive(t) // has no bullseye
	_, err := openTestCache(t).Resolve(context.Background(), "5.10", ResolveOptions{Mirror: a.URL})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "bullseye") {
		t.Fatalf("got %v, want ErrUnavailable naming bullseye", err)
	}
}

func TestConcurrentResolveSharesOneDownload(t *testing.T) {
	a := bookwormArchive(t)
	dir := filepath.Join(t.TempDir(), "kernels")
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	rels := make(chan string, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Open(dir) // separate Cache values, as separate processes have
			if err != nil {
				errs <- err
				return
			}
			k, err := c.Resolve(context.Background(), "6.1", ResolveOptions{Mirror: a.URL})
			if err != nil {
				errs <- err
				return
			}
			rels <- k.Release
		}()
	}
	wg.Wait()
	close(errs)
	close(rels)
	for err := range errs {
		t.Error(err)
	}
	for r := range rels {
		if r != "6.1.0-11-cloud-amd64" {
			t.Errorf("release %s", r)
		}
	}
	if n := a.countSuffix("6.1.0-11-cloud-amd64_6.1.55-1_amd64.deb"); n != 1 {
		t.Errorf("package downloaded %d times by 4 parallel resolves, want 1", n)
	}
	if n := a.countSuffix("Packages.xz") + a.countSuffix("/SHA256/"); n > 3 {
		t.Errorf("indexes downloaded %d times, want at most one per suite", n)
	}
}

func TestModules(t *testing.T) {
	a := bookwormArchive(t)
	c := openTestCache(t)
	ctx := context.Background()
	k, err := c.Resolve(ctx, "6.1", ResolveOptions{Mirror: a.URL})
	if err != nil || k.Modules != "" {
		t.Fatalf("%v, modules %q", err, k.Modules)
	}
	// Asking for modules pulls a second entry with them and leaves the
	// first alone (another process may be booting it).
	k, err = c.Resolve(ctx, "6.1", ResolveOptions{Mirror: a.URL, Modules: true})
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := c.Lookup("6.1"); err != nil || plain.Modules != "" || plain.Vmlinuz == k.Vmlinuz {
		t.Errorf("plain entry after the modules pull: %+v %v", plain, err)
	}
	if again, err := c.Resolve(ctx, "6.1", ResolveOptions{Mirror: a.URL, Modules: true}); err != nil || again.Modules != k.Modules {
		t.Errorf("modules entry not reused: %+v %v", again, err)
	}
	ko := filepath.Join(k.Modules, "lib/modules", k.Release, "kernel/net/a.ko")
	if data, err := os.ReadFile(ko); err != nil || string(data) != "module a" {
		t.Fatalf("module %s: %q, %v", ko, data, err)
	}
	// Removing a module is detected as damage.
	os.Remove(ko)
	if _, err := c.load("6.1"+modulesSuffix, ResolveOptions{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("load after deleting a module: %v, want ErrCorrupt", err)
	}
	if n := a.countSuffix("6.1.0-11-cloud-amd64_6.1.55-1_amd64.deb"); n != 2 {
		t.Errorf("package fetched %d times, want 2 (plain, with modules)", n)
	}
	// Remove takes both entries.
	if err := c.Remove(ctx, "6.1"); err != nil {
		t.Fatal(err)
	}
	if l, _ := c.List(); len(l) != 0 {
		t.Errorf("entries left after Remove: %+v", l)
	}
}

func TestListAndRemove(t *testing.T) {
	a := bookwormArchive(t)
	c := openTestCache(t)
	ctx := context.Background()
	if _, err := c.Resolve(ctx, "6.1", ResolveOptions{Mirror: a.URL}); err != nil {
		t.Fatal(err)
	}
	l, err := c.List()
	if err != nil || len(l) != 1 || l[0].Key != "6.1" || l[0].Kernel.Release != "6.1.0-11-cloud-amd64" || l[0].Bytes == 0 {
		t.Fatalf("List: %+v, %v", l, err)
	}
	if err := c.Remove(ctx, "6.1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(ctx, "6.1"); !errors.Is(err, ErrNotCached) {
		t.Errorf("second Remove: %v, want ErrNotCached", err)
	}
	if l, _ := c.List(); len(l) != 0 {
		t.Errorf("List after Remove: %+v", l)
	}
	assertNoPartialEntries(t, c)
}

func TestUnwritableCache(t *testing.T) {
	if os.Geteuid() == 0 {
		// root ignores permissions; use a path below a regular file instead.
		f := filepath.Join(t.TempDir(), "file")
		os.WriteFile(f, nil, 0o644)
		if _, err := Open(filepath.Join(f, "kernels")); !errors.Is(err, ErrCacheUnwritable) {
			t.Fatalf("got %v, want ErrCacheUnwritable", err)
		}
		return
	}
	d := t.TempDir()
	os.Chmod(d, 0o555)
	defer os.Chmod(d, 0o755)
	if _, err := Open(filepath.Join(d, "kernels")); !errors.Is(err, ErrCacheUnwritable) {
		t.Fatalf("got %v, want ErrCacheUnwritable", err)
	}
}

func TestIndexSummaryMatchesIndex(t *testing.T) {
	a := bookwormArchive(t)
	src := filepath.Join(a.Root, "debian-security/dists/bookworm-security/main/binary-amd64/Packages.xz")
	dir := t.TempDir()
	idx := filepath.Join(dir, "x-Packages.xz")
	data, _ := os.ReadFile(src)
	writeFile(t, idx, data)
	keep := func(n string) bool { return strings.HasPrefix(n, "linux-image-") }
	direct, err := debian.ReadIndex(idx, keep)
	if err != nil {
		t.Fatal(err)
	}
	first, err := readIndexCached(idx, keep) // writes the summary
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(idx + ".tsv"); err != nil {
		t.Fatal("no summary written")
	}
	second, err := readIndexCached(idx, keep) // reads it
	if err != nil {
		t.Fatal(err)
	}
	if len(direct) != 5 || !reflect.DeepEqual(direct, first) || !reflect.DeepEqual(direct, second) {
		t.Errorf("direct %+v\nfirst %+v\nsecond %+v", direct, first, second)
	}
}

func TestFailedUnpackLeavesNoEntry(t *testing.T) {
	broken := buildAr(arMember{"debian-binary", []byte("2.0\n")}, arMember{"data.tar.xz", []byte("\xfd7zXZ\x00 truncated xz stream")})
	a := newTestArchive(t, map[string][]testPkg{
		"bookworm": {{Name: "linux-image-6.1.0-10-cloud-amd64", Version: "6.1.50-1", Deb: broken}},
	})
	c := openTestCache(t)
	_, err := c.Resolve(context.Background(), "6.1", ResolveOptions{Mirror: a.URL})
	if err == nil {
		t.Fatal("a package with a broken data.tar was accepted")
	}
	assertNoPartialEntries(t, c)
	if _, err := c.Lookup("6.1"); !errors.Is(err, ErrNotCached) {
		t.Errorf("Lookup after failed pull: %v", err)
	}
}

func TestStaleLeftoversAreRemoved(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-48 * time.Hour)
	for _, n := range []string{".tmp-6.1-123", ".old-6.1-456"} {
		os.MkdirAll(filepath.Join(dir, n, "sub"), 0o755)
		os.Chtimes(filepath.Join(dir, n), old, old)
	}
	os.MkdirAll(filepath.Join(dir, ".tmp-6.12-live"), 0o755) // a pull in progress
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	for n, want := range map[string]bool{".tmp-6.1-123": false, ".old-6.1-456": false, ".tmp-6.12-live": true} {
		if _, err := os.Stat(filepath.Join(dir, n)); (err == nil) != want {
			t.Errorf("%s exists=%v, want %v", n, err == nil, want)
		}
	}
}

func TestInterruptedDownloadResumes(t *testing.T) {
	a := bookwormArchive(t)
	deb := "/debian-security/pool/main/l/linux/linux-image-6.1.0-11-cloud-amd64_6.1.55-1_amd64.deb"
	a.stall[deb] = true
	c := openTestCache(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Interrupt once half the package has arrived.
		for {
			des, _ := os.ReadDir(filepath.Join(c.Dir(), ".downloads"))
			if len(des) == 1 {
				if fi, err := des[0].Info(); err == nil && fi.Size() > 0 {
					cancel()
					return
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	if _, err := c.Resolve(ctx, "6.1", ResolveOptions{Mirror: a.URL}); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted pull: %v, want context.Canceled", err)
	}
	assertNoPartialEntries(t, c)
	if _, err := c.Lookup("6.1"); !errors.Is(err, ErrNotCached) {
		t.Fatalf("entry after interruption: %v", err)
	}
	k, err := c.Resolve(context.Background(), "6.1", ResolveOptions{Mirror: a.URL})
	if err != nil {
		t.Fatal(err)
	}
	if a.ranges == 0 {
		t.Error("the second pull did not resume the partial download")
	}
	if k.Release != "6.1.0-11-cloud-amd64" {
		t.Errorf("release %s", k.Release)
	}
}
