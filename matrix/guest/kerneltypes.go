package guest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/retrobpf/retrobpf/btfhub"
)

// kernelTypesFor picks the kernel types CO-RE programs relocate against, in
// btfhub's loader order (--btf, $RETROBPF_BTF, /sys/kernel/btf/vmlinux, the
// BTF cache). It returns nil types when the kernel's own BTF is used (the
// loader then also sees module BTF) and the source as the results schema
// spells it: "file:PATH", "env:PATH", "vmlinux", "btfhub:PATH" or "none".
func kernelTypesFor(ctx context.Context, file string) (*btf.Spec, string, error) {
	if file == "" && os.Getenv(btfhub.EnvBTF) == "" && fileExists(btfhub.DefaultSysfsBTF) {
		// The kernel's own BTF wins; parsing it here would only cost time.
		return nil, "vmlinux", nil
	}
	spec, src, err := btfhub.KernelTypes(ctx, btfhub.LoaderOptions{BTFFile: file})
	switch {
	case errors.Is(err, btfhub.ErrNoKernelBTF):
		return nil, "none", nil
	case err != nil && file != "":
		return nil, "", fmt.Errorf("%w: BTF file %s: %w", ErrInput, file, err)
	case err != nil:
		return nil, "", fmt.Errorf("%w: kernel types: %w", ErrInput, err)
	}
	switch src.Kind {
	case btfhub.SourceSysfs:
		return nil, "vmlinux", nil
	case btfhub.SourceFlag:
		return spec, "file:" + src.Path, nil
	case btfhub.SourceEnv:
		return spec, "env:" + src.Path, nil
	default:
		return spec, "btfhub:" + src.Path, nil
	}
}

// withCOREMismatch names the relocations that did not match (type and
// field, from btfhub) after the kernel's message, so a CO-RE rejection says
// what to guard instead of only "bad CO-RE relocation".
func withCOREMismatch(msg string, spec *ebpf.CollectionSpec, prog string, kernel *btf.Spec) string {
	ps := spec.Programs[prog]
	if ps == nil || spec.Types == nil {
		return msg
	}
	if kernel == nil {
		var err error
		if kernel, err = btf.LoadKernelSpec(); err != nil {
			return msg
		}
	}
	mm, err := btfhub.PoisonedRelocations(ps, spec.Types, kernel)
	if err != nil || len(mm) == 0 {
		return msg
	}
	names := make([]string, 0, len(mm))
	for _, m := range mm {
		names = append(names, m.String())
	}
	return fmt.Sprintf("%s (no match: %s)", msg, strings.Join(names, "; "))
}
