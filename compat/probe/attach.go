package probe

import (
	"bufio"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/compat/internal/kenum"
	"github.com/retrobpf/retrobpf/internal/btflimit"
	"github.com/retrobpf/retrobpf/internal/inputfile"
	"github.com/retrobpf/retrobpf/internal/kversion"
)

// Attach probes load a minimal program and attach it for real: program
// type support is not attach support (fentry needs trampolines, kprobes
// need CONFIG_KPROBE_EVENTS, XDP links need 5.9).

// returnZero is the body of every attach probe program.
var returnZero = asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}

// loadProbeProg loads a minimal GPL program, resolving BTF attach
// targets against the shared vmlinux BTF.
func (p *prober) loadProbeProg(spec ebpf.ProgramSpec) (*ebpf.Program, error) {
	if spec.Instructions == nil {
		spec.Instructions = returnZero
	}
	spec.License = "GPL"
	spec.Name = "retrobpf_probe"
	coll, err := ebpf.NewCollectionWithOptions(
		&ebpf.CollectionSpec{Programs: map[string]*ebpf.ProgramSpec{"probe": &spec}},
		ebpf.CollectionOptions{Cache: p.btfCache, Programs: ebpf.ProgramOptions{LogDisabled: true}})
	if err != nil {
		return nil, err
	}
	prog := coll.Programs["probe"]
	delete(coll.Programs, "probe")
	coll.Close()
	return prog, nil
}

// attachResult loads spec and runs attach on it; the attachment is closed
// at once. A load or attach error is classified by resultOf.
func (p *prober) attachResult(spec ebpf.ProgramSpec, attach func(*ebpf.Program) (link.Link, error)) Result {
	prog, err := p.loadProbeProg(spec)
	if err != nil {
		r := resultOf(err)
		r.Detail = "load: " + r.Detail
		return r
	}
	defer prog.Close()
	l, err := attach(prog)
	if err != nil {
		r := resultOf(err)
		r.Detail = "attach: " + r.Detail
		return r
	}
	l.Close()
	return supported("loaded and attached")
}

// btfAttachResult is attachResult for programs with a vmlinux BTF target.
func btfAttachResult(pt ebpf.ProgramType, at ebpf.AttachType, target string, attach func(*ebpf.Program) (link.Link, error)) Result {
	prog, err := loadBTFProg(pt, at, target, 0)
	if err != nil {
		r := resultOf(err)
		r.Detail = "load: " + r.Detail
		return r
	}
	defer prog.Close()
	l, err := attach(prog)
	if err != nil {
		r := resultOf(err)
		r.Detail = "attach: " + r.Detail
		return r
	}
	l.Close()
	return supported("loaded and attached to " + target)
}

// probeTracingAttach runs the probes that need kernel BTF.
func (p *prober) probeTracingAttach() {
	for _, pt := range kenum.ProgTypes {
		if needsVmlinuxBTF(pt.Type) {
			p.probeProgType(pt)
		}
	}
	close(p.btfProgsDone)
	p.probeBTF()
	tracing := func(at ebpf.AttachType, target string) Result {
		return btfAttachResult(ebpf.Tracing, at, target, func(prog *ebpf.Program) (link.Link, error) {
			return link.AttachTracing(link.TracingOptions{Program: prog})
		})
	}
	p.setAttach("fentry", p.needsProg("tracing", tracing(ebpf.AttachTraceFEntry, "bpf_fentry_test1")))
	p.setAttach("fexit", p.needsProg("tracing", tracing(ebpf.AttachTraceFExit, "bpf_fentry_test1")))
	if p.opts.AttachSurface || !p.opts.LimitHelpers {
		// A guest's targets-only probe asks it only for a target that
		// needs it (probeTargets).
		p.setAttach("fentry_many_args", p.needsProg("tracing", p.fentryManyArgs()))
	}
	// fmod_ret needs an error-injectable function (CONFIG_FUNCTION_ERROR_INJECTION)
	// or a security_* hook.
	fmodRet := tracing(ebpf.AttachModifyReturn, "bpf_modify_return_test")
	if fmodRet.State != compat.Supported {
		if r := tracing(ebpf.AttachModifyReturn, "security_file_mprotect"); r.State == compat.Supported || fmodRet.State != compat.Unknown {
			fmodRet = r
		} else {
			fmodRet.Detail += "; " + r.Detail
		}
	}
	p.setAttach("fmod_ret", p.needsProg("tracing", fmodRet))
	p.setAttach("tp_btf", p.needsProg("tracing", tracing(ebpf.AttachTraceRawTp, "sched_process_exec")))
	p.setAttach("iter", p.needsProg("tracing", btfAttachResult(ebpf.Tracing, ebpf.AttachTraceIter, "task",
		func(prog *ebpf.Program) (link.Link, error) { return link.AttachIter(link.IterOptions{Program: prog}) })))
	p.setAttach("lsm", p.needsProg("lsm", btfAttachResult(ebpf.LSM, ebpf.AttachLSMMac, "file_mprotect",
		func(prog *ebpf.Program) (link.Link, error) { return link.AttachLSM(link.LSMOptions{Program: prog}) })))
	p.probeSleepable()
	p.probeKfuncCalls()
}

