package matrix

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/retrobpf/retrobpf/internal/inputfile"
	"github.com/retrobpf/retrobpf/manifest"
	"github.com/retrobpf/retrobpf/matrix/guest"
	"github.com/retrobpf/retrobpf/reports"
	"github.com/retrobpf/retrobpf/vmtest"
	"github.com/retrobpf/retrobpf/vmtest/kernels"
	"github.com/retrobpf/retrobpf/vmtest/kernels/kernelstest"
)

func TestParseKernels(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "k.txt")
	os.WriteFile(f, []byte("# fleet\n5.10\n\noci:example/k:6.6 # custom\n6.1\n"), 0o644)
	img := filepath.Join(dir, "vmlinuz")
	os.WriteFile(img, kernelstest.FakeBzImage("6.6.0-test"), 0o644)
	got, err := ParseKernels("6.1, file:" + img + ",@" + f + ",6.1")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range got {
		names = append(names, r.String())
	}
	if strings.Join(names, " ") != "6.1 file:"+img+" 5.10 oci:example/k:6.6" {
		t.Fatalf("%q", got)
	}
	for _, bad := range []string{"", " , ", "@" + filepath.Join(dir, "missing")} {
		if _, err := ParseKernels(bad); !errors.Is(err, ErrKernelList) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// A reference that cannot be a kernel is refused while the list is
// parsed, naming it (and its line in a @FILE), not when its VM would boot.
func TestParseKernelsRefusesBadRefs(t *testing.T) {
	f := filepath.Join(t.TempDir(), "k.txt")
	os.WriteFile(f, []byte("6.1\n# next one is a typo\n6.2\n"), 0o644)
	for _, tc := range []struct {
		list, want string
		is         error
	}{
		{"6.1,6.2", `"6.2"`, kernels.ErrUnknownAlias},
		{"nonsense", `"nonsense"`, kernels.ErrBadRef},
		{"6.1, deb:", `"deb:"`, kernels.ErrBadRef},
		{"@" + f, f + `:3: unknown kernel alias "6.2"`, kernels.ErrUnknownAlias},
	} {
		_, err := ParseKernels(tc.list)
		if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %v naming %s", tc.list, err, tc.is, tc.want)
		}
	}
}

// A @FIFO is refused at once: it used to block until a writer appeared.
func TestParseKernelsRefusesFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, err := ParseKernels("@" + fifo); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrKernelList) || !errors.Is(err, inputfile.ErrNotRegular) {
			t.Fatalf("err = %v, want ErrKernelList and ErrNotRegular", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ParseKernels blocks on a FIFO")
	}
}

func TestRunRefusesUnusableOutputDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := Run(t.Context(), Options{OutputDir: filepath.Join(file, "results")}); !errors.Is(err, ErrOutputDir) {
		t.Fatalf("err = %v, want ErrOutputDir", err)
	}
}

