package matrix

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseKernelsProfiles(t *testing.T) {
	dir := t.TempDir()
	ko := filepath.Join(dir, "backport.ko")
	if err := os.WriteFile(ko, []byte("\x7fELF"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(f, []byte(`# the fleet as it runs
- 5.10
- ref: 6.1
  name: 6.1-lockdown
  cmdline: [lockdown=confidentiality]
- ref: 5.10
  name: 5.10-backport
  sysctls: {kernel.unprivileged_bpf_disabled: "1", net.core.bpf_jit_harden: "2"}
  modules: [sch_ingress]
  module_files: [backport.ko]
- ref: 6.1   # a bare ref in a mapping is the kernel as packaged
`), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ParseKernels("@" + f + ",6.1")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, k := range got {
		names = append(names, k.String())
	}
	if strings.Join(names, " ") != "5.10 6.1-lockdown 5.10-backport 6.1" {
		t.Fatalf("kernels %q", names)
	}
	bp := got[2]
	if bp.Ref.String() != "5.10" || bp.Profile.Sysctls["net.core.bpf_jit_harden"] != "2" || bp.Profile.Modules[0] != "sch_ingress" || bp.Profile.ModuleFiles[0] != ko {
		t.Errorf("5.10-backport = %+v", bp)
	}
	if got[1].Profile.Cmdline[0] != "lockdown=confidentiality" || got[1].Ref.String() != "6.1" {
		t.Errorf("6.1-lockdown = %+v", got[1])
	}

	for _, tc := range []struct{ yaml, want string }{
		{"- ref: 6.1\n  cmdline: [lockdown=integrity]\n", "a profile needs a name"},
		{"- ref: 6.1\n  name: x\n  boot: [quiet]\n", `bad.yaml:3: invalid kernel list: unknown key "boot"`},
		{"- name: x\n", "an entry needs a ref"},
		{"- ref: 6.2\n  name: x\n", "6.2"},
		{"- ref: 6.1\n  name: x\n  cmdline: [\"a b\"]\n", "one parameter per entry"},
		{"- ref: 6.1\n  name: x\n  sysctls: {\"../../etc\": 1}\n", "want a dotted name"},
		{"- ref: 6.1\n  name: x\n  modules: [../evil]\n", "want a module name"},
		{"- ref: 6.1\n  name: x\n  module_files: [missing.ko]\n", "missing.ko"},
		{"- ref: 6.1\n  name: x y\n  cmdline: [quiet]\n", "name \"x y\""},
		{"- ref: 6.1\n  name: same\n  cmdline: [quiet]\n- ref: 5.10\n  name: same\n", "same names two different kernels"},
		{"- ref: 6.1\n  name: [x\n", "fleet"},
	} {
		p := filepath.Join(dir, "bad.yaml")
		if err := os.WriteFile(p, []byte(tc.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ParseKernels("@" + p)
		if err == nil || !strings.Contains(err.Error(), tc.want) && !(tc.want == "fleet" && errors.Is(err, ErrKernelList)) {
			t.Errorf("%q: err %v, want %q", tc.yaml, err, tc.want)
		}
		if err != nil && !strings.Contains(err.Error(), "bad.yaml") {
			t.Errorf("%q: err %v does not name the file", tc.yaml, err)
		}
	}
}