// needsProg turns a failed attach into Unsupported when the program type
// itself is unsupported (conclusive), and keeps r otherwise.
func (p *prober) needsProg(prog string, r Result) Result {
	if r.State == compat.Supported {
		return r
	}
	if st := p.progState(prog); st.State == compat.Unsupported {
		return Result{State: compat.Unsupported, Errno: r.Errno, Detail: "prog:" + prog + " unsupported; " + r.Detail}
	}
	return r
}

func (p *prober) setAttach(name string, r Result) { p.set(p.rep.Attach, name, r) }

// probeSleepable decides "sleepable": BPF_F_SLEEPABLE accepted for a
// syscall program, a sleepable LSM hook or a sleepable fentry.
func (p *prober) probeSleepable() {
	if st := p.progState("syscall"); st.State == compat.Supported {
		p.set(p.rep.Misc, "sleepable", supported("BPF_F_SLEEPABLE syscall program loaded"))
		return
	}
	var last Result
	var errs []string
	for _, t := range []struct {
		pt     ebpf.ProgramType
		at     ebpf.AttachType
		target string
	}{
		// Sleepable LSM hooks and error-injectable functions.
		{ebpf.LSM, ebpf.AttachLSMMac, "file_mprotect"},
		{ebpf.LSM, ebpf.AttachLSMMac, "bprm_committed_creds"},
		{ebpf.Tracing, ebpf.AttachTraceFEntry, "bpf_modify_return_test"},
		{ebpf.Tracing, ebpf.AttachTraceFEntry, "bpf_fentry_test1"},
	} {
		prog, err := loadBTFProg(t.pt, t.at, t.target, probeFlagSleepable)
		if err == nil {
			prog.Close()
			p.set(p.rep.Misc, "sleepable", supported("sleepable "+t.pt.String()+" program on "+t.target+" loaded"))
			return
		}
		last = resultOf(err)
		errs = append(errs, err.Error())
	}
	last.Detail = strings.Join(errs, "; ")
	if p.progState("tracing").State == compat.Unsupported && p.progState("lsm").State == compat.Unsupported {
		last = unsupported("no tracing, lsm or syscall programs: " + last.Detail)
	} else if last.State == compat.Unsupported {
		last.State = compat.Unknown
	}
	p.set(p.rep.Misc, "sleepable", last)
}

