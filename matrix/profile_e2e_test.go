package matrix

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retrobpf/retrobpf/reports"
)

// TestE2EProfiles boots one Debian 6.1 kernel three ways: as packaged,
// with lockdown=confidentiality, and with the sch_ingress module loaded at
// boot (plus a sysctl). Lockdown takes bpf_probe_read_kernel away, and
// triage says so while the program without it still loads; the module
// adds the function a kprobe variant attaches to, which the profile's
// probe then reports and the selection picks.
func TestE2EProfiles(t *testing.T) {
	dir := t.TempDir()
	obj, err := os.ReadFile("testdata/profile.o")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "profile.o"), obj, 0o644); err != nil {
		t.Fatal(err)
	}
	manifestPath := filepath.Join(dir, "suite.yaml")
	if err := os.WriteFile(manifestPath, []byte(`apiVersion: retrobpf/v1
programs:
  - name: reader
    trigger: {kind: sleep}
    variants:
      - {name: probe-read, object: profile.o, programs: [read_kernel]}
      - {name: plain, object: profile.o, programs: [plain]}
  - name: qdisc
    trigger: {kind: sleep}
    variants:
      - {name: ingress, object: profile.o, programs: [on_ingress]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	kernelsFile := filepath.Join(dir, "kernels.yaml")
	if err := os.WriteFile(kernelsFile, []byte(`- 6.1
- ref: 6.1
  name: 6.1-lockdown
  cmdline: [lockdown=confidentiality]
- ref: 6.1
  name: 6.1-ingress
  modules: [sch_ingress]
  sysctls: {net.core.bpf_jit_harden: "2"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := e2e(t, manifestPath, "6.1")
	opts.Kernels, err = ParseKernels("@" + kernelsFile)
	if err != nil {
		t.Fatal(err)
	}
	opts.AttachOnly = true
	res, err := Run(context.Background(), opts)
	if err != nil && res == nil {
		t.Fatal(err)
	}
	byName := map[string]*reports.KernelResult{}
	for i := range res.Kernels {
		byName[res.Kernels[i].Ref] = &res.Kernels[i]
	}
	for _, name := range []string{"6.1", "6.1-lockdown", "6.1-ingress"} {
		if byName[name] == nil {
			t.Fatalf("no results for %s: %+v", name, res.Kernels)
		}
	}

	plain61, lock, ingress := byName["6.1"], byName["6.1-lockdown"], byName["6.1-ingress"]
	if lock.Lockdown != "confidentiality" || plain61.Lockdown != "" {
		t.Errorf("lockdown: 6.1 %q, 6.1-lockdown %q", plain61.Lockdown, lock.Lockdown)
	}
	if lock.Profile == nil || lock.Profile.Kernel != "6.1" || strings.Join(lock.Profile.Cmdline, " ") != "lockdown=confidentiality" {
		t.Errorf("6.1-lockdown profile %+v", lock.Profile)
	}
	// Lockdown: the reader that reads kernel memory is refused, as lockdown.
	if v := findVariant(plain61, "reader", "probe-read"); v == nil || v.Verdict != reports.VerdictLoaded {
		t.Errorf("6.1: probe-read %+v, want loaded", v)
	}
	v := findVariant(lock, "reader", "probe-read")
	if v == nil || v.Verdict != reports.VerdictRejected {
		t.Fatalf("6.1-lockdown: probe-read %+v, want rejected", v)
	}
	tr := v.Programs[0].Triage
	if tr == nil || tr.Class != reports.TriageLockdown || !strings.Contains(tr.Hint, "lockdown=confidentiality") {
		t.Errorf("6.1-lockdown: probe-read triage %+v, want class lockdown with a lockdown hint", tr)
	}
	// The other one loads; attaching a tracepoint fails there all the
	// same (confidentiality hides tracefs), and the error says lockdown.
	if v := findVariant(lock, "reader", "plain"); v == nil || v.Verdict != reports.VerdictLoaded || !strings.Contains(v.AttachError, "lockdown") {
		t.Errorf("6.1-lockdown: plain %+v, want loaded, its attach error naming lockdown", v)
	}
	// The module: its function is there to attach to only when loaded.
	if v := findVariant(plain61, "qdisc", "ingress"); v == nil || v.Attached || v.AttachError == "" {
		t.Errorf("6.1 without sch_ingress: ingress %+v, want an attach error", v)
	}
	// ...and the probe says so: without the module the selection rejects
	// the variant for its missing symbol.
	for _, sel := range plain61.Selection {
		if sel.Program == "qdisc" && (sel.Variant != "" || len(sel.Rejected) == 0 || sel.Rejected[0].Feature != "ksym:ingress_init") {
			t.Errorf("6.1: qdisc selection %+v, want ingress rejected for ksym:ingress_init", sel)
		}
	}
	v = findVariant(ingress, "qdisc", "ingress")
	if v == nil || !v.Attached || !v.Selected {
		t.Errorf("6.1-ingress: ingress %+v, want attached and selected", v)
	}
	if ingress.Profile == nil || ingress.Profile.Sysctls["net.core.bpf_jit_harden"] != "2" {
		t.Errorf("6.1-ingress profile %+v", ingress.Profile)
	}
	for _, k := range res.Kernels {
		if k.Outcome != reports.OutcomeOK && k.Ref != "6.1" {
			t.Errorf("%s: %s: %s %v", k.Ref, k.Outcome, k.Error, k.SelectionErrors)
		}
	}
	// The report names each profile and its boot.
	var md strings.Builder
	if err := reports.Render(&md, res, "markdown"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<b>6.1-lockdown</b>", "Profile of 6.1: boot `lockdown=confidentiality`", "Lockdown: **confidentiality**",
		"Profile of 6.1: sysctl `net.core.bpf_jit_harden=2` module `sch_ingress`"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown report lacks %q", want)
		}
	}
	// Each profile is its own results file and its own report column.
	for _, name := range []string{"6.1-lockdown", "6.1-ingress"} {
		if _, err := os.Stat(filepath.Join(opts.OutputDir, FileName(name))); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
