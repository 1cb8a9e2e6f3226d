package overhead

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/retrobpf/retrobpf/internal/kversion"
	"github.com/retrobpf/retrobpf/reports"
)

// Attacher attaches the programs under test; closing the result detaches
// them.
type Attacher func() (io.Closer, error)

// Options tune Measure.
type Options struct {
	// Samples is the number of interleaved with/without pairs (default
	// 10, at least MinSamples).
	Samples int
	// Kernel decides how bpf stats are enabled (zero: assume a new kernel).
	Kernel kversion.Version
	// Emulated marks figures measured under TCG.
	Emulated bool
	// Packet is the BPF_PROG_TEST_RUN input (default: IPv4/TCP frame).
	Packet []byte
	// TestRunRepeat is the test-run repeat count (default 1000).
	TestRunRepeat int
}

// Result is the overhead plus the event count seen by bpf stats.
type Result struct {
	Overhead reports.Overhead
	// Events is run_cnt over one sample of the trigger; nil when unknown.
	Events *int64
}

// testRunTypes are the program types BPF_PROG_TEST_RUN can run for a
// meaningful ns/op (tracing test runs do not really run the program).
var testRunTypes = map[ebpf.ProgramType]bool{
	ebpf.SocketFilter: true, ebpf.SchedCLS: true, ebpf.SchedACT: true, ebpf.XDP: true,
	ebpf.CGroupSKB: true, ebpf.LWTIn: true, ebpf.LWTOut: true, ebpf.LWTXmit: true,
	ebpf.FlowDissector: true, ebpf.SkLookup: true, ebpf.RawTracepoint: true,
}

var (
	v5_1 = kversion.Version{Major: 5, Minor: 1}
	v5_8 = kversion.Version{Major: 5, Minor: 8}
)

