package probe

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/retrobpf/retrobpf/internal/atomicfile"
	"github.com/retrobpf/retrobpf/internal/inputfile"
)

// cacheKey identifies what a probe's answers depend on: this build of the
// probe, the running kernel (release, build string, the vmlinux build ID
// in /sys/kernel/notes, the vmlinux BTF), this boot (modules loaded since
// can change kfuncs and symbols; the boot ID changes with every boot),
// the caller's privileges and the options that change what is probed.
func cacheKey(opts Options) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "schema %d\n", SchemaVersion)
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintf(h, "build %s\n", bi.Main.Version)
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
				fmt.Fprintf(h, "%s=%s\n", s.Key, s.Value)
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		if st, err := os.Stat(exe); err == nil {
			fmt.Fprintf(h, "exe %d %d\n", st.Size(), st.ModTime().UnixNano()) // a rebuilt binary probes again
		}
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", err
	}
	fmt.Fprintf(h, "uname %s %s %s\n", u.Release[:], u.Version[:], u.Machine[:])
	// The build ID (in the kernel's notes) names the image, its BTF
	// included, and the boot ID this boot; the BTF's size stands in for its
	// digest, which cost more than the rest of a cache hit (3 ms of 5.5 MB
	// of SHA-256) and cannot change without the build ID changing.
	for _, f := range []string{"/sys/kernel/notes", "/proc/sys/kernel/random/boot_id"} {
		hashFile(h, f)
	}
	if st, err := os.Stat(vmlinuxBTF); err == nil {
		fmt.Fprintf(h, "btf %d\n", st.Size())
	}
	fmt.Fprintf(h, "euid %d\n", os.Geteuid())
	ksyms, kfuncs := slices.Sorted(slices.Values(opts.Ksyms)), slices.Sorted(slices.Values(opts.Kfuncs))
	fmt.Fprintf(h, "opts %v %v %v %v %v %v %v %v %v %v\n", ksyms, kfuncs, opts.KsymsCatalog, opts.SkipHelpers, opts.AttachSurface, opts.KernelBTF, opts.Targets, opts.LimitHelpers, opts.helpers, opts.helperTypes)
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// hashFile adds a file's contents (or that it is missing) to h.
func hashFile(h io.Writer, path string) {
	f, err := inputfile.Open(path, inputfile.MaxObject)
	if err != nil {
		fmt.Fprintf(h, "%s: %v\n", path, err)
		return
	}
	defer f.Close()
	fmt.Fprintf(h, "%s:\n", path)
	io.Copy(h, f)
}

// cached returns the report saved under key, nil when there is none or it
// does not decode (it is then probed again and overwritten).
func cached(dir, key string) *Report {
	data, err := inputfile.Read(filepath.Join(dir, "probe-"+key+".json"), inputfile.MaxDocument)
	if err != nil {
		return nil
	}
	// Strict JSON, but not the full schema validation Decode does: that
	// costs more than the cache saves, and the file is one this code wrote.
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil || r.SchemaVersion != SchemaVersion || r.Kernel.Release == "" {
		return nil
	}
	return &r
}

// saveCached stores r under key; a cache that cannot be written only
// costs the next probe its speed.
func saveCached(dir, key string, r *Report) {
	data, err := json.Marshal(r)
	if err != nil || os.MkdirAll(dir, 0o755) != nil {
		return
	}
	_ = atomicfile.WriteFile(filepath.Join(dir, "probe-"+key+".json"), data, 0o644)
}
