package compat

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"
)

// The helper matrix is ~30 program types × ~200 helpers: thousands of
// BPF_PROG_LOADs. cilium/ebpf's HaveProgramHelper costs several times a
// bare load (program marshalling, a large log buffer, log parsing), which
// makes the whole probe slower than bpftool. helperProber issues the same
// probe as cilium/ebpf and libbpf (a helper call, GPL, log level 1) as a
// raw bpf() call and classifies it the same way.

// helperChunk is how many helpers one task probes.
const helperChunk = 64

// helperTasks returns the tasks probing all helpers for one program type.
func (p *prober) helperTasks(pt progType) []func() {
	var st Result
	if !noHelperProbe(pt.typ) {
		st = p.progState(pt.name)
	}
	if reason := helperSkipReason(pt, st); reason != "" {
		p.mu.Lock()
		p.rep.Helpers[pt.name] = HelperSet{Reason: reason}
		p.mu.Unlock()
		return nil
	}
	res := make(map[string]Result, len(helpers))
	p.mu.Lock()
	p.helperResults[pt.name] = res
	// The first program type probed is the reference: an "invalid func"
	// answer there means the helper ID is beyond this kernel's
	// __BPF_FUNC_MAX_ID, which the verifier checks before anything
	// specific to the program type, so the other types skip that ID.
	ref := p.helperRef
	if ref == nil {
		ref = &helperReference{name: pt.name}
		for i := 0; i < len(helpers); i += helperChunk {
			ref.done = append(ref.done, make(chan struct{}))
			ref.invalid = append(ref.invalid, map[string]bool{})
		}
		p.helperRef = ref
	}
	p.mu.Unlock()
	kver := p.kernelCode()
	var tasks []func()
	for i, c := 0, 0; i < len(helpers); i, c = i+helperChunk, c+1 {
		chunk := helpers[i:min(i+helperChunk, len(helpers))]
		tasks = append(tasks, func() {
			isRef := ref.name == pt.name
			if !isRef {
				<-ref.done[c]
			}
			hp := newHelperProber(pt, kver)
			local := make([]Result, len(chunk))
			for i, h := range chunk {
				if !isRef && ref.invalid[c][h.name] {
					local[i] = Result{State: Unsupported, Errno: "EINVAL", Detail: "invalid func: helper ID beyond this kernel's __BPF_FUNC_MAX_ID (seen for " + ref.name + ")"}
					continue
				}
				local[i] = hp.probe(h)
			}
			runtime.KeepAlive(hp)
			p.mu.Lock()
			for i, h := range chunk {
				res[h.name] = local[i]
				if isRef && local[i].State == Unsupported && strings.HasPrefix(local[i].Detail, "invalid func") {
					ref.invalid[c][h.name] = true
				}
			}
			p.mu.Unlock()
			if isRef {
				close(ref.done[c])
			}
		})
	}
	return tasks
}

// helperReference is the first program type of the helper matrix; see
// helperTasks.
type helperReference struct {
	name    string
	done    []chan struct{}   // per chunk, closed when invalid[c] is complete
	invalid []map[string]bool // per chunk: helpers answered "invalid func"
}

// noHelperProbe: program types whose helpers cannot be probed with a
// plain load (they need a BTF attach target or a struct_ops map).
func noHelperProbe(pt ebpf.ProgramType) bool {
	switch pt {
	case ebpf.Tracing, ebpf.LSM, ebpf.Extension, ebpf.StructOps:
		return true
	}
	return false
}

// helperSkipReason says why the helpers of a program type are not probed.
func helperSkipReason(pt progType, st Result) string {
	if noHelperProbe(pt.typ) {
		return "no reliable helper probe for " + pt.name + " programs (they need a BTF attach target; libbpf and cilium/ebpf do not probe them either)"
	}
	switch st.State {
	case Unsupported:
		return "program type " + pt.name + " is unsupported"
	case Unknown:
		return "program type " + pt.name + " probe inconclusive: " + st.Detail
	}
	return ""
}

func (p *prober) kernelCode() uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rep.Kernel.VersionCode
}

// progLoadAttr is the prefix of union bpf_attr for BPF_PROG_LOAD up to
// expected_attach_type (Linux 4.17); the kernel zero-extends shorter attrs.
type progLoadAttr struct {
	progType           uint32
	insnCnt            uint32
	insns              uint64
	license            uint64
	logLevel           uint32
	logSize            uint32
	logBuf             uint64
	kernVersion        uint32
	progFlags          uint32
	progName           [16]byte
	progIfindex        uint32
	expectedAttachType uint32
}

// probeFlagSleepable is BPF_F_SLEEPABLE.
const probeFlagSleepable = 1 << 4

// helperProber probes helpers for one program type, reusing its buffers.
type helperProber struct {
	attr    progLoadAttr
	insns   [3]uint64
	license [4]byte
	log     [4096]byte
}

