package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/retrobpf/retrobpf/cmd/retrobpf/internal/cliutil"
	"github.com/retrobpf/retrobpf/matrix"
)

func init() {
	register(&cli.Command{
		Name:  "matrix",
		Usage: "plan kernel matrices for CI",
		Subcommands: []*cli.Command{{
			Name:  "plan",
			Usage: "split the kernel list into shards: a GitHub Actions strategy.matrix (run each with `run --shard I/N`)",
			Flags: commandFlags(
				&cli.StringFlag{Name: "kernels", Value: "5.10,6.1,6.12", Usage: "kernel `REFS` or @FILE"},
				&cli.IntFlag{Name: "shards", Value: 1, Usage: "number of shards"},
			),
			Action: func(c *cli.Context) error {
				o := options(c)
				if o.Format == "table" {
					o.Format = "github"
				}
				if err := o.CheckFormat("github", "json"); err != nil {
					return err
				}
				refs, err := matrix.ParseKernels(c.String("kernels"))
				if err != nil {
					return fmt.Errorf("--kernels: %w", err)
				}
				if c.Int("shards") < 1 {
					return cliutil.Usagef("--shards %d: want at least 1", c.Int("shards"))
				}
				return o.Emit(func(w io.Writer) error { return matrix.GitHubMatrix(w, refs, c.Int("shards")) })
			},
		}},
	})
}
