package matrix

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/retrobpf/retrobpf/manifest"
	"github.com/retrobpf/retrobpf/matrix/guest"
	"github.com/retrobpf/retrobpf/reports"
	"github.com/retrobpf/retrobpf/vmtest"
)

func TestParseKernels(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "k.txt")
	os.WriteFile(f, []byte("# fleet\n5.10\n\noci:example/k:6.6 # custom\n6.1\n"), 0o644)
	got, err := ParseKernels("6.1, file:/boot/vmlinuz,@" + f + ",6.1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "6.1 file:/boot/vmlinuz 5.10 oci:example/k:6.6" {
		t.Fatalf("%q", got)
	}
	for _, bad := range []string{"", " , ", "@" + filepath.Join(dir, "missing")} {
		if _, err := ParseKernels(bad); !errors.Is(err, ErrKernelList) {
			t.Errorf("%q: %v", bad, err)
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
	var buf bytes.Buffer
	if err := GitHubMatrix(&buf, ks, 2); err != nil {
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
	if _, err := planFiles(Options{Suite: s}); err == nil || !strings.Contains(err.Error(), "inside its directory") {
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
