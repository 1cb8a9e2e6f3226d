package probe

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/kversion"
)

// probeKernel records uname and the version code.
func (p *prober) probeKernel() {
	var u unix.Utsname
	k := KernelInfo{}
	if err := unix.Uname(&u); err == nil {
		k.Release = unix.ByteSliceToString(u.Release[:])
		k.Machine = unix.ByteSliceToString(u.Machine[:])
	}
	// The vDSO note carries the real LINUX_VERSION_CODE; Debian's uname -r
	// ("4.19.0-22-amd64") does not carry the sublevel.
	if code, err := features.LinuxVersionCode(); err == nil && code != 0 {
		k.VersionCode = code
		k.Version = kversion.FromCode(code).String()
		k.VersionSource = "vdso"
	} else if v, err := kversion.Parse(k.Release); err == nil {
		k.Version = v.String()
		k.VersionCode = v.Code()
		k.VersionSource = "release"
	}
	p.mu.Lock()
	p.rep.Kernel = k
	p.mu.Unlock()
}

// osReleasePaths are read in order (os-release(5)).
var osReleasePaths = []string{"/etc/os-release", "/usr/lib/os-release"}

func (p *prober) probeDistro() {
	d := DistroInfo{}
	var err error
	for _, path := range osReleasePaths {
		var data []byte
		if data, err = os.ReadFile(path); err == nil {
			kv := parseOSRelease(data)
			d.ID, d.VersionID, d.PrettyName = kv["ID"], kv["VERSION_ID"], kv["PRETTY_NAME"]
			break
		}
	}
	if err != nil {
		d.Error = err.Error()
	}
	p.mu.Lock()
	p.rep.Distro = d
	p.mu.Unlock()
}

// parseOSRelease parses KEY=value lines with optional shell quoting.
func parseOSRelease(data []byte) map[string]string {
	kv := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		k, val, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if uq, err := strconv.Unquote(val); err == nil {
			val = uq
		} else {
			val = strings.Trim(val, `'"`)
		}
		kv[k] = val
	}
	return kv
}

// bpfSysctls are the procfs knobs bpftool reports, plus the stats switch.
var bpfSysctls = []struct {
	path string
	dst  func(*SystemConfig) **int64
}{
	{"/proc/sys/kernel/unprivileged_bpf_disabled", func(s *SystemConfig) **int64 { return &s.UnprivilegedBPFDisabled }},
	{"/proc/sys/net/core/bpf_jit_enable", func(s *SystemConfig) **int64 { return &s.BPFJITEnable }},
	{"/proc/sys/net/core/bpf_jit_harden", func(s *SystemConfig) **int64 { return &s.BPFJITHarden }},
	{"/proc/sys/net/core/bpf_jit_kallsyms", func(s *SystemConfig) **int64 { return &s.BPFJITKallsyms }},
	{"/proc/sys/net/core/bpf_jit_limit", func(s *SystemConfig) **int64 { return &s.BPFJITLimit }},
	{"/proc/sys/kernel/bpf_stats_enabled", func(s *SystemConfig) **int64 { return &s.BPFStatsEnabled }},
}

