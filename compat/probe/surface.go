package probe

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cilium/ebpf/btf"
	"github.com/klauspost/compress/zstd"
	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/btflimit"
	"github.com/retrobpf/retrobpf/internal/inputfile"
	"github.com/retrobpf/retrobpf/internal/ksyms"
)

// SurfaceEncoding is how each AttachSurface list is stored: its names
// sorted and front-coded (per name: uvarint length of the prefix shared
// with the previous name, uvarint length of the rest, the rest),
// zstd-compressed, base64 for JSON. Front coding takes a distro kernel's
// ~120k symbols from 470 KB to about 320 KB compressed, so a fleet node's
// probe stays small enough to ship around.
const SurfaceEncoding = "front+zstd+base64"

// maxSurfaceList bounds one decoded list (a hostile report could
// otherwise expand a small string into gigabytes).
const maxSurfaceList = 64 << 20

// AttachSurface is what a kernel offers programs to attach to, recorded by
// Probe so that a saved report decides attach targets without the kernel:
// kprobe targets (kallsyms), BTF functions (fentry/fexit/fmod_ret/lsm),
// raw tracepoints (btf_trace_ types: raw_tp, tp_btf) and tracepoint events
// (tracefs). A list that could not be read is empty and its reason is in
// Errors; its targets stay Unknown.
type AttachSurface struct {
	Encoding string `json:"encoding"`
	// Symbols are the kernel's symbol names from /proc/kallsyms.
	Symbols string `json:"symbols,omitempty"`
	// BTFFuncs are the FUNC names of the kernel's vmlinux BTF.
	BTFFuncs string `json:"btf_funcs,omitempty"`
	// BTFFuncArgs are NAME/N for each FUNC of BTFFuncs: N is its number
	// of parameters. An fentry program reading ctx[N] is refused there.
	BTFFuncArgs string `json:"btf_func_args,omitempty"`
	// RawTracepoints are the btf_trace_NAME types of the vmlinux BTF,
	// without the prefix.
	RawTracepoints string `json:"raw_tracepoints,omitempty"`
	// RawTracepointArgs are NAME/N for each raw tracepoint: N is the
	// number of arguments it passes (its btf_trace_NAME prototype's
	// parameters but the first, the tracepoint's private data). A tp_btf
	// program reading ctx[N] is refused there.
	RawTracepointArgs string `json:"raw_tracepoint_args,omitempty"`
	// Tracepoints are tracefs's available_events as GROUP/EVENT.
	Tracepoints string `json:"tracepoints,omitempty"`
	// Traceable are tracefs's available_filter_functions: the functions
	// ftrace can patch. fentry, fexit, fmod_ret and lsm programs attach
	// through a BPF trampoline on that patch site, so a BTF FUNC missing
	// here (notrace, or inlined into every caller) refuses them at attach
	// time although the verifier accepts the program.
	Traceable string `json:"traceable,omitempty"`
	// Errors says why a list is missing, keyed by its JSON name.
	Errors map[string]string `json:"errors,omitempty"`

	once      sync.Once
	sets      map[string]map[string]bool // by JSON name
	traceArgs map[string]int             // from raw_tracepoint_args
	funcArgs  map[string]int             // from btf_func_args
	loadErr   error
}

// collectAttachSurface reads the running kernel's attach surface.
func collectAttachSurface() *AttachSurface {
	s := &AttachSurface{Encoding: SurfaceEncoding, Errors: map[string]string{}}
	set := func(field *string, key string, names []string, err error) {
		if err == nil && len(names) == 0 {
			err = errors.New("empty")
		}
		if err != nil {
			s.Errors[key] = err.Error()
			return
		}
		*field, err = encodeList(names)
		if err != nil {
			s.Errors[key] = err.Error()
		}
	}
	syms, err := kallsymsNames()
	set(&s.Symbols, "symbols", syms, err)
	funcs, funcArgs, traces, args, err := btfSurface()
	set(&s.BTFFuncs, "btf_funcs", funcs, err)
	set(&s.BTFFuncArgs, "btf_func_args", funcArgs, err)
	set(&s.RawTracepoints, "raw_tracepoints", traces, err)
	set(&s.RawTracepointArgs, "raw_tracepoint_args", args, err)
	events, err := tracefsEvents()
	set(&s.Tracepoints, "tracepoints", events, err)
	traceable, err := tracefsTraceable()
	set(&s.Traceable, "traceable", traceable, err)
	if len(s.Errors) == 0 {
		s.Errors = nil
	}
	return s
}

