package compat

import (
	"fmt"

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
