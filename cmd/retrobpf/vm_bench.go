package main

import (
	"fmt"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/retrobpf/retrobpf/internal/cliutil"
	"github.com/retrobpf/retrobpf/vmtest"
)

// maxAgentOverhead is the budget of the agent over a bare init.
const maxAgentOverhead = 300 * time.Millisecond

// vmBenchBoot boots every kernel --runs times with a bare init and with
// the agent, alternating so that load changes hit both alike, and prints
// the medians side by side. It fails (exit 1) when the agent's median
// boot-to-ready exceeds the bare init's by maxAgentOverhead or more.
func vmBenchBoot(c *cli.Context) error {
	bare := c.String("bare-init")
	if _, err := os.Stat(bare); err != nil {
		return cliutil.Usagef("--bare-init %s: %v", bare, err)
	}
	runs := c.Int("runs")
	if runs < 1 {
		return cliutil.Usagef("--runs must be at least 1")
	}
	s, err := newVMSetup(c)
	if err != nil {
		return err
	}
	defer s.stop()
	tw := tabwriter.NewWriter(s.o.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kernel\trelease\taccel\truns\tbare init\tagent ready\toverhead\tguest: bare\tguest: agent\tguest overhead\tverdict\t")
	pass := true
	for _, k := range s.kernels {
		var hb, ha, gb, ga []time.Duration
		var accel vmtest.Accel
		var release string
		for i := 0; i < runs; i++ {
			for _, agent := range []string{bare, s.machine.Agent} {
				m := s.machine
				m.Kernel, m.Agent = k, agent
				r, err := vmtest.Run(s.ctx, m, vmtest.Plan{})
				if err != nil {
					return cliutil.Usage(err)
				}
				if r.Outcome != vmtest.OutcomeOK {
					return vmFailure(k, r)
				}
				accel = r.Accel
				if agent == bare {
					hb, gb = append(hb, r.BootToReady), append(gb, r.GuestReady)
				} else {
					ha, ga = append(ha, r.BootToReady), append(ga, r.GuestReady)
					release = r.Release
				}
				s.o.Debugf("%s run %d %s: ready after %s (guest %s)", k.Ref, i, map[bool]string{true: "bare", false: "agent"}[agent == bare], r.BootToReady, r.GuestReady)
			}
		}
		over := median(ha) - median(hb)
		verdict := "PASS"
		if over >= maxAgentOverhead {
			verdict, pass = "FAIL", false
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%+.3fs\t%s\t%s\t%+.3fs\t%s\t\n", k.Ref, release, accel, runs,
			secs(median(hb)), secs(median(ha)), over.Seconds(), secs(median(gb)), secs(median(ga)), (median(ga) - median(gb)).Seconds(), verdict)
	}
	tw.Flush()
	fmt.Fprintf(s.o.Stdout, "agent overhead budget: < %s over a bare init (median boot-to-ready, host clock)\n", maxAgentOverhead)
	if !pass {
		fmt.Fprintln(s.o.Stdout, "FAIL")
		return cliutil.Failed(fmt.Errorf("agent overhead over budget"))
	}
	fmt.Fprintln(s.o.Stdout, "PASS")
	return nil
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3fs", d.Seconds()) }
