package btfhub

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/retrobpf/retrobpf/internal/inputfile"
)

// KernelFromProbe reads the kernel identity from a saved `retrobpf probe
// --format json` report. It decodes only the identity fields (release,
// machine/arch and the os-release ID/VERSION_ID): probe.Report keeps
// them as kernel.release, kernel.machine, distro.id and distro.version_id.
// Older or hand-written reports with the fields at the top level or under
// "os_release"/"os" are accepted too; the rest of the report is ignored, so
// this does not depend on the probe's schema version.
func KernelFromProbe(path string) (Kernel, error) {
	raw, err := inputfile.Read(path, inputfile.MaxDocument)
	if err != nil {
		return Kernel{}, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return Kernel{}, fmt.Errorf("%s: not a probe JSON report: %w", path, err)
	}
	scopes := []map[string]any{doc}
	for _, k := range []string{"kernel", "host", "system", "target"} {
		if m, ok := doc[k].(map[string]any); ok {
			scopes = append(scopes, m)
		}
	}
	var osScopes []map[string]any
	for _, s := range scopes {
		for _, k := range []string{"distro", "os_release", "os-release", "osRelease", "os"} {
			if m, ok := s[k].(map[string]any); ok {
				osScopes = append(osScopes, m)
			}
		}
	}
	k := Kernel{
		Release:   firstString(scopes, "release", "kernel_release", "uname_r"),
		Arch:      firstString(scopes, "arch", "machine", "uname_m"),
		OSID:      firstString(append(osScopes, scopes...), "ID", "id", "os_id"),
		OSVersion: firstString(append(osScopes, scopes...), "VERSION_ID", "version_id", "os_version"),
	}
	var missing []string
	for name, v := range map[string]string{"release": k.Release, "arch": k.Arch, "os-release ID": k.OSID} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return Kernel{}, fmt.Errorf("%s: %w: probe report lacks %s", path, ErrBadKernel, strings.Join(missing, ", "))
	}
	return k, nil
}

func firstString(scopes []map[string]any, keys ...string) string {
	for _, s := range scopes {
		for _, k := range keys {
			if v, ok := s[k].(string); ok && v != "" {
				return v
			}
		}
	}
	return ""
}