// probeKfuncCalls loads a sched_cls program calling bpf_rcu_read_lock and
// bpf_rcu_read_unlock (kfuncs every program type may call since 6.2).
func (p *prober) probeKfuncCalls() {
	idx, err := vmlinux()
	if err != nil {
		p.set(p.rep.Misc, "kfunc-calls", unknown(fmt.Errorf("vmlinux BTF: %w", err)))
		return
	}
	var insns asm.Instructions
	for _, name := range []string{"bpf_rcu_read_lock", "bpf_rcu_read_unlock"} {
		id, ok := idx.funcID(name)
		if !ok {
			p.set(p.rep.Misc, "kfunc-calls", Result{State: compat.Unknown, Detail: "probe kfunc " + name + " not in vmlinux BTF (kfuncs before 6.2 are per program type)"})
			return
		}
		insns = append(insns, asm.Instruction{OpCode: asm.OpCode(asm.JumpClass).SetJumpOp(asm.Call), Src: asm.PseudoKfuncCall, Constant: int64(id)})
	}
	r := loadVerdict(ebpf.ProgramSpec{Type: ebpf.SchedCLS, Instructions: append(insns, asm.Mov.Imm(asm.R0, 0), asm.Return())},
		"calling kernel function is not supported", "unknown opcode")
	p.set(p.rep.Misc, "kfunc-calls", r)
}

// attachTasks are the attach probes that need no BTF.
func (p *prober) attachTasks() []func() {
	return []func(){
		func() {
			p.setAttach("raw_tp", p.needsProg("raw_tracepoint", p.attachResult(ebpf.ProgramSpec{Type: ebpf.RawTracepoint},
				func(prog *ebpf.Program) (link.Link, error) {
					return link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sched_process_exec", Program: prog})
				})))
		},
		p.probeKprobe,
		func() { p.setAttach("kprobe_multi", p.needsProg("kprobe", resultOf(p.feat.KprobeMulti()))) },
		func() { p.setAttach("kprobe_session", p.needsProg("kprobe", resultOf(p.feat.KprobeSession()))) },
		func() { p.setAttach("uprobe_multi", p.needsProg("kprobe", resultOf(p.feat.UprobeMulti()))) },
		p.probeUprobe,
		p.probeTracepoint,
		p.probePerfEvent,
		p.probeNetnsAttach,
		p.probeCgroupAttach,
		p.probeBPFLink,
		p.deriveAttach,
	}
}

// probeKprobe attaches a kprobe to vfs_read through perf_event_open.
// When it fails for a reason other than ErrNotSupported, the kernel config
// decides: no CONFIG_KPROBES is conclusive. kretprobe is not attached (each
// perf probe teardown waits for RCU grace periods under a global mutex): it
// is supported when kprobes are and the kernel has CONFIG_KRETPROBES or a
// kprobe PMU with the retprobe format bit.
func (p *prober) probeKprobe() {
	r := p.attachResult(ebpf.ProgramSpec{Type: ebpf.Kprobe}, func(prog *ebpf.Program) (link.Link, error) {
		return link.Kprobe("vfs_read", prog, nil)
	})
	if r.State == compat.Unknown && r.Errno != "EPERM" && r.Errno != "EACCES" {
		if c := p.configState("CONFIG_KPROBES", "CONFIG_KPROBE_EVENTS"); c.State == compat.Unsupported {
			r = Result{State: compat.Unsupported, Errno: r.Errno, Detail: c.Detail + "; " + r.Detail}
		}
	}
	r = p.needsProg("kprobe", r)
	p.setAttach("kprobe", r)
	p.setAttach("kretprobe", p.retprobe(r, "kprobe", "CONFIG_KRETPROBES"))
}

// retprobe derives the return-probe result from the entry-probe result.
func (p *prober) retprobe(entry Result, pmu, config string) Result {
	if entry.State != compat.Supported {
		return entry
	}
	format := "/sys/bus/event_source/devices/" + pmu + "/format/retprobe"
	if _, err := os.Stat(format); err == nil {
		return supported(pmu + " attached; the " + pmu + " PMU has " + format)
	}
	if config != "" {
		if c := p.configState(config); c.State == compat.Supported {
			return supported(pmu + " attached; " + c.Detail)
		}
	}
	if pmu == "uprobe" {
		for _, dir := range []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"} {
			if _, err := os.Stat(dir + "/uprobe_events"); err == nil {
				return supported("uprobe attached; " + dir + "/uprobe_events accepts return probes")
			}
		}
	}
	return Result{State: compat.Unknown, Detail: pmu + " attached but return probes not evidenced (no PMU retprobe format, no config)"}
}

