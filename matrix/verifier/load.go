package verifier

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/retrobpf/retrobpf/internal/kversion"
)

// Verdicts.
const (
	Accepted = "accepted"
	Rejected = "rejected"
)

// Where Figures.Stats.Insns came from.
const (
	InsnsFromInfo = "verified_insns" // bpf_prog_info.verified_insns (5.16+)
	InsnsFromLog  = "log"            // the verifier log's "processed N insns" line
)

// Log sizes. Kernels before 5.2 reject log_size > UINT_MAX>>8 with EINVAL
// (kernel commit 7a9f5c65abcc raised it), so the buffer starts at that cap
// there and is never grown past it.
const (
	DefaultLogSizeStart = 64 << 10
	FailureLogSizeStart = 1 << 20
	OldKernelLogCap     = 1<<24 - 1
)

var (
	v5_2  = kversion.Version{Major: 5, Minor: 2}
	v5_16 = kversion.Version{Major: 5, Minor: 16}
)

// Options configure Load.
type Options struct {
	// Kernel is the running kernel's version; zero means detect it (uname).
	Kernel kversion.Version
	// KernelTypes is external BTF for CO-RE relocation (--btf), or nil
	// for the kernel's own.
	KernelTypes *btf.Spec
	// LogLevel overrides the level of the first load (0: BPF_LOG_STATS on
	// 5.2+, BPF_LOG_LEVEL1 before). A rejected program is always reloaded
	// with LogLevelBranch (plus stats on 5.2+) to get the full log.
	LogLevel ebpf.LogLevel
	// LogSizeStart is the first log buffer size (0: DefaultLogSizeStart;
	// before 5.2 always the 16 MiB cap).
	LogSizeStart uint32
	// BranchLogMaxInsns bounds the branch-log reload of a rejected
	// program: when the stats log says the verifier processed more
	// instructions than this, the instruction log (about 60 bytes per
	// instruction, plus copies while it grows) is not taken and the stats
	// log, which holds the decisive message, is kept. 0 means
	// DefaultBranchLogMaxInsns; negative means no bound.
	BranchLogMaxInsns int64
}

// DefaultBranchLogMaxInsns keeps the branch log below roughly 15 MB: a
// million-instruction log needs several hundred MB of memory to collect,
// which a small VM does not have.
const DefaultBranchLogMaxInsns = 250_000

// Figures describe one load of one program.
type Figures struct {
	Verdict string `json:"verdict"`
	Stats   Stats  `json:"stats"`
	// InsnsSource says where Stats.Insns came from: InsnsFromInfo or
	// InsnsFromLog ("" when unknown).
	InsnsSource string `json:"insns_source,omitempty"`
	// XlatedBytes and JITedBytes come from bpf_prog_info (nil when the
	// program was rejected or the kernel withheld them).
	XlatedBytes *int64 `json:"xlated_bytes,omitempty"`
	JITedBytes  *int64 `json:"jited_bytes,omitempty"`
	// LoadTime is the wall time of the successful (or last) BPF_PROG_LOAD.
	LoadTime time.Duration `json:"load_time_ns"`
	// Error is the load error (empty when accepted), Errno its errno name.
	Error string `json:"error,omitempty"`
	Errno string `json:"errno,omitempty"`
	// LogLevel is the level of the log kept in Log.
	LogLevel ebpf.LogLevel `json:"log_level"`
	// LogNote explains a missing or partial log.
	LogNote string `json:"log_note,omitempty"`
	// Log is the full verifier log (not serialised: see Compress, Excerpt).
	Log []string `json:"-"`
}

// Loaded is the result of Load. Close it when done.
type Loaded struct {
	// Collection holds the program and its maps when it was accepted.
	Collection *ebpf.Collection
	Program    *ebpf.Program
	Figures    Figures
	// Err is the load error (nil when accepted); it wraps the cilium/ebpf
	// error, so errors.Is/As work on it.
	Err error
	// MapFailures lists, in name order, every map of the object the kernel
	// would not create, when the load failed creating one.
	MapFailures []MapFailure
}

