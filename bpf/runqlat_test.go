package bpf

import (
	"os"
	"runtime"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// TestRunqlat attaches every runqlat variant filtered to one thread of this
// process, makes that thread sleep (each wakeup queues it) and expects
// samples in the histogram.
func TestRunqlat(t *testing.T) {
	for _, in := range intentsOf("runqlat") {
		t.Run(in.variant, func(t *testing.T) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			tid := uint32(unix.Gettid())

			spec, coll := loadVariant(t, in, func(spec *ebpf.CollectionSpec) {
				if !in.legacy {
					setVar(t, spec, "target_tgid", uint32(os.Getpid()))
				}
			})
			if in.legacy {
				putConfig(t, coll, RunqlatLegacyConfig{TargetPid: tid})
			}
			detach := attachAll(t, in, spec, coll)

			const sleeps = 50
			for range sleeps {
				// A raw nanosleep blocks this very thread (time.Sleep would
				// park the goroutine and let the thread spin or steal work).
				if err := unix.Nanosleep(&unix.Timespec{Nsec: 200_000}, nil); err != nil {
					t.Fatal(err)
				}
			}
			detach() // the totals below must not move while read

			var hist []uint64
			if in.legacy {
				hist = arrayCounters(t, coll.Maps["hist"])
			} else {
				var h [32]uint64
				getVar(t, coll, "hist", &h)
				hist = h[:]
				var samples uint64
				getVar(t, coll, "samples", &samples)
				if samples != sum(hist) {
					t.Errorf("samples %d != histogram total %d", samples, sum(hist))
				}
			}
			if n := sum(hist); n < sleeps/2 {
				t.Errorf("histogram holds %d samples after %d sleeps of thread %d: %v", n, sleeps, tid, hist)
			}
			t.Logf("runqlat %s histogram (log2 us): %v", in.variant, hist)
		})
	}
}