// probeTracepoint attaches a perf tracepoint program to
// sched/sched_process_exec with AttachAll, and answers from evidence
// otherwise.
func (p *prober) probeTracepoint() {
	if p.opts.AttachAll {
		p.setAttach("tracepoint", p.needsProg("tracepoint", p.attachResult(ebpf.ProgramSpec{Type: ebpf.TracePoint},
			func(prog *ebpf.Program) (link.Link, error) {
				return link.Tracepoint("sched", "sched_process_exec", prog, nil)
			})))
		return
	}
	r := p.progState("tracepoint")
	if r.State == compat.Supported {
		r = p.configState("CONFIG_BPF_EVENTS")
	}
	if r.State == compat.Supported {
		r = Result{State: compat.Unknown, Detail: "no tracefs with events/sched/sched_process_exec/id"}
		for _, dir := range []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"} {
			if _, err := os.Stat(dir + "/events/sched/sched_process_exec/id"); err == nil {
				r = supported("evidence, attach not exercised (--attach-all): prog:tracepoint loads, CONFIG_BPF_EVENTS=y, " + dir + "/events present")
				break
			}
		}
	}
	p.setAttach("tracepoint", r)
}

// probeUprobe attaches a uprobe to the ELF entry point of this binary
// (only ever executed at start-up, so the breakpoint is never hit) with
// AttachAll, and answers from evidence otherwise; uretprobe is derived
// like kretprobe.
func (p *prober) probeUprobe() {
	if !p.opts.AttachAll {
		r := p.progState("kprobe")
		if r.State == compat.Supported {
			r = p.configState("CONFIG_UPROBES", "CONFIG_UPROBE_EVENTS")
		}
		if r.State == compat.Supported {
			r = Result{State: compat.Unknown, Detail: "no uprobe PMU and no tracefs uprobe_events"}
			for _, path := range []string{"/sys/bus/event_source/devices/uprobe/type", "/sys/kernel/tracing/uprobe_events", "/sys/kernel/debug/tracing/uprobe_events"} {
				if _, err := os.Stat(path); err == nil {
					r = supported("evidence, attach not exercised (--attach-all): prog:kprobe loads, CONFIG_UPROBE_EVENTS=y, " + path + " present")
					break
				}
			}
		}
		p.setAttach("uprobe", r)
		p.setAttach("uretprobe", p.retprobe(r, "uprobe", ""))
		return
	}
	exe, off, err := selfEntryOffset()
	if err != nil {
		r := unknown(fmt.Errorf("find a uprobe target: %w", err))
		p.setAttach("uprobe", r)
		p.setAttach("uretprobe", r)
		return
	}
	r := p.attachResult(ebpf.ProgramSpec{Type: ebpf.Kprobe}, func(prog *ebpf.Program) (link.Link, error) {
		ex, err := link.OpenExecutable(exe)
		if err != nil {
			return nil, err
		}
		return ex.Uprobe("entry", prog, &link.UprobeOptions{Address: off})
	})
	if r.State == compat.Unknown && r.Errno != "EPERM" && r.Errno != "EACCES" {
		if c := p.configState("CONFIG_UPROBES", "CONFIG_UPROBE_EVENTS"); c.State == compat.Unsupported {
			r = Result{State: compat.Unsupported, Errno: r.Errno, Detail: c.Detail + "; " + r.Detail}
		}
	}
	r = p.needsProg("kprobe", r)
	p.setAttach("uprobe", r)
	p.setAttach("uretprobe", p.retprobe(r, "uprobe", ""))
}

// selfEntryOffset returns this executable and the file offset of its entry.
func selfEntryOffset() (string, uint64, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", 0, err
	}
	f, err := elf.Open(exe)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_LOAD && prog.Flags&elf.PF_X != 0 && f.Entry >= prog.Vaddr && f.Entry < prog.Vaddr+prog.Memsz {
			return exe, f.Entry - prog.Vaddr + prog.Off, nil
		}
	}
	return "", 0, fmt.Errorf("%s: entry point %#x not in an executable segment", exe, f.Entry)
}

// perfEventIOCSetBPF is PERF_EVENT_IOC_SET_BPF.
const perfEventIOCSetBPF = 0x40042408

