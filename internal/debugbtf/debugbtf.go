package debugbtf

import (
	"bufio"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/retrobpf/retrobpf/internal/atomicfile"
)

// ErrUnavailable is returned when the tools (apt-get, dpkg-deb, tar,
// pahole) or the package cannot be had on this machine.
var ErrUnavailable = errors.New("debug package BTF unavailable")

// Make writes to out the BTF of the Debian kernel release (uname -r, e.g.
// 6.1.0-57-cloud-amd64) at package version, from
// linux-image-RELEASE-dbg=VERSION (about 280 MB). out is written whole or
// not at all. update runs apt-get update once when the download fails
// (a fresh machine's lists may predate the package; needs root).
func Make(release, version, out string, update bool) error {
	for _, tool := range []string{"apt-get", "dpkg-deb", "tar", "pahole"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%w: %s not installed (make deps-test installs dwarves)", ErrUnavailable, tool)
		}
	}
	work, err := os.MkdirTemp("", "debugbtf-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	run := func(name string, args ...string) error {
		cmd := exec.Command(name, args...)
		cmd.Dir = work
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(b)))
		}
		return nil
	}
	pkg := "linux-image-" + release + "-dbg=" + version
	err = run("apt-get", "download", pkg)
	if err != nil && update {
		if uerr := run("apt-get", "update", "-q"); uerr == nil {
			err = run("apt-get", "download", pkg)
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	debs, _ := filepath.Glob(filepath.Join(work, "*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("apt-get download %s left %v", pkg, debs)
	}
	vmlinux := "./usr/lib/debug/boot/vmlinux-" + release
	if err := run("sh", "-c", `dpkg-deb --fsys-tarfile "$1" | tar -x "$2"`, "sh", debs[0], vmlinux); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := run("pahole", "--btf_encode_detached", tmp, filepath.Join(work, vmlinux)); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := writeSystemMap(filepath.Join(work, vmlinux), SystemMap(out), Traceable(out)); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, out)
}

// SystemMap is where Make writes the System.map that goes with the BTF
// file out.
func SystemMap(out string) string { return out + ".System.map" }

// Traceable is where Make writes the functions ftrace can patch in that
// kernel, as its available_filter_functions lists them: the functions
// holding a __mcount_loc call site. fentry/fexit attach only there.
func Traceable(out string) string { return out + ".available_filter_functions" }

// writeSystemMap writes the symbol table of vmlinux as System.map lists it
// (`nm -n`: address, type, name), functions as T/t and data as D/d, and
// the traceable functions to traceable.
func writeSystemMap(vmlinux, out, traceable string) error {
	f, err := elf.Open(vmlinux)
	if err != nil {
		return fmt.Errorf("%s: %w", vmlinux, err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return fmt.Errorf("%s: symbols: %w", vmlinux, err)
	}
	sort.SliceStable(syms, func(i, j int) bool { return syms[i].Value < syms[j].Value })
	if err := writeTraceable(f, syms, traceable); err != nil {
		return fmt.Errorf("%s: %w", vmlinux, err)
	}
	return atomicfile.Write(out, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		for _, s := range syms {
			var t byte
			switch elf.ST_TYPE(s.Info) {
			case elf.STT_FUNC:
				t = 'T'
			case elf.STT_OBJECT:
				t = 'D'
			default:
				continue
			}
			if s.Name == "" || s.Value == 0 {
				continue
			}
			if elf.ST_BIND(s.Info) == elf.STB_LOCAL {
				t += 'a' - 'A'
			}
			fmt.Fprintf(bw, "%016x %c %s\n", s.Value, t, s.Name)
		}
		return bw.Flush()
	})
}

// writeTraceable maps each ftrace call site of the mcount table (an array
// of addresses the linker gathers between __start_mcount_loc and
// __stop_mcount_loc, inside .init.data) to the function symbol that holds
// it, as ftrace names the entries of available_filter_functions.
func writeTraceable(f *elf.File, syms []elf.Symbol, out string) error {
	var start, stop uint64
	for _, s := range syms {
		switch s.Name {
		case "__start_mcount_loc":
			start = s.Value
		case "__stop_mcount_loc":
			stop = s.Value
		}
	}
	if start == 0 || stop <= start || stop-start > 64<<20 {
		return errors.New("no __start_mcount_loc/__stop_mcount_loc table (a kernel without ftrace?)")
	}
	var data []byte
	for _, sec := range f.Sections {
		if sec.Type == elf.SHT_PROGBITS && sec.Addr <= start && stop <= sec.Addr+sec.Size {
			data = make([]byte, stop-start)
			if _, err := sec.ReadAt(data, int64(start-sec.Addr)); err != nil {
				return fmt.Errorf("mcount table in %s: %w", sec.Name, err)
			}
			break
		}
	}
	if data == nil {
		return errors.New("the mcount table lies in no section")
	}
	var funcs []elf.Symbol
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Size > 0 && s.Name != "" {
			funcs = append(funcs, s)
		}
	}
	seen := map[string]bool{}
	var names []string
	for off := 0; off+8 <= len(data); off += 8 {
		addr := f.ByteOrder.Uint64(data[off:])
		i := sort.Search(len(funcs), func(i int) bool { return funcs[i].Value > addr }) - 1
		if i < 0 || addr >= funcs[i].Value+funcs[i].Size {
			continue
		}
		if n := funcs[i].Name; !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return errors.New("__mcount_loc names no function")
	}
	return atomicfile.Write(out, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		for _, n := range names {
			fmt.Fprintln(bw, n)
		}
		return bw.Flush()
	})
}
