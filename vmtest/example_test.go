package vmtest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/retrobpf/retrobpf/vmtest"
	"github.com/retrobpf/retrobpf/vmtest/kernels"
)

// Run a static loader inside a Debian 6.1 kernel and get its exit code.
func ExampleRun() {
	cache, err := kernels.Open("")
	if err != nil {
		log.Fatal(err)
	}
	k, err := cache.Resolve(context.Background(), "6.1", kernels.ResolveOptions{})
	if err != nil {
		log.Fatal(err)
	}
	res, err := vmtest.Run(context.Background(), vmtest.Machine{Kernel: k}, vmtest.Plan{
		Files: []vmtest.File{{Path: "/loader", Source: "./loader"}},
		Steps: []vmtest.Step{
			{Name: "probe", Args: []string{"/bin/retrobpf", "probe", "--format", "json"}},
			{Name: "load", Args: []string{"/loader", "-v"}, Collect: []string{"/tmp/stats.json"}},
		},
	})
	if err != nil {
		log.Fatal(err) // bad input: nothing was booted
	}
	switch res.Outcome {
	case vmtest.OutcomeOK, vmtest.OutcomeFailed:
		for _, s := range res.Steps {
			fmt.Printf("%s: exit %d\n%s", s.Name, s.ExitCode, s.Stdout)
		}
	default: // kernel-panic, oops, timeout, infra-error
		fmt.Printf("%s: %s\n%s\n", res.Outcome, res.Reason, res.ConsoleTail)
	}
}
