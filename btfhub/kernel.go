package btfhub

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/retrobpf/retrobpf/internal/inputfile"
)

// ErrBadKernel is returned for a kernel identity that cannot name a file in
// the archive (missing or unsafe fields, an architecture the archive lacks).
var ErrBadKernel = errors.New("bad kernel identity")

// Kernel identifies one kernel build as the archive keys it: the distribution
// and its version (from /etc/os-release), the machine and the release (from
// uname). The same release string exists on different distributions, so all
// four fields are needed.
type Kernel struct {
	OSID      string `json:"os_id"`      // os-release ID, e.g. "debian"
	OSVersion string `json:"os_version"` // os-release VERSION_ID, e.g. "10"
	Arch      string `json:"arch"`       // uname -m, e.g. "x86_64" or "aarch64"
	Release   string `json:"release"`    // uname -r, e.g. "4.19.0-27-amd64"
}

func (k Kernel) String() string {
	return fmt.Sprintf("%s %s %s %s", k.OSID, k.OSVersion, k.Arch, k.Release)
}

// debianCodenames maps the Debian releases the archive stores under a
// codename directory: it lists debian/9 and debian/10 but debian/bullseye.
var debianCodenames = map[string]string{"11": "bullseye"}

// majorOnly lists the distributions whose archive directories carry only the
// major version (VERSION_ID "8.4" lives under rhel/8).
var majorOnly = map[string]bool{
	"rhel": true, "centos": true, "ol": true, "almalinux": true, "rocky": true, "debian": true,
}

// ArchiveDir returns the distribution, version and architecture directories
// of k in the archive, with the archive's naming quirks applied: aarch64 is
// arm64, RHEL/CentOS/Oracle Linux use the major version, Debian 11 is
// "bullseye", Amazon Linux 2018.03 is "1".
func (k Kernel) ArchiveDir() (id, version, arch string, err error) {
	id = strings.ToLower(strings.TrimSpace(k.OSID))
	version = strings.TrimSpace(k.OSVersion)
	if err := checkComponent("os id", id); err != nil {
		return "", "", "", err
	}
	if err := checkComponent("os version", version); err != nil {
		return "", "", "", err
	}
	if majorOnly[id] {
		version, _, _ = strings.Cut(version, ".")
	}
	switch id {
	case "debian":
		if c, ok := debianCodenames[version]; ok {
			version = c
		}
	case "amzn":
		if strings.HasPrefix(version, "2018.") || strings.HasPrefix(version, "2017.") {
			version = "1"
		}
	}
	if version == "" {
		return "", "", "", fmt.Errorf("%w: empty os version", ErrBadKernel)
	}
	arch, err = ArchiveArch(k.Arch)
	return id, version, arch, err
}

// ArchivePath returns the path of k's tarball relative to the archive root,
// e.g. "debian/10/x86_64/4.19.0-27-amd64.btf.tar.xz".
func (k Kernel) ArchivePath() (string, error) {
	id, version, arch, err := k.ArchiveDir()
	if err != nil {
		return "", err
	}
	if err := checkRelease(k.Release); err != nil {
		return "", err
	}
	return path.Join(id, version, arch, k.Release+".btf.tar.xz"), nil
}

// ArchiveArch maps a uname -m machine name to the archive's architecture
// directory. The archive only has x86_64 and arm64.
func ArchiveArch(machine string) (string, error) {
	switch strings.TrimSpace(machine) {
	case "x86_64", "amd64":
		return "x86_64", nil
	case "aarch64", "arm64":
		return "arm64", nil
	case "":
		return "", fmt.Errorf("%w: empty architecture", ErrBadKernel)
	default:
		return "", fmt.Errorf("%w: architecture %q is not in the archive (only x86_64 and arm64)", ErrBadKernel, machine)
	}
}

// checkComponent rejects empty values and anything that could escape a
// directory or is not a plain os-release token.
func checkComponent(what, v string) error {
	if v == "" {
		return fmt.Errorf("%w: empty %s", ErrBadKernel, what)
	}
	if v == "." || v == ".." || len(v) > 64 {
		return fmt.Errorf("%w: invalid %s %q", ErrBadKernel, what, v)
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("%w: invalid character %q in %s %q", ErrBadKernel, r, what, v)
		}
	}
	return nil
}

func checkRelease(rel string) error {
	if rel == "" {
		return fmt.Errorf("%w: empty kernel release", ErrBadKernel)
	}
	if rel == "." || rel == ".." || len(rel) > 128 {
		return fmt.Errorf("%w: invalid kernel release %q", ErrBadKernel, rel)
	}
	for _, r := range rel {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-+~", r)) {
			return fmt.Errorf("%w: invalid character %q in kernel release %q", ErrBadKernel, r, rel)
		}
	}
	return nil
}

// ParseOSRelease reads ID and VERSION_ID from an os-release file
// (os-release(5): KEY=value lines, values optionally quoted).
func ParseOSRelease(r io.Reader) (id, versionID string, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		val = unquote(strings.TrimSpace(val))
		switch strings.TrimSpace(key) {
		case "ID":
			id = val
		case "VERSION_ID":
			versionID = val
		}
	}
	if err := sc.Err(); err != nil {
		return "", "", err
	}
	if id == "" {
		return "", "", fmt.Errorf("%w: os-release has no ID", ErrBadKernel)
	}
	return id, versionID, nil
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
		if strings.ContainsRune(v, '\\') {
			var b strings.Builder
			for i := 0; i < len(v); i++ {
				if v[i] == '\\' && i+1 < len(v) {
					i++
				}
				b.WriteByte(v[i])
			}
			v = b.String()
		}
	}
	return v
}

// HostKernel identifies the running kernel from osRelease (normally
// /etc/os-release, falling back to /usr/lib/os-release when it is empty)
// and uname.
func HostKernel(osRelease string) (Kernel, error) {
	paths := []string{osRelease}
	if osRelease == "" {
		paths = []string{"/etc/os-release", "/usr/lib/os-release"}
	}
	var k Kernel
	var lastErr error
	for _, p := range paths {
		f, err := inputfile.Open(p, inputfile.MaxSmall)
		if err != nil {
			lastErr = err
			continue
		}
		k.OSID, k.OSVersion, err = ParseOSRelease(f)
		f.Close()
		if err != nil {
			return Kernel{}, fmt.Errorf("%s: %w", p, err)
		}
		lastErr = nil
		break
	}
	if lastErr != nil {
		return Kernel{}, fmt.Errorf("read os-release: %w", lastErr)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return Kernel{}, fmt.Errorf("uname: %w", err)
	}
	k.Release = string(bytes.TrimRight(u.Release[:], "\x00"))
	k.Arch = string(bytes.TrimRight(u.Machine[:], "\x00"))
	return k, nil
}
