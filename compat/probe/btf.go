package probe

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/cilium/ebpf/btf"
	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/ksyms"
)

const vmlinuxBTF = "/sys/kernel/btf/vmlinux"

// probeBTF fills the btf section.
func (p *prober) probeBTF() {
	// btf:kernel: a minimal blob.
	kernel := resultOf(loadRawBTF(&btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}))
	p.set(p.rep.BTF, "kernel", kernel)
	needsKernel := func(r Result) Result {
		if r.State != compat.Supported && kernel.State == compat.Unsupported {
			return unsupported("btf:kernel unsupported")
		}
		if r.State == compat.Unknown && r.Errno == "EINVAL" {
			// The same well-formed blob without the new kind loads:
			// the kernel rejects the kind.
			r.State = compat.Unsupported
		}
		return r
	}
	i32 := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	proto := &btf.FuncProto{Return: i32, Params: []btf.FuncParam{{Name: "a", Type: i32}}}
	p.set(p.rep.BTF, "func", needsKernel(resultOf(loadRawBTF(&btf.Func{Name: "f", Type: proto, Linkage: btf.StaticFunc}))))
	p.set(p.rep.BTF, "global-func", needsKernel(resultOf(loadRawBTF(&btf.Func{Name: "g", Type: proto, Linkage: btf.GlobalFunc}))))
	v := &btf.Var{Name: "v", Type: i32, Linkage: btf.GlobalVar}
	p.set(p.rep.BTF, "datasec", needsKernel(resultOf(loadRawBTF(&btf.Datasec{Name: ".data", Size: 4, Vars: []btf.VarSecinfo{{Type: v, Offset: 0, Size: 4}}}))))

	// btf:vmlinux and btf:core.
	var vml Result
	switch _, err := os.Stat(vmlinuxBTF); {
	case err == nil:
		if _, err := vmlinux(); err != nil {
			vml = unknown(fmt.Errorf("%s exists but does not parse: %w", vmlinuxBTF, err))
		} else {
			vml = supported(vmlinuxBTF)
		}
	case errors.Is(err, os.ErrNotExist) && dirExists("/sys/kernel"):
		vml = unsupported(vmlinuxBTF + " does not exist")
	default:
		vml = unknown(err)
	}
	p.set(p.rep.BTF, "vmlinux", vml)
	core := vml
	core.Detail = "from btf:vmlinux (" + vml.Detail + "); an external BTF file (--btf) also satisfies it"
	p.set(p.rep.BTF, "core", core)

	// btf:modules.
	var mods Result
	entries, err := os.ReadDir("/sys/kernel/btf")
	n := 0
	for _, e := range entries {
		if e.Name() != "vmlinux" {
			n++
		}
	}
	switch {
	case n > 0:
		mods = supported(fmt.Sprintf("%d module BTF files in /sys/kernel/btf", n))
	case err != nil && !errors.Is(err, os.ErrNotExist):
		mods = unknown(err)
	default:
		if c := p.configState("CONFIG_MODULES"); c.State != compat.Supported {
			mods = c
		} else {
			mods = p.configState("CONFIG_DEBUG_INFO_BTF_MODULES")
			if mods.State == compat.Supported {
				mods.Detail += " (no modules loaded)"
			}
		}
	}
	p.set(p.rep.BTF, "modules", mods)
}

func dirExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// loadRawBTF loads a BTF blob with t, without cilium/ebpf's compatibility
// rewrites (which would hide the kernel's answer).
func loadRawBTF(t btf.Type) error {
	b, err := btf.NewBuilder([]btf.Type{t}, nil)
	if err != nil {
		return err
	}
	raw, err := b.Marshal(nil, &btf.MarshalOptions{Order: nativeEndian, PreventNoTypeFound: true})
	if err != nil {
		return err
	}
	h, err := btf.NewHandleFromRawBTF(raw)
	if err != nil {
		return err
	}
	return h.Close()
}

// liveLookups answers ksym:NAME and kfunc:NAME for a report made in this
// process, for names that were not recorded.
type liveLookups struct {
	ksymsOnce sync.Once
	ksyms     map[string]bool
	ksymsErr  error
}

// kallsyms returns the set of symbol names in /proc/kallsyms.
func (l *liveLookups) kallsyms() (map[string]bool, error) {
	l.ksymsOnce.Do(func() {
		l.ksyms, l.ksymsErr = readKallsyms(nil)
	})
	return l.ksyms, l.ksymsErr
}

// readKallsyms reads /proc/kallsyms; with want non-nil it keeps only those
// names.
func readKallsyms(want map[string]bool) (map[string]bool, error) {
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	found, err := ksyms.Read(f, want)
	if errors.Is(err, ksyms.ErrPlaceholder) {
		return map[string]bool{}, nil // empty: callers tell why (procHasKallsyms)
	}
	if err != nil {
		return nil, fmt.Errorf("/proc/kallsyms: %w", err)
	}
	return found, nil
}

// probeSymbols records the catalog's ksyms and kfuncs and those asked for.
func (p *prober) probeSymbols() {
	wantK := map[string]bool{}
	wantF := map[string]bool{}
	for _, f := range compat.Catalog() {
		if n, ok := strings.CutPrefix(string(f.ID), "ksym:"); ok && p.opts.KsymsCatalog {
			wantK[n] = true
		}
		if n, ok := strings.CutPrefix(string(f.ID), "kfunc:"); ok {
			wantF[n] = true
		}
	}
	for _, n := range p.opts.Ksyms {
		wantK[n] = true
	}
	for _, n := range p.opts.Kfuncs {
		wantF[n] = true
	}
	for n := range wantF {
		p.set(p.rep.Kfuncs, n, kfuncResult(n))
	}
	if len(wantK) == 0 {
		return
	}
	// Mark the wanted names present in kallsyms; an empty file (no
	// kallsyms) must not make everything unsupported.
	syms, err := readKallsyms(wantK)
	if err == nil && len(syms) == 0 && !procHasKallsyms() {
		err = errors.New("/proc/kallsyms is empty")
	}
	for n := range wantK {
		p.set(p.rep.Ksyms, n, ksymResultKnown(syms, err, n))
	}
}

// procHasKallsyms reports whether /proc/kallsyms has at least one line
// (procfs files report size 0).
func procHasKallsyms() bool {
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return false
	}
	defer f.Close()
	var b [1]byte
	n, _ := f.Read(b[:])
	return n > 0
}

// ksymResultKnown is ksymResult for a filtered set (an empty filtered set
// is fine).
func ksymResultKnown(syms map[string]bool, err error, name string) Result {
	if err != nil {
		return unknown(err)
	}
	if syms[name] {
		return supported("in /proc/kallsyms")
	}
	return unsupported("not in /proc/kallsyms")
}
