package triage

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/kversion"
	"github.com/retrobpf/retrobpf/matrix/verifier"
	"github.com/retrobpf/retrobpf/reports"
)

// Feature is what triage needs to know about a compat catalog entry.
type Feature struct {
	ID    string
	Since kversion.Version // zero when unknown
	Hint  string
}

// LookupFunc answers a compat feature ID (e.g. "helper:bpf_loop"); the
// matrix passes one backed by compat.Lookup.
type LookupFunc func(id string) (Feature, bool)

// Input is one rejected load.
type Input struct {
	// Err is the load error (required).
	Err error
	// Log is the full verifier log, possibly empty.
	Log []string
	// Kernel is the kernel that rejected the program.
	Kernel kversion.Version
	// ProgType is the bpftool name of the program type ("xdp", "kprobe");
	// AttachType the attach feature name ("fentry"), if any.
	ProgType   string
	AttachType string
	// Spec, when given, supplies line info for the source location.
	Spec *ebpf.ProgramSpec
	// Fallbacks are other variants of the same program that loaded on this
	// kernel, in preference order: the first is the hint's fallback.
	Fallbacks []string
	// Lookup resolves feature IDs to their first kernel; nil disables it.
	Lookup LookupFunc
	// MapFailures are every map of the object the kernel would not create,
	// in name order (verifier.Loaded.MapFailures): a map failure is triaged
	// from all of them, so the result does not depend on which map the
	// loader happened to create first.
	MapFailures []verifier.MapFailure
	// Lockdown is the kernel's lockdown mode ("integrity",
	// "confidentiality"; "" or "none" when off).
	Lockdown string
}

// tailWindow is how many cause-bearing lines, from the end, are examined.
const tailWindow = 6

// Classify explains a rejection.
func Classify(in Input) reports.Triage {
	t, idx := classifyLog(in)
	if t.Class == "" && len(in.MapFailures) > 0 {
		t, idx = classifyMaps(in), -1
	}
	if t.Class == "" {
		t = classifyErr(in)
		idx = len(in.Log) - 1
	}
	if t.Message == "" && in.Err != nil {
		t.Message = in.Err.Error()
	}
	if t.Feature != "" && in.Lookup != nil {
		if f, ok := in.Lookup(t.Feature); ok && !f.Since.IsZero() {
			since := f.Since
			t.MinKernel = &since
			if t.Hint == "" && f.Hint != "" {
				t.Hint = f.Hint
			}
		}
	}
	lockdown(&t, in.Lockdown)
	t.Hint = fallbackHint(in, t)
	t.Source = sourceOf(in.Log, idx, in.Spec)
	return t
}

// lockdownHelpers are the helpers lockdown takes away from programs at
// load time (since 5.13 the verifier no longer sees them; before, they
// returned -EPERM at run time), by the mode that takes each.
var lockdownHelpers = map[string]string{
	"helper:bpf_probe_read_kernel":     "confidentiality",
	"helper:bpf_probe_read_kernel_str": "confidentiality",
	"helper:bpf_probe_read":            "confidentiality",
	"helper:bpf_probe_read_str":        "confidentiality",
	"helper:bpf_probe_write_user":      "integrity",
}

// lockdown turns a missing helper that the kernel's lockdown mode denies
// into a lockdown rejection: the kernel has the helper, its policy
// withholds it, and no fallback for an older kernel helps.
func lockdown(t *reports.Triage, mode string) {
	helper, _, _ := strings.Cut(t.Feature, "@") // helper:bpf_probe_read@tracepoint
	need, ok := lockdownHelpers[helper]
	if !ok || t.Class != reports.TriageMissingHelper || (mode != need && mode != "confidentiality") {
		return
	}
	t.Class = reports.TriageLockdown
	t.MinKernel = nil
	t.Feature = helper
	t.Hint = "the kernel runs with lockdown=" + mode + ", which denies " + strings.TrimPrefix(helper, "helper:") +
		" (kernel memory reads under confidentiality, user memory writes under integrity): read through BTF-typed pointers (fentry/tp_btf arguments, bpf_get_current_task_btf) in a variant for locked-down nodes, or boot without lockdown"
}

