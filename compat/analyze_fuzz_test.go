package compat

import (
	"bytes"
	"os"
	"testing"
)

// FuzzAnalyze feeds arbitrary bytes through the ELF loader and the
// analysis: it may reject them, but must never panic.
func FuzzAnalyze(f *testing.F) {
	for _, name := range []string{"ringbuf_tp.o", "perf_kprobe.o", "fentry_core.o", "v3_atomics.o", "xdp_pass.o", "nongpl.o"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("\x7fELF"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := AnalyzeReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if rep != nil {
				t.Fatal("report returned with an error")
			}
			return
		}
		for _, p := range rep.Programs {
			if p.Name == "" {
				t.Fatal("program without a name")
			}
			for _, r := range p.Requirements {
				if r.Feature == "" {
					t.Fatalf("%s: empty requirement", p.Name)
				}
			}
		}
	})
}
