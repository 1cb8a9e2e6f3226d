package verifier_test

import (
	"fmt"

	"github.com/retrobpf/retrobpf/matrix/verifier"
)

// The stats trailer of a 5.2+ log with BPF_LOG_STATS; on 4.19 only the
// processed count and the stack depth exist, and the rest stays nil.
func ExampleParseStats() {
	s := verifier.ParseStats([]string{
		"verification time 21784 usec",
		"stack depth 8+16",
		"processed 72294 insns (limit 1000000) max_states_per_insn 13 total_states 2395 peak_states 415 mark_read 3",
	})
	fmt.Println(*s.Insns, *s.TotalStates, *s.StackDepth, *s.VerificationMicros)
	old := verifier.ParseStats([]string{"processed 12 insns (limit 131072), stack depth 16"})
	fmt.Println(*old.Insns, old.TotalStates == nil)
	// Output:
	// 72294 2395 24 21784
	// 12 true
}
