package probe

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestProbeCache(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SkipHelpers: true, CacheDir: dir}
	first, err := Probe(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if first.FromCache {
		t.Fatal("first probe answered from an empty cache")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "probe-*.json"))
	if len(files) != 1 {
		t.Fatalf("cache files %v", files)
	}
	again, err := Probe(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !again.FromCache || !again.ProbedAt.Equal(first.ProbedAt) || again.Kernel != first.Kernel {
		t.Fatalf("second probe not from cache: %v %v", again.FromCache, again.ProbedAt)
	}
	if again.SystemConfig.BPFJITEnable == nil && first.SystemConfig.BPFJITEnable != nil {
		t.Error("sysctls not read again on a cache hit")
	}
	// Other options probe other things: another entry.
	other, err := Probe(context.Background(), Options{SkipHelpers: true, CacheDir: dir, Ksyms: []string{"do_unlinkat"}})
	if err != nil || other.FromCache {
		t.Fatalf("other options answered from cache: %v", err)
	}
	// A damaged entry is probed again and replaced, never used.
	if err := os.WriteFile(files[0], []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	fresh, err := Probe(context.Background(), opts)
	if err != nil || fresh.FromCache {
		t.Fatalf("damaged cache entry used: %v", err)
	}
	if r := cached(dir, filepath.Base(files[0])[len("probe-"):len(filepath.Base(files[0]))-len(".json")]); r == nil {
		t.Error("damaged entry not replaced")
	}
}
