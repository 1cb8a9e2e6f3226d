package compat

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/retrobpf/retrobpf/internal/kversion"
)

// Catalog returns every static feature the tool reasons about, sorted by ID.
// Dynamic IDs (kfunc:NAME, ksym:NAME, helper:X@PROG) are answered by Lookup
// but listed here only where the catalog knows something about them.
// The returned slice is a copy.
func Catalog() []Feature {
	c := catalog()
	return append([]Feature(nil), c.list...)
}

// Lookup returns the catalog entry for id. Besides the static entries it
// synthesizes:
//   - kfunc:NAME and ksym:NAME for any C identifier NAME (Since is set for a
//     few well-known names, zero otherwise);
//   - attach targets: btf-func:NAME (fentry/fexit/fmod_ret/lsm),
//     tracepoint:GROUP/EVENT and raw-tp:NAME (raw_tp, tp_btf);
//   - argument counts: raw-tp-args:NAME/N (the tracepoint passes at least
//     N arguments) and btf-func-args:NAME/N (the function takes at least
//     N argument slots), for programs that read ctx[N-1];
//   - helper:bpf_X@PROG, the helper bpf_X used from program type PROG
//     (Since is the later of the two).
//
// An ID it cannot resolve returns an error wrapping ErrUnknownFeature.
func Lookup(id FeatureID) (Feature, error) {
	c := catalog()
	if f, ok := c.index[id]; ok {
		return f, nil
	}
	s := string(id)
	switch {
	case strings.HasPrefix(s, "kfunc:"):
		name := strings.TrimPrefix(s, "kfunc:")
		if !symbolName.MatchString(name) {
			return Feature{}, fmt.Errorf("%w: %q: %q is not a kernel function name", ErrUnknownFeature, s, name)
		}
		return Feature{
			ID: id, Kind: KindKfunc,
			Description: "kernel function " + name + " callable from BPF (kfunc)",
			Probe:       "look up " + name + " as a FUNC in vmlinux/module BTF and check kfunc support (kfunc-calls)",
			Hint:        "kfuncs are unstable kernel API: provide a variant that does not call " + name + ", or guard the call with bpf_ksym_exists() on a __weak declaration",
		}, nil
	case strings.HasPrefix(s, "btf-func:"):
		name := strings.TrimPrefix(s, "btf-func:")
		if !symbolName.MatchString(name) {
			return Feature{}, fmt.Errorf("%w: %q: %q is not a kernel function name", ErrUnknownFeature, s, name)
		}
		// A well-known kernel symbol keeps its version as a BTF function.
		return Feature{
			ID: id, Kind: KindMisc, Since: c.index[FeatureID("ksym:"+name)].Since,
			Description: "function " + name + " in the kernel's BTF (fentry/fexit/fmod_ret/lsm target)",
			Probe:       "look " + name + " up as a FUNC in the kernel's BTF",
			Hint:        "the function is missing, renamed or inlined on this kernel: attach to an alternative function, a kprobe or a tracepoint in a fallback variant",
		}, nil
	case strings.HasPrefix(s, "tracepoint:"):
		name := strings.TrimPrefix(s, "tracepoint:")
		group, event, ok := strings.Cut(name, "/")
		if !ok || !symbolName.MatchString(group) || !symbolName.MatchString(event) {
			return Feature{}, fmt.Errorf("%w: %q: want tracepoint:GROUP/EVENT", ErrUnknownFeature, s)
		}
		return Feature{
			ID: id, Kind: KindMisc,
			Description: "tracepoint " + name + " exists (tracepoint program target)",
			Probe:       "look for events/" + name + " in tracefs (or its btf_trace_ type in the kernel's BTF)",
			Hint:        "the tracepoint is missing or renamed on this kernel: attach to an alternative tracepoint or a kprobe in a fallback variant",
		}, nil
	case strings.HasPrefix(s, "raw-tp-args:"), strings.HasPrefix(s, "btf-func-args:"):
		kind, rest, _ := strings.Cut(s, ":")
		name, n, ok := strings.Cut(rest, "/")
		if !ok || !symbolName.MatchString(name) || !isCount(n) {
			return Feature{}, fmt.Errorf("%w: %q: want %s:NAME/N", ErrUnknownFeature, s, kind)
		}
		what := "tracepoint " + name + " passes"
		if kind == "btf-func-args" {
			what = "function " + name + " takes"
		}
		return Feature{
			ID: id, Kind: KindMisc,
			Description: what + " at least " + n + " arguments (the program reads ctx[" + n + "-1])",
			Probe:       "count the parameters of " + map[bool]string{true: "btf_trace_" + name, false: name}[kind == "raw-tp-args"] + " in the kernel's BTF",
			Hint:        "the argument list differs on this kernel (tracepoint and function signatures change between releases): read the argument by its position on this kernel, chosen with LINUX_KERNEL_VERSION or bpf_core_type_matches(), or ship a variant for it",
		}, nil
	case strings.HasPrefix(s, "raw-tp:"):
		name := strings.TrimPrefix(s, "raw-tp:")
		if !symbolName.MatchString(name) {
			return Feature{}, fmt.Errorf("%w: %q: %q is not a tracepoint name", ErrUnknownFeature, s, name)
		}
		return Feature{
			ID: id, Kind: KindMisc,
			Description: "raw tracepoint " + name + " exists (raw_tp/tp_btf target)",
			Probe:       "look btf_trace_" + name + " up in the kernel's BTF (or " + name + " among the tracefs events)",
			Hint:        "the tracepoint is missing or renamed on this kernel: attach to an alternative tracepoint or a kprobe in a fallback variant",
		}, nil
	case strings.HasPrefix(s, "ksym:"):
		name := strings.TrimPrefix(s, "ksym:")
		if !symbolName.MatchString(name) {
			return Feature{}, fmt.Errorf("%w: %q: %q is not a kernel symbol name", ErrUnknownFeature, s, name)
		}
		return Feature{
			ID: id, Kind: KindMisc,
			Description: "kernel symbol " + name + " exists (kprobe/fentry target)",
			Probe:       "look " + name + " up in /proc/kallsyms",
			Hint:        "the symbol is missing, renamed or inlined on this kernel: attach to an alternative symbol or a tracepoint in a fallback variant",
		}, nil
	case strings.HasPrefix(s, "helper:") && strings.Contains(s, "@"):
		helper, prog, _ := strings.Cut(s, "@")
		hf, ok := c.index[FeatureID(helper)]
		pf, ok2 := c.index["prog:"+FeatureID(prog)]
		if !ok || !ok2 {
			return Feature{}, fmt.Errorf("%w: %q (want helper:bpf_NAME@PROGTYPE with a known helper and program type)", ErrUnknownFeature, s)
		}
		return Feature{
			ID: id, Kind: KindHelper,
			Description: strings.TrimPrefix(helper, "helper:") + " callable from " + prog + " programs",
			Since:       kversion.Max(hf.Since, pf.Since),
			Probe:       "load a " + prog + " program calling the helper (per-program-type helper matrix)",
			Hint:        hf.Hint,
		}, nil
	}
	return Feature{}, fmt.Errorf("%w: %q", ErrUnknownFeature, s)
}

