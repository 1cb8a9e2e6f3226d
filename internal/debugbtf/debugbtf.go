package debugbtf

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrUnavailable is returned when the tools (apt-get, dpkg-deb, tar,
// pahole) or the package cannot be had on this machine.
var ErrUnavailable = errors.New("debug package BTF unavailable")

// Make writes to out the BTF of the Debian kernel release (uname -r, e.g.
// 6.1.0-57-cloud-amd64) at package version, from
// linux-image-RELEASE-dbg=VERSION (about 280 MB). out is written whole or
// not at all. update runs apt-get update once when the download fails
// (a fresh machine's lists may predate the package; needs root).
func Make(release, version, out string, update bool) error {
	for _, tool := range []string{"apt-get", "dpkg-deb", "tar", "pahole"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%w: %s not installed (make deps-test installs dwarves)", ErrUnavailable, tool)
		}
	}
	work, err := os.MkdirTemp("", "debugbtf-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	run := func(name string, args ...string) error {
		cmd := exec.Command(name, args...)
		cmd.Dir = work
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(b)))
		}
		return nil
	}
	pkg := "linux-image-" + release + "-dbg=" + version
	err = run("apt-get", "download", pkg)
	if err != nil && update {
		if uerr := run("apt-get", "update", "-q"); uerr == nil {
			err = run("apt-get", "download", pkg)
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	debs, _ := filepath.Glob(filepath.Join(work, "*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("apt-get download %s left %v", pkg, debs)
	}
	vmlinux := "./usr/lib/debug/boot/vmlinux-" + release
	if err := run("sh", "-c", `dpkg-deb --fsys-tarfile "$1" | tar -x "$2"`, "sh", debs[0], vmlinux); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := run("pahole", "--btf_encode_detached", tmp, filepath.Join(work, vmlinux)); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, out)
}