// Measure measures the programs: per-event cost with trig (nil for the
// test-run kind), bpf stats and test runs. attach is called once per
// sample; progs returns the programs currently loaded (the attacher may
// reload them: tracing programs cannot be re-attached before 5.11).
func Measure(spec TriggerSpec, trig Trigger, attach Attacher, progs func() []*ebpf.Program, opts Options) Result {
	switch {
	case opts.Samples == 0:
		opts.Samples = 10
	case opts.Samples < MinSamples:
		opts.Samples = MinSamples
	}
	if spec.Count <= 0 {
		spec.Count = DefaultCount
	}
	if opts.Packet == nil {
		opts.Packet = IPv4TCPPacket()
	}
	if opts.TestRunRepeat <= 0 {
		opts.TestRunRepeat = 1000
	}
	o := reports.Overhead{
		Trigger:         spec.Kind,
		EventsPerSample: spec.Count,
		Emulated:        opts.Emulated,
		NotMeasurable:   map[string]string{},
	}
	var res Result

	if spec.Kind == KindTestRun || trig == nil {
		o.NotMeasurable[reports.MetricPerEvent] = "the test-run trigger runs the program directly (see test_run)"
	} else if base, added, diffs, err := perEvent(trig, attach, spec.Count, opts.Samples); err != nil {
		o.NotMeasurable[reports.MetricPerEvent] = err.Error()
	} else {
		n := len(diffs)
		o.BaselineNs, o.Samples, o.PerEventSamples = base, n, diffs
		if added.CILow > 0 {
			o.PerEventNs = added
		} else {
			// A cost whose interval reaches 0 is indistinguishable from
			// none: say so with the figures instead of printing 0 or a
			// negative cost.
			o.NotMeasurable[reports.MetricPerEvent] = fmt.Sprintf(reports.WithinNoise+": added cost %s ns/event, 95%% CI [%s, %s] includes 0 (baseline %s ns/event, %d samples)",
				fmtNs(added.Median), fmtNs(added.CILow), fmtNs(added.CIHigh), fmtNs(base.Median), n)
		}
	}

	fire := func() error {
		if trig != nil && spec.Kind != KindTestRun {
			return trig.Fire(spec.Count)
		}
		for _, p := range progs() {
			if testRunTypes[p.Type()] {
				if _, _, err := p.Benchmark(opts.Packet, spec.Count, nil); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if ns, cnt, reason := runTime(progs, attach, fire, opts.Kernel); reason != "" {
		o.NotMeasurable[reports.MetricRunTime] = reason
		if reason == reasonDidNotRun && o.BaselineNs != nil {
			// The difference is pure noise when the program never ran.
			o.PerEventNs = nil
			o.NotMeasurable[reports.MetricPerEvent] = reasonDidNotRun + ": the trigger does not reach the program's hook on this kernel"
		}
	} else {
		o.RunTimeNsPerRun, o.RunCount = &ns, &cnt
		res.Events = &cnt
	}

	if ns, reason := testRun(progs(), opts.Packet, opts.TestRunRepeat); reason != "" {
		o.NotMeasurable[reports.MetricTestRun] = reason
	} else {
		o.TestRunNsPerOp = &ns
	}
	if len(o.NotMeasurable) == 0 {
		o.NotMeasurable = nil
	}
	res.Overhead = o
	return res
}

func fmtNs(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }

// perEvent times n events per sample without and with the programs
// attached, alternating the order (ABBA) so drift cancels out.
func perEvent(trig Trigger, attach Attacher, n, samples int) (base, added *reports.Estimate, diffs []float64, err error) {
	if err := trig.Fire(n); err != nil { // warm-up: page cache, binaries, sockets
		return nil, nil, nil, err
	}
	timeIt := func() (float64, error) {
		start := time.Now()
		if err := trig.Fire(n); err != nil {
			return 0, err
		}
		return float64(time.Since(start).Nanoseconds()) / float64(n), nil
	}
	withProg := func() (float64, error) {
		l, err := attach()
		if err != nil {
			return 0, fmt.Errorf("attach: %w", err)
		}
		defer l.Close()
		return timeIt()
	}
	var bases []float64
	for i := range samples {
		var without, with float64
		var e1, e2 error
		if i%2 == 0 {
			without, e1 = timeIt()
			with, e2 = withProg()
		} else {
			with, e2 = withProg()
			without, e1 = timeIt()
		}
		if err := errors.Join(e1, e2); err != nil {
			return nil, nil, nil, err
		}
		bases = append(bases, without)
		diffs = append(diffs, with-without)
	}
	return Median(bases), Median(diffs), diffs, nil
}

// runTime reads bpf stats around one sample with the programs attached.
func runTime(progs func() []*ebpf.Program, attach Attacher, fire func() error, kv kversion.Version) (float64, int64, string) {
	if !kv.IsZero() && kv.Less(v5_1) {
		return 0, 0, fmt.Sprintf("no bpf stats before 5.1 (kernel %s)", kv)
	}
	stop, err := enableStats(kv)
	if err != nil {
		return 0, 0, fmt.Sprintf("cannot enable bpf stats: %v", err)
	}
	defer stop()
	l, err := attach()
	if err != nil {
		return 0, 0, fmt.Sprintf("attach: %v", err)
	}
	defer l.Close()
	before, err := sumStats(progs())
	if err != nil {
		return 0, 0, err.Error()
	}
	if err := fire(); err != nil {
		return 0, 0, fmt.Sprintf("trigger: %v", err)
	}
	after, err := sumStats(progs())
	if err != nil {
		return 0, 0, err.Error()
	}
	cnt := int64(after.RunCount - before.RunCount)
	if cnt <= 0 {
		return 0, 0, reasonDidNotRun
	}
	dt := after.Runtime - before.Runtime
	if dt <= 0 {
		return 0, 0, "run_time_ns did not advance (stats not collected by this kernel)"
	}
	return float64(dt.Nanoseconds()) / float64(cnt), cnt, ""
}

func sumStats(progs []*ebpf.Program) (ebpf.ProgramStats, error) {
	var s ebpf.ProgramStats
	for _, p := range progs {
		st, err := p.Stats()
		if err != nil {
			return s, fmt.Errorf("read bpf stats: %v", err)
		}
		s.Runtime += st.Runtime
		s.RunCount += st.RunCount
	}
	return s, nil
}

const statsSysctl = "/proc/sys/kernel/bpf_stats_enabled"

// reasonDidNotRun: bpf stats saw no run of the program during a sample.
const reasonDidNotRun = "the program did not run during the trigger (run_cnt stayed the same)"

// enableStats turns bpf stats on: BPF_ENABLE_STATS (5.8+), else the
// sysctl (5.1–5.7), restored afterwards.
func enableStats(kv kversion.Version) (func(), error) {
	if kv.IsZero() || kv.AtLeast(v5_8) {
		c, err := ebpf.EnableStats(unix.BPF_STATS_RUN_TIME)
		if err == nil {
			return func() { c.Close() }, nil
		}
		if !kv.IsZero() {
			return nil, err
		}
	}
	old, err := os.ReadFile(statsSysctl)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(statsSysctl, []byte("1\n"), 0o644); err != nil {
		return nil, err
	}
	return func() { os.WriteFile(statsSysctl, []byte(strings.TrimSpace(string(old))+"\n"), 0o644) }, nil
}

// testRun returns the summed BPF_PROG_TEST_RUN ns/op of the programs that
// support it.
func testRun(progs []*ebpf.Program, packet []byte, repeat int) (float64, string) {
	var total float64
	ran := 0
	var types []string
	for _, p := range progs {
		if !testRunTypes[p.Type()] {
			types = append(types, p.Type().String())
			continue
		}
		_, d, err := p.Benchmark(packet, repeat, nil)
		if err != nil {
			return 0, fmt.Sprintf("BPF_PROG_TEST_RUN on %s: %v", p.Type(), err)
		}
		if d <= 0 {
			return 0, "BPF_PROG_TEST_RUN reported 0 ns per run (below its 1 ns resolution)"
		}
		total += float64(d.Nanoseconds())
		ran++
	}
	if ran == 0 {
		return 0, fmt.Sprintf("BPF_PROG_TEST_RUN cannot run %s programs", strings.Join(types, ", "))
	}
	return total, ""
}

// IPv4TCPPacket is a 64-byte Ethernet/IPv4/TCP SYN frame (loopback
// addresses) for test runs.
func IPv4TCPPacket() []byte {
	p := make([]byte, 64)
	copy(p[0:6], []byte{0x02, 0, 0, 0, 0, 1})  // dst MAC
	copy(p[6:12], []byte{0x02, 0, 0, 0, 0, 2}) // src MAC
	p[12], p[13] = 0x08, 0x00                  // IPv4
	ip := p[14:]
	ip[0], ip[1] = 0x45, 0
	ip[2], ip[3] = 0, 50 // total length: 20 + 20 + 10 payload
	ip[8], ip[9] = 64, 6 // TTL, TCP
	copy(ip[12:16], []byte{127, 0, 0, 1})
	copy(ip[16:20], []byte{127, 0, 0, 1})
	tcp := ip[20:]
	tcp[0], tcp[1] = 0x30, 0x39 // 12345
	tcp[2], tcp[3] = 0, 80
	tcp[12] = 5 << 4 // data offset
	tcp[13] = 0x02   // SYN
	return p
}

// IPv4UDPPacket is IPv4TCPPacket with a UDP header (port 53).
func IPv4UDPPacket() []byte {
	p := IPv4TCPPacket()
	ip := p[14:]
	ip[9] = 17
	udp := ip[20:]
	for i := range udp {
		udp[i] = 0
	}
	udp[0], udp[1] = 0x30, 0x39
	udp[2], udp[3] = 0, 53
	udp[4], udp[5] = 0, 30 // length: 8 + 22 payload
	return p
}