func (p *prober) probeSysctls() {
	var sc SystemConfig
	errs := map[string]string{}
	for _, s := range bpfSysctls {
		n, err := readSysctl(s.path)
		if err != nil {
			errs[strings.TrimPrefix(s.path, "/proc/sys/")] = err.Error()
			continue
		}
		*s.dst(&sc) = &n
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c := &p.rep.SystemConfig
	c.UnprivilegedBPFDisabled, c.BPFJITEnable, c.BPFJITHarden = sc.UnprivilegedBPFDisabled, sc.BPFJITEnable, sc.BPFJITHarden
	c.BPFJITKallsyms, c.BPFJITLimit, c.BPFStatsEnabled = sc.BPFJITKallsyms, sc.BPFJITLimit, sc.BPFStatsEnabled
	if len(errs) > 0 {
		c.SysctlErrors = errs
	}
	// Derived misc features with their evidence.
	if sc.BPFJITEnable != nil {
		if *sc.BPFJITEnable > 0 {
			p.rep.Misc["jit"] = supported(fmt.Sprintf("net.core.bpf_jit_enable=%d", *sc.BPFJITEnable))
		} else {
			p.rep.Misc["jit"] = unsupported("net.core.bpf_jit_enable=0")
		}
	} else {
		p.rep.Misc["jit"] = Result{State: compat.Unknown, Detail: errs["net/core/bpf_jit_enable"]}
	}
	if sc.UnprivilegedBPFDisabled != nil {
		if *sc.UnprivilegedBPFDisabled == 0 {
			p.rep.Misc["unprivileged-bpf"] = supported("kernel.unprivileged_bpf_disabled=0")
		} else {
			p.rep.Misc["unprivileged-bpf"] = unsupported(fmt.Sprintf("kernel.unprivileged_bpf_disabled=%d", *sc.UnprivilegedBPFDisabled))
		}
	} else {
		p.rep.Misc["unprivileged-bpf"] = Result{State: compat.Unknown, Detail: errs["kernel/unprivileged_bpf_disabled"]}
	}
	if sc.BPFStatsEnabled != nil {
		p.rep.Stats["run-time"] = supported(fmt.Sprintf("kernel.bpf_stats_enabled=%d", *sc.BPFStatsEnabled))
	} else if _, err := os.Stat("/proc/sys/kernel"); err == nil && errors.Is(statErr("/proc/sys/kernel/bpf_stats_enabled"), os.ErrNotExist) {
		p.rep.Stats["run-time"] = unsupported("no kernel.bpf_stats_enabled sysctl")
	} else {
		p.rep.Stats["run-time"] = Result{State: compat.Unknown, Detail: errs["kernel/bpf_stats_enabled"]}
	}
}

func statErr(path string) error { _, err := os.Stat(path); return err }

func readSysctl(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// kernelConfigOptions are the options bpftool reports, plus a few that
// decide retrobpf's features.
var kernelConfigOptions = []string{
	"CONFIG_BPF", "CONFIG_BPF_SYSCALL", "CONFIG_HAVE_EBPF_JIT", "CONFIG_BPF_JIT",
	"CONFIG_BPF_JIT_ALWAYS_ON", "CONFIG_DEBUG_INFO_BTF", "CONFIG_DEBUG_INFO_BTF_MODULES",
	"CONFIG_CGROUPS", "CONFIG_CGROUP_BPF", "CONFIG_CGROUP_NET_CLASSID", "CONFIG_SOCK_CGROUP_DATA",
	"CONFIG_BPF_EVENTS", "CONFIG_KPROBE_EVENTS", "CONFIG_UPROBE_EVENTS", "CONFIG_TRACING",
	"CONFIG_FTRACE_SYSCALLS", "CONFIG_FUNCTION_ERROR_INJECTION", "CONFIG_BPF_KPROBE_OVERRIDE",
	"CONFIG_NET", "CONFIG_XDP_SOCKETS", "CONFIG_LWTUNNEL_BPF", "CONFIG_NET_ACT_BPF",
	"CONFIG_NET_CLS_BPF", "CONFIG_NET_CLS_ACT", "CONFIG_NET_SCH_INGRESS", "CONFIG_XFRM",
	"CONFIG_IP_ROUTE_CLASSID", "CONFIG_IPV6_SEG6_BPF", "CONFIG_BPF_LIRC_MODE2",
	"CONFIG_BPF_STREAM_PARSER", "CONFIG_NETFILTER_XT_MATCH_BPF", "CONFIG_TEST_BPF", "CONFIG_HZ",
	// retrobpf additions
	"CONFIG_KPROBES", "CONFIG_KRETPROBES", "CONFIG_UPROBES", "CONFIG_FPROBE", "CONFIG_FUNCTION_TRACER",
	"CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS", "CONFIG_BPF_LSM", "CONFIG_LSM", "CONFIG_MODULES",
	"CONFIG_NETKIT", "CONFIG_BPF_UNPRIV_DEFAULT_OFF", "CONFIG_SECURITY_LOCKDOWN_LSM",
}

// probeKernelConfig reads the kernel config like bpftool (/boot first,
// then /proc/config.gz).
func (p *prober) probeKernelConfig() {
	defer close(p.configDone)
	src, cfg, err := readKernelConfig("", kernelConfigWanted)
	p.mu.Lock()
	defer p.mu.Unlock()
	c := &p.rep.SystemConfig
	if err != nil {
		c.ConfigError = err.Error()
		c.Config = nil
		return
	}
	c.ConfigSource = src
	for _, opt := range kernelConfigOptions {
		if v, ok := cfg[opt]; ok {
			c.Config[opt] = &v
		} else {
			c.Config[opt] = nil
		}
	}
}

// kernelConfigWanted is kernelConfigOptions as a set.
var kernelConfigWanted = func() map[string]bool {
	m := make(map[string]bool, len(kernelConfigOptions))
	for _, o := range kernelConfigOptions {
		m[o] = true
	}
	return m
}()

// readKernelConfig returns the path read and its options in keep (all
// when keep is nil).
func readKernelConfig(release string, keep map[string]bool) (string, map[string]string, error) {
	if release == "" {
		var u unix.Utsname
		if err := unix.Uname(&u); err == nil {
			release = unix.ByteSliceToString(u.Release[:])
		}
	}
	var errs []string
	boot := "/boot/config-" + release
	if data, err := os.ReadFile(boot); err == nil {
		return boot, parseKernelConfig(data, keep), nil
	} else {
		errs = append(errs, err.Error())
	}
	f, err := os.Open("/proc/config.gz")
	if err != nil {
		errs = append(errs, err.Error())
		return "", nil, fmt.Errorf("kernel config not readable: %s", strings.Join(errs, "; "))
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return "", nil, fmt.Errorf("/proc/config.gz: %w", err)
	}
	var data bytes.Buffer
	data.Grow(256 << 10) // a distribution kernel's config, uncompressed
	if _, err := data.ReadFrom(zr); err != nil {
		return "", nil, fmt.Errorf("/proc/config.gz: %w", err)
	}
	return "/proc/config.gz", parseKernelConfig(data.Bytes(), keep), nil
}

// parseKernelConfig keeps the CONFIG_X=value lines ("# ... is not set"
// lines mean unset and are simply absent) whose option is in keep, or all
// of them when keep is nil. Only kept lines allocate.
func parseKernelConfig(data []byte, keep map[string]bool) map[string]string {
	cfg := map[string]string{}
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimRight(line, "\r")
		if !bytes.HasPrefix(line, []byte("CONFIG_")) {
			continue
		}
		k, v, ok := bytes.Cut(line, []byte("="))
		if ok && (keep == nil || keep[string(k)]) {
			cfg[string(k)] = string(bytes.Trim(v, `"`))
		}
	}
	return cfg
}

// configState answers from the kernel config: Supported if every option
// is y or m, Unsupported if one is unset, Unknown if the config is
// unreadable.
func (p *prober) configState(opts ...string) Result {
	<-p.configDone
	p.mu.Lock()
	defer p.mu.Unlock()
	cfg := p.rep.SystemConfig.Config
	if cfg == nil {
		return Result{State: compat.Unknown, Detail: "kernel config not readable: " + p.rep.SystemConfig.ConfigError}
	}
	var set []string
	for _, o := range opts {
		v, listed := cfg[o]
		if !listed {
			return Result{State: compat.Unknown, Detail: o + " not read"}
		}
		if v == nil || (*v != "y" && *v != "m") {
			return unsupported(o + " is not set (" + p.rep.SystemConfig.ConfigSource + ")")
		}
		set = append(set, o+"="+*v)
	}
	return supported(strings.Join(set, ", "))
}

// probeSyscall checks bpf() exists: any answer but ENOSYS proves it.
func (p *prober) probeSyscall() {
	var attr [128]byte // BPF_PROG_LOAD with an all-zero attr: EINVAL if bpf() exists
	_, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&attr[0])), uintptr(len(attr)))
	var r Result
	switch errno {
	case unix.ENOSYS:
		r = Result{State: compat.Unsupported, Errno: "ENOSYS", Detail: "bpf() returns ENOSYS (CONFIG_BPF_SYSCALL off)"}
	case 0:
		r = supported("")
	default:
		r = supported("bpf(BPF_PROG_LOAD, {}) = " + errnoName(errno))
	}
	p.mu.Lock()
	p.rep.SyscallConfig.HaveBPFSyscall = r
	p.rep.Misc["bpf-syscall"] = r
	p.mu.Unlock()
}