// The plan passes each step its options as a Job file, not argv, and
// leaves the kernel config to vmtest.Run, which ships it for every VM
// (adding it here too put /boot/config-* into the initramfs twice).
func TestKernelPlan(t *testing.T) {
	s, err := manifest.Load("testdata/host.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "config")
	os.WriteFile(cfg, []byte("CONFIG_BPF=y\n"), 0o644)
	k := &kernels.Kernel{Ref: "6.1", Release: "6.1.0-x", Config: cfg, BTF: "/host/vmlinux.btf"}
	o := Options{Suite: s, Samples: 7, VerifierOnly: true, PanicAt: map[string]string{"6.1": s.Programs[1].Name}}
	files, err := planFiles(o)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := kernelPlan(o, "6.1", Profile{}, k, files, true, btfSource{}, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	data := map[string][]byte{}
	for _, f := range plan.Files {
		if strings.HasPrefix(f.Path, "/boot/") {
			t.Errorf("plan ships %s: vmtest.Run adds the config", f.Path)
		}
		data[f.Path] = f.Data
	}
	if len(plan.Steps) != 1+len(s.Programs) {
		t.Fatalf("%d steps", len(plan.Steps))
	}
	for i, st := range plan.Steps {
		if len(st.Args) != 4 || st.Args[2] != "--job" {
			t.Fatalf("step %s: args %q, want guest-run --job FILE", st.Name, st.Args)
		}
		job, err := guest.DecodeJob(data[st.Args[3]])
		if err != nil {
			t.Fatalf("step %s: %v", st.Name, err)
		}
		if job.Ref != "6.1" || job.BTF != guestBTF || !job.BlockDevice || len(st.Collect) != 1 || st.Collect[0] != job.Output {
			t.Errorf("step %s: %+v", st.Name, job)
		}
		if i == 0 {
			if !job.ProbeOnly || job.Output != guestProbe || job.VerifierOnly || job.Samples != 0 {
				t.Errorf("probe step: %+v", job)
			}
			continue
		}
		p := s.Programs[i-1]
		if len(job.Programs) != 1 || job.Programs[0] != p.Name || job.ProbeReport != guestProbe || !job.VerifierOnly || job.Samples != 7 {
			t.Errorf("step %s: %+v", st.Name, job)
		}
		if panics := i == 2; panics != (job.Fault == "panic") || panics != (len(st.Env) == 1) {
			t.Errorf("step %s: fault %q, env %q", st.Name, job.Fault, st.Env)
		}
	}
}

func TestShards(t *testing.T) {
	ks := []string{"4.19", "5.10", "6.1", "6.12", "6.6"}
	seen := map[string]int{}
	for i := 1; i <= 3; i++ {
		sh, err := ParseShard(strings.Join([]string{string(rune('0' + i)), "3"}, "/"))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range ShardKernels(ks, sh) {
			seen[k]++
		}
	}
	if len(seen) != len(ks) {
		t.Fatalf("shards cover %v", seen)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s in %d shards", k, n)
		}
	}
	for _, bad := range []string{"0/3", "4/3", "1", "a/b", "1/0"} {
		if _, err := ParseShard(bad); !errors.Is(err, ErrShard) {
			t.Errorf("%q accepted", bad)
		}
	}
	refs, err := ParseKernels("oci:k:4.19,5.10,6.1,6.12,oci:k:6.6")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := GitHubMatrix(&buf, refs, 2); err != nil {
		t.Fatal(err)
	}
	var m struct {
		Include []struct{ Shard, Kernels string }
	}
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil || len(m.Include) != 2 || m.Include[1].Kernels != "5.10,6.12" {
		t.Fatalf("%s %v", buf.String(), err)
	}
}

func TestFileName(t *testing.T) {
	if got := FileName("oci:quay.io/x/kernel:6.6@sha256:ab"); strings.ContainsAny(got, "/:@") || !strings.HasSuffix(got, ".json") {
		t.Fatal(got)
	}
	// Injective: refs that differ only where the old scheme wrote '_'.
	seen := map[string]string{}
	for _, ref := range []string{
		"file:/a/k_1", "file:/a/k/1", "file:/a/k:1",
		"deb:6.1.0-18+deb12u1", "deb:6.1.0-18~deb12u1", "deb:6.1.0-18_deb12u1",
		"6.1", "..", ".", strings.Repeat("file:/very/long/path/", 30) + "a", strings.Repeat("file:/very/long/path/", 30) + "b",
	} {
		name := FileName(ref)
		if other, dup := seen[name]; dup {
			t.Errorf("%q and %q share %s", ref, other, name)
		}
		seen[name] = ref
		if len(name) > 255 || strings.ContainsAny(name, "/") || strings.HasPrefix(name, ".") {
			t.Errorf("%q: unusable file name %q", ref, name)
		}
	}
}

// TestResumeChecksRef: a saved file is only taken for the kernel it
// names, whatever its file name.
func TestResumeChecksRef(t *testing.T) {
	s, err := manifest.Load("testdata/host.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Suite: s, OutputDir: t.TempDir()}
	kr := &reports.KernelResult{Ref: "file:/a/k_1", Outcome: reports.OutcomeOK}
	if err := saveKernel(o, time.Now(), kr); err != nil {
		t.Fatal(err)
	}
	if finished(o, "file:/a/k_1") == nil {
		t.Fatal("the kernel's own result is not taken on resume")
	}
	// Planted under the other ref's name, as the old names allowed.
	if err := os.Rename(filepath.Join(o.OutputDir, FileName("file:/a/k_1")), filepath.Join(o.OutputDir, FileName("file:/a/k/1"))); err != nil {
		t.Fatal(err)
	}
	if kr := finished(o, "file:/a/k/1"); kr != nil {
		t.Fatalf("another kernel's result taken on resume: %+v", kr)
	}
}

// fromVM merges the per-program steps that finished and says what
// happened to the rest.
func TestFromVM(t *testing.T) {
	s, err := manifest.Load("testdata/host.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Suite: s, OutputDir: t.TempDir()}
	step := func(i int, name string, v ...reports.VariantResult) vmtest.StepResult {
		out := guest.Output{Kernel: reports.KernelResult{Release: "6.1.0-x", BTFSource: "vmlinux",
			Selection: []reports.Selection{{Program: name, Variant: "good"}}, Variants: v},
			Logs: map[string][]byte{"logs/6.1/" + name + ".log.gz": []byte("gz")}}
		data, _ := json.Marshal(out)
		return vmtest.StepResult{Name: name, Files: map[string][]byte{guestOutput(i): data}}
	}
	good := func(p string) reports.VariantResult {
		return reports.VariantResult{Program: p, Variant: "good", Verdict: reports.VerdictLoaded, Selected: true,
			Overhead: &reports.Overhead{Trigger: "test-run"}}
	}
	all := &vmtest.Result{Outcome: vmtest.OutcomeOK, Accel: vmtest.AccelTCG, BootToReady: 2 * time.Second, Total: time.Minute,
		Steps: []vmtest.StepResult{{Name: "probe"}, step(0, "xdpcount", good("xdpcount")), step(1, "tccount", good("tccount")), step(2, "loconnect", good("loconnect"))}}
	kr := fromVM(&reports.KernelResult{Ref: "6.1"}, all, o, t.Logf)
	if kr.Outcome != reports.OutcomeOK || len(kr.Variants) != 3 || len(kr.Selection) != 3 || !kr.Emulated || !kr.Variants[0].Overhead.Emulated || *kr.BootSeconds != 2 {
		t.Fatalf("%+v", kr)
	}
	if _, err := os.Stat(filepath.Join(o.OutputDir, "logs/6.1/tccount.log.gz")); err != nil {
		t.Fatal(err)
	}

	panicked := &vmtest.Result{Outcome: vmtest.OutcomeKernelPanic, Reason: "Kernel panic - not syncing", ConsoleTail: "Kernel panic - not syncing",
		Steps: []vmtest.StepResult{{Name: "probe"}, step(0, "xdpcount", good("xdpcount"))}}
	kr = fromVM(&reports.KernelResult{Ref: "6.1"}, panicked, o, t.Logf)
	if kr.Outcome != reports.OutcomeKernelPanic || len(kr.Variants) != 1 || !strings.Contains(kr.Error, "1 of 3 programs finished") || kr.ConsoleTail == "" {
		t.Fatalf("%+v", kr)
	}

	crashed := &vmtest.Result{Outcome: vmtest.OutcomeFailed, Steps: []vmtest.StepResult{{Name: "probe"},
		step(0, "xdpcount", good("xdpcount")), {Name: "tccount", ExitCode: 2, Stderr: []byte("panic: runtime error")}, step(2, "loconnect", good("loconnect"))}}
	kr = fromVM(&reports.KernelResult{Ref: "6.1"}, crashed, o, t.Logf)
	if kr.Outcome != reports.OutcomeFailed || !strings.Contains(kr.Error, "tccount: guest-run wrote no results (exit 2): panic: runtime error") || len(kr.Variants) != 2 {
		t.Fatalf("%+v", kr)
	}

	sel := step(1, "tccount", good("tccount"))
	var g guest.Output
	json.Unmarshal(sel.Files[guestOutput(1)], &g)
	g.Kernel.SelectionErrors = []string{"tccount: selected variant \"good\" did not load"}
	sel.Files[guestOutput(1)], _ = json.Marshal(g)
	withSel := &vmtest.Result{Outcome: vmtest.OutcomeFailed, Steps: []vmtest.StepResult{{Name: "probe"}, step(0, "xdpcount", good("xdpcount")), sel, step(2, "loconnect", good("loconnect"))}}
	kr = fromVM(&reports.KernelResult{Ref: "6.1"}, withSel, o, t.Logf)
	if kr.Outcome != reports.OutcomeFailed || len(kr.SelectionErrors) != 1 {
		t.Fatalf("%+v", kr)
	}
	r := &reports.Results{Kernels: []reports.KernelResult{*kr}}
	if why := Failed(r); len(why) != 1 || !strings.Contains(why[0], "did not load") {
		t.Fatalf("%v", why)
	}
}

func TestPlanFilesRefusesEscapingObjects(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x.o"), nil, 0o644)
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	m := filepath.Join(sub, "m.yaml")
	os.WriteFile(m, []byte("apiVersion: retrobpf/v1\nprograms:\n  - name: a\n    trigger: {kind: exec}\n    variants:\n      - name: v\n        object: ../x.o\n"), 0o644)
	s, err := manifest.Load(m)
	if err != nil {
		t.Skipf("manifest not loadable here: %v", err)
	}
	if _, err := planFiles(Options{Suite: s}); !errors.Is(err, ErrUnshippable) || !strings.Contains(err.Error(), "inside its directory") {
		t.Fatalf("%v", err)
	}
	s2, err := manifest.Load("testdata/host.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files, err := planFiles(Options{Suite: s2})
	if err != nil || files[0].Path != "/suite/suite.yaml" || len(files) != 6 {
		t.Fatalf("%d files: %v", len(files), err)
	}
}

// TestKernelPlanBTFOrder: per kernel, --btf KERNEL=FILE, then a btf-<v>
// shipped with the kernel, then a bare --btf; the guest uses the file only
// when the kernel has no vmlinux BTF, and the results name the host file.
func TestKernelPlanBTFOrder(t *testing.T) {
	s, err := manifest.Load("testdata/host.yaml")
	if err != nil {
		t.Fatal(err)
	}
	shipped := &kernels.Kernel{Ref: "dir:/k/4.19", BTF: "/k/4.19/boot/btf-4.19.0"}
	bare := &kernels.Kernel{Ref: "5.10"}
	for _, tc := range []struct {
		o    Options
		k    *kernels.Kernel
		want string // host file shipped, "" for none
	}{
		{Options{Suite: s}, bare, ""},
		{Options{Suite: s, BTF: "/x/default.btf"}, bare, "/x/default.btf"},
		{Options{Suite: s, BTF: "/x/default.btf"}, shipped, shipped.BTF},
		{Options{Suite: s, BTF: "/x/default.btf", BTFFor: map[string]string{"dir:/k/4.19": "/x/419.btf"}}, shipped, "/x/419.btf"},
		{Options{Suite: s, BTFFor: map[string]string{"dir:/k/4.19": "/x/419.btf"}}, bare, ""},
	} {
		plan, err := kernelPlan(tc.o, tc.k.Ref, Profile{}, tc.k, nil, false, btfSource{}, t.Logf)
		if err != nil {
			t.Fatal(err)
		}
		var shippedFrom string
		for _, f := range plan.Files {
			if f.Path == guestBTF {
				shippedFrom = f.Source
			}
		}
		if shippedFrom != tc.want {
			t.Errorf("%s with %+v: ships %q, want %q", tc.k.Ref, tc.o.BTFFor, shippedFrom, tc.want)
		}
		job, err := guest.DecodeJob(planJob(t, plan))
		if err != nil {
			t.Fatal(err)
		}
		if tc.want != "" && (!job.BTFIfMissing || job.BTFLabel != "file:"+tc.want || job.BTF != guestBTF) {
			t.Errorf("%s: job %+v", tc.k.Ref, job)
		}
	}
}

// planJob returns the job document of a plan's first step.
func planJob(t *testing.T, plan vmtest.Plan) []byte {
	t.Helper()
	for _, f := range plan.Files {
		if f.Path == plan.Steps[0].Args[3] {
			return f.Data
		}
	}
	t.Fatal("no job file for the first step")
	return nil
}