// probePerfEvent attaches a perf_event program to a software cpu-clock
// event of this process, with the legacy ioctl and with a perf link.
func (p *prober) probePerfEvent() {
	open := func() (int, error) {
		attr := unix.PerfEventAttr{
			Type:   unix.PERF_TYPE_SOFTWARE,
			Config: unix.PERF_COUNT_SW_CPU_CLOCK,
			Size:   uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
			Sample: 1 << 62, // never fires
			Bits:   unix.PerfBitDisabled,
		}
		return unix.PerfEventOpen(&attr, 0, -1, -1, unix.PERF_FLAG_FD_CLOEXEC)
	}
	prog, err := p.loadProbeProg(ebpf.ProgramSpec{Type: ebpf.PerfEvent})
	if err != nil {
		r := resultOf(err)
		p.setAttach("perf_event", p.needsProg("perf_event", r))
		p.setAttach("perf_link", p.needsProg("perf_event", r))
		return
	}
	defer prog.Close()

	if fd, err := open(); err != nil {
		p.setAttach("perf_event", unknown(fmt.Errorf("perf_event_open: %w", err)))
	} else {
		err := unix.IoctlSetInt(fd, perfEventIOCSetBPF, prog.FD())
		unix.Close(fd)
		if err != nil {
			p.setAttach("perf_event", resultOf(fmt.Errorf("PERF_EVENT_IOC_SET_BPF: %w", err)))
		} else {
			p.setAttach("perf_event", supported("attached with PERF_EVENT_IOC_SET_BPF"))
		}
	}

	fd, err := open()
	if err != nil {
		p.setAttach("perf_link", unknown(fmt.Errorf("perf_event_open: %w", err)))
		return
	}
	defer unix.Close(fd)
	l, err := link.AttachRawLink(link.RawLinkOptions{Target: fd, Program: prog, Attach: ebpf.AttachPerfEvent})
	switch {
	case err == nil:
		l.Close()
		p.setAttach("perf_link", supported("BPF_PERF_EVENT link created"))
	case errors.Is(err, unix.EINVAL):
		p.setAttach("perf_link", Result{State: compat.Unsupported, Errno: "EINVAL", Detail: "BPF_LINK_CREATE rejects BPF_PERF_EVENT: " + err.Error()})
	default:
		p.setAttach("perf_link", resultOf(err))
	}
}

// probeNetnsAttach attaches XDP and tcx programs to lo in a private network
// namespace, so the host's interfaces are never touched. Creating a network
// namespace costs more than the rest of the attach probes together, so
// without AttachAll both answer from evidence (netAttachEvidence).
func (p *prober) probeNetnsAttach() {
	if !p.opts.AttachAll {
		p.netAttachEvidence()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The thread is never unlocked: it dies with the goroutine, taking
		// the private network namespace with it.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			r := resultOf(fmt.Errorf("unshare(CLONE_NEWNET): %w", err))
			r.State = compat.Unknown
			p.setAttach("xdp", r)
			p.setAttach("tcx", r)
			return
		}
		const lo = 1 // loopback is ifindex 1 in a new namespace
		xdp := p.attachResult(ebpf.ProgramSpec{Type: ebpf.XDP}, func(prog *ebpf.Program) (link.Link, error) {
			return link.AttachXDP(link.XDPOptions{Program: prog, Interface: lo})
		})
		if xdp.State == compat.Unsupported && p.progState("xdp").State != compat.Unsupported {
			// cilium/ebpf attaches XDP only through bpf_link (5.9); the
			// netlink attach of older kernels is not probed.
			xdp.State = compat.Unknown
			xdp.Detail = "XDP bpf_link unsupported (needs 5.9), netlink attach not probed: " + xdp.Detail
		}
		p.setAttach("xdp", p.needsProg("xdp", xdp))
		p.setAttach("tcx", p.needsProg("sched_cls", p.attachResult(ebpf.ProgramSpec{Type: ebpf.SchedCLS}, func(prog *ebpf.Program) (link.Link, error) {
			return link.AttachTCX(link.TCXOptions{Program: prog, Interface: lo, Attach: ebpf.AttachTCXIngress})
		})))
	}()
	<-done
}

