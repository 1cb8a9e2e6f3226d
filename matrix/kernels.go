package matrix

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/retrobpf/retrobpf/internal/inputfile"
	"github.com/retrobpf/retrobpf/vmtest/kernels"
)

// ErrKernelList marks an unusable kernel list: no kernels or an
// unreadable @FILE. An entry that is not a kernel reference is reported
// with the kernels package's error (ErrBadRef, ErrUnknownAlias) instead.
var ErrKernelList = errors.New("invalid kernel list")

// Kernel is one entry of the matrix: a kernel and the profile it boots
// with. The same kernel can appear under several profiles.
type Kernel struct {
	Ref     kernels.Ref
	Profile Profile
}

// String names the entry in results, file names and reports: the
// profile's name, or the reference when it has no profile.
func (k Kernel) String() string {
	if k.Profile.Name != "" {
		return k.Profile.Name
	}
	return k.Ref.String()
}

// Profile is how production runs a kernel, beyond its version: boot
// parameters (lockdown=confidentiality), sysctls set before anything runs
// (net.core.bpf_jit_enable=0, kernel.unprivileged_bpf_disabled=1) and
// modules loaded at boot, from the kernel's own tree or .ko files (a
// backported BPF subsystem shipped as a module takes that shape).
type Profile struct {
	Name        string            `yaml:"name" json:"name,omitempty"`
	Cmdline     []string          `yaml:"cmdline" json:"cmdline,omitempty"`
	Sysctls     map[string]string `yaml:"sysctls" json:"sysctls,omitempty"`
	Modules     []string          `yaml:"modules" json:"modules,omitempty"`
	ModuleFiles []string          `yaml:"module_files" json:"module_files,omitempty"`
	// HideBTF hides the kernel's own /sys/kernel/btf from the programs'
	// loader, so the kernel is tested as one built without BTF: its types
	// come from --btf or the hub, as on a 4.19 node.
	HideBTF bool `yaml:"hide_btf" json:"hide_btf,omitempty"`
	// OS is the distribution as BTFHub names it, "debian/10": what the
	// hub is asked for. Debian's packages say it themselves.
	OS string `yaml:"os" json:"os,omitempty"`
}

// IsZero reports whether p changes nothing.
func (p Profile) IsZero() bool {
	return len(p.Cmdline) == 0 && len(p.Sysctls) == 0 && len(p.Modules) == 0 && len(p.ModuleFiles) == 0 && !p.HideBTF && p.OS == ""
}

var (
	profileName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$`)
	sysctlName  = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_-]+)+$`)
	moduleName  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	cmdlineWord = regexp.MustCompile(`^[A-Za-z0-9_.,:=/+-]{1,256}$`)
)

// ParseKernels parses a kernel list: comma-separated references (aliases
// like 6.1, deb:…, oci:…, file:…); an entry "@FILE" reads one reference
// per line from FILE ('#' starts a comment), or, for a FILE ending in
// .yaml or .yml, a list whose entries are references or profiles:
//
//   - 5.10
//   - ref: 6.1
//     name: 6.1-lockdown
//     cmdline: [lockdown=confidentiality]
//     sysctls: {net.core.bpf_jit_enable: "0"}
//     modules: [sch_ingress]          # from the kernel's own modules
//     module_files: [./backport.ko]   # relative to FILE
//
// Every reference is parsed here, before anything boots, so a typo is bad
// input rather than a kernel that fails to resolve half-way through a
// run. Duplicates are dropped, order is kept; two different entries under
// one name are refused.
func ParseKernels(s string) ([]Kernel, error) {
	var out []Kernel
	seen := map[string]Kernel{}
	add := func(where string, k Kernel) error {
		if prev, dup := seen[k.String()]; dup {
			if !reflect.DeepEqual(prev, k) {
				return fmt.Errorf("%s%w: %s names two different kernels", where, ErrKernelList, k)
			}
			return nil
		}
		seen[k.String()] = k
		out = append(out, k)
		return nil
	}
	parse := func(where, entry string) (kernels.Ref, error) {
		ref, err := kernels.ParseRef(entry)
		if err != nil {
			return ref, fmt.Errorf("%s%w", where, err)
		}
		// A local path that is no kernel is the user's mistake, found
		// here rather than as an infra-error result after the run.
		if err := kernels.CheckLocal(ref); err != nil {
			return ref, fmt.Errorf("%s%w", where, err)
		}
		return ref, nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		path, isFile := strings.CutPrefix(part, "@")
		if !isFile {
			ref, err := parse("", part)
			if err != nil {
				return nil, err
			}
			if err := add("", Kernel{Ref: ref}); err != nil {
				return nil, err
			}
			continue
		}
		// inputfile refuses a FIFO at once instead of blocking on it.
		data, err := inputfile.Read(path, inputfile.MaxSmall)
		if err != nil {
			return nil, fmt.Errorf("%w: kernels file: %w", ErrKernelList, err)
		}
		if ext := filepath.Ext(path); ext == ".yaml" || ext == ".yml" {
			ks, err := parseProfiles(path, data, parse)
			if err != nil {
				return nil, err
			}
			for _, k := range ks {
				if err := add(path+": ", k); err != nil {
					return nil, err
				}
			}
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for line := 1; sc.Scan(); line++ {
			entry, _, _ := strings.Cut(sc.Text(), "#")
			if entry = strings.TrimSpace(entry); entry == "" {
				continue
			}
			where := fmt.Sprintf("%s:%d: ", path, line)
			ref, err := parse(where, entry)
			if err != nil {
				return nil, err
			}
			if err := add(where, Kernel{Ref: ref}); err != nil {
				return nil, err
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrKernelList, path, err)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no kernels given", ErrKernelList)
	}
	return out, nil
}

// parseProfiles reads a YAML kernels file.
func parseProfiles(path string, data []byte, parse func(where, entry string) (kernels.Ref, error)) ([]Kernel, error) {
	var doc []yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKernelList, path, err)
	}
	var out []Kernel
	for _, n := range doc {
		where := fmt.Sprintf("%s:%d: ", path, n.Line)
		if n.Kind == yaml.ScalarNode {
			ref, err := parse(where, n.Value)
			if err != nil {
				return nil, err
			}
			out = append(out, Kernel{Ref: ref})
			continue
		}
		var e struct {
			Ref     string `yaml:"ref"`
			Profile `yaml:",inline"`
		}
		if n.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s%w: an entry is a kernel reference or a mapping with a ref", where, ErrKernelList)
		}
		// Keys are checked here, with their own lines, rather than by the
		// decoder's KnownFields, whose message names Go types.
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; !slices.Contains(profileKeys, k.Value) {
				return nil, fmt.Errorf("%s:%d: %w: unknown key %q (known: %s)", path, k.Line, ErrKernelList, k.Value, strings.Join(profileKeys, ", "))
			}
		}
		if err := n.Decode(&e); err != nil {
			return nil, fmt.Errorf("%s%w: %v", where, ErrKernelList, strings.ReplaceAll(err.Error(), "\n", " "))
		}
		if e.Ref == "" {
			return nil, fmt.Errorf("%s%w: an entry needs a ref", where, ErrKernelList)
		}
		ref, err := parse(where, e.Ref)
		if err != nil {
			return nil, err
		}
		if err := checkProfile(&e.Profile, filepath.Dir(path)); err != nil {
			return nil, fmt.Errorf("%s%w: %v", where, ErrKernelList, err)
		}
		if e.Name == "" && !e.Profile.IsZero() {
			return nil, fmt.Errorf("%s%w: a profile needs a name (results and reports are keyed by it)", where, ErrKernelList)
		}
		out = append(out, Kernel{Ref: ref, Profile: e.Profile})
	}
	return out, nil
}

