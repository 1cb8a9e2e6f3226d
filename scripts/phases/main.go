// Command phases prints where each kernel's wall time went in a matrix
// results file (KernelResult.Phases): boot, the probe step, the program
// steps together, and the rest, with each one's share of the total. It is
// bench-matrix's breakdown.
//
//	go run ./scripts/phases results.json
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/retrobpf/retrobpf/reports"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: phases results.json")
		os.Exit(2)
	}
	res, err := reports.Load(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "phases:", err)
		os.Exit(2)
	}
	cols := []string{"boot", "probe", "programs", "other"}
	total := map[string]float64{}
	inside := map[string]float64{} // program steps' own phases, all kernels
	fmt.Printf("%-10s %8s %8s %9s %8s %8s %6s\n", "kernel", "boot", "probe", "programs", "other", "wall", "steps")
	for _, k := range res.Kernels {
		sum := map[string]float64{}
		wall, steps := 0.0, 0
		for _, p := range k.Phases {
			name := p.Name
			if _, inner, ok := strings.Cut(name, "/"); ok {
				inside[inner] += p.Seconds // a part of a step: counted there
				continue
			}
			switch name {
			case "boot", "probe", "other":
			default:
				name, steps = "programs", steps+1
			}
			sum[name] += p.Seconds
			total[name] += p.Seconds
			wall += p.Seconds
		}
		fmt.Printf("%-10s %7.2fs %7.2fs %8.2fs %7.2fs %7.2fs %6d\n", k.Ref, sum["boot"], sum["probe"], sum["programs"], sum["other"], wall, steps)
	}
	all := 0.0
	for _, c := range cols {
		all += total[c]
	}
	if all == 0 {
		fmt.Println("no phases recorded")
		return
	}
	fmt.Printf("%-10s", "share")
	for _, c := range cols {
		fmt.Printf(" %7.0f%%", 100*total[c]/all)
	}
	fmt.Println()
	if len(inside) == 0 {
		return
	}
	names := make([]string, 0, len(inside))
	for n := range inside {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return inside[names[i]] > inside[names[j]] })
	fmt.Printf("\ninside the program steps (all kernels, %.2fs of them):\n", total["programs"])
	for _, n := range names {
		fmt.Printf("  %-16s %7.2fs %5.0f%%\n", n, inside[n], 100*inside[n]/total["programs"])
	}
}
