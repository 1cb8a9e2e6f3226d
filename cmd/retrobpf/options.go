package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/retrobpf/retrobpf/internal/cliutil"
)

// options reads the global flags (they may be given before or after the
// command name: urfave/cli looks them up through the context lineage).
func options(c *cli.Context) *cliutil.Options {
	o := &cliutil.Options{
		Format:  "table",
		Output:  globalString(c, cliutil.FlagOutput),
		Quiet:   globalBool(c, cliutil.FlagQuiet),
		Verbose: globalBool(c, cliutil.FlagVerbose),
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
	}
	if f := globalString(c, cliutil.FlagFormat); f != "" {
		o.Format = f
	}
	o.Color = cliutil.ColorEnabled(o.Stdout) && (o.Output == "" || o.Output == "-")
	return o
}

// commandFlags returns the global output flags again so they are also
// accepted after the command name ("retrobpf probe --format json").
func commandFlags(extra ...cli.Flag) []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: cliutil.FlagFormat, Aliases: []string{"f"}, Value: "table", Usage: "output `FORMAT`"},
		&cli.StringFlag{Name: cliutil.FlagOutput, Aliases: []string{"o"}, Usage: "write the result to `FILE`"},
		&cli.BoolFlag{Name: cliutil.FlagQuiet, Aliases: []string{"q"}, Usage: "print only the result"},
		&cli.BoolFlag{Name: cliutil.FlagVerbose, Aliases: []string{"v"}, Usage: "explain more"},
	}, extra...)
}

// globalString returns the innermost explicitly set value of a flag that is
// defined both globally and on the command.
func globalString(c *cli.Context, name string) string {
	for _, x := range c.Lineage() {
		if x.Command != nil || x.App != nil {
			if setLocally(x, name) {
				return x.String(name)
			}
		}
	}
	return ""
}

func globalBool(c *cli.Context, name string) bool {
	for _, x := range c.Lineage() {
		if setLocally(x, name) {
			return x.Bool(name)
		}
	}
	return false
}

// setLocally reports whether name was given on this context's own command
// line (cli.Context.IsSet also looks at parents).
func setLocally(x *cli.Context, name string) bool {
	for _, n := range x.LocalFlagNames() {
		if n == name {
			return true
		}
	}
	return false
}
