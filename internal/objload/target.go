package objload

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"

	"github.com/retrobpf/retrobpf/internal/inputfile"
	"github.com/retrobpf/retrobpf/internal/kversion"
)

// Options describe the kernel the object is prepared for. The zero value
// is the running kernel.
type Options struct {
	// Release is the target's `uname -r`. Empty: the running kernel's.
	Release string
	// Version is the target's `uname -v`; a Debian kernel's names its real
	// patch level there ("Debian 6.1.76-1"), which libbpf prefers for
	// LINUX_KERNEL_VERSION. Empty for the running kernel: read from uname.
	Version string
	// Config is the target's kernel configuration (.config text). nil:
	// /boot/config-<Release>, then /proc/config.gz for the running kernel.
	// Read only when the object has a CONFIG_ extern.
	Config []byte
	// KernelTypes is the target's BTF, for typed __ksym variables. nil:
	// the running kernel's. Read only when the object has a typed ksym.
	KernelTypes *btf.Spec
	// Virtual sets LINUX_ externs (LINUX_HAS_BPF_COOKIE, ...). Those not
	// given are probed on the running kernel, or, for another target,
	// derived from its release.
	Virtual map[string]uint64
}

func (o Options) running() bool {
	if o.Release == "" {
		return true
	}
	rel, _ := uname()
	return rel == o.Release
}

func uname() (release, version string) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", ""
	}
	return unix.ByteSliceToString(u.Release[:]), unix.ByteSliceToString(u.Version[:])
}

func (o Options) release() string {
	if o.Release != "" {
		return o.Release
	}
	rel, _ := uname()
	return rel
}

var debianVersion = regexp.MustCompile(`Debian (\d+\.\d+\.\d+)`)

// kernelVersion is libbpf's get_kernel_version: Ubuntu's upstream version
// from /proc/version_signature (running kernel only), the Debian version
// from uname -v, else the release's leading x.y.z.
func (o Options) kernelVersion() (kversion.Version, error) {
	ver := o.Version
	if ver == "" && o.running() {
		_, ver = uname()
		if raw, err := inputfile.Read("/proc/version_signature", inputfile.MaxSmall); err == nil {
			if v, ok := ubuntuVersion(string(raw)); ok {
				return v, nil
			}
		}
	}
	if m := debianVersion.FindStringSubmatch(ver); m != nil {
		if v, err := kversion.Parse(m[1]); err == nil {
			return v, nil
		}
	}
	return kversion.Parse(o.release())
}

// ubuntuVersion reads /proc/version_signature ("Ubuntu 5.15.0-91.101-generic
// 5.15.131"): the third field is the upstream version.
func ubuntuVersion(sig string) (kversion.Version, bool) {
	f := strings.Fields(sig)
	if len(f) < 3 {
		return kversion.Version{}, false
	}
	v, err := kversion.Parse(f[2])
	return v, err == nil
}

// maxConfig bounds a kernel config, decompressed (a distribution's is
// ~300 KB).
const maxConfig = 16 << 20

// config returns the target's kernel config values.
func (o Options) config() (map[string]string, string, error) {
	if o.Config != nil {
		return parseConfig(string(o.Config)), "the given config", nil
	}
	path := "/boot/config-" + o.release()
	raw, err := inputfile.Read(path, maxConfig)
	if err == nil {
		return parseConfig(string(raw)), path, nil
	}
	if !o.running() {
		return nil, "", err
	}
	f, gerr := inputfile.Open("/proc/config.gz", maxConfig)
	if gerr != nil {
		return nil, "", fmt.Errorf("%w; /proc/config.gz: %w", err, gerr)
	}
	defer f.Close()
	zr, gerr := gzip.NewReader(f)
	if gerr != nil {
		return nil, "", fmt.Errorf("/proc/config.gz: %w", gerr)
	}
	text, gerr := io.ReadAll(io.LimitReader(zr, maxConfig+1))
	if gerr != nil {
		return nil, "", fmt.Errorf("/proc/config.gz: %w", gerr)
	}
	if len(text) > maxConfig {
		return nil, "", fmt.Errorf("/proc/config.gz: %w: more than %d bytes decompressed", inputfile.ErrTooLarge, maxConfig)
	}
	return parseConfig(string(text)), "/proc/config.gz", nil
}

// virtual returns the value of a LINUX_ extern libbpf knows, and false for
// one it does not.
func (o Options) virtual(name string) (uint64, bool, error) {
	if v, ok := o.Virtual[name]; ok {
		return v, true, nil
	}
	switch name {
	case "LINUX_KERNEL_VERSION":
		kv, err := o.kernelVersion()
		if err != nil {
			return 0, true, fmt.Errorf("%w: LINUX_KERNEL_VERSION: %w", ErrUnresolved, err)
		}
		return uint64(kv.Code()), true, nil
	case "LINUX_HAS_BPF_COOKIE":
		if o.running() {
			err := features.HaveProgramHelper(ebpf.Kprobe, asm.FnGetAttachCookie)
			return b2u64(err == nil), true, nil
		}
		kv, err := o.kernelVersion()
		return b2u64(err == nil && kv.AtLeast(kversion.Version{Major: 5, Minor: 15})), true, nil
	case "LINUX_HAS_SYSCALL_WRAPPER":
		if o.running() {
			return b2u64(haveSyscallWrapper()), true, nil
		}
		kv, err := o.kernelVersion()
		// x86-64 got pt_regs syscall wrappers in 4.17, arm64 in 4.19.
		since := kversion.Version{Major: 4, Minor: 17}
		if runtime.GOARCH == "arm64" {
			since.Minor = 19
		}
		return b2u64(err == nil && kv.AtLeast(since)), true, nil
	}
	return 0, false, nil
}

// syscallPrefix is the arch prefix of syscall wrappers (libbpf's
// arch_specific_syscall_pfx).
var syscallPrefix = map[string]string{
	"amd64": "__x64_", "386": "__ia32_", "arm64": "__arm64_", "s390x": "__s390x_",
	"arm": "__arm_", "ppc64le": "", "riscv64": "__riscv_", "loong64": "",
}

// haveSyscallWrapper reports whether the running kernel's syscalls go
// through pt_regs wrappers (__x64_sys_bpf), as libbpf's
// probe_kern_syscall_wrapper decides.
func haveSyscallWrapper() bool {
	pfx, ok := syscallPrefix[runtime.GOARCH]
	if !ok || pfx == "" {
		return false
	}
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return false
	}
	defer f.Close()
	want := []byte(" " + pfx + "sys_bpf")
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		if i := bytes.Index(line, want); i >= 0 {
			rest := line[i+len(want):]
			if len(rest) == 0 || rest[0] == '\t' || rest[0] == ' ' {
				return true
			}
		}
	}
	return false
}

func b2u64(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// kernelTypes returns the target's BTF for typed ksyms.
func (o Options) kernelTypes() (*btf.Spec, error) {
	if o.KernelTypes != nil {
		return o.KernelTypes, nil
	}
	if !o.running() {
		return nil, errors.New("no BTF given for the target kernel")
	}
	return btf.LoadKernelSpec()
}
