// Command overheadcv prints, for each attached variant of two matrix
// results files (the same suite and kernel measured without and with
// instruction counting), the coefficient of variation of the per-event
// cost over its samples (standard deviation ÷ |mean| of
// Overhead.PerEventSamples), side by side. It is bench-overhead's table.
//
//	go run ./scripts/overheadcv tcg.json icount.json
package main

import (
	"fmt"
	"math"
	"os"
	"sort"

	"github.com/retrobpf/retrobpf/reports"
)

type figure struct {
	mean, cv float64
	n        int
	unit     string
}

func load(path string) (map[string]figure, error) {
	res, err := reports.Load(path)
	if err != nil {
		return nil, err
	}
	out := map[string]figure{}
	for _, k := range res.Kernels {
		for _, v := range k.Variants {
			o := v.Overhead
			if o == nil || len(o.PerEventSamples) < 2 {
				continue
			}
			var sum float64
			for _, s := range o.PerEventSamples {
				sum += s
			}
			mean := sum / float64(len(o.PerEventSamples))
			var ss float64
			for _, s := range o.PerEventSamples {
				ss += (s - mean) * (s - mean)
			}
			sd := math.Sqrt(ss / float64(len(o.PerEventSamples)-1))
			unit := o.Unit
			if unit == "" {
				unit = "ns"
			}
			out[k.Ref+" "+v.Program+"/"+v.Variant] = figure{mean: mean, cv: sd / math.Abs(mean), n: len(o.PerEventSamples), unit: unit}
		}
	}
	return out, nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: overheadcv WITHOUT.json WITH-ICOUNT.json")
		os.Exit(2)
	}
	plain, err := load(os.Args[1])
	if err == nil {
		var icount map[string]figure
		if icount, err = load(os.Args[2]); err == nil {
			report(plain, icount)
			return
		}
	}
	fmt.Fprintln(os.Stderr, "overheadcv:", err)
	os.Exit(2)
}

func report(plain, icount map[string]figure) {
	keys := map[string]bool{}
	for k := range plain {
		keys[k] = true
	}
	for k := range icount {
		keys[k] = true
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	cell := func(f figure, ok bool) string {
		if !ok {
			return fmt.Sprintf("%28s", "-")
		}
		return fmt.Sprintf("%12.0f %-9s %5.1f%%", f.mean, f.unit, 100*f.cv)
	}
	fmt.Printf("%-40s %28s %28s\n", "kernel program/variant", "TCG: mean/event     CV", "TCG+icount: mean/event  CV")
	var met, both int
	var cvs, cvsI []float64
	for _, n := range names {
		p, okP := plain[n]
		i, okI := icount[n]
		fmt.Printf("%-40s %s %s\n", n, cell(p, okP), cell(i, okI))
		if okP && okI {
			both++
			cvs, cvsI = append(cvs, p.cv), append(cvsI, i.cv)
			if i.cv <= 0.03 {
				met++
			}
		}
	}
	if both == 0 {
		fmt.Println("no variant measured in both runs")
		return
	}
	fmt.Printf("\nmedian CV over %d variants: TCG %.1f%%, TCG+icount %.1f%%; with icount %d of %d are within the goal (issue 14: CV <= 3 %%)\n",
		both, 100*median(cvs), 100*median(cvsI), met, both)
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
