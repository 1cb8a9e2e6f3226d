package triage

import (
	"regexp"
	"strings"

	"github.com/retrobpf/retrobpf/reports"
)

// rule maps a verifier log line to a class. The first matching rule of the
// ordered list wins, so specific rules (poisoned CO-RE calls) come before
// general ones (unknown helper IDs).
type rule struct {
	class reports.TriageClass
	re    *regexp.Regexp
	hint  string
}

// Poison constants cilium/ebpf and libbpf write into instructions they could
// not relocate: a "call" to these IDs is not a missing helper.
const (
	coreBadRelocation = "195896080" // 0xbad2310, btf.COREBadRelocationSentinel
	kfuncPoison       = "233750750" // 0xdedc0de, cilium/ebpf kfuncCallPoisonBase
)

var rules = []rule{
	{reports.TriageCORERelocation, regexp.MustCompile(`invalid func unknown#` + coreBadRelocation + `|= 0xbad2310\b|instruction poisoned by CO-RE`),
		"a CO-RE relocation found no matching kernel type or field: guard the access with bpf_core_field_exists()/bpf_core_type_exists(), or use a variant without it for this kernel"},
	{reports.TriageMissingHelper, regexp.MustCompile(`invalid func unknown#` + kfuncPoison),
		"the kfunc does not exist on this kernel: use a fallback variant, or declare it __weak and guard the call with bpf_ksym_exists()"},
	{reports.TriageMissingHelper, regexp.MustCompile(`invalid func unknown#\d+|(?:unknown func|program of this type cannot use helper) \w+#\d+|calling kernel function \w+ is not allowed|kernel function \w+ (?:is not|not) (?:allowed|supported)|cannot call kernel function`),
		""},
	{reports.TriageGPLOnly, regexp.MustCompile(`cannot call GPL[- ](?:restricted|only) function`),
		`the helper is GPL-only: declare a GPL-compatible license, e.g. char LICENSE[] SEC("license") = "Dual BSD/GPL";`},
	{reports.TriageUnreleasedReference, regexp.MustCompile(`Unreleased reference|would lead to reference leak|reference has not been acquired before|release kernel function .* expects refcounted`),
		"release what was acquired on every path: bpf_ringbuf_submit/bpf_ringbuf_discard after bpf_ringbuf_reserve, bpf_sk_release after a socket lookup, the matching release kfunc after an acquire"},
	{reports.TriageLoop, regexp.MustCompile(`back-edge from insn|infinite loop detected|loop detected at insn|unbounded loop`),
		"bound the loop with a constant the verifier can prove (5.3+), use bpf_loop (5.17+) or bpf_for (6.4+), or unroll it (#pragma unroll) for kernels before 5.3"},
	{reports.TriageTooComplex, regexp.MustCompile(`BPF program is too large|The sequence of \d+ jumps is too complex|program too large`),
		"reduce the verifier's work: split the program with tail calls or global (__noinline) functions (5.6+), tighten loop bounds, cut branching; kernels before 5.2 allow 4096 instructions / 131072 processed"},
	{reports.TriageStack, regexp.MustCompile(`combined stack size of \d+ calls|stack (?:size|limit) .*[Tt]oo large|invalid (?:write to )?stack off=-\d+|tail_calls are not allowed when call stack|stack depth \d+ exceeds`),
		"the 512-byte BPF stack is exceeded: move large buffers into a per-CPU array map used as scratch space, or rebalance inlined functions"},
	// Kernels before 5.2 (global data, BPF_PSEUDO_MAP_VALUE) and before
	// 5.13 (callbacks, BPF_PSEUDO_FUNC) do not know these ld_imm64 forms;
	// refine tells which from the program.
	{reports.TriageMissingFeature, regexp.MustCompile(`unrecognized bpf_ld_imm64 insn`), ""},
	{reports.TriageISA, regexp.MustCompile(`unknown opcode|invalid BPF_\w+ opcode|BPF_\w+ uses reserved fields|unknown insn class|invalid (?:atomic|BPF_ATOMIC)|unsupported atomic|invalid bpf_ld_imm64|BPF_(?:ALU|JMP|LD|LDX|ST|STX)(?:32)? (?:uses|opcode)`),
		"the object uses instructions this kernel's ISA lacks: build this variant with -mcpu=v2 (4.19) or v3 (5.1+, JMP32); v4 (sdiv, movsx, bswap, gotol) needs 6.6"},
	{reports.TriageInvalidMemoryAccess, regexp.MustCompile(`invalid mem access|invalid access to (?:map value|packet|memory|flow keys|stack)|invalid bpf_context access|invalid (?:indirect )?read from stack|invalid indirect access to stack|invalid (?:unbounded )?variable-offset|min value is (?:negative|outside)|max value is outside|unbounded memory access|offset is outside of the packet|dereference of modified \w+ ptr|pointer arithmetic (?:on|of|with) \w+ prohibited|math between \w+ pointer and register with unbounded|misaligned (?:stack|packet|value|context)? ?access|type=scalar expected=|invalid zero-sized read|R\d+ is not a pointer|invalid read from|invalid write to`),
		""},
}

// normalize rewrites wording that drifted between kernel versions into the
// newest form, so one rule covers every generation.
func normalize(line string) string {
	line = strings.TrimSpace(line)
	line = strings.ReplaceAll(line, "'inv'", "'scalar'") // ≤ 5.17
	line = reTypeInv.ReplaceAllString(line, "type=scalar expected=")
	line = reStackReg.ReplaceAllString(line, "stack off") // "stack R2 off" (5.12+)
	return line
}

var (
	reTypeInv  = regexp.MustCompile(`type=inv expected=`)
	reStackReg = regexp.MustCompile(`stack R\d+ off`)
)

// ignorable lines carry no cause: the stats trailer and register dumps.
func ignorable(line string) bool {
	l := strings.TrimSpace(line)
	for _, p := range []string{"processed ", "verification time ", "stack depth ", "max_states_per_insn", "cur state:", "old state:", "from ", "last_idx ", "regs=", "parent ", "mark_precise", "Verification failed", "Causal path", "Suggestion:", "At:", "Reason:"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return l == "" || reInsn.MatchString(l) || strings.HasPrefix(l, ";") || reState.MatchString(l)
}

var (
	reInsn  = regexp.MustCompile(`^\d+: \(`)
	reState = regexp.MustCompile(`^\d+: (?:frame\d+: )?R\d+`)
)
