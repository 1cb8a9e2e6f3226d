package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/compat/internal/kenum"
	"golang.org/x/sys/unix"
)

// The helper matrix is ~30 program types × ~200 helpers: thousands of
// BPF_PROG_LOADs, nearly all of the probe's time, and nearly all of that is
// kernel time (allocating and freeing the program and the verifier state).
// cilium/ebpf's HaveProgramHelper costs several times a bare load (program
// marshalling, a large log buffer, log parsing), so helperProber issues
// the same probe as cilium/ebpf and libbpf (a helper call, GPL) as a raw
// bpf() call on a pre-marshalled instruction buffer whose call immediate
// is patched in place, and classifies it the same way. What retrobpf does
// that bpftool does not, to be faster than it:
//   - the verifier log is asked for at BPF_LOG_STATS (5.2+): error
//     messages without the per-instruction dump and state prints that log
//     level 1 formats on every load;
//   - the loads are raw syscalls, run by one worker per CPU (bpftool
//     uses one thread);
//   - a helper ID the reference program type found "invalid func" (beyond
//     the kernel's __BPF_FUNC_MAX_ID) is not loaded again for other types.

// helperChunk is how many helpers one job probes: small enough that the
// workers finish together, large enough that scheduling costs nothing.
const helperChunk = 32

// helperJob probes one chunk of helpers for one program type.
type helperJob struct {
	pt  kenum.ProgType
	c   int      // chunk index into helpers
	res []Result // the program type's results, indexed like helpers
	ref *helperReference
}

// helperJobs returns the jobs probing all helpers for one program type,
// or none (with the reason recorded) when they cannot be probed.
func (p *prober) helperJobs(pt kenum.ProgType) []helperJob {
	var st Result
	if !noHelperProbe(pt.Type) {
		st = p.progState(pt.Name)
	}
	if p.opts.LimitHelpers && !p.opts.helperTypes[pt.Name] {
		p.mu.Lock()
		p.rep.Helpers[pt.Name] = HelperSet{Reason: notProbedHelper}
		p.mu.Unlock()
		return nil
	}
	if reason := helperSkipReason(pt, st); reason != "" {
		p.mu.Lock()
		p.rep.Helpers[pt.Name] = HelperSet{Reason: reason}
		p.mu.Unlock()
		return nil
	}
	res := make([]Result, len(kenum.Helpers))
	p.mu.Lock()
	defer p.mu.Unlock()
	p.helperResults[pt.Name] = res
	// The first program type probed is the reference: an "invalid func"
	// answer there means the helper ID is beyond this kernel's
	// __BPF_FUNC_MAX_ID, which the verifier checks before anything
	// specific to the program type, so the other types skip that ID.
	// Its jobs come first, so other types rarely wait for them.
	ref := p.helperRef
	if ref == nil {
		ref = &helperReference{name: pt.Name}
		for i := 0; i < len(kenum.Helpers); i += helperChunk {
			ref.done = append(ref.done, make(chan struct{}))
			ref.invalid = append(ref.invalid, map[string]bool{})
		}
		p.helperRef = ref
	}
	var jobs []helperJob
	for i, c := 0, 0; i < len(kenum.Helpers); i, c = i+helperChunk, c+1 {
		jobs = append(jobs, helperJob{pt: pt, c: c, res: res, ref: ref})
	}
	return jobs
}

// helperReference is the first program type of the helper matrix; see
// helperJobs.
type helperReference struct {
	name    string
	done    []chan struct{}   // per chunk, closed when invalid[c] is complete
	invalid []map[string]bool // per chunk: helpers answered "invalid func"
}

// runHelperMatrix runs jobs on workers goroutines, each with its own
// helperProber, in the order of jobs. (Locking each worker to its OS
// thread measured no faster, and makes every yield a thread hand-off.)
func (p *prober) runHelperMatrix(ctx context.Context, workers int, jobs []helperJob) error {
	if len(jobs) == 0 {
		return nil
	}
	kver := p.kernelCode()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hp := newHelperProber(kver)
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					break
				}
				traced(func() { p.runHelperJob(hp, jobs[i]) })()
			}
			runtime.KeepAlive(hp)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	return nil
}