// KindOf returns the kind of id: the part before the first colon when it is
// a known kind, KindMisc otherwise (global-data, bpf2bpf-calls, ksym:NAME…).
func KindOf(id FeatureID) Kind {
	prefix, _, ok := strings.Cut(string(id), ":")
	if !ok {
		return KindMisc
	}
	if k := Kind(prefix); k.Title() != "" {
		return k
	}
	return KindMisc
}

// symbolName matches kernel symbol names, including compiler suffixes such
// as "tcp_sendmsg.cold" or "foo.isra.0".
var symbolName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$`)

type catalogData struct {
	list  []Feature
	index map[FeatureID]Feature
}

var catalog = sync.OnceValue(func() *catalogData {
	var all []Feature
	for _, part := range [][]Feature{
		progFeatures(), mapFeatures(), mapFlagFeatures(), helperFeatures(),
		attachFeatures(), btfFeatures(), insnFeatures(), miscFeatures(),
		testRunFeatures(), statsFeatures(), symbolFeatures(),
	} {
		all = append(all, part...)
	}
	c := &catalogData{index: make(map[FeatureID]Feature, len(all))}
	for _, f := range all {
		if _, dup := c.index[f.ID]; dup {
			panic("compat: duplicate catalog entry " + string(f.ID))
		}
		if f.Kind == "" {
			f.Kind = KindOf(f.ID)
		}
		c.index[f.ID] = f
		c.list = append(c.list, f)
	}
	sort.Slice(c.list, func(i, j int) bool { return c.list[i].ID < c.list[j].ID })
	return c
})

// v parses a version constant of the tables.
func v(s string) kversion.Version {
	if s == "" {
		return kversion.Version{}
	}
	return kversion.MustParse(s)
}

// isCount reports whether s is a positive decimal count.
func isCount(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && n < 1000 && strconv.Itoa(n) == s
}
