package triage

import (
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/retrobpf/retrobpf/reports"
)

// sourceOf finds the C source line of the rejection: the last "; source"
// comment the verifier printed at or before the decisive line (with
// "@ file:line" on 6.x kernels, else matched against the object's line
// info), or else the line info of the last instruction the log names.
func sourceOf(log []string, idx int, spec *ebpf.ProgramSpec) *reports.SourceLocation {
	if idx >= len(log) {
		idx = len(log) - 1
	}
	lastInsn := -1
	for i := idx; i >= 0; i-- {
		l := strings.TrimSpace(log[i])
		if m := reInsnIndex.FindStringSubmatch(l); m != nil && lastInsn < 0 {
			lastInsn, _ = strconv.Atoi(m[1])
		}
		if !strings.HasPrefix(l, ";") {
			continue
		}
		m := reSourceAt.FindStringSubmatch(l)
		if m == nil || strings.TrimSpace(m[1]) == "" && m[2] == "" {
			continue
		}
		loc := &reports.SourceLocation{Text: strings.TrimSpace(m[1])}
		if strings.Contains(l, " @ ") && m[3] == "0" {
			continue // "; @ file.c:0", "; instruction poisoned by CO-RE @ :0"
		}
		if m[2] != "" {
			loc.File = m[2]
			loc.Line, _ = strconv.Atoi(m[3])
			if loc.Line > 0 || byText(spec, loc.Text) == nil {
				return loc
			}
		}
		if l := byText(spec, loc.Text); l != nil {
			return l
		}
		return loc
	}
	if lastInsn >= 0 {
		return byOffset(spec, lastInsn)
	}
	return nil
}

// byText finds the line info entry whose source text is text.
func byText(spec *ebpf.ProgramSpec, text string) *reports.SourceLocation {
	if spec == nil || text == "" {
		return nil
	}
	var found *reports.SourceLocation
	for _, ins := range spec.Instructions {
		if l, ok := ins.Source().(*btf.Line); ok && strings.TrimSpace(l.Line()) == text {
			found = location(l)
		}
	}
	return found
}

// byOffset returns the line info in effect at raw instruction offset off.
func byOffset(spec *ebpf.ProgramSpec, off int) *reports.SourceLocation {
	if spec == nil {
		return nil
	}
	var cur *btf.Line
	iter := spec.Instructions.Iterate()
	for iter.Next() {
		if int(iter.Offset) > off {
			break
		}
		if l, ok := iter.Ins.Source().(*btf.Line); ok {
			cur = l
		}
	}
	if cur == nil {
		return nil
	}
	return location(cur)
}

func location(l *btf.Line) *reports.SourceLocation {
	return &reports.SourceLocation{
		File:   l.FileName(),
		Line:   int(l.LineNumber()),
		Column: int(l.LineColumn()),
		Text:   strings.TrimSpace(l.Line()),
	}
}
