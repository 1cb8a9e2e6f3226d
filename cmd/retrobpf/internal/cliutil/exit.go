// Package cliutil holds what every retrobpf command shares: the global
// output flags and the exit-code wrappers for errors the command itself
// finds (a bad flag value). It lives under cmd/retrobpf/internal so that
// no library can import it: libraries return sentinel errors, and the
// command alone turns them into exit codes (see ../../exit.go).
package cliutil

import (
	"errors"
	"fmt"
)

// Exit codes, documented in the README and in `retrobpf --help`.
const (
	ExitOK           = 0 // success / compatible
	ExitFailed       = 1 // incompatible, or a failed verdict
	ExitUsage        = 2 // usage or input error
	ExitInfra        = 3 // infrastructure error (QEMU, network, cache, kernel)
	exitCodeInternal = ExitInfra
)

// ExitError carries an exit code with an error.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Usage marks err as a usage or input error (exit 2).
func Usage(err error) error { return wrap(ExitUsage, err) }

// Usagef formats a usage error.
func Usagef(format string, args ...any) error { return Usage(fmt.Errorf(format, args...)) }

// Infra marks err as an infrastructure error (exit 3).
func Infra(err error) error { return wrap(ExitInfra, err) }

// Failed marks err as a failed verdict (exit 1).
func Failed(err error) error { return wrap(ExitFailed, err) }

func wrap(code int, err error) error {
	if err == nil {
		return nil
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return err
	}
	return &ExitError{Code: code, Err: err}
}

// Code returns the exit code for err: 0 for nil, the ExitError's code,
// or the infrastructure code for anything unclassified.
func Code(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return exitCodeInternal
}
