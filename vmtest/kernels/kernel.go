package kernels

import "github.com/retrobpf/retrobpf/internal/kversion"

// Kernel is a kernel ready to boot: every path is a local file in the cache
// (or the user's own file for file: references).
type Kernel struct {
	Ref     string           `json:"ref"`     // what the user asked for: "6.1", "deb:linux-image-…", "oci:…", "file:…"
	Source  string           `json:"source"`  // resolved origin: package=version, image@digest, or path
	Release string           `json:"release"` // uname -r of the kernel, e.g. "6.1.0-18-cloud-amd64"
	Version kversion.Version `json:"version"`
	Vmlinuz string           `json:"vmlinuz"`          // bootable image (bzImage)
	Config  string           `json:"config,omitempty"` // kernel .config, if known
	// SystemMap is System.map, if known.
	SystemMap string `json:"system_map,omitempty"`
	// BTF is an external BTF file for kernels without /sys/kernel/btf/vmlinux (lvh images ship one).
	BTF string `json:"btf,omitempty"`
	// Modules is a directory holding lib/modules/<release>, when modules were requested.
	Modules string `json:"modules,omitempty"`
	SHA256  string `json:"sha256"` // of Vmlinuz
	// Vmlinux is the uncompressed ELF kernel, when the source ships one
	// (ci-kernels images); it carries BTF and symbols.
	Vmlinux string `json:"vmlinux,omitempty"`
}
