// Command accuracy measures how often `retrobpf check` agrees with real
// loads, on objects nobody here wrote: the BPF objects embedded in Debian's
// libbpf-tools. It is the engine of `make bench-accuracy`
// (scripts/bench-accuracy.sh), not part of retrobpf.
//
//	accuracy extract BINDIR OUTDIR   write each embedded object as TOOL[.N].bpf.o
//	accuracy manifest OUTDIR         a manifest with one program per object program
//	accuracy compare DIR K:MODE=CHECK.json...
//	                                 confusion of check outputs against DIR/truth-K.json
//	                                 (guest-run -f json output of the loads in kernel K)
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/retrobpf/retrobpf/internal/debugbtf"
	"github.com/retrobpf/retrobpf/vmtest/kernels"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/compat/check"
	"github.com/retrobpf/retrobpf/internal/objload"
	"github.com/retrobpf/retrobpf/reports"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: accuracy extract BINDIR OUTDIR | manifest DIR | debugbtf KERNEL OUT.btf | compare DIR K:MODE=CHECK.json...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "extract":
		err = extract(os.Args[2], os.Args[3])
	case "manifest":
		err = manifest(os.Args[2])
	case "compare":
		err = compare(os.Args[2], os.Args[3:])
	case "debugbtf":
		if len(os.Args) != 4 {
			err = fmt.Errorf("usage: accuracy debugbtf KERNEL OUT.btf")
			break
		}
		err = debugBTF(os.Args[2], os.Args[3])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "accuracy:", err)
		os.Exit(1)
	}
}

