package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/retrobpf/retrobpf/cmd/retrobpf/internal/cliutil"
	"github.com/retrobpf/retrobpf/reports"
)

func init() {
	register(&cli.Command{
		Name:      "report",
		Usage:     "render matrix results (table, json, markdown, junit, html, sarif, csv); merge shards; compare runs with gates",
		ArgsUsage: "[RESULTS.json]",
		Description: "Renders a results file written by `retrobpf run`. --format: " + strings.Join(reports.Formats, ", ") + ".\n" +
			"markdown fits a GitHub step summary (< 1 MiB); html is one self-contained file;\n" +
			"csv has veristat's columns (veristat -C / -R read it); sarif maps verifier\n" +
			"rejections to source lines for code scanning. Under TCG absolute times are\n" +
			"emulated: compare ratios within one VM.",
		Flags: commandFlags(
			&cli.StringFlag{Name: "input", Aliases: []string{"i"}, Usage: "results `FILE` (or give it as the argument)"},
			&cli.StringSliceFlag{Name: "kernel", Aliases: []string{"k"}, Usage: "only these kernel `REF`s (repeat or comma-separate); with one kernel, csv has plain object names"},
			&cli.StringFlag{Name: "source-root", Usage: "repository `DIR` that absolute source paths in sarif are made relative to"},
		),
		Action: reportRender,
		Subcommands: []*cli.Command{
			{
				Name:      "merge",
				Usage:     "join results of shards (or partial runs) of one suite into one JSON file",
				ArgsUsage: "A.json B.json...",
				Description: "A kernel in several inputs must be identical in all of them; different\n" +
					"results for one kernel, different manifests or shard counts are conflicts (exit 2).",
				Flags:  commandFlags(),
				Action: reportMerge,
			},
			{
				Name:      "diff",
				Usage:     "compare two runs per kernel × program/variant (veristat -C style) and gate on regressions",
				ArgsUsage: "--baseline OLD.json NEW.json",
				Description: "Exit 1 when a --fail-on gate trips, 2 for bad input or a bad expression.\n\n" +
					"--fail-on takes " + reports.GateSyntax,
				Flags: commandFlags(
					&cli.StringFlag{Name: "baseline", Aliases: []string{"b"}, Usage: "baseline results `FILE` (A)"},
					&cli.StringFlag{Name: "input", Aliases: []string{"i"}, Usage: "new results `FILE` (B; or give it as the argument)"},
					&cli.StringFlag{Name: "fail-on", Usage: "gate `EXPR`, e.g. 'verdict,insns>+10%,overhead>+20%'"},
				),
				Action: reportDiff,
			},
		},
	})
}

// reportLoad reads a results file; every problem is an input error
// (exit 2) naming the file.
func reportLoad(path string) (*reports.Results, error) {
	r, err := reports.Load(path)
	if err != nil {
		return nil, cliutil.Usage(err)
	}
	return r, nil
}

// reportInput takes --input or the single argument.
func reportInput(c *cli.Context, args []string, what string) (string, error) {
	in := c.String("input")
	switch {
	case in != "" && len(args) > 0:
		return "", cliutil.Usagef("give the %s either as --input or as the argument, not both", what)
	case in == "" && len(args) == 1:
		return args[0], nil
	case in == "" && len(args) == 0:
		return "", cliutil.Usagef("no %s: give --input FILE", what)
	case len(args) > 1:
		return "", cliutil.Usagef("one %s expected, got %d arguments", what, len(args))
	}
	return in, nil
}

func reportRender(c *cli.Context) error {
	args, err := positionalArgs(c)
	if err != nil {
		return err
	}
	o := options(c)
	if err := o.CheckFormat(reports.Formats...); err != nil {
		return err
	}
	path, err := reportInput(c, args, "results file")
	if err != nil {
		return err
	}
	r, err := reportLoad(path)
	if err != nil {
		return err
	}
	if refs := splitList(c.StringSlice("kernel")); len(refs) > 0 {
		if r, err = r.Only(refs...); err != nil {
			return cliutil.Usage(fmt.Errorf("%s: %w", path, err))
		}
	}
	ro := reports.RenderOptions{SourceRoot: c.String("source-root"), Color: o.Color}
	return o.Emit(func(w io.Writer) error { return ro.Render(w, r, o.Format) })
}

func reportMerge(c *cli.Context) error {
	args, err := positionalArgs(c)
	if err != nil {
		return err
	}
	o := options(c)
	if f := globalString(c, cliutil.FlagFormat); f != "" && f != "json" {
		return cliutil.Usagef("report merge writes JSON results, not --format %q (render them with `retrobpf report`)", f)
	}
	if len(args) == 0 {
		return cliutil.Usagef("report merge: no input files")
	}
	var inputs []*reports.Results
	for _, path := range args {
		r, err := reportLoad(path)
		if err != nil {
			return err
		}
		inputs = append(inputs, r)
	}
	merged, err := reports.Merge(inputs...)
	if err != nil {
		if errors.Is(err, reports.ErrMergeConflict) {
			return cliutil.Usage(fmt.Errorf("%w (inputs numbered in the order given: %s)", err, strings.Join(args, " ")))
		}
		return cliutil.Usage(err)
	}
	if err := merged.Validate(); err != nil {
		return cliutil.Usage(err)
	}
	o.Logf("merged %d file(s): %d kernel(s)", len(inputs), len(merged.Kernels))
	return o.Emit(merged.Write)
}

func reportDiff(c *cli.Context) error {
	args, err := positionalArgs(c)
	if err != nil {
		return err
	}
	o := options(c)
	if err := o.CheckFormat(reports.DiffFormats...); err != nil {
		return err
	}
	gates, err := reports.ParseGates(c.String("fail-on"))
	if err != nil {
		return cliutil.Usage(fmt.Errorf("--fail-on: %w", err))
	}
	if c.String("baseline") == "" {
		return cliutil.Usagef("report diff: no --baseline FILE")
	}
	path, err := reportInput(c, args, "new results file")
	if err != nil {
		return err
	}
	base, err := reportLoad(c.String("baseline"))
	if err != nil {
		return err
	}
	cur, err := reportLoad(path)
	if err != nil {
		return err
	}
	cmp := reports.Compare(base, cur)
	violations := gates.Check(cmp)
	if err := o.Emit(func(w io.Writer) error { return reports.RenderDiff(w, cmp, gates, violations, o.Format) }); err != nil {
		return err
	}
	if len(violations) > 0 {
		return cliutil.Failed(fmt.Errorf("%d gate violation(s), first: %s", len(violations), violations[0]))
	}
	return nil
}