// probeCgroupAttach attaches a cgroup_skb program to a temporary cgroup.
func (p *prober) probeCgroupAttach() {
	root, err := cgroup2Mount()
	if err != nil {
		p.setAttach("cgroup", p.needsProg("cgroup_skb", unknown(err)))
		return
	}
	dir, err := os.MkdirTemp(root, "retrobpf-probe-")
	if err != nil {
		p.setAttach("cgroup", p.needsProg("cgroup_skb", unknown(err)))
		return
	}
	defer os.Remove(dir)
	p.setAttach("cgroup", p.needsProg("cgroup_skb", p.attachResult(
		ebpf.ProgramSpec{Type: ebpf.CGroupSKB, AttachType: ebpf.AttachCGroupInetIngress,
			Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 1), asm.Return()}},
		func(prog *ebpf.Program) (link.Link, error) {
			return link.AttachCgroup(link.CgroupOptions{Path: dir, Attach: ebpf.AttachCGroupInetIngress, Program: prog})
		})))
}

// cgroup2Mount finds a cgroup v2 mount point in /proc/self/mountinfo.
func cgroup2Mount() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SOURCE SUPER
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields := strings.Fields(pre)
		if ok && len(fields) >= 5 && strings.HasPrefix(post, "cgroup2 ") {
			return filepath.Clean(fields[4]), nil
		}
	}
	return "", errors.New("no cgroup2 mount in /proc/self/mountinfo")
}

// bpfLinkCreate is BPF_LINK_CREATE.
const bpfLinkCreate = 28

// probeBPFLink issues BPF_LINK_CREATE with an invalid program fd: EBADF
// means the command exists, EINVAL that it does not.
func (p *prober) probeBPFLink() {
	var attr [64]byte
	*(*int32)(unsafe.Pointer(&attr[0])) = -1 // prog_fd
	_, _, errno := unix.Syscall(unix.SYS_BPF, bpfLinkCreate, uintptr(unsafe.Pointer(&attr[0])), uintptr(len(attr)))
	switch errno {
	case unix.EBADF:
		p.setAttach("link", supported("BPF_LINK_CREATE answers EBADF for a bad fd"))
	case unix.EINVAL:
		p.setAttach("link", Result{State: compat.Unsupported, Errno: "EINVAL", Detail: "BPF_LINK_CREATE unknown"})
	default:
		p.setAttach("link", unknown(fmt.Errorf("BPF_LINK_CREATE: %w", errno)))
	}
}

// deriveAttach answers attach points that are not attached for real from
// conclusive evidence only.
func (p *prober) deriveAttach() {
	fromProg := func(attach, prog string) {
		r := p.progState(prog)
		if r.State == compat.Supported {
			r = supported("prog:" + prog + " loads (attach not exercised)")
		}
		p.setAttach(attach, r)
	}
	fromProg("sk_lookup", "sk_lookup")
	fromProg("netfilter", "netfilter")
	fromProg("struct_ops", "struct_ops")
	fromProg("freplace", "ext")

	tc := p.progState("sched_cls")
	if tc.State == compat.Supported {
		tc = p.configState("CONFIG_NET_CLS_BPF", "CONFIG_NET_SCH_INGRESS")
		if tc.State == compat.Supported {
			tc.Detail = "prog:sched_cls loads; " + tc.Detail
		}
	}
	p.setAttach("tc", tc)

	nk := p.progState("sched_cls")
	if nk.State == compat.Supported {
		nk = p.attachTypeInBTF("BPF_NETKIT_PRIMARY")
	}
	if nk.State == compat.Supported {
		nk = p.configState("CONFIG_NETKIT")
		if nk.State == compat.Supported {
			nk.Detail = "BPF_NETKIT_PRIMARY in enum bpf_attach_type; " + nk.Detail + " (needs a netkit device: not attached)"
		}
	}
	p.setAttach("netkit", nk)
}