func kallsymsNames() ([]string, error) {
	syms, err := readKallsyms(nil)
	if err != nil {
		return nil, err
	}
	if len(syms) == 0 && !procHasKallsyms() {
		return nil, errors.New("/proc/kallsyms is empty")
	}
	out := make([]string, 0, len(syms))
	for n := range syms {
		out = append(out, n)
	}
	return out, nil
}

// btfSurface reads the FUNCs and raw tracepoints of the running kernel's
// BTF, and the argument count of each as NAME/N.
func btfSurface() (funcs, funcArgs, traces, args []string, err error) {
	raw, err := inputfile.Read(vmlinuxBTF, inputfile.MaxObject)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	funcs, typedefs, params, err := btflimit.FuncAndTypedefNames(raw)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("%s: %w", vmlinuxBTF, err)
	}
	seen := map[string]bool{}
	for _, f := range funcs {
		if p, ok := params[f]; ok && !seen[f] {
			seen[f] = true
			funcArgs = append(funcArgs, fmt.Sprintf("%s/%d", f, p))
		}
	}
	for _, t := range typedefs {
		if n, ok := strings.CutPrefix(t, "btf_trace_"); ok {
			traces = append(traces, n)
			if p, ok := params[t]; ok && p > 0 {
				args = append(args, fmt.Sprintf("%s/%d", n, p-1))
			}
		}
	}
	return funcs, funcArgs, traces, args, nil
}

// maxFilterFunctions bounds available_filter_functions (about 2.5 MB on a
// distribution kernel with its modules).
const maxFilterFunctions = 64 << 20

// tracefsTraceable reads available_filter_functions ("name" or
// "name [module]" per line) where tracefs is mounted.
func tracefsTraceable() ([]string, error) {
	var errs []string
	for _, dir := range []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"} {
		f, err := os.Open(dir + "/available_filter_functions")
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		data, err := io.ReadAll(io.LimitReader(f, maxFilterFunctions+1))
		f.Close()
		if err != nil {
			return nil, err
		}
		if len(data) > maxFilterFunctions {
			return nil, fmt.Errorf("%s/available_filter_functions is larger than %d bytes", dir, maxFilterFunctions)
		}
		return ksyms.ParseFilterFunctions(data), nil
	}
	return nil, fmt.Errorf("tracefs not mounted: %s", strings.Join(errs, "; "))
}

