package download

import "errors"

var (
	// ErrNotFound is a 404 or 410: an answer, not a failure, so never retried.
	ErrNotFound = errors.New("not found on the server")
	// ErrTooLarge is returned for a body beyond the size cap (announced or
	// streamed); it is not retried.
	ErrTooLarge = errors.New("download exceeds the size cap")
	// ErrStalled is returned when a body stops arriving for the idle timeout.
	ErrStalled = errors.New("download stalled")
	// ErrTimeout is returned when the server sends no response headers in
	// time, or an attempt exceeds its time limit.
	ErrTimeout = errors.New("server did not answer in time")
	// ErrChecksum is returned when a complete file does not match its
	// expected SHA256 or size.
	ErrChecksum = errors.New("download checksum mismatch")
	// ErrStatus is returned for an HTTP status that is neither success,
	// nor 404/410.
	ErrStatus = errors.New("unexpected HTTP status")
	// ErrFailed wraps the last error of a download that failed on every
	// attempt.
	ErrFailed = errors.New("download failed")
)
