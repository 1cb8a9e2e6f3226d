// Package proto is the wire format between the guest agent and the host
// runner: the work plan the host puts into the initramfs (/plan.json) and
// the framed, checksummed messages the agent streams back over the second
// serial port.
//
// A serial line has no message boundaries and may, in principle, drop or
// garble bytes, so every frame carries a magic, its own header checksum (a
// corrupted length is caught before the reader waits for bytes that never
// come) and a payload checksum. A reader that meets garbage skips to the
// next magic and reports ErrCorrupt, so one bad frame never hides the rest.
// Payloads above CompressThreshold are zstd-compressed: under TCG the
// emulated UART moves well under a megabyte per second.
package proto