// runHelperJob probes one chunk and records the results.
func (p *prober) runHelperJob(hp *helperProber, j helperJob) {
	ref := j.ref
	isRef := ref.name == j.pt.Name
	if !isRef {
		<-ref.done[j.c]
	}
	chunk := kenum.Helpers[j.c*helperChunk : min((j.c+1)*helperChunk, len(kenum.Helpers))]
	// Each job owns its chunk of res: no lock needed. finishHelpers reads
	// it after runHelperMatrix's WaitGroup.
	local := j.res[j.c*helperChunk : j.c*helperChunk+len(chunk)]
	hp.setProgType(j.pt)
	for i, h := range chunk {
		if p.opts.LimitHelpers && !p.opts.helpers[h.Name] {
			local[i] = Result{State: compat.Unknown, Detail: notProbedHelper}
			continue
		}
		if !isRef && ref.invalid[j.c][h.Name] {
			local[i] = Result{State: compat.Unsupported, Errno: "EINVAL", Detail: "invalid func: helper ID beyond this kernel's __BPF_FUNC_MAX_ID (seen for " + ref.name + ")"}
			continue
		}
		local[i] = hp.probe(h)
		hp.maybeYield()
	}
	if isRef {
		for i, h := range chunk {
			if local[i].State == compat.Unsupported && strings.HasPrefix(local[i].Detail, "invalid func") {
				ref.invalid[j.c][h.Name] = true
			}
		}
		close(ref.done[j.c])
	}
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
func helperSkipReason(pt kenum.ProgType, st Result) string {
	if noHelperProbe(pt.Type) {
		return "no reliable helper probe for " + pt.Name + " programs (they need a BTF attach target; libbpf and cilium/ebpf do not probe them either)"
	}
	switch st.State {
	case compat.Unsupported:
		return "program type " + pt.Name + " is unsupported"
	case compat.Unknown:
		return "program type " + pt.Name + " probe inconclusive: " + st.Detail
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

// helperProber probes helpers, reusing its buffers; one per worker.
type helperProber struct {
	attr    progLoadAttr
	insns   [3]uint64
	license [4]byte
	log     [4096]byte
	// yielded is when the worker last let the Go scheduler run.
	yielded time.Time
}

// yieldEvery bounds how long a worker issues raw syscalls without
// yielding. The Go runtime cannot see a goroutine in a raw syscall as
// blocked, so after 10ms it asks for preemption with a signal, which can
// only land in the kernel: the verifier then gives up with EAGAIN, and
// keeps doing so while the signals repeat (seen on TCG guests, where a
// load takes far longer). Yielding well before that keeps the signals
// away and lets the other probes' goroutines run.
const yieldEvery = time.Millisecond

// maybeYield yields to the scheduler when yieldEvery has passed.
func (hp *helperProber) maybeYield() {
	if now := time.Now(); now.Sub(hp.yielded) >= yieldEvery {
		runtime.Gosched()
		hp.yielded = now
	}
}

// logLevelStats is BPF_LOG_STATS (5.2): the verifier's messages, which are
// all the classification needs, and its statistics, without the
// instruction dump and register states of level 1.
const logLevelStats = 4

// helperLogLevel is the verifier log level of helper probes on a kernel
// with this LINUX_VERSION_CODE. Before 5.2 the kernel reads any level
// above 1 as "log everything" (BPF_LOG_STATS did not exist), so they get
// level 1; so does an unknown version.
func helperLogLevel(kernVersion uint32) uint32 {
	if kernVersion >= 5<<16|2<<8 {
		return logLevelStats
	}
	return 1
}

func newHelperProber(kernVersion uint32) *helperProber {
	hp := &helperProber{license: [4]byte{'G', 'P', 'L', 0}}
	// "call fn; r0 = r9; exit". Reading the never-written r9 makes the
	// verifier reject every program whose call it accepted (EACCES), so
	// no probe program is ever JIT-compiled and freed: the answer is
	// decided at the call either way. probe patches the call immediate.
	hp.insns = [3]uint64{
		0x85,         // call imm
		0xbf | 9<<12, // mov64 r0, r9
		0x95,         // exit
	}
	hp.attr = progLoadAttr{
		insnCnt:     uint32(len(hp.insns)),
		insns:       uint64(uintptr(unsafe.Pointer(&hp.insns[0]))),
		license:     uint64(uintptr(unsafe.Pointer(&hp.license[0]))),
		logLevel:    helperLogLevel(kernVersion),
		logSize:     uint32(len(hp.log)),
		logBuf:      uint64(uintptr(unsafe.Pointer(&hp.log[0]))),
		kernVersion: kernVersion, // kprobes before 5.0 check it
	}
	return hp
}

// setProgType makes the following probes load programs of type pt, with
// the same expected attach types and flags cilium/ebpf's probe uses.
func (hp *helperProber) setProgType(pt kenum.ProgType) {
	hp.attr.progType = uint32(pt.Type)
	hp.attr.expectedAttachType = 0
	hp.attr.progFlags = 0
	switch pt.Type {
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
}

// probe loads the probe program calling h.
func (hp *helperProber) probe(h kenum.Helper) Result {
	hp.insns[0] = 0x85 | uint64(uint32(h.Fn))<<32 // call imm
	var fd uintptr
	var errno unix.Errno
	for try := 1; ; try++ {
		hp.log[0] = 0
		// A raw syscall: a probe load of three instructions takes
		// microseconds, so telling the scheduler about each one
		// (unix.Syscall) costs more than it could gain: ~10% of the
		// matrix's CPU time. maybeYield keeps the scheduler served.
		fd, _, errno = unix.RawSyscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&hp.attr)), unsafe.Sizeof(hp.attr))
		// A pending signal (such as the Go runtime's preemption request)
		// makes the verifier give up with EAGAIN; libbpf retries too.
		if (errno != unix.EAGAIN && errno != unix.EINTR) || try == 5 {
			break
		}
		runtime.Gosched()
		hp.yielded = time.Now()
	}
	if errno == 0 {
		unix.Close(int(fd))
		return Result{State: compat.Supported}
	}
	return classifyHelperLoad(errno, hp.log[:], int32(h.Fn))
}

// classifyHelperLoad interprets a failed helper probe load like cilium/ebpf:
// EACCES after a successful program-type probe means the verifier accepted
// the call and rejected the (unset) arguments; EINVAL with "invalid func",
// "unknown func" or "program of this type cannot use helper" means
// unsupported; everything else is Unknown with the verifier's reason.
func classifyHelperLoad(errno unix.Errno, log []byte, fn int32) Result {
	if errno == unix.EACCES {
		return Result{State: compat.Supported, Detail: "verifier accepted the call (then rejected arguments or r9)"}
	}
	if i := bytes.IndexByte(log, 0); i >= 0 {
		log = log[:i]
	}
	if errno == unix.EINVAL {
		last := lastLines(log, 5)
		var buf [16]byte
		tag := strconv.AppendInt(append(buf[:0], '#'), int64(fn), 10)
		if bytes.Contains(last, []byte("invalid func")) && bytes.Contains(last, tag) {
			return Result{State: compat.Unsupported, Errno: "EINVAL", Detail: "invalid func (unknown to this kernel)"}
		}
		if (bytes.Contains(last, []byte("program of this type cannot use helper")) && bytes.Contains(last, tag)) ||
			bytes.Contains(last, []byte("unknown func")) {
			return Result{State: compat.Unsupported, Errno: "EINVAL", Detail: "program of this type cannot use helper"}
		}
	}
	return Result{State: compat.Unknown, Errno: errnoName(errno), Detail: verifierReason(log)}
}

// verifierReason is the last verifier log line that is not one of its
// statistics lines.
func verifierReason(log []byte) string {
	lines := bytes.Split(bytes.TrimSpace(log), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		l := bytes.TrimSpace(lines[i])
		if len(l) > 0 && !isVerifierStats(l) {
			return string(l)
		}
	}
	return ""
}

// isVerifierStats reports whether l is one of the statistics lines the
// verifier ends its log with: "processed N insns ..." (every level),
// "verification time N usec" and "stack depth N[+N...]" (BPF_LOG_STATS).
func isVerifierStats(l []byte) bool {
	if bytes.HasPrefix(l, []byte("processed ")) {
		return true
	}
	if rest, ok := bytes.CutPrefix(l, []byte("verification time ")); ok {
		n, ok := bytes.CutSuffix(rest, []byte(" usec"))
		return ok && allDigits(n)
	}
	if rest, ok := bytes.CutPrefix(l, []byte("stack depth ")); ok {
		return allDigits(bytes.ReplaceAll(rest, []byte("+"), nil))
	}
	return false
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
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
