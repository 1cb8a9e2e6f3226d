package btfhub

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/retrobpf/retrobpf/internal/download"
)

var debian10 = Kernel{OSID: "debian", OSVersion: "10", Arch: "x86_64", Release: "4.19.0-27-amd64"}

func newFetcher(t *testing.T, hub string) *Fetcher {
	return &Fetcher{Hub: hub, Cache: Cache{Dir: t.TempDir()}, Retries: 3, Backoff: 10 * time.Millisecond, Timeout: time.Minute, Logf: t.Logf}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// cacheEmpty fails unless the cache holds no BTF file and no lock entry.
func cacheEmpty(t *testing.T, f *Fetcher) {
	t.Helper()
	ents, err := f.Cache.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Fatalf("cache holds %v after a failed fetch", ents)
	}
	if l, err := ReadLockFile(f.Cache.LockPath()); err != nil || len(l.Entries) != 0 {
		t.Fatalf("lock file after a failed fetch: %+v, %v", l, err)
	}
}

func TestFetchResumesAfterCut(t *testing.T) {
	raw, tarball := hostBTF(t, debian10.Release)
	hub := newTestHub(t)
	ap, _ := debian10.ArchivePath()
	hub.put(ap, tarball, faultCut)
	f := newFetcher(t, hub.URL)

	res, err := f.Fetch(ctx(t), debian10)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.Attempts != 2 {
		t.Errorf("resumed=%v attempts=%d, want a resumed second attempt", res.Resumed, res.Attempts)
	}
	var ranged bool
	for _, r := range hub.log() {
		ranged = ranged || strings.HasPrefix(r, "GET "+ap+" bytes=")
	}
	if !ranged {
		t.Errorf("no Range request after the cut: %v", hub.log())
	}
	got, err := os.ReadFile(res.File)
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("cached BTF differs from the served one (%v)", err)
	}
	lock, err := ReadLockFile(f.Cache.LockPath())
	if err != nil || lock.Entries[ap].SHA256 != res.SHA256 || len(res.SHA256) != 64 {
		t.Fatalf("lock %+v, %v; result sha %s", lock, err, res.SHA256)
	}
	if _, err := os.Stat(f.partialPath(ap)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partial download left behind: %v", err)
	}

	// A second fetch is served from the cache without the network.
	n := len(hub.log())
	res2, err := f.Fetch(ctx(t), debian10)
	if err != nil || !res2.Cached || len(hub.log()) != n {
		t.Fatalf("second fetch: %+v, %v, %d new requests", res2, err, len(hub.log())-n)
	}
}

func TestFetch500ThenSuccess(t *testing.T) {
	_, tarball := hostBTF(t, debian10.Release)
	hub := newTestHub(t)
	ap, _ := debian10.ArchivePath()
	hub.put(ap, tarball, fault500, fault500)
	f := newFetcher(t, hub.URL)
	res, err := f.Fetch(ctx(t), debian10)
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 3 {
		t.Errorf("attempts = %d, want 3", res.Attempts)
	}

	// With fewer retries than failures it gives up with ErrNetwork.
	hub.put(ap, tarball, fault500, fault500, fault500)
	f = newFetcher(t, hub.URL)
	f.Retries = 1
	if _, err := f.Fetch(ctx(t), debian10); !errors.Is(err, ErrNetwork) {
		t.Fatalf("persistent 500: %v", err)
	}
	cacheEmpty(t, f)
}

func TestFetch404(t *testing.T) {
	hub := newTestHub(t)
	f := newFetcher(t, hub.URL)
	_, err := f.Fetch(ctx(t), debian10)
	if !errors.Is(err, ErrNotInHub) {
		t.Fatalf("got %v, want ErrNotInHub", err)
	}
	if n := len(hub.log()); n != 1 {
		t.Errorf("404 retried: %d requests", n)
	}
	cacheEmpty(t, f)
}

func TestFetchRefusesBadArchives(t *testing.T) {
	_, tarball := hostBTF(t, debian10.Release)
	ap, _ := debian10.ArchivePath()
	for name, tc := range map[string]struct {
		data []byte
		want error
	}{
		"truncated tarball": {tarball[:len(tarball)*2/3], ErrBadArchive},
		"dotdot path":       {makeTarXZ(t, tarEntry{name: "../" + debian10.Release + ".btf", data: []byte("x")}), ErrBadArchive},
		"empty tarball":     {makeTarXZ(t), ErrBadArchive},
		"not kernel BTF":    {makeTarXZ(t, tarEntry{name: debian10.Release + ".btf", data: []byte("not BTF at all")}), ErrInvalidBTF},
	} {
		t.Run(name, func(t *testing.T) {
			hub := newTestHub(t)
			hub.put(ap, tc.data)
			f := newFetcher(t, hub.URL)
			_, err := f.Fetch(ctx(t), debian10)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), ap) {
				t.Errorf("error does not name the file: %v", err)
			}
			cacheEmpty(t, f)
		})
	}
}

