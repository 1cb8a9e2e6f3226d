package verifier

import (
	"strings"
	"testing"
)

func TestParseStats(t *testing.T) {
	get := func(p *int64) int64 {
		if p == nil {
			return -1
		}
		return *p
	}
	cases := []struct {
		name                                          string
		log                                           string
		insns, limit, states, peak, maxPer, mark, stk int64
		usec                                          int64
	}{
		{"4.14", "0: (b7) r0 = 0\n1: (95) exit\nprocessed 672 insns, stack depth 48",
			672, -1, -1, -1, -1, -1, 48, -1},
		{"4.19", "1: (95) exit\nprocessed 12 insns (limit 131072), stack depth 16+32",
			12, 131072, -1, -1, -1, -1, 48, -1},
		{"5.10 stats", "verification time 21784 usec\nstack depth 8\nprocessed 72294 insns (limit 1000000) max_states_per_insn 13 total_states 2395 peak_states 415 mark_read 3",
			72294, 1000000, 2395, 415, 13, 3, 8, 21784},
		{"too large", "7: (07) r2 += 1\nBPF program is too large. Processed 1000001 insn\nverification time 1093017 usec\nstack depth 0",
			1000001, -1, -1, -1, -1, -1, 0, 1093017},
		{"no stats", "R1 invalid mem access 'inv'", -1, -1, -1, -1, -1, -1, -1, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := ParseStats(strings.Split(c.log, "\n"))
			got := []int64{get(s.Insns), get(s.InsnsLimit), get(s.TotalStates), get(s.PeakStates), get(s.MaxStatesPerInsn), get(s.MarkRead), get(s.StackDepth), get(s.VerificationMicros)}
			want := []int64{c.insns, c.limit, c.states, c.peak, c.maxPer, c.mark, c.stk, c.usec}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("field %d: got %v, want %v (all: %v)", i, got[i], want[i], got)
				}
			}
		})
	}
}

func TestExcerptBounds(t *testing.T) {
	var log []string
	for i := 0; i < 1000; i++ {
		log = append(log, strings.Repeat("x", 100))
	}
	e := Excerpt(log, 20, 1000)
	if len(e) > 1100 || !strings.HasPrefix(e, "(991 earlier lines omitted)") {
		t.Fatalf("excerpt %d bytes: %.60q", len(e), e)
	}
	back, err := Decompress(Compress(log))
	if err != nil || len(back) != len(log) {
		t.Fatalf("round trip: %d lines, %v", len(back), err)
	}
}

func FuzzParseStats(f *testing.F) {
	f.Add("processed 12 insns (limit 131072), stack depth 16+32")
	f.Add("processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\nstack depth 1+")
	f.Fuzz(func(t *testing.T, log string) {
		s := ParseStats(strings.Split(log, "\n"))
		if s.StackDepth != nil && *s.StackDepth < 0 {
			t.Fatalf("negative stack depth from %q", log)
		}
	})
}
