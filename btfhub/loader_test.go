package btfhub

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/retrobpf/retrobpf/internal/cache"
)

// writeBTF writes the host's raw BTF to dir/name.
func writeBTF(t *testing.T, dir, name string) string {
	raw, _ := hostBTF(t, debian10.Release)
	p := filepath.Join(dir, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestKernelTypesOrder(t *testing.T) {
	dir := t.TempDir()
	flagFile := writeBTF(t, dir, "flag.btf")
	envFile := writeBTF(t, dir, "env.btf")
	sysfs := writeBTF(t, dir, "sys/vmlinux")
	cacheDir := filepath.Join(dir, "cache")
	cached, _ := Cache{Dir: cacheDir}.Path(debian10)
	plantCached(t, Cache{Dir: cacheDir}, debian10, writeBTF(t, cacheDir, mustRel(t, cacheDir, cached)))
	k := debian10
	base := LoaderOptions{SysfsPath: sysfs, Kernel: &k, CacheDir: cacheDir}

	check := func(opts LoaderOptions, want SourceKind, wantPath string) {
		t.Helper()
		spec, src, err := KernelTypes(ctx(t), opts)
		if err != nil {
			t.Fatalf("want %s: %v", want, err)
		}
		if src.Kind != want || src.Path != wantPath {
			t.Fatalf("source %+v, want %s %s", src, want, wantPath)
		}
		if err := CheckKernelSpec(spec); err != nil {
			t.Fatal(err)
		}
		co := CollectionOptions(spec, src)
		if (co.Programs.KernelTypes == nil) != (want == SourceSysfs) {
			t.Fatalf("%s: KernelTypes set = %v", want, co.Programs.KernelTypes != nil)
		}
	}
	t.Setenv(EnvBTF, envFile)
	opts := base
	opts.BTFFile = flagFile
	check(opts, SourceFlag, flagFile)
	check(base, SourceEnv, envFile)
	t.Setenv(EnvBTF, "")
	check(base, SourceSysfs, sysfs)
	opts = base
	opts.SysfsPath = filepath.Join(dir, "no/such/vmlinux")
	check(opts, SourceCache, cached)

	// Nothing anywhere, no hub: the "no kernel BTF" class.
	opts.CacheDir = filepath.Join(dir, "empty-cache")
	if _, _, err := KernelTypes(ctx(t), opts); !errors.Is(err, ErrNoKernelBTF) {
		t.Fatalf("got %v, want ErrNoKernelBTF", err)
	}

	// Then the hub fills the cache.
	_, tarball := hostBTF(t, debian10.Release)
	hub := newTestHub(t)
	ap, _ := debian10.ArchivePath()
	hub.put(ap, tarball)
	opts.Fetcher = &Fetcher{Hub: hub.URL, Retries: 1, Backoff: 10 * time.Millisecond}
	want, _ := Cache{Dir: opts.CacheDir}.Path(debian10)
	check(opts, SourceHub, want)
	check(opts, SourceCache, want)

	// An explicit bad file is an error, not a reason to fall through.
	bad := filepath.Join(dir, "bad.btf")
	os.WriteFile(bad, []byte("junk"), 0o644)
	opts = base
	opts.BTFFile = bad
	if _, _, err := KernelTypes(ctx(t), opts); !errors.Is(err, ErrInvalidBTF) {
		t.Fatalf("bad --btf: %v", err)
	}
	t.Setenv(EnvBTF, filepath.Join(dir, "missing.btf"))
	if _, _, err := KernelTypes(ctx(t), base); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing RETROBPF_BTF: %v", err)
	}
}

// plantCached records a BTF file already at its cache path in the cache's
// lock file, as a fetch would have.
func plantCached(t *testing.T, c Cache, k Kernel, file string) {
	t.Helper()
	sum, err := cache.SHA256File(file)
	if err != nil {
		t.Fatal(err)
	}
	lock, err := ReadLockFile(c.LockPath())
	if err != nil {
		t.Fatal(err)
	}
	ap, _ := k.ArchivePath()
	lock.Entries[ap] = LockEntry{SHA256: strings.Repeat("0", 64), BTFSHA256: sum}
	if err := lock.Write(c.LockPath()); err != nil {
		t.Fatal(err)
	}
}

func mustRel(t *testing.T, base, p string) string {
	r, err := filepath.Rel(base, p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
