package main

import (
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/retrobpf/retrobpf/cmd/retrobpf/internal/cliutil"
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

// positionalArgs returns the command's positional arguments, applying any
// flags that follow them: urfave/cli stops parsing flags at the first
// argument, but `retrobpf check a.o b.o --kernel 4.19 -o out.json` and
// `report diff --baseline old.json new.json --fail-on verdict` are how
// people write it. Arguments after "--" stay positional. Call it before
// options(c), so trailing global flags count too. Not for `vm exec`, whose
// arguments are the guest command's own.
func positionalArgs(c *cli.Context) ([]string, error) {
	var pos []string
	args := c.Args().Slice()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(pos, args[i+1:]...), nil
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		var flag cli.Flag
		for _, f := range c.Command.Flags {
			for _, n := range f.Names() {
				if n == name {
					flag = f
				}
			}
		}
		if flag == nil {
			return nil, cliutil.Usagef("flag provided but not defined: %s", a)
		}
		if _, isBool := flag.(*cli.BoolFlag); isBool && !hasValue {
			value, hasValue = "true", true
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, cliutil.Usagef("flag needs an argument: %s", a)
			}
			i++
			value = args[i]
		}
		if err := c.Set(flag.Names()[0], value); err != nil {
			return nil, cliutil.Usagef("invalid value %q for flag %s: %v", value, a, err)
		}
	}
	return pos, nil
}