// classifyLog matches the last cause-bearing log lines against the rules,
// newest first; it returns the index of the decisive line.
func classifyLog(in Input) (reports.Triage, int) {
	seen := 0
	for i := len(in.Log) - 1; i >= 0 && seen < tailWindow; i-- {
		if ignorable(in.Log[i]) {
			continue
		}
		seen++
		line := normalize(in.Log[i])
		for _, r := range rules {
			if !r.re.MatchString(line) {
				continue
			}
			t := reports.Triage{Class: r.class, Message: strings.TrimSpace(in.Log[i]), Hint: r.hint}
			refine(&t, line, in)
			return t, i
		}
	}
	return reports.Triage{}, -1
}

var (
	reUnknownID    = regexp.MustCompile(`invalid func unknown#(\d+)`)
	reNotForType   = regexp.MustCompile(`(?:unknown func|program of this type cannot use helper) (\w+)#(\d+)`)
	reKfunc        = regexp.MustCompile(`(?:calling )?kernel function (\w+)`)
	reMemScalar    = regexp.MustCompile(`invalid mem access 'scalar'|type=scalar expected=`)
	reMemNullable  = regexp.MustCompile(`_or_null`)
	reMemUninit    = regexp.MustCompile(`invalid (?:indirect )?read from stack`)
	reMemPacket    = regexp.MustCompile(`invalid access to packet|offset is outside of the packet`)
	reMemMapValue  = regexp.MustCompile(`invalid access to map value|min value is|max value is|unbounded`)
	reMemCtx       = regexp.MustCompile(`invalid bpf_context access|modified ctx ptr`)
	reTooLargeOld  = regexp.MustCompile(`limit 131072|Processed 13107[23] insn`)
	reCamelSplit   = regexp.MustCompile(`([a-z0-9])([A-Z])`)
	reNotReadOK    = regexp.MustCompile(`^R\d+ !read_ok`)
	reSourceAt     = regexp.MustCompile(`^;\s?(.*?)(?: @ ([^:@]*):(\d+))?$`)
	reInsnIndex    = regexp.MustCompile(`^(\d+): \(`)
	reMissingField = regexp.MustCompile(`no BTF found|load kernel spec|kernel BTF|btf: not supported|find target in kernel|vmlinux`)
)