// Close releases the program and its maps.
func (l *Loaded) Close() {
	if l != nil && l.Collection != nil {
		l.Collection.Close()
	}
}

// ErrNoProgram is returned when the object has no program of that name.
var ErrNoProgram = errors.New("no such program")

// Load loads the program named prog from spec, together with the maps of
// the object, and returns its figures. The spec is not modified.
func Load(spec *ebpf.CollectionSpec, prog string, opts Options) (*Loaded, error) {
	if _, ok := spec.Programs[prog]; !ok {
		return nil, fmt.Errorf("%w %q", ErrNoProgram, prog)
	}
	kv := opts.Kernel
	if kv.IsZero() {
		kv = RunningKernel()
	}
	old := !kv.IsZero() && kv.Less(v5_2)

	level, size := opts.LogLevel, opts.LogSizeStart
	if level == 0 {
		level = ebpf.LogLevelStats
		if old {
			level = ebpf.LogLevelBranch
		}
	}
	if size == 0 {
		size = DefaultLogSizeStart
	}
	if old {
		size = OldKernelLogCap
	}

	res := &Loaded{}
	coll, logLines, dur, err := loadOne(spec, prog, opts.KernelTypes, level, size, false)
	maxInsns := opts.BranchLogMaxInsns
	if maxInsns == 0 {
		maxInsns = DefaultBranchLogMaxInsns
	}
	if st := ParseStats(logLines); err != nil && !old && maxInsns > 0 && st.Insns != nil && *st.Insns > maxInsns {
		res.Figures.LogNote = fmt.Sprintf("the verifier processed %d instructions: the branch log was not taken (collecting it needs about 200 bytes of memory per instruction); this is the stats log", *st.Insns)
	} else if err != nil && !old && level&ebpf.LogLevelBranch == 0 {
		// Rejected with the stats-only log: reload with the branch log,
		// which carries the instructions, states and source lines.
		level = ebpf.LogLevelBranch | ebpf.LogLevelStats
		c2, l2, d2, err2 := loadOne(spec, prog, opts.KernelTypes, level, max(size, FailureLogSizeStart), false)
		if err2 == nil {
			// Accepted the second time: the first failure was about the
			// log attributes, not the program.
			res.Figures.LogNote = fmt.Sprintf("the load with log level %d failed (%v); accepted with the branch log", opts.LogLevel, err)
			coll, logLines, dur, err = c2, l2, d2, nil
		} else if len(l2) > 0 || len(logLines) == 0 {
			logLines, dur, err = l2, d2, err2
		}
	}
	if err != nil && len(logLines) == 0 && (errors.Is(err, unix.EINVAL) || errors.Is(err, unix.E2BIG) || errors.Is(err, unix.ENOSPC)) {
		// No log at all: either the log attributes were refused (a log over
		// the 16 MiB cap before 5.2 ends in EINVAL after the ENOSPC growth,
		// an unknown level bit is EINVAL) or the program was rejected
		// before the verifier ran. A load without log tells which.
		c3, _, d3, err3 := loadOne(spec, prog, opts.KernelTypes, 0, 0, true)
		switch {
		case err3 == nil:
			coll, dur, err = c3, d3, nil
			res.Figures.LogNote = fmt.Sprintf("the kernel refused the verifier log (%s); loaded without a log", errnoName(err))
			if old {
				res.Figures.LogNote += fmt.Sprintf("; a log over the %d-byte cap of kernels before 5.2 ends this way", OldKernelLogCap)
			}
			level = 0
		default:
			err, dur = err3, d3
			res.Figures.LogNote = "rejected before the verifier ran: the kernel wrote no log"
			level = 0
		}
	}

	if err != nil && len(logLines) == 0 && errors.Is(err, unix.EFAULT) {
		lines, rerr := logOnEFAULT(spec, prog, kv)
		switch {
		case rerr != nil:
			res.Figures.LogNote = fmt.Sprintf("EFAULT hides the verifier log (cilium/ebpf drops it) and it could not be recovered: %v", rerr)
		case len(lines) == 0:
			res.Figures.LogNote = "EFAULT: the kernel wrote no log (check dmesg for a verifier bug)"
		default:
			logLines = lines
			level = ebpf.LogLevelBranch
			if !old {
				level |= ebpf.LogLevelStats
			}
			res.Figures.LogNote = "EFAULT: log recovered with a raw BPF_PROG_LOAD without BTF (no source lines)"
		}
	}

	res.Figures.LogLevel = level
	res.Figures.Log = logLines
	res.Figures.LoadTime = dur
	res.Figures.Stats = ParseStats(logLines)
	if res.Figures.Stats.Insns != nil {
		res.Figures.InsnsSource = InsnsFromLog
	}
	if err != nil {
		res.Err = err
		if isMapError(err) {
			res.MapFailures = mapFailures(only(spec, prog))
		}
		res.Figures.Verdict = Rejected
		res.Figures.Error = err.Error()
		res.Figures.Errno = errnoName(err)
		return res, nil
	}

	res.Collection = coll
	res.Program = coll.Programs[prog]
	res.Figures.Verdict = Accepted
	if info, ierr := res.Program.Info(); ierr == nil {
		if n, ok := info.VerifiedInstructions(); ok && !kv.Less(v5_16) {
			v := int64(n)
			res.Figures.Stats.Insns = &v
			res.Figures.InsnsSource = InsnsFromInfo
		}
		if n, err := info.TranslatedSize(); err == nil {
			v := int64(n)
			res.Figures.XlatedBytes = &v
		}
		if n, err := info.JitedSize(); err == nil {
			v := int64(n)
			res.Figures.JITedBytes = &v
		}
	}
	return res, nil
}

