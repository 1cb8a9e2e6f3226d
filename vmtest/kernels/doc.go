// Package kernels supplies bootable kernels: Debian kernel packages from the
// system's configured mirror (deb:PACKAGE[=VERSION] and the aliases 5.10,
// 6.1, 6.12), OCI kernel images (oci:REF) and local files (file:PATH),
// cached under $XDG_CACHE_HOME/retrobpf/kernels with checksums and a lock.
package kernels
