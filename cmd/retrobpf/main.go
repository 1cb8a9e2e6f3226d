// Command retrobpf checks, selects, loads and measures eBPF programs across
// kernel versions. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/urfave/cli/v2"

	"github.com/retrobpf/retrobpf/cmd/retrobpf/internal/cliutil"
	"github.com/retrobpf/retrobpf/vmtest/agent"
)

// commands is filled by the init functions of the files in this package,
// one file per command, so each command owns its file.
var commands []*cli.Command

func register(c *cli.Command) { commands = append(commands, c) }

const exitCodeHelp = `EXIT CODES:
   0  success / compatible
   1  incompatible, or a failed verdict (a rejected program, a tripped gate)
   2  usage or input error (bad flag, unreadable or invalid file)
   3  infrastructure error (QEMU, kernel download, cache, network), or
      interrupted (Ctrl-C/SIGTERM: the command stops and keeps what finished)
 130  interrupted twice, or not stopped within 30s of the interrupt

ENVIRONMENT:
   NO_COLOR         disable colour
   XDG_CACHE_HOME   cache root (kernels and BTF live under retrobpf/)
   RETROBPF_BTF     external BTF file for loading CO-RE programs
   RETROBPF_BTFHUB  BTFHub archive base URL (or file:///path)
`

func newApp() *cli.App {
	sort.Slice(commands, func(i, j int) bool { return commands[i].Name < commands[j].Name })
	app := &cli.App{
		Name:                 "retrobpf",
		Usage:                "make eBPF programs for new kernels safe to ship to old ones",
		Commands:             commands,
		EnableBashCompletion: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: cliutil.FlagFormat, Aliases: []string{"f"}, Value: "table", Usage: "output `FORMAT`: table, json, markdown (some commands add more)"},
			&cli.StringFlag{Name: cliutil.FlagOutput, Aliases: []string{"o"}, Usage: "write the result to `FILE` (atomically) instead of stdout"},
			&cli.BoolFlag{Name: cliutil.FlagQuiet, Aliases: []string{"q"}, Usage: "print only the result"},
			&cli.BoolFlag{Name: cliutil.FlagVerbose, Aliases: []string{"v"}, Usage: "explain more"},
		},
		CustomAppHelpTemplate: cli.AppHelpTemplate + "\n" + exitCodeHelp,
		ExitErrHandler:        func(*cli.Context, error) {},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return cliutil.Usage(err)
		},
	}
	for _, c := range app.Commands {
		setUsageErrors(c)
	}
	return app
}

func setUsageErrors(c *cli.Command) {
	c.OnUsageError = func(_ *cli.Context, err error, _ bool) error { return cliutil.Usage(err) }
	for _, s := range c.Subcommands {
		setUsageErrors(s)
	}
}

// run is main without os.Exit, for testscript.
func run(args []string) int {
	ctx, stop := interruptible(context.Background())
	defer stop()
	err := newApp().RunContext(ctx, args)
	if err != nil {
		msg := err.Error() + flagHint(err)
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			msg = "interrupted: " + msg // "context canceled" alone does not say by whom
		}
		fmt.Fprintf(os.Stderr, "retrobpf: %s\n", oneLine(msg))
	}
	return exitCode(err)
}

// oneLine keeps an error on one line whatever it quotes: a file name with
// a newline (or a terminal escape) would otherwise split the line scripts
// read, or rewrite the terminal. Control characters are shown Go-escaped.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func main() {
	if agent.IsGuest() { // started by the kernel as a vmtest VM's init: be the guest agent
		agent.Main()
	}
	os.Exit(run(os.Args))
}