// loadOne loads prog with the given log settings and returns the
// collection, the log lines (from the program on success, from the
// VerifierError on failure) and the load's wall time.
func loadOne(spec *ebpf.CollectionSpec, prog string, kt *btf.Spec, level ebpf.LogLevel, size uint32, disabled bool) (*ebpf.Collection, []string, time.Duration, error) {
	cs := only(spec, prog)
	opts := ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{
		LogLevel:     level,
		LogSizeStart: size,
		LogDisabled:  disabled,
		KernelTypes:  kt,
	}}
	start := time.Now()
	coll, err := ebpf.NewCollectionWithOptions(cs, opts)
	dur := time.Since(start)
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, ve.Log, dur, err
		}
		return nil, nil, dur, err
	}
	var lines []string
	if p := coll.Programs[prog]; p != nil && p.VerifierLog != "" {
		lines = splitLog(p.VerifierLog)
	}
	return coll, lines, dur, nil
}

// only returns a copy of spec with prog as its only program. Program-array
// entries that name other programs are dropped: they would not be loaded.
func only(spec *ebpf.CollectionSpec, prog string) *ebpf.CollectionSpec {
	cs := spec.Copy()
	for name := range cs.Programs {
		if name != prog {
			delete(cs.Programs, name)
		}
	}
	for _, m := range cs.Maps {
		if m.Type != ebpf.ProgramArray {
			continue
		}
		kept := m.Contents[:0]
		for _, kv := range m.Contents {
			if name, ok := kv.Value.(string); ok && name != prog {
				continue
			}
			kept = append(kept, kv)
		}
		m.Contents = kept
	}
	return cs
}

func splitLog(s string) []string {
	s = strings.TrimRight(s, "\x00\t\r\v\n ")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, "\t\r\v ")
	}
	return lines
}

// errnoName returns the symbolic errno wrapped in err ("EACCES"), or "".
func errnoName(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		if n := unix.ErrnoName(errno); n != "" {
			return n
		}
		return fmt.Sprintf("errno %d", int(errno))
	}
	return ""
}

// RunningKernel returns the version of the running kernel (zero if uname
// fails or cannot be parsed).
func RunningKernel() kversion.Version {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return kversion.Version{}
	}
	v, err := kversion.Parse(unix.ByteSliceToString(u.Release[:]))
	if err != nil {
		return kversion.Version{}
	}
	return v
}