func extract(binDir, outDir string) error {
	bins, err := filepath.Glob(filepath.Join(binDir, "*"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	n := 0
	for _, b := range bins {
		st, err := os.Stat(b)
		if err != nil || !st.Mode().IsRegular() || st.Size() > 64<<20 {
			continue
		}
		raw, err := os.ReadFile(b)
		if err != nil {
			continue
		}
		for i, obj := range objload.Embedded(raw) {
			name := filepath.Base(b)
			if i > 0 {
				name += fmt.Sprintf(".%d", i)
			}
			if err := os.WriteFile(filepath.Join(outDir, name+".bpf.o"), obj, 0o644); err != nil {
				return err
			}
			n++
		}
	}
	fmt.Fprintf(os.Stderr, "accuracy: %d objects from %s\n", n, binDir)
	return nil
}

// manifest writes a manifest with one program per (object, program), each
// with one variant loading that program alone: the matrix's verdicts are
// then the ground truth for check's per-program verdicts.
func manifest(dir string) error {
	objs, err := filepath.Glob(filepath.Join(dir, "*.bpf.o"))
	if err != nil {
		return err
	}
	sort.Strings(objs)
	var b strings.Builder
	b.WriteString("apiVersion: retrobpf/v1\nprograms:\n")
	for _, o := range objs {
		rep, err := compat.Analyze(o)
		if err != nil {
			fmt.Fprintf(os.Stderr, "accuracy: skip %s: %v\n", o, err)
			continue
		}
		for _, p := range rep.Programs {
			fmt.Fprintf(&b, "  - name: %s\n    trigger: {kind: sleep, duration: 1ms}\n    variants:\n      - name: only\n        object: %s\n        programs: [%s]\n",
				key(filepath.Base(o), p.Name), filepath.Base(o), p.Name)
		}
	}
	_, err = os.Stdout.WriteString(b.String())
	return err
}

// key names one program of one object in the manifest and the tables.
func key(object, prog string) string {
	return strings.NewReplacer(".bpf.o", "", ".", "_").Replace(object) + "__" + prog
}

type counts struct {
	agree, falseCompatible, falseIncompatible, attachOnly, unconfirmed, total int
}

// attachOnly reports whether every unsupported requirement of v is an
// attach target the kernel checks only when attaching (a kprobe's symbol,
// a perf tracepoint): a verifier-only load cannot confirm or refute it.
func attachOnly(v compat.ProgramVerdict) bool {
	n := 0
	for _, u := range v.Unmet {
		if u.State != compat.Unsupported {
			continue
		}
		n++
		if !strings.HasPrefix(string(u.Feature), "ksym:") && !strings.HasPrefix(string(u.Feature), "tracepoint:") {
			return false
		}
	}
	return n > 0
}

// truthOf is what the kernel did with one program loaded alone: the
// verifier's verdict, and, when the truth run attached it
// (truth-attach-K.json, guest-run --attach-only), whether it attached.
type truthOf struct {
	loaded, attachTried, attached bool
	why                           string // the kernel's refusal, first line
}

// accepts is the kernel's answer: loaded, and attached where attaching
// was tried on a target the section names.
func (t truthOf) accepts() bool { return t.loaded && (!t.attachTried || t.attached) }

// noTarget recognises an attach that failed because the section names no
// target or a placeholder the tool replaces at run time: the object as it
// is cannot attach, on any kernel, and no static tool can tell where the
// tool will attach it.
func noTarget(attachErr string) bool {
	for _, s := range []string{"symbol name cannot be empty", "no kernel hook to attach to"} {
		if strings.Contains(attachErr, s) {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

func compare(dir string, checks []string) error {
	var falseCompat []string // the worst answer: each one named
	var falseIncompat []string
	// kernel -> program key -> what the kernel did
	loaded := map[string]map[string]truthOf{}
	attachTruth := map[string]bool{}
	truthFor := func(kernel string) (map[string]truthOf, error) {
		if m, ok := loaded[kernel]; ok {
			return m, nil
		}
		file := filepath.Join(dir, "truth-attach-"+kernel+".json")
		data, err := os.ReadFile(file)
		if errors.Is(err, os.ErrNotExist) {
			file = filepath.Join(dir, "truth-"+kernel+".json")
			data, err = os.ReadFile(file)
		} else if err == nil {
			attachTruth[kernel] = true
		}
		if err != nil {
			return nil, err
		}
		var out struct {
			Kernel reports.KernelResult `json:"kernel"`
		}
		if err := json.Unmarshal(data, &out); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		m := map[string]truthOf{}
		for _, v := range out.Kernel.Variants {
			switch v.Verdict {
			case reports.VerdictLoaded:
				t := truthOf{loaded: true}
				if attachTruth[kernel] && !noTarget(v.AttachError) {
					t.attachTried, t.attached, t.why = true, v.Attached, v.AttachError
				}
				m[v.Program] = t
			case reports.VerdictRejected:
				m[v.Program] = truthOf{why: v.Reason}
			}
		}
		loaded[kernel] = m
		return m, nil
	}
	fmt.Println("truth: each program loaded alone and, where a truth-attach file exists (guest-run --attach-only), attached to the target its section names")
	fmt.Println("attach-only: refuted only by a kprobe/tracepoint target while the truth is verifier-only, which does not test it")
	fmt.Printf("%-24s %-6s %-8s %8s %10s %12s %14s %12s %11s\n", "mode", "kernel", "truth", "programs", "agree", "false-compat", "false-incompat", "attach-only", "unconfirmed")
	for _, arg := range checks {
		label, path, ok := strings.Cut(arg, "=")
		if !ok {
			return fmt.Errorf("want KERNEL:MODE=CHECK.json, got %q", arg)
		}
		kernel, _, _ := strings.Cut(label, ":")
		truth, err := truthFor(kernel)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var res check.Result
		if err := json.Unmarshal(data, &res); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		var c counts
		for _, o := range res.Objects {
			for _, v := range o.Verdicts {
				t, known := truth[key(filepath.Base(o.Path), v.Program)]
				if !known {
					continue
				}
				got := t.accepts()
				c.total++
				switch {
				case v.Verdict == compat.Unconfirmed:
					c.unconfirmed++
				case v.Verdict == compat.Compatible && got, v.Verdict != compat.Compatible && !got:
					c.agree++
				case v.Verdict == compat.Compatible:
					c.falseCompatible++
					falseCompat = append(falseCompat, fmt.Sprintf("  %s %s: %s", label, key(filepath.Base(o.Path), v.Program), firstLine(t.why)))
				case got && !attachTruth[kernel] && attachOnly(v):
					c.attachOnly++
				default:
					c.falseIncompatible++
					falseIncompat = append(falseIncompat, fmt.Sprintf("  %s %s: %s", label, key(filepath.Base(o.Path), v.Program), firstUnmet(v)))
				}
			}
		}
		pct := func(n int) string {
			if c.total == 0 {
				return "-"
			}
			return fmt.Sprintf("%d (%.0f%%)", n, 100*float64(n)/float64(c.total))
		}
		truthKind := "verifier"
		if attachTruth[kernel] {
			truthKind = "attach"
		}
		fmt.Printf("%-24s %-6s %-8s %8d %10s %12s %14s %12s %11s\n", label, kernel, truthKind, c.total, pct(c.agree), pct(c.falseCompatible), pct(c.falseIncompatible), pct(c.attachOnly), pct(c.unconfirmed))
	}
	if len(falseCompat) > 0 {
		fmt.Println("false compatible (check said compatible, the kernel refused):")
		for _, l := range falseCompat {
			fmt.Println(l)
		}
	}
	if len(falseIncompat) > 0 {
		fmt.Println("false incompatible (check refused it, the kernel loaded it):")
		for _, l := range falseIncompat {
			fmt.Println(l)
		}
	}
	return nil
}

// firstUnmet is the first requirement a verdict names as unsupported.
func firstUnmet(v compat.ProgramVerdict) string {
	for _, u := range v.Unmet {
		if u.State == compat.Unsupported {
			return string(u.Feature) + ": " + u.Detail
		}
	}
	return string(v.Verdict)
}

// debugBTF makes a cached Debian kernel's BTF from its -dbg package (see
// internal/debugbtf): the --btf the "--kernel V --btf" mode is measured
// with, that kernel's own types made by a tool nobody here wrote.
func debugBTF(ref, out string) error {
	cache, err := kernels.Open("")
	if err != nil {
		return err
	}
	k, err := cache.Lookup(ref)
	if err != nil {
		return err
	}
	pkg, version, ok := strings.Cut(k.Source, "=")
	if !ok || !strings.HasPrefix(pkg, "linux-image-") {
		return fmt.Errorf("%s is not a Debian package kernel (%s)", ref, k.Source)
	}
	return debugbtf.Make(k.Release, version, out, false)
}
