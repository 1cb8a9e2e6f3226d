// Package cache holds what the kernel and BTF caches share: one root
// directory ($XDG_CACHE_HOME/retrobpf, else the user's cache directory as
// os.UserCacheDir defines it), one lock scheme (an flock per name, which
// dies with its process so a crash never leaves the cache locked), atomic
// installs (a file or directory is built beside its final name and
// renamed into place), and SHA256 checks for cache hits, so a damaged
// entry is noticed instead of used.
package cache
