package compat

import (
	"fmt"
	"strings"

	"github.com/retrobpf/retrobpf/internal/kversion"
)

// VersionTarget answers from catalog knowledge only: a feature is Supported
// if v is at least its Since, Unsupported if older, and Unknown when the
// catalog has no version for it (for example a dynamic ksym:NAME) or does
// not know the ID. Distro kernels backport features: prefer a probe.
func VersionTarget(v kversion.Version) Target { return versionTarget{v: v} }

type versionTarget struct{ v kversion.Version }

func (t versionTarget) Name() string { return "kernel " + t.v.String() + " (catalog)" }

func (t versionTarget) Has(id FeatureID) Availability {
	f, err := Lookup(id)
	if err != nil {
		return Availability{State: Unknown, Detail: err.Error()}
	}
	if f.Since.IsZero() {
		return Availability{State: Unknown, Detail: fmt.Sprintf("no upstream version known for %s: probe the kernel", id)}
	}
	if l := f.Lapse; l != nil && t.v.AtLeast(f.Since) {
		mm := kversion.Version{Major: t.v.Major, Minor: t.v.Minor}
		switch {
		case !l.KeptThrough.Less(mm):
			return Availability{State: Supported, Detail: "upstream since " + f.Since.String() + ", measured through " + l.KeptThrough.String()}
		case mm.Less(l.LostIn):
			return Availability{State: Unknown, Detail: "present through " + l.KeptThrough.String() + ", gone in " + l.LostIn.String() + ": not known for " + t.v.String() + " (probe the kernel)"}
		case !l.LostThrough.Less(mm):
			return Availability{State: Unsupported, Detail: "gone in " + l.LostIn.String() + " through at least " + l.LostThrough.String()}
		case !l.BackIn.IsZero() && t.v.AtLeast(l.BackIn):
			return Availability{State: Supported, Detail: "gone in " + l.LostIn.String() + ", back by " + l.BackIn.String()}
		}
		return Availability{State: Unknown, Detail: "gone in " + l.LostIn.String() + " through at least " + l.LostThrough.String() + ": not known for " + t.v.String() + " (probe the kernel)"}
	}
	if t.v.AtLeast(f.Since) && f.Config != "" {
		return Availability{State: Unknown, Detail: "upstream since " + f.Since.String() + ", and only with " + f.Config + ", which a version does not tell (probe the kernel, give its config with --kernel-image, or --btf)"}
	}
	if t.v.AtLeast(f.Since) {
		return Availability{State: Supported, Detail: "upstream since " + f.Since.String()}
	}
	return Availability{State: Unsupported, Detail: "upstream since " + f.Since.String()}
}

// WithExternalBTF wraps t for a loader that is given an external BTF file
// (--btf): btf:core is then Supported whatever the kernel has, since CO-RE
// relocations are resolved in user space against that file. Everything
// else is answered by t.
func WithExternalBTF(t Target) Target { return externalBTF{t} }

type externalBTF struct{ Target }

func (t externalBTF) Name() string { return t.Target.Name() + " + external BTF" }

func (t externalBTF) Has(id FeatureID) Availability {
	if id == "btf:core" {
		return Availability{State: Supported, Detail: "external BTF given"}
	}
	return t.Target.Has(id)
}

// WithKernelConfig wraps t with a kernel's configuration (.config text):
// a feature that also needs a kernel option (Feature.Config) and that t
// leaves Unknown is Supported where the option is y and Unsupported where
// it is not set. Everything else is answered by t.
func WithKernelConfig(t Target, config []byte) Target {
	opts := map[string]string{}
	for line := range strings.Lines(string(config)) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && strings.HasPrefix(k, "CONFIG_") {
			opts[k] = v
		}
	}
	return kernelConfig{Target: t, opts: opts}
}

type kernelConfig struct {
	Target
	opts map[string]string
}

func (t kernelConfig) Has(id FeatureID) Availability {
	a := t.Target.Has(id)
	if a.State != Unknown {
		return a
	}
	f, err := Lookup(id)
	if err != nil || f.Config == "" {
		return a
	}
	if t.opts[f.Config] == "y" {
		return Availability{State: Supported, Detail: f.Config + "=y in the kernel's config (upstream since " + f.Since.String() + ")"}
	}
	return Availability{State: Unsupported, Detail: f.Config + " is not set in the kernel's config"}
}
