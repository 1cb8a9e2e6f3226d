// Package debian is the Debian archive client behind retrobpf's deb: and
// alias kernel references, without the cache or the network: the apt
// sources (where the mirror is), Release and Packages indexes, package
// version order as dpkg defines it, the choice of kernel packages for an
// alias or a package name (meta packages followed), and the ar container
// of .deb files. Fetching, verifying and caching live in vmtest/kernels.
package debian