func newHelperProber(pt progType, kernVersion uint32) *helperProber {
	hp := &helperProber{license: [4]byte{'G', 'P', 'L', 0}}
	hp.attr = progLoadAttr{
		progType:    uint32(pt.typ),
		insnCnt:     uint32(len(hp.insns)),
		insns:       uint64(uintptr(unsafe.Pointer(&hp.insns[0]))),
		license:     uint64(uintptr(unsafe.Pointer(&hp.license[0]))),
		logLevel:    1,
		logSize:     uint32(len(hp.log)),
		logBuf:      uint64(uintptr(unsafe.Pointer(&hp.log[0]))),
		kernVersion: kernVersion, // kprobes before 5.0 check it
	}
	// The same expected attach types and flags cilium/ebpf's probe uses.
	switch pt.typ {
	case ebpf.CGroupSockAddr:
		hp.attr.expectedAttachType = uint32(ebpf.AttachCGroupInet4Connect)
	case ebpf.CGroupSockopt:
		hp.attr.expectedAttachType = uint32(ebpf.AttachCGroupGetsockopt)
	case ebpf.SkLookup:
		hp.attr.expectedAttachType = uint32(ebpf.AttachSkLookup)
	case ebpf.Netfilter:
		hp.attr.expectedAttachType = uint32(ebpf.AttachNetfilter)
	case ebpf.Syscall:
		hp.attr.progFlags = probeFlagSleepable
	}
	return hp
}

// probe loads "call fn; r0 = r9; exit". Reading the never-written r9
// makes the verifier reject every program whose call it accepted (EACCES),
// so no probe program is ever JIT-compiled and freed: the answer is decided
// at the call either way.
func (hp *helperProber) probe(h helper) Result {
	hp.insns[0] = 0x85 | uint64(uint32(h.fn))<<32 // call imm
	hp.insns[1] = 0xbf | 9<<12                    // mov64 r0, r9
	hp.insns[2] = 0x95                            // exit
	hp.log[0] = 0
	fd, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&hp.attr)), unsafe.Sizeof(hp.attr))
	if errno == 0 {
		unix.Close(int(fd))
		return Result{State: Supported}
	}
	return classifyHelperLoad(errno, hp.log[:], int32(h.fn))
}

// classifyHelperLoad interprets a failed helper probe load like cilium/ebpf:
// EACCES after a successful program-type probe means the verifier accepted
// the call and rejected the (unset) arguments; EINVAL with "invalid func",
// "unknown func" or "program of this type cannot use helper" means
// unsupported; everything else is Unknown with the last log line.
func classifyHelperLoad(errno unix.Errno, log []byte, fn int32) Result {
	if i := bytes.IndexByte(log, 0); i >= 0 {
		log = log[:i]
	}
	last := lastLines(log, 5)
	switch errno {
	case unix.EACCES:
		return Result{State: Supported, Detail: "verifier accepted the call (then rejected arguments or r9)"}
	case unix.EINVAL:
		tag := strconv.AppendInt([]byte{'#'}, int64(fn), 10)
		if bytes.Contains(last, []byte("invalid func")) && bytes.Contains(last, tag) {
			return Result{State: Unsupported, Errno: "EINVAL", Detail: "invalid func (unknown to this kernel)"}
		}
		if (bytes.Contains(last, []byte("program of this type cannot use helper")) && bytes.Contains(last, tag)) ||
			bytes.Contains(last, []byte("unknown func")) {
			return Result{State: Unsupported, Errno: "EINVAL", Detail: "program of this type cannot use helper"}
		}
	}
	return Result{State: Unknown, Errno: errnoName(errno), Detail: verifierReason(log)}
}

// verifierReason is the last verifier log line that is not the
// "processed N insns" statistics line.
func verifierReason(log []byte) string {
	lines := bytes.Split(bytes.TrimSpace(log), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		l := bytes.TrimSpace(lines[i])
		if len(l) > 0 && !bytes.HasPrefix(l, []byte("processed ")) {
			return string(l)
		}
	}
	return ""
}

// lastLines returns the last n lines of log.
func lastLines(log []byte, n int) []byte {
	log = bytes.TrimRight(log, "\n")
	i := len(log)
	for ; n > 0 && i > 0; n-- {
		j := bytes.LastIndexByte(log[:i], '\n')
		if j < 0 {
			return log
		}
		i = j
	}
	if i < len(log) && log[i] == '\n' {
		i++
	}
	return log[i:]
}

// haveProgramHelperCilium is cilium/ebpf's helper probe, which the tests
// use to cross-check helperProber. Only nil and ErrNotSupported are
// conclusive; anything else is wrapped so it reads as Unknown.
func haveProgramHelperCilium(pt ebpf.ProgramType, fn asm.BuiltinFunc) error {
	err := features.HaveProgramHelper(pt, fn)
	if err != nil && !errors.Is(err, ebpf.ErrNotSupported) {
		return fmt.Errorf("inconclusive: %v", err)
	}
	return err
}