// netAttachEvidence answers attach:xdp and attach:tcx without attaching:
// XDP programs attach through netlink to any device (generic XDP, 4.12+)
// wherever they load; tcx exists iff the kernel's own BTF has
// BPF_TCX_INGRESS in enum bpf_attach_type.
func (p *prober) netAttachEvidence() {
	xdp := p.progState("xdp")
	if xdp.State == compat.Supported {
		if v := p.kernelVersion(); v.IsZero() {
			xdp = Result{State: compat.Unknown, Detail: "kernel version unknown; XDP attach not exercised (--attach-all)"}
		} else if v.Less(kversion.MustParse("4.12")) {
			xdp = Result{State: compat.Unknown, Detail: "before 4.12 XDP attaches only to drivers with native XDP; not exercised (--attach-all)"}
		} else {
			xdp = supported("evidence, attach not exercised (--attach-all): prog:xdp loads and generic XDP (4.12+) takes it on any device")
		}
	}
	p.setAttach("xdp", xdp)

	tcx := p.progState("sched_cls")
	if tcx.State == compat.Supported {
		tcx = p.attachTypeInBTF("BPF_TCX_INGRESS")
	}
	p.setAttach("tcx", tcx)
}

// attachTypeInBTF looks an enum bpf_attach_type value up in vmlinux BTF.
func (p *prober) attachTypeInBTF(name string) Result {
	idx, err := vmlinux()
	if err != nil {
		return unknown(fmt.Errorf("vmlinux BTF: %w", err))
	}
	if len(idx.attachTypes) == 0 {
		return Result{State: compat.Unknown, Detail: "no enum bpf_attach_type in vmlinux BTF"}
	}
	if idx.attachTypes[name] {
		return supported("evidence, attach not exercised (--attach-all): " + name + " in the kernel's enum bpf_attach_type")
	}
	return unsupported(name + " not in the kernel's enum bpf_attach_type")
}

func (p *prober) kernelVersion() kversion.Version {
	<-p.phase1Done
	p.mu.Lock()
	defer p.mu.Unlock()
	v, _ := kversion.Parse(p.rep.Kernel.Version)
	return v
}

// fentryManyArgs is manyArgsAttach, once per probe.
func (p *prober) fentryManyArgs() Result {
	p.manyArgsOnce.Do(func() {
		p.manyArgs = manyArgsAttach(func(at ebpf.AttachType, target string) Result {
			return btfAttachResult(ebpf.Tracing, at, target, func(prog *ebpf.Program) (link.Link, error) {
				return link.AttachTracing(link.TracingOptions{Program: prog})
			})
		})
	})
	return p.manyArgs
}

// manyArgsAttach decides attach:fentry_many_args by attaching fentry to
// kernel functions of 7 to 12 arguments: the trampoline refuses with
// ENOTSUPP where it cannot save that many (x86-64 before 6.6). A function
// that cannot be traced for other reasons (notrace, EBUSY) is skipped for
// the next one.
func manyArgsAttach(tracing func(ebpf.AttachType, string) Result) Result {
	// The candidates straight from the BTF records: a full parse of the
	// kernel's types costs seconds under emulation.
	raw, err := inputfile.Read(vmlinuxBTF, inputfile.MaxObject)
	if err != nil {
		return unknown(err)
	}
	funcs, _, params, err := btflimit.FuncAndTypedefNames(raw)
	if err != nil {
		return unknown(err)
	}
	var tried []string
	for _, name := range funcs {
		n := params[name]
		if n < 7 || n > 12 {
			continue
		}
		r := tracing(ebpf.AttachTraceFEntry, name)
		switch {
		case r.State == compat.Supported:
			return r
		case r.Errno == "ENOTSUPP", r.State == compat.Unsupported:
			return Result{State: compat.Unsupported, Errno: r.Errno, Detail: fmt.Sprintf("fentry on %s (%d arguments): %s", name, n, r.Detail)}
		}
		tried = append(tried, name+": "+r.Detail)
		if len(tried) == 4 {
			break
		}
	}
	return Result{State: compat.Unknown, Detail: "no function of 7+ arguments could be attached for other reasons: " + strings.Join(tried, "; ")}
}