func TestFetchLockMismatch(t *testing.T) {
	_, tarball := hostBTF(t, debian10.Release)
	ap, _ := debian10.ArchivePath()
	hub := newTestHub(t)
	hub.put(ap, tarball)
	f := newFetcher(t, hub.URL)
	first, err := f.Fetch(ctx(t), debian10)
	if err != nil {
		t.Fatal(err)
	}

	// The archive now serves a different tarball with the same BTF: xz
	// stream padding (4 zero bytes) changes the file, not the content.
	changed := append(append([]byte(nil), tarball...), 0, 0, 0, 0)
	hub.put(ap, changed)
	os.Remove(first.File)
	_, err = f.Fetch(ctx(t), debian10)
	if !errors.Is(err, ErrLockMismatch) {
		t.Fatalf("changed file accepted: %v", err)
	}
	if _, err := os.Stat(first.File); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("refused file reached the cache")
	}
	lock, _ := ReadLockFile(f.Cache.LockPath())
	if lock.Entries[ap].SHA256 != first.SHA256 {
		t.Fatal("lock entry changed by a refused fetch")
	}

	f.Update = true
	res, err := f.Fetch(ctx(t), debian10)
	if err != nil {
		t.Fatal(err)
	}
	lock, _ = ReadLockFile(f.Cache.LockPath())
	if res.SHA256 == first.SHA256 || lock.Entries[ap].SHA256 != res.SHA256 {
		t.Fatalf("--update did not record the new hash: %s vs %s", lock.Entries[ap].SHA256, res.SHA256)
	}
}

func TestFetchFileHubAndListing(t *testing.T) {
	raw, tarball := hostBTF(t, debian10.Release)
	ap, _ := debian10.ArchivePath()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, filepath.Dir(ap)), 0o755)
	os.WriteFile(filepath.Join(dir, ap), tarball, 0o644)
	os.WriteFile(filepath.Join(dir, "debian/10/x86_64/4.19.0-26-amd64.btf.tar.xz"), []byte("x"), 0o644)
	hubURL := (&url.URL{Scheme: "file", Path: dir}).String()

	f := newFetcher(t, hubURL)
	res, err := f.Fetch(ctx(t), debian10)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(res.File); !bytes.Equal(got, raw) {
		t.Fatal("file:// fetch cached other bytes")
	}
	rels, err := ListHub(ctx(t), hubURL, debian10)
	if err != nil || strings.Join(rels, ",") != "4.19.0-26-amd64,4.19.0-27-amd64" {
		t.Fatalf("file listing: %v, %v", rels, err)
	}

	hub := newTestHub(t)
	hub.put(ap, tarball)
	hub.put("debian/10/x86_64/4.19.0-17-amd64.btf.tar.xz", []byte("x"))
	hub.put("debian/10/arm64/4.19.0-17-arm64.btf.tar.xz", []byte("x"))
	rels, err = ListHub(ctx(t), hub.URL, debian10)
	if err != nil || strings.Join(rels, ",") != "4.19.0-17-amd64,4.19.0-27-amd64" {
		t.Fatalf("http listing: %v, %v", rels, err)
	}
	rels, err = ListHub(ctx(t), hub.URL, Kernel{OSID: "centos", OSVersion: "7", Arch: "x86_64"})
	if err != nil || len(rels) != 0 {
		t.Fatalf("listing of a missing directory: %v, %v", rels, err)
	}
}

func TestNoHubConfigured(t *testing.T) {
	t.Setenv(EnvHub, "")
	if _, err := HubFromEnv(""); !errors.Is(err, ErrNoHub) {
		t.Fatalf("got %v", err)
	}
	t.Setenv(EnvHub, "file:///mirror")
	if h, err := HubFromEnv(""); err != nil || h != "file:///mirror" {
		t.Fatalf("got %q %v", h, err)
	}
	if h, _ := HubFromEnv("http://127.0.0.1:1/"); h != "http://127.0.0.1:1/" {
		t.Fatalf("flag does not win over env: %q", h)
	}
	for _, bad := range []string{"file://relative/dir", "ftp://host/x", "::"} {
		if _, err := newFetcher(t, bad).Fetch(ctx(t), debian10); !errors.Is(err, ErrBadHub) {
			t.Errorf("hub %q: %v", bad, err)
		}
	}
	f := newFetcher(t, "")
	if _, err := f.Fetch(ctx(t), debian10); !errors.Is(err, ErrNoHub) {
		t.Fatalf("fetch without hub: %v", err)
	}
}

