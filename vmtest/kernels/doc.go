// Package kernels supplies bootable kernels: Debian kernel packages from the
// system's configured mirror (deb:PACKAGE[=VERSION] and the aliases 5.10,
// 6.1, 6.12), OCI kernel images (oci:REF), local files (file:PATH) and
// local directories in the lvh/ci-kernels layout (dir:PATH), cached
// under $XDG_CACHE_HOME/retrobpf/kernels with checksums and a lock.
//
// Each kind of reference is a source (source.go): one file with its
// parsing and fetching and a register call; the tree layout every source
// shares (boot/vmlinuz[-<v>], btf-<v>, config-<v>, lib/modules/<v>) is
// recognised in layout.go, from a tar stream or a directory, under
// extraction caps. The Debian archive client (apt sources, Release and
// Packages indexes, version order, package choice, the ar container) is
// the package vmtest/kernels/debian. Downloads go through internal/download (retries,
// resume, timeouts, a size cap), locks and installs through
// internal/cache.
//
// Debian: the mirror comes from --mirror, $RETROBPF_DEB_MIRROR or the apt
// sources (deb822 *.sources and one-line sources.list); the security
// archive from the apt sources' -security entry or, by convention, the
// sibling ".../debian-security". An alias searches its suite, the suite's
// -updates and -security for the newest linux-image-<ABI>-cloud-amd64 of
// that major.minor and falls back to the next newest when the pool answers
// 404. Indexes are verified against the suite's Release file, packages
// against the index's SHA256, and unpacked in Go (ar, tar, xz/zstd).
//
// OCI: images in the ci-kernels layout (/boot/vmlinuz, /boot/vmlinux) and
// the lvh kernel-images layout (/boot/vmlinuz-<v>, /boot/btf-<v>), pulled
// with go-containerregistry and pinned by digest in Kernel.Source.
//
// The cache holds one directory per reference (Ref.Key) with a
// kernel.json manifest written last; entries are built in a temporary
// directory and renamed into place under a per-reference flock, so
// parallel runs share the cache and an interrupted pull leaves nothing
// half-written. An interrupted package download resumes from its partial
// file. Resolve serves a
// verified cached entry without touching the network; Pull refreshes it
// (a newer Debian kernel for an alias, a moved tag). Identify tells which
// kernel a Pull would fetch now (package and SHA256, image digest, local
// file digest) without downloading it, and ResolvedKey turns a list of
// them into a cache key.
package kernels
