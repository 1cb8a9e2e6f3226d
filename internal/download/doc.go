// Package download fetches files over HTTP for the kernel and BTF caches
// with one policy: bounded attempts with exponential backoff (each retry
// logged with its URL and reason), resume of a partial file within those
// attempts, a progress bar on a terminal, and limits that turn a hostile
// or broken server into a prompt error instead of a hang or a full disk:
//
//   - a header timeout for servers that accept the connection but never answer,
//   - an idle timeout for bodies that stop arriving mid-way,
//   - a size cap, checked against Content-Length and enforced while
//     streaming, so an endless body stops at the cap.
//
// Bodies stream to a partial file beside the destination, which is renamed
// into place only when complete (and matching the expected size and
// SHA256). On every failure the partial file is removed, except when the
// caller interrupts a download pinned by a SHA256 (Ctrl-C during a kernel
// package): the next Fetch resumes it, and the digest vouches for the
// result.
package download