// refine adds the feature and a precise hint for classes that have one.
func refine(t *reports.Triage, line string, in Input) {
	switch t.Class {
	case reports.TriageMissingHelper:
		if m := reUnknownID.FindStringSubmatch(line); m != nil && m[1] != kfuncPoison {
			n, _ := strconv.Atoi(m[1])
			name := helperName(asm.BuiltinFunc(n))
			if name != "" {
				t.Feature = "helper:" + name
				t.Hint = fmt.Sprintf("%s (helper #%d) does not exist on this kernel: use a fallback variant without it", name, n)
			} else {
				t.Hint = fmt.Sprintf("helper #%d is unknown to this kernel and to retrobpf: use a fallback variant without it", n)
			}
		} else if m := reNotForType.FindStringSubmatch(line); m != nil {
			t.Feature = "helper:" + m[1]
			if in.ProgType != "" {
				t.Feature += "@" + in.ProgType
			}
			t.Hint = fmt.Sprintf("%s exists but this kernel does not allow it in %s programs: use a helper allowed for the type, another program type, or a fallback variant", m[1], orUnknown(in.ProgType))
		} else if m := reKfunc.FindStringSubmatch(line); m != nil {
			t.Feature = "kfunc:" + m[1]
			t.Hint = fmt.Sprintf("kfunc %s is not available to this program on this kernel: use a fallback variant, or declare it __weak and guard the call with bpf_ksym_exists()", m[1])
		}
	case reports.TriageInvalidMemoryAccess:
		switch {
		case reMemNullable.MatchString(line):
			t.Hint = "check the pointer for NULL before using it (if (!v) return 0;) — map lookups and acquired objects may be NULL"
		case reMemScalar.MatchString(line):
			t.Hint = "a plain number is used as a pointer (pointer provenance lost): read kernel memory with bpf_probe_read_kernel()/BPF_CORE_READ(), keep pointer arithmetic on verifier-tracked pointers"
		case reMemUninit.MatchString(line):
			t.Hint = "a helper reads uninitialised stack bytes (often struct padding): zero-initialise the buffer (= {} or __builtin_memset); kernels before ~6.3 refuse uninitialised stack reads even for privileged loaders"
		case reMemPacket.MatchString(line):
			t.Hint = "check data + offset + size against data_end immediately before every packet access"
		case reMemMapValue.MatchString(line):
			t.Hint = "bound the offset explicitly (unsigned index, if (i >= N) return; or i &= N-1) and keep reads inside value_size; old kernels track bounds less precisely"
		case reMemCtx.MatchString(line):
			t.Hint = "access context fields at constant offsets from the original ctx pointer, with the field's own size; check the field exists on this kernel (bpf_core_field_exists)"
		default:
			t.Hint = "the program reads or writes memory the verifier cannot prove safe: add the missing bounds or NULL check right before the access"
		}
	case reports.TriageTooComplex:
		if reTooLargeOld.MatchString(line) || (!in.Kernel.IsZero() && in.Kernel.Less(kversion.Version{Major: 5, Minor: 2})) {
			t.Feature = "limit:1m-insns"
		}
	case reports.TriageLoop:
		if !in.Kernel.IsZero() && in.Kernel.Less(kversion.Version{Major: 5, Minor: 3}) {
			t.Feature = "insn:bounded-loops"
			t.Hint = "kernels before 5.3 reject every loop: unroll it (#pragma unroll) in a variant for this kernel"
		}
	case reports.TriageMissingFeature:
		// unrecognized bpf_ld_imm64: a callback address (BPF_PSEUDO_FUNC)
		// or a global variable (BPF_PSEUDO_MAP_VALUE).
		t.Feature = "global-data"
		t.Hint = "this kernel has no global data (.rodata/.data/.bss, 5.2+): move globals into an explicit array map, or ship a variant without them"
		if in.Spec != nil && hasCallback(in.Spec) {
			t.Feature = "callbacks"
			t.Hint = "this kernel cannot pass BPF functions as callbacks (BPF_PSEUDO_FUNC, 5.13+: bpf_loop, bpf_for_each_map_elem, timers): ship a variant without them"
		}
	case reports.TriageISA:
		if strings.Contains(line, "JMP32") || strings.Contains(line, "jmp32") {
			t.Feature = "insn:jmp32"
		} else if strings.Contains(line, "ATOMIC") || strings.Contains(line, "atomic") {
			t.Feature = "insn:atomics"
		}
	}
}

