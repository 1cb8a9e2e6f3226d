package kernels

import "errors"

// Errors of bad input: the CLI reports them as usage errors (exit 2).
var (
	// ErrBadRef is returned for a reference that is not an alias, deb:, oci: or file:.
	ErrBadRef = errors.New("invalid kernel reference")
	// ErrUnknownAlias is returned for a bare version that is not one of Aliases.
	ErrUnknownAlias = errors.New("unknown kernel alias")
	// ErrPackageNotFound is returned when no suite of the archive has the package (at the version).
	ErrPackageNotFound = errors.New("package not found in the archive")
	// ErrNoKernelImage is returned when a package or image holds no kernel image.
	ErrNoKernelImage = errors.New("no kernel image in package")
	// ErrNotAKernel is returned for a file that is not a bzImage.
	ErrNotAKernel = errors.New("not a kernel image")
	// ErrNotCached is returned by Lookup and Remove for a reference that is not in the cache.
	ErrNotCached = errors.New("kernel not in cache")
	// ErrCacheUnwritable is returned when the cache directory cannot be created or written.
	ErrCacheUnwritable = errors.New("kernel cache not writable")
)

// Errors of the infrastructure: the CLI reports them with exit 3.
var (
	// ErrUnavailable wraps network failures, server errors (5xx) and
	// archives or registries that cannot be reached or have no usable suite.
	ErrUnavailable = errors.New("mirror or registry unavailable")
	// ErrChecksum is returned when a download or a cached file does not
	// match its expected SHA256.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrCorrupt is returned for a cache entry whose manifest or files are damaged.
	ErrCorrupt = errors.New("corrupt cache entry")
)

// IsInputError reports whether err is caused by what the user asked for
// (exit 2) rather than by the network, a mirror or the machine (exit 3).
func IsInputError(err error) bool {
	for _, e := range []error{ErrBadRef, ErrUnknownAlias, ErrPackageNotFound, ErrNoKernelImage, ErrNotAKernel, ErrNotCached, ErrCacheUnwritable, ErrBadMirror, ErrImageNotFound} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
