package vmtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The logs under testdata/console were captured from real boots of the
// Debian kernels with `retrobpf vm exec --keep` (see the file names).
func TestClassifyCapturedConsoles(t *testing.T) {
	for file, want := range map[string]struct {
		outcome Outcome
		reason  string
	}{
		"ok-6.12.log":            {"", ""},
		"sysrq-crash-5.10.log":   {OutcomeKernelPanic, "Kernel panic - not syncing: sysrq triggered crash"},
		"init-exit-6.1.log":      {OutcomeKernelPanic, "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000200"},
		"hanging-init-5.10.log":  {"", ""},
		"oops-null-deref.log":    {OutcomeOops, "BUG: kernel NULL pointer dereference, address: 0000000000000000"},
		"oops-general-fault.log": {OutcomeOops, "Oops: general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] PREEMPT SMP NOPTI"},
	} {
		b, err := os.ReadFile(filepath.Join("testdata/console", file))
		if err != nil {
			t.Fatal(err)
		}
		got, reason := classify(string(b))
		if got != want.outcome || reason != want.reason {
			t.Errorf("%s: classify = %q, %q; want %q, %q", file, got, reason, want.outcome, want.reason)
		}
	}
}

func TestClassifyIgnoresUserText(t *testing.T) {
	// A program printing these words is not a kernel event: the markers
	// must start a kernel log line.
	for _, s := range []string{
		"guestprog: no Oops: here\n",
		"test BUG: in my parser\n",
	} {
		if got, _ := classify(s); got != "" {
			t.Errorf("classify(%q) = %s, want nothing", s, got)
		}
	}
}

func TestLastLines(t *testing.T) {
	if got := lastLines("a\r\nb\nc\n\n", 2); got != "b\nc" {
		t.Errorf("lastLines = %q", got)
	}
	if got := lastLines(strings.Repeat("x\n", 3), 10); got != "x\nx\nx" {
		t.Errorf("lastLines = %q", got)
	}
}

func TestConsoleTailKeepsCrashContext(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&b, "[ 1.%02d] boot line %d\n", i, i)
	}
	b.WriteString("guestprog: exiting as init\n")
	b.WriteString("[ 3.0] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100\n")
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&b, "[ 3.1]  ? frame_%d+0x10/0x20\n", i)
	}
	tail := consoleTail(b.String(), 40)
	if !strings.Contains(tail, "guestprog: exiting as init") || !strings.Contains(tail, "Kernel panic") {
		t.Fatalf("crash context lost:\n%s", tail)
	}
	if n := strings.Count(tail, "\n") + 1; n != 40 {
		t.Fatalf("%d lines, want 40", n)
	}
	// Without a crash it is the plain tail.
	if got := consoleTail("a\nb\nc\n", 2); got != "b\nc" {
		t.Fatalf("plain tail %q", got)
	}
}
