package main

import (
	"context"
	"errors"
	"strings"

	"github.com/retrobpf/retrobpf/btfhub"
	"github.com/retrobpf/retrobpf/btfhub/minimize"
	"github.com/retrobpf/retrobpf/cmd/retrobpf/internal/cliutil"
	"github.com/retrobpf/retrobpf/matrix"
	"github.com/retrobpf/retrobpf/matrix/guest"
	"github.com/retrobpf/retrobpf/vmtest"
	"github.com/retrobpf/retrobpf/vmtest/kernels"
)

// exitCodes is the one place a library's sentinel error becomes an exit
// code: libraries wrap these with %w and never decide how the process
// ends. The first match wins, so more specific sentinels come first.
// Errors a command finds itself (a bad flag value) carry their code
// explicitly through cliutil.Usage/Infra/Failed, which takes precedence.
var exitCodes = []struct {
	err  error
	code int
}{
	// Refused: a gate the user set up tripped (exit 1).
	{btfhub.ErrLockMismatch, cliutil.ExitFailed},
	{minimize.ErrNotEquivalent, cliutil.ExitFailed},

	// Bad input: what the user asked for cannot work (exit 2).
	{kernels.ErrBadRef, cliutil.ExitUsage},
	{kernels.ErrUnknownAlias, cliutil.ExitUsage},
	{kernels.ErrPackageNotFound, cliutil.ExitUsage},
	{kernels.ErrNoKernelImage, cliutil.ExitUsage},
	{kernels.ErrNotAKernel, cliutil.ExitUsage},
	{kernels.ErrNotCached, cliutil.ExitUsage},
	{kernels.ErrCacheUnwritable, cliutil.ExitUsage},
	{kernels.ErrBadMirror, cliutil.ExitUsage},
	{kernels.ErrImageNotFound, cliutil.ExitUsage},
	{matrix.ErrKernelList, cliutil.ExitUsage},
	{matrix.ErrShard, cliutil.ExitUsage},
	{matrix.ErrOutputDir, cliutil.ExitUsage},
	{matrix.ErrUnshippable, cliutil.ExitUsage},
	{guest.ErrInput, cliutil.ExitUsage},
	{vmtest.ErrInput, cliutil.ExitUsage},
	{btfhub.ErrBadKernel, cliutil.ExitUsage},
	{btfhub.ErrNoHub, cliutil.ExitUsage},
	{btfhub.ErrBadHub, cliutil.ExitUsage},
	{btfhub.ErrNotInHub, cliutil.ExitUsage},

	// Infrastructure: the network, a mirror, the cache or the machine
	// (exit 3). Unlisted errors end up here too; these are named so the
	// table reads as the whole contract.
	{matrix.ErrInterrupted, cliutil.ExitInfra},
	{context.Canceled, cliutil.ExitInfra},
	{kernels.ErrUnavailable, cliutil.ExitInfra},
	{kernels.ErrChecksum, cliutil.ExitInfra},
	{kernels.ErrCorrupt, cliutil.ExitInfra},
	{btfhub.ErrBadArchive, cliutil.ExitInfra},
	{btfhub.ErrInvalidBTF, cliutil.ExitInfra},
	{btfhub.ErrNetwork, cliutil.ExitInfra},
	{context.DeadlineExceeded, cliutil.ExitInfra},
}

// flagHints complete a library error with the flag or variable that
// fixes it: libraries never name a flag, the command that has them does.
var flagHints = []struct {
	err  error
	hint string
}{
	{btfhub.ErrNoHub, ": set --hub URL or " + btfhub.EnvHub + " (an http(s) base URL of a BTFHub-archive tree, or file:///path to a local copy)"},
	{btfhub.ErrLockMismatch, " (use --update to accept it)"},
}

// flagHint returns the hint for err's sentinel, or "".
func flagHint(err error) string {
	for _, h := range flagHints {
		if errors.Is(err, h.err) {
			return h.hint
		}
	}
	return ""
}

// exitCode decides how the process ends for err: 0 for nil, the code a
// command gave it explicitly, the table's code for a library sentinel, 2
// for urfave/cli's own usage errors and 3 for anything else.
func exitCode(err error) int {
	if err == nil {
		return cliutil.ExitOK
	}
	var ee *cliutil.ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	for _, e := range exitCodes {
		if errors.Is(err, e.err) {
			return e.code
		}
	}
	if isCLIUsageError(err) {
		return cliutil.ExitUsage
	}
	return cliutil.ExitInfra
}

// isCLIUsageError recognises the errors urfave/cli returns itself without
// going through OnUsageError (missing required flags, bad subcommand).
func isCLIUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"Required flag", "Required flags", "flag provided but not defined", "invalid value", "No help topic"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