// tracefsEvents reads available_events where tracefs is mounted; the probe
// does not mount it (it changes nothing on the node).
func tracefsEvents() ([]string, error) {
	var errs []string
	for _, dir := range []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"} {
		data, err := os.ReadFile(dir + "/available_events")
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		var out []string
		for line := range strings.Lines(string(data)) {
			if group, event, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
				out = append(out, group+"/"+event)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("tracefs not mounted: %s", strings.Join(errs, "; "))
}

func encodeList(names []string) (string, error) {
	names = slices.Clone(names)
	slices.Sort(names)
	names = slices.Compact(names)
	var buf bytes.Buffer
	// One goroutine: the probe's other tasks use the CPUs.
	zw, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return "", err
	}
	prev := ""
	var rec []byte
	for _, n := range names {
		shared := 0
		for shared < len(prev) && shared < len(n) && prev[shared] == n[shared] {
			shared++
		}
		rec = binary.AppendUvarint(rec[:0], uint64(shared))
		rec = binary.AppendUvarint(rec, uint64(len(n)-shared))
		rec = append(rec, n[shared:]...)
		zw.Write(rec)
		prev = n
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

func decodeList(enc string) (map[string]bool, error) {
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, err
	}
	zr, err := zstd.NewReader(bytes.NewReader(raw), zstd.WithDecoderMaxMemory(maxSurfaceList))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	out := map[string]bool{}
	br := bufio.NewReader(io.LimitReader(zr, maxSurfaceList))
	var prev []byte
	for total := 0; ; {
		shared, err := binary.ReadUvarint(br)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		rest, err := binary.ReadUvarint(br)
		if err != nil {
			return nil, fmt.Errorf("truncated list: %w", err)
		}
		if shared > uint64(len(prev)) || rest > maxSymbolName {
			return nil, errors.New("malformed list")
		}
		name := append(prev[:shared:shared], make([]byte, rest)...)
		if _, err := io.ReadFull(br, name[shared:]); err != nil {
			return nil, fmt.Errorf("truncated list: %w", err)
		}
		if total += len(name); total > maxSurfaceList {
			return nil, fmt.Errorf("list larger than %d bytes", maxSurfaceList)
		}
		out[string(name)] = true
		prev = name
	}
}

// maxSymbolName bounds one name (KSYM_NAME_LEN is 512).
const maxSymbolName = 4096

// list decodes (once) and returns the named list, nil when not recorded.
func (s *AttachSurface) list(key string) (map[string]bool, error) {
	s.once.Do(func() {
		if s.Encoding != SurfaceEncoding {
			s.loadErr = fmt.Errorf("attach surface encoding %q (this retrobpf reads %s)", s.Encoding, SurfaceEncoding)
			return
		}
		s.sets = map[string]map[string]bool{}
		for k, enc := range map[string]string{"symbols": s.Symbols, "btf_funcs": s.BTFFuncs, "raw_tracepoints": s.RawTracepoints, "raw_tracepoint_args": s.RawTracepointArgs, "btf_func_args": s.BTFFuncArgs, "tracepoints": s.Tracepoints, "traceable": s.Traceable} {
			if enc == "" {
				continue
			}
			m, err := decodeList(enc)
			if err != nil {
				s.loadErr = fmt.Errorf("attach surface %s: %w", k, err)
				return
			}
			s.sets[k] = m
		}
		s.indexTraceArgs()
	})
	if s.loadErr != nil {
		return nil, s.loadErr
	}
	return s.sets[key], nil
}

// indexTraceArgs reads the argument-count sets into traceArgs and
// funcArgs.
func (s *AttachSurface) indexTraceArgs() {
	index := func(key string) map[string]int {
		m := map[string]int{}
		for entry := range s.sets[key] {
			name, n, _ := strings.Cut(entry, "/")
			if v, err := strconv.Atoi(n); err == nil && v >= 0 {
				m[name] = v
			}
		}
		return m
	}
	s.traceArgs, s.funcArgs = index("raw_tracepoint_args"), index("btf_func_args")
}

// protoOf is a prototype of n parameters, all pointer-sized: what the
// argument-count answers of compat need of a recorded surface.
func protoOf(n int) *btf.FuncProto {
	params := make([]btf.FuncParam, n)
	for i := range params {
		params[i].Type = &btf.Pointer{Target: &btf.Void{}}
	}
	return &btf.FuncProto{Return: &btf.Int{Size: 4}, Params: params}
}

// AnyTypesByName answers like a *btf.Spec for the names compat's kernel
// BTF target asks about: FUNCs and btf_trace_ typedefs, the latter with a
// prototype of the recorded number of arguments when it was recorded.
func (s *AttachSurface) AnyTypesByName(name string) ([]btf.Type, error) {
	if n, ok := strings.CutPrefix(name, "btf_trace_"); ok {
		if traces, _ := s.list("raw_tracepoints"); traces[n] {
			td := &btf.Typedef{Name: name}
			if args, ok := s.traceArgs[n]; ok {
				// The first parameter is the tracepoint's private data.
				td.Type = &btf.Pointer{Target: protoOf(args + 1)}
			}
			return []btf.Type{td}, nil
		}
	}
	if funcs, _ := s.list("btf_funcs"); funcs[name] {
		fn := &btf.Func{Name: name}
		if args, ok := s.funcArgs[name]; ok {
			fn.Type = protoOf(args)
		}
		return []btf.Type{fn}, nil
	}
	return nil, btf.ErrNotFound
}

// result decides an attach-target ID from the surface: kallsyms for
// ksym:, tracefs for tracepoint:, and the BTF lists for the rest (and for
// tracepoints when tracefs was not mounted).
//
// report answers the other features a target depends on (the probed
// attach:fentry_many_args for a function of more than six arguments).
func (s *AttachSurface) result(id compat.FeatureID, report func(compat.FeatureID) compat.Availability) (Result, bool) {
	kind, name, _ := strings.Cut(string(id), ":")
	switch kind {
	case "ksym":
		syms, err := s.list("symbols")
		switch {
		case err != nil:
			return unknown(err), true
		case syms == nil:
		case syms[name]:
			return supported(name + " in kallsyms (recorded attach surface)"), true
		default:
			return unsupported("no symbol " + name + " in kallsyms (recorded attach surface)"), true
		}
	case "tracepoint":
		events, err := s.list("tracepoints")
		switch {
		case err != nil:
			return unknown(err), true
		case events == nil:
		case events[name]:
			return supported(name + " in tracefs available_events (recorded attach surface)"), true
		default:
			return unsupported("no event " + name + " in tracefs available_events (recorded attach surface)"), true
		}
	case "btf-func", "raw-tp", "raw-tp-args", "btf-func-args":
	default:
		return Result{}, false
	}
	if _, err := s.list("btf_funcs"); err != nil {
		return unknown(err), true
	}
	if s.BTFFuncs == "" {
		return Result{}, false
	}
	a := compat.WithKernelBTF(noAnswers{report}, s).Has(id)
	if kind == "btf-func" && a.State == compat.Supported {
		// In BTF, but can a trampoline patch it? Only ftrace knows.
		if traceable, err := s.list("traceable"); err == nil && traceable != nil && !traceable[name] {
			return unsupported("FUNC " + name + " is in BTF but not in available_filter_functions: ftrace cannot patch it, so fentry/fexit/fmod_ret/lsm cannot attach (recorded attach surface)"), true
		}
	}
	return Result{State: a.State, Detail: a.Detail + " (recorded attach surface)"}, true
}

// noAnswers is a Target that decides no attach target, so WithKernelBTF
// answers those; other features it asks report (nil: nothing).
type noAnswers struct {
	report func(compat.FeatureID) compat.Availability
}

func (noAnswers) Name() string { return "" }
func (n noAnswers) Has(id compat.FeatureID) compat.Availability {
	if n.report != nil && !isAttachTarget(id) {
		return n.report(id)
	}
	return compat.Availability{State: compat.Unknown}
}

// isAttachTarget reports whether id names something to attach to, which
// the surface answers itself.
func isAttachTarget(id compat.FeatureID) bool {
	kind, _, _ := strings.Cut(string(id), ":")
	switch kind {
	case "ksym", "btf-func", "raw-tp", "tracepoint", "raw-tp-args", "btf-func-args":
		return true
	}
	return false
}

// probeTargets decides Options.Targets from the lists they need, read
// now and kept in memory only, and records each answer in Misc.
func (p *prober) probeTargets() {
	s := &AttachSurface{Encoding: SurfaceEncoding, Errors: map[string]string{}, sets: map[string]map[string]bool{}}
	s.once.Do(func() {}) // the sets are filled here, not decoded
	keep := func(key string, names []string, err error) {
		if err != nil {
			s.Errors[key] = err.Error()
			return
		}
		m := make(map[string]bool, len(names))
		for _, n := range names {
			m[n] = true
		}
		s.sets[key] = m
	}
	var needBTF, needEvents bool
	for _, id := range p.opts.Targets {
		kind, _, _ := strings.Cut(string(id), ":")
		needBTF = needBTF || kind == "btf-func" || kind == "raw-tp" || kind == "raw-tp-args" || kind == "btf-func-args"
		needEvents = needEvents || kind == "tracepoint"
	}
	if needBTF {
		funcs, funcArgs, traces, args, err := btfSurface()
		keep("btf_funcs", funcs, err)
		keep("btf_func_args", funcArgs, err)
		keep("raw_tracepoints", traces, err)
		keep("raw_tracepoint_args", args, err)
		s.indexTraceArgs()
		s.BTFFuncs = "in memory" // result() asks whether the list was recorded
		traceable, err := tracefsTraceable()
		keep("traceable", traceable, err)
	}
	if needEvents {
		events, err := tracefsEvents()
		keep("tracepoints", events, err)
	}
	for _, id := range p.opts.Targets {
		res, ok := s.result(id, func(id compat.FeatureID) compat.Availability {
			if id != "attach:fentry_many_args" {
				return compat.Availability{State: compat.Unknown}
			}
			r := p.fentryManyArgs()
			return compat.Availability{State: r.State, Detail: r.Detail}
		})
		if !ok {
			continue
		}
		if e, failed := s.Errors[listOf(id)]; failed && res.State == compat.Unknown && res.Detail == "" {
			res.Detail = e
		}
		res.Detail = strings.Replace(res.Detail, "(recorded attach surface)", "(probed)", 1)
		p.set(p.rep.Misc, string(id), res)
	}
}

// listOf names the surface list that decides id.
func listOf(id compat.FeatureID) string {
	switch kind, _, _ := strings.Cut(string(id), ":"); kind {
	case "tracepoint":
		return "tracepoints"
	default:
		return "btf_funcs"
	}
}
