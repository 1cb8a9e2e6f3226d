package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/retrobpf/retrobpf/deploy"
)

// parseArgs parses a container's args with the real command's flag
// definitions, as urfave/cli does before running the command: unknown
// flags, missing values, bad values (a duration, an int), positional
// arguments the command does not take and missing required flags fail.
func parseArgs(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("no command")
	}
	var cmd *cli.Command
	for _, c := range newApp().Commands {
		if c.HasName(args[0]) {
			cmd = c
		}
	}
	if cmd == nil {
		return fmt.Errorf("no command %q", args[0])
	}
	rest := args[1:]
	for len(cmd.Subcommands) > 0 && len(rest) > 0 {
		var sub *cli.Command
		for _, s := range cmd.Subcommands {
			if s.HasName(rest[0]) {
				sub = s
			}
		}
		if sub == nil {
			return fmt.Errorf("%s: no subcommand %q", cmd.Name, rest[0])
		}
		cmd, rest = sub, rest[1:]
	}
	set := flag.NewFlagSet(cmd.Name, flag.ContinueOnError)
	set.SetOutput(io.Discard)
	for _, f := range cmd.Flags {
		if err := f.Apply(set); err != nil {
			return err
		}
	}
	if err := set.Parse(rest); err != nil {
		return fmt.Errorf("%s: %w", cmd.Name, err)
	}
	if set.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", cmd.Name, set.Args())
	}
	given := map[string]bool{}
	set.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, f := range cmd.Flags {
		if r, ok := f.(cli.RequiredFlag); ok && r.IsRequired() {
			found := false
			for _, n := range f.Names() {
				found = found || given[n]
			}
			if !found {
				return fmt.Errorf("%s: required flag --%s missing", cmd.Name, f.Names()[0])
			}
		}
	}
	return nil
}

// TestDeployArgsParse parses the args of every retrobpf container in
// deploy/*.yaml with the real commands' flags.
func TestDeployArgsParse(t *testing.T) {
	objs, err := deploy.Load(deploy.Files)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range deploy.Containers(objs) {
		if !deploy.IsRetrobpf(c.Container) {
			continue
		}
		n++
		if err := parseArgs(c.Args); err != nil {
			t.Errorf("%s: container %s: args %q: %v", c.Object.File, c.Name, c.Args, err)
		}
	}
	if n == 0 {
		t.Fatal("no retrobpf containers in deploy/")
	}
	// The parser must refuse what a typo in a manifest produces.
	for _, bad := range [][]string{
		{"select", "--host", "--manifest", "m.yaml", "--write-envv", "f"},
		{"select", "--host"},
		{"select", "--host", "--manifest"},
		{"select", "--host", "-m", "m.yaml", "extra"},
		{"probe", "-f", "nfd", "--every", "hourly"},
		{"probe", "--workers", "many"},
		{"sleep", "1h"},
		{"btf", "fetchh"},
	} {
		if err := parseArgs(bad); err == nil {
			t.Errorf("%q parsed without error", bad)
		}
	}
	if err := parseArgs(strings.Fields("kernels list")); err != nil {
		t.Errorf("a subcommand: %v", err)
	}
}
