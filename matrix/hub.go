package matrix

import (
	"bufio"
	"context"
	"os"
	"strings"

	"github.com/retrobpf/retrobpf/btfhub"
	"github.com/retrobpf/retrobpf/vmtest/kernels"
	"github.com/retrobpf/retrobpf/vmtest/kernels/debian"
)

// hubKernel says how BTFHub names the kernel: the profile's os, else what
// a Debian package's name tells; false when nothing does.
func hubKernel(entry Kernel, k *kernels.Kernel) (btfhub.Kernel, bool) {
	hk := btfhub.Kernel{Arch: "x86_64", Release: k.Release}
	if id, ver, ok := strings.Cut(entry.Profile.OS, "/"); ok {
		hk.OSID, hk.OSVersion = id, ver
		return hk, hk.Release != ""
	}
	pkg, _, _ := strings.Cut(k.Source, "=")
	if !strings.HasPrefix(pkg, "linux-image-") || hk.Release == "" {
		return hk, false
	}
	if strings.HasPrefix(pkg, "linux-image-4.19.0-") {
		hk.OSID, hk.OSVersion = "debian", "10"
		return hk, true
	}
	if suites := debian.GuessSuites(pkg); len(suites) == 1 && debian.Versions[suites[0]] != "" {
		hk.OSID, hk.OSVersion = "debian", debian.Versions[suites[0]]
		return hk, true
	}
	return hk, false
}

// lacksBTF reports whether the kernel will have no /sys/kernel/btf/vmlinux
// of its own: its profile hides it, or its config was built without
// CONFIG_DEBUG_INFO_BTF. An unknown config counts as lacking it: the guest
// uses shipped BTF only when the kernel has none (BTFIfMissing).
func lacksBTF(entry Kernel, k *kernels.Kernel) bool {
	if entry.Profile.HideBTF {
		return true
	}
	if k.Config == "" {
		return true
	}
	f, err := os.Open(k.Config)
	if err != nil {
		return true
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if sc.Text() == "CONFIG_DEBUG_INFO_BTF=y" {
			return false
		}
	}
	return true
}

// hubBTF fetches the kernel's BTF from the hub on the host, for a kernel
// that has none and no other BTF given. It returns the file and the label
// the results give it, or "" when the hub has nothing for it (logged: the
// CO-RE variants then fail as no-kernel-btf, and triage says so).
func hubBTF(ctx context.Context, o Options, entry Kernel, k *kernels.Kernel, logf func(string, ...any)) (file, label string) {
	ref := entry.String()
	if o.Hub == "" || o.BTFFor[ref] != "" || k.BTF != "" || o.BTF != "" || !lacksBTF(entry, k) {
		return "", ""
	}
	hk, ok := hubKernel(entry, k)
	if !ok {
		logf("%s: no BTF of its own and no os to ask the hub for (give the profile os: ID/VERSION)", ref)
		return "", ""
	}
	dir, err := btfhub.DefaultCacheDir()
	if err != nil {
		logf("%s: BTF cache: %v", ref, err)
		return "", ""
	}
	f := &btfhub.Fetcher{Hub: o.Hub, Cache: btfhub.Cache{Dir: dir}, Logf: logf}
	res, err := f.Fetch(ctx, hk)
	if err != nil {
		logf("%s: no BTF from the hub: %v", ref, err)
		return "", ""
	}
	ap, _ := hk.ArchivePath()
	logf("%s: BTF from the hub: %s", ref, ap)
	return res.File, "btfhub:" + ap
}
