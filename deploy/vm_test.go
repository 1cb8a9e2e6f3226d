package deploy

import (
	"context"
	"fmt"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/retrobpf/retrobpf/manifest"
	"github.com/retrobpf/retrobpf/vmtest"
	"github.com/retrobpf/retrobpf/vmtest/kernels/kernelstest"
)

// imageFiles are the files the Dockerfile's final stage copies from the
// build context (COPY without --from), at their image paths.
func imageFiles(t *testing.T) []vmtest.File {
	t.Helper()
	root := repoRoot(t)
	var files []vmtest.File
	ins := dockerfile(t)
	last := slices.IndexFunc(ins, func(in string) bool { return in == "FROM scratch" })
	for _, in := range ins[last+1:] {
		w := strings.Fields(in)
		if len(w) < 3 || w[0] != "COPY" || strings.HasPrefix(w[1], "--") {
			continue
		}
		dest := w[len(w)-1]
		if !strings.HasSuffix(dest, "/") {
			t.Fatalf("Dockerfile %q: this test wants a directory destination", in)
		}
		for _, src := range w[1 : len(w)-1] {
			matches, err := filepath.Glob(filepath.Join(root, src))
			if err != nil || len(matches) == 0 {
				t.Fatalf("Dockerfile %q: %s matches nothing", in, src)
			}
			for _, m := range matches {
				files = append(files, vmtest.File{Path: dest + filepath.Base(m), Source: m})
			}
		}
	}
	return files
}

// configMapFiles are what the README's `kubectl create configmap` puts in
// the agent's ConfigMap (bpf/suite.yaml and the objects), at mountPath.
func configMapFiles(t *testing.T, mountPath string) []vmtest.File {
	t.Helper()
	root := repoRoot(t)
	objs, _ := filepath.Glob(filepath.Join(root, "bpf", "*_bpfel.o"))
	var files []vmtest.File
	for _, f := range append([]string{filepath.Join(root, "bpf", "suite.yaml")}, objs...) {
		files = append(files, vmtest.File{Path: path.Join(mountPath, filepath.Base(f)), Source: f})
	}
	return files
}

// TestGateInVM runs the initContainer of initcontainer-example.yaml, its
// args exactly as written, with the binary the Dockerfile builds at the
// image's /retrobpf, inside Debian's 6.1 kernel under QEMU TCG: it must
// exit 0 and write a variant for every program of the suite. With a
// manifest nothing on 6.1 can run it must exit 1 and leave the old file.
// The preflight Job's args run in the same VM against the manifest the
// image bundles.
func TestGateInVM(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a kernel in QEMU")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed (apt-get install qemu-system-x86)")
	}
	k := kernelstest.Get(t, "6.1") // skips when it cannot be had
	g, _, _ := gate(t)
	env, _ := FlagValue(g.Args, "write-env")
	man, _ := FlagValue(g.Args, "manifest")
	var preflight []string
	for _, o := range load(t) {
		if o.File == "preflight-job.yaml" {
			preflight = o.Pod.Containers[0].Args
		}
	}
	bin := dockerBinary(t)

	// A second manifest beside the first that nothing on 6.1 satisfies,
	// and an old file where the blocked run would write.
	impossible := path.Join(path.Dir(man), "impossible.yaml")
	blocked := path.Join(path.Dir(env), "blocked.env")
	const old = "RETROBPF_VARIANT_X=from-an-earlier-run\n"
	files := append([]vmtest.File{
		{Path: "/retrobpf", Source: bin}, // the image's ENTRYPOINT
		{Path: impossible, Data: []byte("apiVersion: retrobpf/v1\nprograms:\n  - name: x\n    trigger: {kind: exec}\n    variants:\n" +
			"      - {name: old-only, object: execsnoop_legacy_bpfel.o, kernel: \"<4.0\"}\n")},
		{Path: blocked, Data: []byte(old)},
	}, configMapFiles(t, path.Dir(man))...)
	files = append(files, imageFiles(t)...)
	blockedArgs := ReplaceFlag(ReplaceFlag(g.Args, "manifest", impossible), "write-env", blocked)
	plan := vmtest.Plan{
		Files: files,
		Steps: []vmtest.Step{
			{Name: "gate", Args: append([]string{"/retrobpf"}, g.Args...), Collect: []string{env}},
			{Name: "gate-blocks", Args: append([]string{"/retrobpf"}, blockedArgs...), Collect: []string{blocked}},
			{Name: "preflight", Args: append([]string{"/retrobpf"}, preflight...)},
		},
	}
	res, err := vmtest.Run(context.Background(), vmtest.Machine{Kernel: k, Accel: vmtest.AccelTCG, Agent: bin, CacheDir: t.TempDir()}, plan)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) != len(plan.Steps) {
		t.Fatalf("outcome %s (%s): %d step results\n%s", res.Outcome, res.Reason, len(res.Steps), res.ConsoleTail)
	}
	t.Logf("kernel %s, %s", res.Release, res.Outcome)

	s := res.Steps[0]
	t.Logf("gate: exit %d\n%s%s", s.ExitCode, s.Stdout, s.Stderr)
	if s.ExitCode != 0 || s.Error != "" {
		t.Fatalf("gate: exit %d (%s), want 0\n%s%s", s.ExitCode, s.Error, s.Stdout, s.Stderr)
	}
	got := string(s.Files[env])
	t.Logf("%s:\n%s", env, got)
	m, err := manifest.Load(filepath.Join(repoRoot(t), "bpf", "suite.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range m.Programs {
		n := strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(p.Name))
		i := slices.IndexFunc(strings.Split(got, "\n"), func(l string) bool { return strings.HasPrefix(l, "RETROBPF_VARIANT_"+n+"=") })
		if i < 0 {
			t.Errorf("no RETROBPF_VARIANT_%s line", n)
			continue
		}
		variant := strings.TrimPrefix(strings.Split(got, "\n")[i], "RETROBPF_VARIANT_"+n+"=")
		j := slices.IndexFunc(p.Variants, func(v manifest.Variant) bool { return v.Name == variant })
		if j < 0 {
			t.Errorf("program %s: variant %q is not in the manifest", p.Name, variant)
			continue
		}
		want = append(want, fmt.Sprintf("RETROBPF_VARIANT_%s=%s", n, variant),
			fmt.Sprintf("RETROBPF_OBJECT_%s=%s", n, path.Join(path.Dir(man), p.Variants[j].Object)))
	}
	if w := strings.Join(want, "\n") + "\n"; got != w {
		t.Errorf("%s:\n%s\nwant:\n%s", env, got, w)
	}
	// 6.1 has everything the suite's first variants need (the README's
	// demo loads them all there).
	if !strings.Contains(got, "RETROBPF_VARIANT_EXECSNOOP=modern\n") {
		t.Errorf("execsnoop: want the modern variant on 6.1")
	}

	s = res.Steps[1]
	if s.ExitCode != 1 || !strings.Contains(string(s.Stdout), "none runnable") {
		t.Errorf("blocked gate: exit %d, want 1 with the reason\n%s%s", s.ExitCode, s.Stdout, s.Stderr)
	}
	if b := string(s.Files[blocked]); b != old {
		t.Errorf("blocked gate rewrote %s: %q", blocked, b)
	}

	s = res.Steps[2]
	if s.ExitCode != 0 {
		t.Errorf("preflight %q: exit %d (%s), want 0\n%s%s", preflight, s.ExitCode, s.Error, s.Stdout, s.Stderr)
	}
}
