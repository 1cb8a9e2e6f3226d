package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/retrobpf/retrobpf/cmd/retrobpf/internal/cliutil"
	"github.com/retrobpf/retrobpf/vmtest"
	"github.com/retrobpf/retrobpf/vmtest/initramfs"
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
	agentBin := s.machine.Agent
	if agentBin == "" {
		if agentBin, err = os.Executable(); err != nil {
			return cliutil.Infra(err)
		}
	}
	agentImage, err := initramfs.Stripped(agentBin)
	if err != nil {
		return cliutil.Infra(err)
	}
	load0 := loadAverage()
	// Three boots per run, interleaved so load changes hit all alike: the
	// bare init; the bare init with the (stripped) agent binary as a plain
	// file (what unpacking the bigger initramfs costs); the agent.
	const nConf = 3
	confName := [nConf]string{"bare", "bare+agent file", "agent"}
	type row struct {
		ref, release string
		accel        vmtest.Accel
		wall, cpu    [nConf][]time.Duration
	}
	var rows []row
	for _, k := range s.kernels {
		r := row{ref: k.Ref}
		for i := 0; i < runs; i++ {
			for c := 0; c < nConf; c++ {
				m := s.machine
				m.Kernel, m.Agent = k, bare
				var plan vmtest.Plan
				switch c {
				case 1:
					plan.Files = []vmtest.File{{Path: "/padding", Data: agentImage}}
				case 2:
					m.Agent = agentBin
				}
				res, err := vmtest.Run(s.ctx, m, plan)
				if err != nil {
					return cliutil.Usage(err)
				}
				if res.Outcome != vmtest.OutcomeOK {
					return vmFailure(k, res)
				}
				r.accel = res.Accel
				r.wall[c] = append(r.wall[c], res.BootToReady)
				r.cpu[c] = append(r.cpu[c], res.ReadyCPU)
				if c == 2 {
					r.release = res.Release
				}
				s.o.Debugf("%s run %d %s: ready after %s (guest clock %s, QEMU CPU %s)", k.Ref, i, confName[c], res.BootToReady, res.GuestReady, res.ReadyCPU)
			}
		}
		rows = append(rows, r)
	}
	// On an overloaded host the clocks measure the queue for a CPU more
	// than the boot; QEMU's own CPU time does not, so it decides then.
	load := max(load0, loadAverage())
	byCPU := load > float64(runtime.NumCPU())
	tw := tabwriter.NewWriter(s.o.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kernel\trelease\taccel\truns\tbare init\tagent ready\toverhead\tCPU: bare\tCPU: +unpack\tCPU: agent\toverhead\tverdict\t")
	pass := true
	for _, r := range rows {
		wb, wa := median(r.wall[0]), median(r.wall[2])
		cb, cu, ca := median(r.cpu[0]), median(r.cpu[1]), median(r.cpu[2])
		over := wa - wb
		if byCPU {
			over = ca - cb
		}
		verdict := "PASS"
		if over >= maxAgentOverhead {
			verdict, pass = "FAIL", false
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%+.3fs\t%s\t%+.3fs\t%s\t%+.3fs\t%s\t\n", r.ref, r.release, r.accel, runs,
			secs(wb), secs(wa), (wa - wb).Seconds(), secs(cb), (cu - cb).Seconds(), secs(ca), (ca - cb).Seconds(), verdict)
	}
	tw.Flush()
	basis := "host clock, QEMU start to the Ready frame"
	if byCPU {
		basis = fmt.Sprintf("QEMU CPU time to the Ready frame: the host was overloaded (load average %.1f on %d CPUs), so its clocks are not trusted", load, runtime.NumCPU())
	}
	fmt.Fprintf(s.o.Stdout, "medians of %d runs; +unpack = bare init with the agent binary as a plain file (the cost of the bigger initramfs)\n", runs)
	fmt.Fprintf(s.o.Stdout, "budget: the agent adds < %s over a bare init (%s)\n", maxAgentOverhead, basis)
	if !pass {
		fmt.Fprintln(s.o.Stdout, "FAIL")
		return cliutil.Failed(fmt.Errorf("agent overhead over budget"))
	}
	fmt.Fprintln(s.o.Stdout, "PASS")
	return nil
}

// loadAverage is the 1-minute load average, or 0.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var l float64
	fmt.Sscan(string(b), &l)
	return l
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
