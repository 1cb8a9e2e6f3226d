package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/retrobpf/retrobpf/btfhub"
	"github.com/retrobpf/retrobpf/btfhub/minimize"
	"github.com/retrobpf/retrobpf/cmd/retrobpf/internal/cliutil"
	"github.com/retrobpf/retrobpf/matrix"
	"github.com/retrobpf/retrobpf/vmtest/kernels"
	"github.com/retrobpf/retrobpf/vmtest/kernels/debian"
)

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("anything unclassified"), 3},
		{fmt.Errorf("--kernels: %w", fmt.Errorf("%w %q", kernels.ErrUnknownAlias, "6.2")), 2},
		{fmt.Errorf("kernel 6.1: %w", kernels.ErrUnavailable), 3},
		{fmt.Errorf("%w: 1 of 2 kernels finished", matrix.ErrInterrupted), 3},
		{fmt.Errorf("%w: mkdir: not a directory", matrix.ErrOutputDir), 2},
		{context.Canceled, 3},
		// What a command decides itself wins over the table.
		{cliutil.Infra(fmt.Errorf("wrapped: %w", kernels.ErrBadRef)), 3},
		{cliutil.Failed(errors.New("2 problem(s)")), 1},
		{&cliutil.ExitError{Code: 124, Err: errors.New("timed out")}, 124},
		// btf's gates and hub errors (once mapped by btf.go on its own).
		{fmt.Errorf("x: %w", btfhub.ErrLockMismatch), 1},
		{fmt.Errorf("x: %w", minimize.ErrNotEquivalent), 1},
		{fmt.Errorf("x: %w", btfhub.ErrNotInHub), 2},
		{btfhub.ErrNoHub, 2},
		{fmt.Errorf("x: %w", btfhub.ErrNetwork), 3},
		// urfave/cli's own usage errors.
		{errors.New(`Required flag "manifest" not set`), 2},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// The table and the kernels package agree on which of its errors are the
// user's fault, so moving the decision here changed no exit code.
func TestExitCodeTableMatchesKernels(t *testing.T) {
	for _, e := range []error{kernels.ErrBadRef, kernels.ErrUnknownAlias, kernels.ErrPackageNotFound, kernels.ErrNoKernelImage,
		kernels.ErrNotAKernel, kernels.ErrNotCached, kernels.ErrCacheUnwritable, kernels.ErrBadMirror, kernels.ErrImageNotFound,
		kernels.ErrUnavailable, kernels.ErrChecksum, kernels.ErrCorrupt, debian.ErrBadAr, kernels.ErrNoModule} {
		err := fmt.Errorf("kernel x: %w", e)
		want := cliutil.ExitInfra
		if kernels.IsInputError(err) {
			want = cliutil.ExitUsage
		}
		if got := exitCode(err); got != want {
			t.Errorf("%v: exit %d, want %d", e, got, want)
		}
	}
}

// The flag that fixes a library error is named by the command, once, at
// the end of the line: the library's text names no flag.
func TestFlagHint(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{btfhub.ErrNoHub, ": set --hub URL or " + btfhub.EnvHub},
		{fmt.Errorf("%w: a.tar.xz: locked sha256 1, fetched 2", btfhub.ErrLockMismatch), " (use --update to accept it)"},
		{errors.New("other"), ""},
	} {
		got := flagHint(tc.err)
		if tc.want == "" && got != "" || len(got) < len(tc.want) || got[:len(tc.want)] != tc.want {
			t.Errorf("flagHint(%v) = %q, want prefix %q", tc.err, got, tc.want)
		}
		if strings.Contains(tc.err.Error(), "--") {
			t.Errorf("library error names a flag: %v", tc.err)
		}
	}
}
