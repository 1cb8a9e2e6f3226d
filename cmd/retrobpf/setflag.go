package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/retrobpf/retrobpf/cmd/retrobpf/internal/cliutil"
	"github.com/retrobpf/retrobpf/internal/objload"
)

// assignments is the value of --set NAME=VALUE (repeatable): parsed as
// the flag is read, typed against each object's BTF when it is applied.
// A generic flag rather than a string slice: urfave/cli splits slices at
// commas, and a char-array value may hold one.
type assignments struct{ vars map[string]string }

func (a *assignments) Set(s string) error {
	name, value, err := objload.ParseAssignment(s)
	if err != nil {
		return err
	}
	if a.vars == nil {
		a.vars = map[string]string{}
	}
	if old, dup := a.vars[name]; dup && old != value {
		return fmt.Errorf("%s is set twice (%q and %q)", name, old, value)
	}
	a.vars[name] = value
	return nil
}

func (a *assignments) String() string {
	var parts []string
	for k, v := range a.vars {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func setFlag(what string) cli.Flag {
	return &cli.GenericFlag{Name: "set", Value: &assignments{}, Usage: "give global variable NAME (.rodata, .data, .bss) `NAME=VALUE` before the analysis, " +
		"as the program's loader would (veristat -G; repeatable; typed from BTF: integers, true/false, enumerator names, strings); " +
		"code the values rule out is no requirement. Applies to every " + what + " that has NAME"}
}

// settingsFromFlag returns --set as loader settings.
func settingsFromFlag(c *cli.Context) objload.Settings {
	a, _ := c.Generic("set").(*assignments)
	if a == nil {
		return objload.Settings{}
	}
	return objload.Settings{Variables: a.vars}
}

// unusedSettings fails for a --set name no input had: a typo must not
// pass as "analysed with the value".
func unusedSettings(s objload.Settings, used map[string]bool, what string) error {
	var missing []string
	for name := range s.Variables {
		if !used[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return cliutil.Usagef("--set %s: no %s has a global variable of that name", strings.Join(missing, ", "), what)
}
