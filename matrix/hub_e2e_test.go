package matrix

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"

	"github.com/retrobpf/retrobpf/internal/debugbtf"
	"github.com/retrobpf/retrobpf/reports"
	"github.com/retrobpf/retrobpf/vmtest/kernels/kernelstest"
)

// debugPackageBTF is 6.1's BTF from Debian's -dbg package (debugbtf),
// cached beside the test kernels.
func debugPackageBTF(t *testing.T, release, version string) string {
	t.Helper()
	out := filepath.Join(filepath.Dir(kernelstest.CacheDir()), "btfhub-fixture", release+".btf")
	if _, err := os.Stat(out); err == nil {
		return out
	}
	err := debugbtf.Make(release, version, out, os.Geteuid() == 0)
	if errors.Is(err, debugbtf.ErrUnavailable) {
		t.Skipf("cannot make BTF from the -dbg package: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// hubArchive lays btf out as a BTFHub archive entry and serves the tree
// from loopback.
func hubArchive(t *testing.T, path, release, btfFile string) string {
	t.Helper()
	raw, err := os.ReadFile(btfFile)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	xw, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(xw)
	tw.WriteHeader(&tar.Header{Name: release + ".btf", Mode: 0o644, Size: int64(len(raw)), Typeflag: tar.TypeReg})
	tw.Write(raw)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := xw.Close(); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	p := filepath.Join(root, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(root)))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestE2EHubBTFFromDebugPackage is BTFHub end to end on a kernel nobody
// here built: Debian's 6.1, booted with its own BTF hidden, gets its types
// from a loopback hub holding BTF that pahole made from Debian's -dbg
// package, and the legacy CO-RE variant loads there; the same kernel told
// to ask the hub for a distribution it does not have gets no BTF, and the
// variant fails as no-kernel-btf. 5.10 and 6.1 as packaged use their own.
func TestE2EHubBTFFromDebugPackage(t *testing.T) {
	opts := e2e(t, "../bpf/suite.yaml", "5.10", "6.1")
	k := kernelstest.Get(t, "6.1")
	_, version, _ := strings.Cut(k.Source, "=")
	btf := debugPackageBTF(t, k.Release, version)
	archive := "debian/12/x86_64/" + k.Release + ".btf.tar.xz"
	opts.Hub = hubArchive(t, archive, k.Release, btf)
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the BTF cache starts empty

	kernelsFile := filepath.Join(t.TempDir(), "kernels.yaml")
	os.WriteFile(kernelsFile, []byte(`- 5.10
- 6.1
- ref: 6.1
  name: 6.1-nobtf
  hide_btf: true
- ref: 6.1
  name: 6.1-nobtf-nohub
  hide_btf: true
  os: debian/99
`), 0o644)
	var err error
	if opts.Kernels, err = ParseKernels("@" + kernelsFile); err != nil {
		t.Fatal(err)
	}
	opts.VerifierOnly = true
	res, err := Run(context.Background(), opts)
	if res == nil {
		t.Fatal(err)
	}
	by := map[string]*reports.KernelResult{}
	for i := range res.Kernels {
		by[res.Kernels[i].Ref] = &res.Kernels[i]
	}
	for name, want := range map[string]string{"5.10": "vmlinux", "6.1": "vmlinux", "6.1-nobtf": "btfhub:" + archive, "6.1-nobtf-nohub": "none"} {
		kr := by[name]
		if kr == nil {
			t.Fatalf("no results for %s", name)
		}
		if kr.BTFSource != want {
			t.Errorf("%s: BTF source %q, want %q", name, kr.BTFSource, want)
		}
	}
	if v := findVariant(by["6.1-nobtf"], "execsnoop", "legacy"); v == nil || v.Verdict != reports.VerdictLoaded {
		t.Errorf("6.1-nobtf: execsnoop/legacy (CO-RE) %+v, want loaded with the hub's types", v)
	}
	v := findVariant(by["6.1-nobtf-nohub"], "execsnoop", "legacy")
	if v == nil || v.Verdict == reports.VerdictLoaded {
		t.Fatalf("6.1-nobtf-nohub: execsnoop/legacy %+v, want it refused without BTF", v)
	}
	if tr := v.Programs[0].Triage; v.Verdict == reports.VerdictRejected && (tr == nil || tr.Class != reports.TriageNoKernelBTF) {
		t.Errorf("6.1-nobtf-nohub: triage %+v, want no-kernel-btf", tr)
	}
	// The variant without CO-RE loads everywhere.
	for _, name := range []string{"6.1-nobtf", "6.1-nobtf-nohub"} {
		if v := findVariant(by[name], "execsnoop", "legacy-nobtf"); v == nil || v.Verdict != reports.VerdictLoaded {
			t.Errorf("%s: execsnoop/legacy-nobtf %+v, want loaded", name, v)
		}
	}
}