// classifyErr classifies from the error when the log does not say (no
// log, or a failure before BPF_PROG_LOAD).
func classifyErr(in Input) reports.Triage {
	msg := ""
	if in.Err != nil {
		msg = in.Err.Error()
	}
	t := reports.Triage{Class: reports.TriageOther, Message: msg}
	emptyLog := len(in.Log) == 0
	switch {
	case strings.Contains(msg, "bad CO-RE relocation"):
		t.Class = reports.TriageCORERelocation
		t.Hint = "a CO-RE relocation found no matching kernel type or field: guard it with bpf_core_field_exists(), or use a variant without it"
	case strings.Contains(msg, "unknown kfunc"):
		t.Class = reports.TriageMissingHelper
		t.Hint = "the kfunc does not exist on this kernel: use a fallback variant"
	case (strings.Contains(msg, "CO-RE") || strings.Contains(msg, "attach_btf_id") || strings.Contains(msg, "find target")) && reMissingField.MatchString(msg) && errors.Is(in.Err, ebpf.ErrNotSupported):
		t.Class = reports.TriageNoKernelBTF
		t.Feature = "btf:core"
		t.Hint = "this kernel has no BTF (/sys/kernel/btf/vmlinux): pass an external BTF file with --btf (retrobpf btf fetch), or use a variant without CO-RE/BTF attach"
	case strings.Contains(msg, "apply CO-RE relocations"):
		t.Class = reports.TriageCORERelocation
		t.Hint = "CO-RE relocation failed: check the BTF given with --btf matches this kernel"
	case strings.Contains(msg, "map create") || strings.HasPrefix(msg, "map "):
		switch {
		case errors.Is(in.Err, unix.EPERM):
			t.Class = reports.TriagePermission
			t.Hint = "map creation needs CAP_BPF/CAP_SYS_ADMIN (and a large enough RLIMIT_MEMLOCK before 5.11)"
		case errors.Is(in.Err, ebpf.ErrNotSupported):
			t.Class = reports.TriageMissingMapType
			t.Hint = "this kernel lacks the map type or flag: use a fallback variant (e.g. a perf event array instead of a ring buffer before 5.8)"
		}
	case errors.Is(in.Err, unix.EPERM) || strings.Contains(msg, "MEMLOCK"):
		t.Class = reports.TriagePermission
		t.Hint = "loading needs root (CAP_BPF+CAP_PERFMON, or CAP_SYS_ADMIN before 5.8) and, before 5.11, a large RLIMIT_MEMLOCK (rlimit.RemoveMemlock)"
	case emptyLog && errors.Is(in.Err, unix.E2BIG) && in.Spec != nil && len(in.Spec.Instructions) > 4096:
		t.Class = reports.TriageTooComplex
		t.Feature = "limit:1m-insns"
		t.Hint = fmt.Sprintf("the program has %d instructions; kernels before 5.2 accept at most 4096: split it with tail calls", len(in.Spec.Instructions))
	case emptyLog && (errors.Is(in.Err, unix.EINVAL) || errors.Is(in.Err, ebpf.ErrNotSupported)):
		if f, ok := newer(in, "prog:"+in.ProgType); ok {
			t.Class, t.Feature = reports.TriageUnsupportedProgType, f
			t.Hint = fmt.Sprintf("this kernel does not know %s programs: use a fallback variant with an older program type", in.ProgType)
		} else if f, ok := newer(in, "attach:"+in.AttachType); ok && in.AttachType != "" {
			t.Class, t.Feature = reports.TriageUnsupportedAttachType, f
			t.Hint = fmt.Sprintf("this kernel does not support %s attachment: use a fallback variant (e.g. kprobe instead of fentry)", in.AttachType)
		} else {
			t.Hint = "rejected before the verifier ran, without a log: check the program type, attach type and flags against this kernel (retrobpf check)"
		}
	}
	if t.Class == reports.TriageOther {
		// Say what the kernel said, not the wrapped summary.
		for i := len(in.Log) - 1; i >= 0; i-- {
			if !ignorable(in.Log[i]) {
				t.Message = strings.TrimSpace(in.Log[i])
				if h, ok := otherHints[t.Message]; ok {
					t.Hint = h
				} else if reNotReadOK.MatchString(t.Message) {
					t.Hint = "a register is read before it was written (often a missing return value or an uninitialised variable the compiler kept in a register): initialise it on every path"
				}
				break
			}
		}
	}
	return t
}

// otherHints explain known messages that fit no class.
var otherHints = map[string]string{
	"number of funcs in func_info doesn't match number of subprogs": "the kernel does not recognise one of the object's subprograms: callbacks (bpf_loop, bpf_for_each_map_elem, timers) are referenced with ld_imm64 BPF_PSEUDO_FUNC, which kernels before 5.13 do not know; use a variant without callbacks",
}

// newer reports whether the feature is known to be newer than the kernel.
func newer(in Input, id string) (string, bool) {
	if in.Lookup == nil || in.Kernel.IsZero() || strings.HasSuffix(id, ":") {
		return "", false
	}
	f, ok := in.Lookup(id)
	if !ok || f.Since.IsZero() || !in.Kernel.Less(f.Since) {
		return "", false
	}
	return id, true
}

