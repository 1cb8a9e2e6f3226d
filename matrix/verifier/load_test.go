package verifier

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/retrobpf/retrobpf/internal/kversion"
)

func requireBPF(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to load BPF programs")
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		t.Skipf("memlock: %v", err)
	}
}

func load(t *testing.T, obj, prog string, opts Options) *Loaded {
	t.Helper()
	spec, err := ebpf.LoadCollectionSpec("../testdata/" + obj)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Load(spec, prog, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

func TestLoadAccepted(t *testing.T) {
	requireBPF(t)
	kv := RunningKernel()
	for _, prog := range []string{"xdp_count", "tc_count", "sock_count"} {
		l := load(t, "net.o", prog, Options{})
		f := l.Figures
		if f.Verdict != Accepted || l.Err != nil || l.Program == nil {
			t.Fatalf("%s: %s %v", prog, f.Verdict, l.Err)
		}
		if f.Stats.Insns == nil || *f.Stats.Insns <= 0 {
			t.Fatalf("%s: no insns", prog)
		}
		if kv.AtLeast(v5_16) && f.InsnsSource != InsnsFromInfo {
			t.Errorf("%s: insns from %q on %s", prog, f.InsnsSource, kv)
		}
		if f.XlatedBytes == nil || *f.XlatedBytes <= 0 {
			t.Errorf("%s: no xlated size", prog)
		}
		if kv.AtLeast(v5_2) && (f.Stats.VerificationMicros == nil || f.Stats.StackDepth == nil || f.Stats.TotalStates == nil) {
			t.Errorf("%s: stats missing: %+v", prog, f.Stats)
		}
	}
}

func TestLoadRejectedKeepsLog(t *testing.T) {
	requireBPF(t)
	l := load(t, "loop.o", "unbounded_loop", Options{})
	if l.Figures.Verdict != Rejected || l.Err == nil {
		t.Fatalf("verdict %s", l.Figures.Verdict)
	}
	if l.Figures.LogLevel&ebpf.LogLevelBranch == 0 {
		t.Errorf("rejected program not reloaded with the branch log (level %d)", l.Figures.LogLevel)
	}
	if !strings.Contains(strings.Join(l.Figures.Log, "\n"), "loop.c") {
		t.Errorf("log has no source lines:\n%s", Excerpt(l.Figures.Log, 10, 2000))
	}
	if l.Figures.Errno != "EINVAL" {
		t.Errorf("errno %q", l.Figures.Errno)
	}
}

// A log far larger than the first buffer: the loader must grow it (ENOSPC,
// or log_true_size on 6.4+) and still report an accepted program.
func TestLoadLogExceedsBuffer(t *testing.T) {
	requireBPF(t)
	l := load(t, "big.o", "long_log", Options{LogLevel: ebpf.LogLevelInstruction | ebpf.LogLevelStats, LogSizeStart: 4096})
	if l.Figures.Verdict != Accepted {
		t.Fatalf("verdict %s: %v", l.Figures.Verdict, l.Err)
	}
	size := len(strings.Join(l.Figures.Log, "\n"))
	if size < 64<<10 {
		t.Fatalf("log is %d bytes, want a large one", size)
	}
	if l.Figures.Stats.TotalStates == nil {
		t.Fatalf("stats line lost from a grown log")
	}
}

// A log attribute the kernel refuses (EINVAL with an empty log, as a log
// over the 16 MiB cap gives on kernels before 5.2) must not turn into a
// rejection: the program is reloaded without a log.
func TestLoadLogRefused(t *testing.T) {
	requireBPF(t)
	l := load(t, "net.o", "xdp_count", Options{LogLevel: 1<<6 | ebpf.LogLevelBranch})
	if l.Figures.Verdict != Accepted {
		t.Fatalf("verdict %s: %v", l.Figures.Verdict, l.Err)
	}
	if !strings.Contains(l.Figures.LogNote, "refused the verifier log") {
		t.Fatalf("note %q", l.Figures.LogNote)
	}
}

func TestLoadOldKernelCap(t *testing.T) {
	requireBPF(t)
	// Pretend to be 4.19: level 1 only, 16 MiB buffer, never grown.
	l := load(t, "net.o", "xdp_count", Options{Kernel: kversion.MustParse("4.19")})
	if l.Figures.Verdict != Accepted || l.Figures.LogLevel != ebpf.LogLevelBranch {
		t.Fatalf("verdict %s level %d: %v", l.Figures.Verdict, l.Figures.LogLevel, l.Err)
	}
	if l.Figures.InsnsSource != InsnsFromLog {
		t.Errorf("insns from %q, want the log on a pre-5.16 kernel", l.Figures.InsnsSource)
	}
}

// EFAULT (here: "The sequence of 8193 jumps is too complex" on 6.x) makes
// cilium/ebpf v0.22 drop the log; the loader recovers it.
func TestLoadEFAULTRecoversLog(t *testing.T) {
	requireBPF(t)
	l := load(t, "big.o", "jump_complex", Options{})
	if l.Figures.Verdict != Rejected {
		t.Fatalf("verdict %s", l.Figures.Verdict)
	}
	if !errors.Is(l.Err, unix.EFAULT) {
		t.Skipf("this kernel rejects it with %v, not EFAULT", l.Err)
	}
	if len(l.Figures.Log) == 0 || !strings.Contains(l.Figures.LogNote, "recovered") {
		t.Fatalf("log not recovered: %q", l.Figures.LogNote)
	}
	if l.Figures.Stats.Insns == nil {
		t.Fatal("no insns parsed from the recovered log")
	}
}

// A rejection after a million processed instructions keeps the stats log
// (with the decisive message) instead of a branch log of ~1.25M lines.
func TestLoadTooLargeKeepsStatsLog(t *testing.T) {
	requireBPF(t)
	if !RunningKernel().AtLeast(v5_2) {
		t.Skip("needs BPF_LOG_STATS (5.2+)")
	}
	l := load(t, "big.o", "too_large", Options{})
	if l.Figures.Verdict != Rejected || !strings.Contains(l.Figures.LogNote, "branch log was not taken") {
		t.Fatalf("verdict %s note %q", l.Figures.Verdict, l.Figures.LogNote)
	}
	if len(l.Figures.Log) > 100 || !strings.Contains(strings.Join(l.Figures.Log, "\n"), "BPF program is too large") {
		t.Fatalf("log of %d lines:\n%s", len(l.Figures.Log), Excerpt(l.Figures.Log, 10, 2000))
	}
	if l.Figures.Stats.Insns == nil || *l.Figures.Stats.Insns < 1_000_000 {
		t.Fatalf("insns %v", l.Figures.Stats.Insns)
	}
}
