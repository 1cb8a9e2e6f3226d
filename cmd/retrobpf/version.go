package main

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/urfave/cli/v2"

	"github.com/retrobpf/retrobpf/cmd/retrobpf/internal/cliutil"
)

func init() {
	register(&cli.Command{
		Name:  "version",
		Usage: "print the retrobpf version and build information",
		Flags: commandFlags(),
		Action: func(c *cli.Context) error {
			o := options(c)
			if err := o.CheckFormat("table", "json"); err != nil {
				return err
			}
			info := map[string]string{"version": "devel"}
			if bi, ok := debug.ReadBuildInfo(); ok {
				info["go"] = bi.GoVersion
				if bi.Main.Version != "" {
					info["version"] = bi.Main.Version
				}
				for _, d := range bi.Deps {
					if d.Path == "github.com/cilium/ebpf" {
						info["cilium_ebpf"] = d.Version
					}
				}
			}
			return o.Emit(func(w io.Writer) error {
				if o.Format == "json" {
					return cliutil.JSON(w, info)
				}
				_, err := fmt.Fprintf(w, "retrobpf %s (%s, cilium/ebpf %s)\n", info["version"], info["go"], info["cilium_ebpf"])
				return err
			})
		},
	})
}
