package main

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf/btf"

	"github.com/retrobpf/retrobpf/btfhub"
	"github.com/retrobpf/retrobpf/cmd/retrobpf/internal/cliutil"
	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/compat/check"
	"github.com/retrobpf/retrobpf/internal/btflimit"
	"github.com/retrobpf/retrobpf/internal/inputfile"
	"github.com/retrobpf/retrobpf/internal/ksyms"
	"github.com/retrobpf/retrobpf/internal/vmlinuz"
	"github.com/retrobpf/retrobpf/vmtest/kernels"
)

// maxKernelConfig bounds a cached kernel's .config (a distribution's is
// about 250 KB).
const maxKernelConfig = 16 << 20

// imageTarget is a kernel of the kernels cache (or a local file:/dir:
// image) as check's target, read without booting it: its version, its
// config for CONFIG_ externs, its BTF (the one shipped with it, else the
// .BTF section of its vmlinux or of the image's decompressed payload) and
// its System.map when that is a real one.
func imageTarget(o *cliutil.Options, ref string) (*check.Target, error) {
	cache, err := kernels.Open("")
	if err != nil {
		return nil, cliutil.Infra(err)
	}
	k, err := cache.Lookup(ref)
	if err != nil {
		return nil, cliutil.Usagef("--kernel-image %s: %v (kernels pull %s first)", ref, err, ref)
	}
	v := k.Version
	spec := &check.Target{Target: compat.VersionTarget(v), Version: v, VersionOnly: true}
	spec.Kernel = &compat.Kernel{Version: v, Exact: true, Release: k.Release}
	if k.Config != "" {
		cfg, err := inputfile.Read(k.Config, maxKernelConfig)
		if err != nil {
			return nil, cliutil.Usagef("--kernel-image %s: config: %v", ref, err)
		}
		spec.Kernel.Config = cfg
		spec.Target = compat.WithKernelConfig(spec.Target, cfg)
	}
	types, from, err := imageBTF(k)
	switch {
	case err == nil:
		spec.KernelBTF = types
		spec.Target = compat.WithKernelBTF(spec.Target, types)
		if k.BTF != "" {
			spec.Target = compat.WithExternalBTF(spec.Target)
		}
		o.Debugf("retrobpf: kernel types of %s: %s", ref, from)
	case errors.Is(err, vmlinuz.ErrNoBTF):
		o.Logf("retrobpf: %s has no BTF of its own: CO-RE and BTF attach targets are not decided (give --btf)", ref)
	default:
		return nil, cliutil.Usagef("--kernel-image %s: %v", ref, err)
	}
	if k.SystemMap != "" {
		syms, err := ksyms.ReadFile(k.SystemMap)
		switch {
		case err == nil:
			spec.Target = compat.WithKernelSymbols(spec.Target, syms, "System.map of "+ref)
		case errors.Is(err, ksyms.ErrPlaceholder):
			o.Debugf("retrobpf: %s ships a placeholder System.map: kprobe targets stay unconfirmed (--kallsyms)", ref)
		default:
			return nil, cliutil.Usagef("--kernel-image %s: %v", ref, err)
		}
	}
	return spec, nil
}

// imageBTF is the kernel's own types: an lvh-style btf file shipped with
// the image, the .BTF of a shipped vmlinux, else the image's payload.
func imageBTF(k *kernels.Kernel) (types *btf.Spec, from string, err error) {
	if k.BTF != "" {
		t, err := btfhub.LoadBTFFile(k.BTF)
		return t, k.BTF, err
	}
	var raw []byte
	if k.Vmlinux != "" {
		vm, err := inputfile.Read(k.Vmlinux, vmlinuz.MaxVmlinux)
		if err != nil {
			return nil, "", err
		}
		if raw, err = vmlinuz.SectionBTF(vm); err != nil {
			return nil, "", fmt.Errorf("%s: %w", k.Vmlinux, err)
		}
		from = k.Vmlinux
	} else {
		if raw, err = vmlinuz.BTF(k.Vmlinuz); err != nil {
			return nil, "", err
		}
		from = k.Vmlinuz + " (decompressed)"
	}
	t, err := btflimit.Load(raw)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", from, err)
	}
	return t, from, nil
}
