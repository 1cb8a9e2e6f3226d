package verifier

import (
	"regexp"
	"strconv"
	"strings"
)

// Stats are the figures the verifier prints at the end of its log. Every
// field is nil when the kernel did not print it.
type Stats struct {
	// Insns is the number of instructions processed.
	Insns *int64 `json:"insns,omitempty"`
	// InsnsLimit is the complexity limit printed with it (131072 before
	// 5.2, 1000000 after), when printed.
	InsnsLimit       *int64 `json:"insns_limit,omitempty"`
	MaxStatesPerInsn *int64 `json:"max_states_per_insn,omitempty"`
	TotalStates      *int64 `json:"total_states,omitempty"`
	PeakStates       *int64 `json:"peak_states,omitempty"`
	MarkRead         *int64 `json:"mark_read,omitempty"`
	// StackDepth is the sum of the per-frame stack depths ("stack depth
	// 16+32" → 48), as veristat sums them; StackFrames keeps the raw form.
	StackDepth  *int64 `json:"stack_depth,omitempty"`
	StackFrames string `json:"stack_frames,omitempty"`
	// VerificationMicros is "verification time N usec" (5.2+ with
	// BPF_LOG_STATS).
	VerificationMicros *int64 `json:"verification_time_usec,omitempty"`
}

var (
	// 5.2+: processed 12 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0
	reProcessedNew = regexp.MustCompile(`^processed (\d+) insns \(limit (\d+)\) max_states_per_insn (\d+) total_states (\d+) peak_states (\d+) mark_read (\d+)`)
	// 4.15–5.1: processed 12 insns (limit 131072), stack depth 0+8
	// 4.14:     processed 672 insns, stack depth 48
	reProcessedOld = regexp.MustCompile(`^processed (\d+) insns(?: \(limit (\d+)\))?(?:, stack depth ([\d+]+))?`)
	reStackDepth   = regexp.MustCompile(`^stack depth ([\d+]+)`)
	reVerifTime    = regexp.MustCompile(`^verification time (\d+) usec`)
	// "BPF program is too large. Processed 1000001 insn" — the budget
	// exhausted; the count is still a figure worth reporting.
	reTooLarge = regexp.MustCompile(`BPF program is too large\. Processed (\d+) insn`)
)

// statsWindow is how many trailing lines are searched, like veristat's 100.
const statsWindow = 100

// ParseStats extracts the figures from the last lines of a verifier log.
func ParseStats(log []string) Stats {
	var s Stats
	start := max(len(log)-statsWindow, 0)
	for _, raw := range log[start:] {
		line := strings.TrimSpace(raw)
		if m := reProcessedNew.FindStringSubmatch(line); m != nil {
			s.Insns, s.InsnsLimit = num(m[1]), num(m[2])
			s.MaxStatesPerInsn, s.TotalStates = num(m[3]), num(m[4])
			s.PeakStates, s.MarkRead = num(m[5]), num(m[6])
			continue
		}
		if m := reProcessedOld.FindStringSubmatch(line); m != nil {
			s.Insns = num(m[1])
			if m[2] != "" {
				s.InsnsLimit = num(m[2])
			}
			if m[3] != "" {
				s.setStack(m[3])
			}
			continue
		}
		if m := reStackDepth.FindStringSubmatch(line); m != nil {
			s.setStack(m[1])
			continue
		}
		if m := reVerifTime.FindStringSubmatch(line); m != nil {
			s.VerificationMicros = num(m[1])
			continue
		}
		if m := reTooLarge.FindStringSubmatch(line); m != nil && s.Insns == nil {
			s.Insns = num(m[1])
		}
	}
	return s
}

func (s *Stats) setStack(frames string) {
	var sum int64
	for _, f := range strings.Split(strings.Trim(frames, "+"), "+") {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return
		}
		sum += n
	}
	s.StackDepth, s.StackFrames = &sum, frames
}

func num(s string) *int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil
	}
	return &n
}
