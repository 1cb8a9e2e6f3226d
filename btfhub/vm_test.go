package btfhub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf/btf"

	"github.com/retrobpf/retrobpf/btfhub"
	"github.com/retrobpf/retrobpf/btfhub/minimize"
	"github.com/retrobpf/retrobpf/vmtest"
	"github.com/retrobpf/retrobpf/vmtest/kernels/kernelstest"
)

// loadReport is what `retrobpf btf load --format json` prints.
type loadReport struct {
	Source  btfhub.Source       `json:"source"`
	Results []btfhub.LoadResult `json:"results"`
	Summary string              `json:"summary"`
}

// TestVMExternalBTF boots Debian's 5.10 kernel twice under QEMU. The first
// boot brings the kernel's own BTF back; the host packs it into a
// BTFHub-layout archive (fetched once over HTTP on loopback on the host, and
// shipped to the guest as a file:// mirror, since the guest has no network)
// and minimizes it for the objects. The second boot
// hides /sys/kernel/btf from the loader (an empty tmpfs in a private mount
// namespace) and loads the CO-RE objects (the suite's CO-RE legacy variants
// and the test objects): without BTF they must fail as no-kernel-btf; with
// the BTF fetched from the mirror, and with the minimized BTF, they must
// load; a missing field must be named.
func TestVMExternalBTF(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU twice (about a minute under TCG); skipped with -short")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed")
	}
	k := kernelstest.Get(t, "5.10")
	root, _ := filepath.Abs("..")
	agent := filepath.Join(t.TempDir(), "retrobpf")
	build := exec.Command("go", "build", "-trimpath", "-o", agent, "./cmd/retrobpf")
	build.Dir, build.Env = root, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build agent: %v\n%s", err, out)
	}
	m := vmtest.Machine{Kernel: k, Accel: vmtest.AccelTCG, Agent: agent, CacheDir: t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	// Boot 1: the kernel's BTF.
	res, err := vmtest.Run(ctx, m, vmtest.Plan{Steps: []vmtest.Step{
		{Name: "btf", Args: []string{"/bin/retrobpf", "version"}, Collect: []string{"/sys/kernel/btf/vmlinux"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != vmtest.OutcomeOK {
		t.Fatalf("boot 1: %v\n%s", res.Err(), res.ConsoleTail)
	}
	raw := res.Steps[0].Files["/sys/kernel/btf/vmlinux"]
	full, err := btfhub.ValidateBTF(raw)
	if err != nil {
		t.Fatalf("guest BTF (%d bytes): %v", len(raw), err)
	}

	// Objects: the suite's CO-RE legacy variants, plus the test object.
	objects := []string{filepath.Join(root, "btfhub/minimize/testdata/core.o")}
	legacy, _ := filepath.Glob(filepath.Join(root, "bpf/*legacy*.o"))
	for _, o := range legacy {
		if rs, err := minimize.ObjectRelocations(o); err == nil && len(rs) > 0 {
			objects = append(objects, o)
		}
	}
	if len(objects) == 1 {
		t.Log("no CO-RE legacy variants under bpf/: only the test object is loaded")
	}
	minRaw, _, err := minimize.Objects(full, objects...)
	if err != nil {
		t.Fatal(err)
	}
	if min, err := btf.LoadSpecFromReader(bytes.NewReader(minRaw)); err != nil || minimize.Check(full, min, objects...) != nil {
		t.Fatalf("minimized BTF: %v", err)
	}

	kernel := btfhub.Kernel{OSID: "debian", OSVersion: "11", Arch: "x86_64", Release: k.Release}
	ap, err := kernel.ArchivePath()
	if err != nil {
		t.Fatal(err)
	}
	tarball := tarXZ(t, k.Release+".btf", raw)

	// The same tarball over real HTTP on loopback, fetched on the host.
	hubDir := t.TempDir()
	os.MkdirAll(filepath.Join(hubDir, filepath.Dir(ap)), 0o755)
	os.WriteFile(filepath.Join(hubDir, ap), tarball, 0o644)
	srv := httptest.NewServer(http.FileServer(http.Dir(hubDir)))
	defer srv.Close()
	f := &btfhub.Fetcher{Hub: srv.URL, Cache: btfhub.Cache{Dir: t.TempDir()}, Retries: -1}
	fetched, err := f.Fetch(ctx, kernel)
	if err != nil {
		t.Fatalf("fetch the guest kernel's BTF over HTTP: %v", err)
	}
	if got, _ := os.ReadFile(fetched.File); !bytes.Equal(got, raw) {
		t.Fatal("HTTP fetch cached other bytes than the guest's BTF")
	}

	files := []vmtest.File{
		{Path: "/hub/" + ap, Data: tarball},
		{Path: "/min.btf", Data: minRaw},
		{Path: "/obj/bad.o", Source: filepath.Join(root, "btfhub/minimize/testdata/bad.o")},
	}
	var guestObjs []string
	for _, o := range objects {
		g := "/obj/" + filepath.Base(o)
		files = append(files, vmtest.File{Path: g, Source: o})
		guestObjs = append(guestObjs, g)
	}
	id := []string{"--os-id", kernel.OSID, "--os-version", kernel.OSVersion, "--arch", kernel.Arch, "--release", kernel.Release}
	load := func(name string, args ...string) vmtest.Step {
		argv := append([]string{"/bin/retrobpf", "btf", "load", "--hide-kernel-btf", "--format", "json"}, args...)
		return vmtest.Step{Name: name, Args: argv, Timeout: 3 * time.Minute}
	}
	plan := vmtest.Plan{Files: files, Steps: []vmtest.Step{
		load("no-btf", append(append(id, "--cache", "/tmp/empty"), guestObjs...)...),
		load("hub", append(append(id, "--hub", "file:///hub", "--cache", "/tmp/cache"), guestObjs...)...),
		load("minimized", append([]string{"--btf", "/min.btf"}, guestObjs...)...),
		load("bad", append(id, "--cache", "/tmp/cache", "/obj/bad.o")...),
	}}
	res, err = vmtest.Run(ctx, m, plan)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) != len(plan.Steps) {
		t.Fatalf("boot 2: %v, %d steps\n%s", res.Err(), len(res.Steps), res.ConsoleTail)
	}
	report := func(i int, wantExit int) loadReport {
		s := res.Steps[i]
		var r loadReport
		if err := json.Unmarshal(s.Stdout, &r); err != nil || s.ExitCode != wantExit {
			t.Fatalf("%s: exit %d (want %d), %v\nstdout: %s\nstderr: %s", s.Name, s.ExitCode, wantExit, err, s.Stdout, s.Stderr)
		}
		t.Logf("%s: kernel types %s: %s", s.Name, r.Source, r.Summary)
		return r
	}
	classes := func(r loadReport) map[string]bool {
		out := map[string]bool{}
		for _, x := range r.Results {
			out[x.Class] = true
		}
		return out
	}

	if r := report(0, 1); r.Source.Kind != "none" || len(classes(r)) != 1 || !classes(r)[btfhub.ClassNoKernelBTF] {
		t.Errorf("without BTF: %+v", r)
	}
	if r := report(1, 0); r.Source.Kind != btfhub.SourceHub || !strings.HasPrefix(r.Source.URL, "file:///hub/") {
		t.Errorf("with the mirror: %+v", r)
	}
	if r := report(2, 0); r.Source.Kind != btfhub.SourceFlag {
		t.Errorf("with minimized BTF: %+v", r)
	}
	r := report(3, 1)
	if r.Source.Kind != btfhub.SourceCache || len(r.Results) != 1 || r.Results[0].Class != btfhub.ClassCORERelocation ||
		len(r.Results[0].Mismatches) != 1 || r.Results[0].Mismatches[0].Field != "task_struct.retrobpf_no_such_field" {
		t.Errorf("bad.o: %+v", r)
	}
}

func tarXZ(t *testing.T, name string, data []byte) []byte {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o444); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.tar.xz")
	cmd := exec.Command("tar", "-C", dir, "-cJf", out, name)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("tar -cJ (needs xz): %v %s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
