package cliutil

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/retrobpf/retrobpf/internal/atomicfile"
)

// Global flag names shared by every command.
const (
	FlagFormat  = "format"
	FlagOutput  = "output"
	FlagQuiet   = "quiet"
	FlagVerbose = "verbose"
)

// Options are the global output settings of one invocation.
type Options struct {
	Format  string // table, json, markdown, or a command-specific format
	Output  string // file to write the result to; "" or "-" means stdout
	Quiet   bool
	Verbose bool
	Color   bool // false when NO_COLOR is set or stdout is not a terminal
	Stdout  io.Writer
	Stderr  io.Writer
}

// ColorEnabled reports whether colour may be used on w: never when NO_COLOR
// is set (https://no-color.org), only on terminals otherwise.
func ColorEnabled(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" { // "present and not an empty string"
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// CheckFormat returns a usage error unless o.Format is one of allowed.
func (o *Options) CheckFormat(allowed ...string) error {
	for _, a := range allowed {
		if o.Format == a {
			return nil
		}
	}
	return Usagef("unknown --format %q (want one of %s)", o.Format, strings.Join(allowed, ", "))
}

// Emit renders a result with render into a buffer, then writes it to
// --output atomically (or to stdout). A render error writes nothing.
func (o *Options) Emit(render func(w io.Writer) error) error {
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		return err
	}
	if o.Output == "" || o.Output == "-" {
		_, err := o.Stdout.Write(buf.Bytes())
		return err
	}
	if err := atomicfile.WriteFile(o.Output, buf.Bytes(), 0o644); err != nil {
		return Usage(err)
	}
	return nil
}

// JSON writes v as indented JSON.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Logf prints a progress line to stderr unless --quiet.
func (o *Options) Logf(format string, args ...any) {
	if o.Quiet {
		return
	}
	fmt.Fprintf(o.Stderr, format+"\n", args...)
}

// Debugf prints only with --verbose.
func (o *Options) Debugf(format string, args ...any) {
	if !o.Verbose {
		return
	}
	fmt.Fprintf(o.Stderr, format+"\n", args...)
}