// A damaged cached file is noticed on the hit and fetched again; one that
// was never recorded in the lock (a fetch whose lock write failed) is not
// trusted either.
func TestFetchVerifiesCacheHits(t *testing.T) {
	raw, tarball := hostBTF(t, debian10.Release)
	hub := newTestHub(t)
	ap, _ := debian10.ArchivePath()
	hub.put(ap, tarball)
	f := newFetcher(t, hub.URL)
	first, err := f.Fetch(ctx(t), debian10)
	if err != nil {
		t.Fatal(err)
	}

	os.WriteFile(first.File, raw[:len(raw)/2], 0o644) // truncated
	if _, err := f.Cache.Lookup(debian10); !errors.Is(err, ErrCorruptCache) {
		t.Fatalf("Lookup of a truncated entry: %v, want ErrCorruptCache", err)
	}
	res, err := f.Fetch(ctx(t), debian10)
	if err != nil || res.Cached {
		t.Fatalf("truncated entry served: %+v, %v", res, err)
	}
	if got, _ := os.ReadFile(res.File); !bytes.Equal(got, raw) {
		t.Fatal("refetch did not repair the entry")
	}

	lock, _ := ReadLockFile(f.Cache.LockPath())
	delete(lock.Entries, ap)
	lock.Write(f.Cache.LockPath())
	if _, err := f.Cache.Lookup(debian10); !errors.Is(err, ErrCorruptCache) {
		t.Fatalf("Lookup of an unrecorded entry: %v, want ErrCorruptCache", err)
	}
	if res, err := f.Fetch(ctx(t), debian10); err != nil || res.Cached {
		t.Fatalf("unrecorded entry served: %+v, %v", res, err)
	}
	if p, err := f.Cache.Lookup(debian10); err != nil || p != first.File {
		t.Fatalf("Lookup after refetch: %q, %v", p, err)
	}
}

// When the lock file cannot be written, the BTF does not reach the cache.
func TestFetchLockWriteFails(t *testing.T) {
	_, tarball := hostBTF(t, debian10.Release)
	hub := newTestHub(t)
	ap, _ := debian10.ArchivePath()
	hub.put(ap, tarball)
	f := newFetcher(t, hub.URL)
	f.LockPath = filepath.Join(t.TempDir(), "lockdir")
	os.Mkdir(f.LockPath, 0o755) // a directory: the rename onto it fails
	if _, err := f.Fetch(ctx(t), debian10); err == nil {
		t.Fatal("fetch succeeded with an unwritable lock file")
	}
	if ents, _ := f.Cache.List(); len(ents) != 0 {
		t.Fatalf("BTF cached without its lock entry: %v", ents)
	}
}

// A local mirror's 3 GB tarball (sparse here) and a FIFO are refused at
// once, without reading them.
func TestFetchFileHubRefusesHugeAndSpecial(t *testing.T) {
	ap, _ := debian10.ArchivePath()
	dir := t.TempDir()
	p := filepath.Join(dir, filepath.FromSlash(ap))
	os.MkdirAll(filepath.Dir(p), 0o755)
	fh, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	fh.Truncate(3 << 30)
	fh.Close()
	f := newFetcher(t, (&url.URL{Scheme: "file", Path: dir}).String())
	start := time.Now()
	if _, err := f.Fetch(ctx(t), debian10); !errors.Is(err, ErrBadArchive) || !strings.Contains(err.Error(), ap) {
		t.Fatalf("3 GB local tarball: %v, want ErrBadArchive naming it", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to refuse", d)
	}
	cacheEmpty(t, f)

	os.Remove(p)
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skip(err)
	}
	if _, err := f.Fetch(ctx(t), debian10); !errors.Is(err, ErrBadArchive) {
		t.Fatalf("FIFO tarball: %v, want ErrBadArchive", err)
	}
}

// A hub that streams an endless body is cut at the cap, with nothing left
// in the cache (it used to fill the disk in under a second).
func TestFetchEndlessBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 32<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	f := newFetcher(t, srv.URL)
	f.MaxSize = 4 << 20
	_, err := f.Fetch(ctx(t), debian10)
	if !errors.Is(err, ErrNetwork) || !errors.Is(err, download.ErrTooLarge) {
		t.Fatalf("endless body: %v", err)
	}
	cacheEmpty(t, f)
	ents, _ := os.ReadDir(filepath.Join(f.Cache.Dir, ".downloads", filepath.Dir(filepath.FromSlash(mustAP(t)))))
	if len(ents) != 0 {
		t.Fatalf("partial download left: %v", ents)
	}
}

func mustAP(t *testing.T) string {
	ap, err := debian10.ArchivePath()
	if err != nil {
		t.Fatal(err)
	}
	return ap
}
