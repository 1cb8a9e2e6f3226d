package guest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// ApplyProfile makes the running kernel the job's profile: its sysctls
// written and its modules loaded (a module already loaded is fine). Every
// step applies it, so the probe and each program's step see one kernel.
func (j *Job) ApplyProfile() error {
	if j.HideKernelBTF {
		if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err == nil {
			if err := unix.Mount("tmpfs", "/sys/kernel/btf", "tmpfs", unix.MS_RDONLY, "size=4k"); err != nil {
				return fmt.Errorf("hide /sys/kernel/btf: %w", err)
			}
		}
	}
	names := make([]string, 0, len(j.Sysctls))
	for k := range j.Sysctls {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.Contains(name, "..") || strings.ContainsRune(name, '/') {
			return fmt.Errorf("%w: sysctl %q", ErrInput, name)
		}
		p := filepath.Join("/proc/sys", strings.ReplaceAll(name, ".", "/"))
		if err := os.WriteFile(p, []byte(j.Sysctls[name]+"\n"), 0o644); err != nil {
			return fmt.Errorf("sysctl %s=%s: %w", name, j.Sysctls[name], err)
		}
	}
	for _, m := range j.Modules {
		b, err := os.ReadFile(m)
		if err != nil {
			return fmt.Errorf("module %s: %w", m, err)
		}
		if err := unix.InitModule(b, ""); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("load module %s: %w", filepath.Base(m), err)
		}
	}
	return nil
}

// Lockdown returns the kernel's lockdown mode ("none", "integrity",
// "confidentiality"), from securityfs (mounted if it is not), or "" when
// the kernel has no lockdown LSM.
func Lockdown() string {
	const file = "/sys/kernel/security/lockdown"
	if _, err := os.Stat(file); err != nil {
		// A fresh guest has no securityfs mounted; mounting it changes
		// nothing the programs see.
		unix.Mount("securityfs", "/sys/kernel/security", "securityfs", 0, "")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		// No securityfs: what the boot asked for is the best answer.
		cmdline, _ := os.ReadFile("/proc/cmdline")
		for _, w := range strings.Fields(string(cmdline)) {
			if mode, ok := strings.CutPrefix(w, "lockdown="); ok && (mode == "integrity" || mode == "confidentiality") {
				return mode
			}
		}
		return ""
	}
	// "none integrity [confidentiality]": the bracketed one is in force.
	s := string(data)
	if i, j := strings.IndexByte(s, '['), strings.IndexByte(s, ']'); i >= 0 && j > i {
		return s[i+1 : j]
	}
	return ""
}