// profileKeys are the keys of a kernels file entry, sorted.
var profileKeys = []string{"cmdline", "hide_btf", "module_files", "modules", "name", "os", "ref", "sysctls"}

// checkProfile validates p and makes its module files absolute.
func checkProfile(p *Profile, dir string) error {
	if p.Name != "" && !profileName.MatchString(p.Name) {
		return fmt.Errorf("name %q: want letters, digits and . _ + - (at most 64)", p.Name)
	}
	for _, w := range p.Cmdline {
		if !cmdlineWord.MatchString(w) {
			return fmt.Errorf("cmdline %q: one parameter per entry, no spaces or quotes", w)
		}
	}
	for k, v := range p.Sysctls {
		if !sysctlName.MatchString(k) {
			return fmt.Errorf("sysctl %q: want a dotted name such as net.core.bpf_jit_enable", k)
		}
		if strings.ContainsAny(v, "\n\x00") || len(v) > 256 {
			return fmt.Errorf("sysctl %s: value %q", k, v)
		}
	}
	if p.OS != "" {
		if id, ver, ok := strings.Cut(p.OS, "/"); !ok || !moduleName.MatchString(id) || !regexp.MustCompile(`^[0-9][0-9.]*$`).MatchString(ver) {
			return fmt.Errorf("os %q: want ID/VERSION as in BTFHub, e.g. debian/10 or ubuntu/20.04", p.OS)
		}
	}
	for _, m := range p.Modules {
		if !moduleName.MatchString(m) {
			return fmt.Errorf("module %q: want a module name such as sch_ingress", m)
		}
	}
	for i, f := range p.ModuleFiles {
		if !filepath.IsAbs(f) {
			f = filepath.Join(dir, f)
		}
		st, err := os.Stat(f)
		if err != nil {
			return fmt.Errorf("module file: %w", err)
		}
		if !st.Mode().IsRegular() || !strings.HasSuffix(f, ".ko") {
			return fmt.Errorf("module file %s: want a regular .ko file", f)
		}
		p.ModuleFiles[i] = f
	}
	return nil
}

// FileName is the per-kernel results file name for ref.
func FileName(ref string) string {
	// Every byte outside [A-Za-z0-9.-] is written _XX (hex), '_' included:
	// '_' then only ever starts an escape, so two refs never share a name
	// ("file:/a/k_1" and "file:/a/k/1", or Debian versions with + and ~).
	var b strings.Builder
	for i := 0; i < len(ref); i++ {
		switch c := ref[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.' && i > 0, c == '-':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "_%02x", c)
		}
	}
	name := b.String()
	// File systems cap names at 255 bytes; a long file: path keeps a
	// readable head and a digest of the whole ref.
	if len(name) > 200 {
		sum := sha256.Sum256([]byte(ref))
		name = name[:150] + "-" + hex.EncodeToString(sum[:16])
	}
	return name + ".json"
}