// fallbackHint puts the fallback variant and the minimum kernel in front
// of the fix.
func fallbackHint(in Input, t reports.Triage) string {
	var parts []string
	if len(in.Fallbacks) > 0 {
		parts = append(parts, fmt.Sprintf("use variant %q on this kernel (it loads here)", in.Fallbacks[0]))
	}
	if t.MinKernel != nil && !in.Kernel.IsZero() && in.Kernel.Less(*t.MinKernel) {
		parts = append(parts, fmt.Sprintf("%s needs kernel %s+ (this is %s)", t.Feature, t.MinKernel, in.Kernel))
	}
	if t.Hint != "" {
		parts = append(parts, t.Hint)
	}
	return strings.Join(parts, "; ")
}

// helperName turns asm.FnRingbufOutput into "bpf_ringbuf_output"; "" for
// IDs cilium/ebpf does not know.
func helperName(fn asm.BuiltinFunc) string {
	s := fn.String()
	if !strings.HasPrefix(s, "Fn") || strings.HasPrefix(s, "BuiltinFunc(") {
		return ""
	}
	s = reCamelSplit.ReplaceAllString(strings.TrimPrefix(s, "Fn"), "${1}_${2}")
	return "bpf_" + strings.Map(unicode.ToLower, s)
}

func orUnknown(s string) string {
	if s == "" {
		return "this type of"
	}
	return s
}

// hasCallback reports whether the program takes a function's address.
func hasCallback(spec *ebpf.ProgramSpec) bool {
	for _, ins := range spec.Instructions {
		if ins.IsLoadOfFunctionPointer() {
			return true
		}
	}
	return false
}

// dataSections are the maps a compiler makes for global variables.
func isDataSection(name string) bool {
	for _, p := range []string{".rodata", ".data", ".bss", ".kconfig"} {
		if name == p || strings.HasPrefix(name, p+".") {
			return true
		}
	}
	return false
}

// classifyMaps triages a load that failed creating maps from every map
// the kernel refuses: global-data maps first (one cause for all of them),
// then the first refused map by name.
func classifyMaps(in Input) reports.Triage {
	var data []string
	for _, f := range in.MapFailures {
		if isDataSection(f.Name) {
			data = append(data, f.Name)
		}
	}
	first := in.MapFailures[0]
	msg := fmt.Sprintf("map %s: %v", first.Name, first.Err)
	switch {
	case errors.Is(first.Err, unix.EPERM):
		return reports.Triage{Class: reports.TriagePermission, Message: msg,
			Hint: "map creation needs CAP_BPF/CAP_SYS_ADMIN (and a large enough RLIMIT_MEMLOCK before 5.11)"}
	case len(data) > 0 && (in.Kernel.IsZero() || in.Kernel.Less(kversion.Version{Major: 5, Minor: 2})):
		return reports.Triage{Class: reports.TriageMissingFeature, Feature: "global-data",
			Message: fmt.Sprintf("global data maps refused: %s", strings.Join(data, ", ")),
			Hint:    "this kernel has no global data (.rodata/.data/.bss maps, 5.2+): move globals into an explicit array map, or ship a variant without them"}
	}
	t := reports.Triage{Class: reports.TriageOther, Message: msg}
	if errors.Is(first.Err, ebpf.ErrNotSupported) || errors.Is(first.Err, unix.EINVAL) {
		t.Class = reports.TriageMissingMapType
		t.Feature = string(compat.FeatureOf(first.Type))
		t.Hint = "this kernel lacks the map type or flag: use a fallback variant without it"
		if len(in.MapFailures) > 1 {
			var names []string
			for _, f := range in.MapFailures {
				names = append(names, f.Name)
			}
			t.Message = fmt.Sprintf("maps refused: %s; first: %s", strings.Join(names, ", "), msg)
		}
	}
	return t
}
