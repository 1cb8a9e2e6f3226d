package bpf

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/cilium/ebpf"
)

type netCase struct {
	name   string
	pkt    []byte
	repeat uint32
	want   uint32
}

// counters reads the five counters of a network variant, from .bss or from
// the per-CPU array.
func netCounters(t *testing.T, in intent, coll *ebpf.Collection) []uint64 {
	t.Helper()
	if in.legacy {
		return arrayCounters(t, coll.Maps["counters"])
	}
	var c [5]uint64
	getVar(t, coll, "counters", &c)
	return c[:]
}

func runCases(t *testing.T, prog *ebpf.Program, cases []netCase) (packets, bytes uint64, out map[string][]byte) {
	t.Helper()
	out = map[string][]byte{}
	for _, c := range cases {
		// One run per call: with Repeat > 1 the kernel can stop midway with
		// EINTR (a signal, e.g. Go's preemption) and the library retries
		// from the start, so the program would run more often than asked.
		for range c.repeat {
			buf := make([]byte, len(c.pkt)+256)
			ret, err := prog.Run(&ebpf.RunOptions{Data: c.pkt, DataOut: buf, Repeat: 1})
			if err != nil {
				t.Fatalf("%s: test run: %v", c.name, err)
			}
			if ret != c.want {
				t.Fatalf("%s: returned %d, want %d", c.name, ret, c.want)
			}
			out[c.name] = buf[:len(c.pkt)]
		}
		packets += uint64(c.repeat)
		bytes += uint64(c.repeat) * uint64(len(c.pkt))
	}
	return packets, bytes, out
}

// TestXdpfilter runs crafted packets through both xdpfilter variants with
// BPF_PROG_TEST_RUN and checks every verdict and every counter exactly.
func TestXdpfilter(t *testing.T) {
	const blockedPort = 8080
	blockedSrc := net.IPv4(192, 0, 2, 66)
	for _, in := range intentsOf("xdpfilter") {
		t.Run(in.variant, func(t *testing.T) {
			_, coll := loadVariant(t, in, func(spec *ebpf.CollectionSpec) {
				if !in.legacy {
					setVar(t, spec, "blocked_port", uint16(blockedPort))
					setVar(t, spec, "blocked_saddr", binary.LittleEndian.Uint32(blockedSrc.To4()))
				}
			})
			if in.legacy {
				putConfig(t, coll, XdpfilterMapsConfig{
					BlockedSaddr: binary.LittleEndian.Uint32(blockedSrc.To4()), BlockedPort: blockedPort})
			}
			ok := net.IPv4(192, 0, 2, 1)
			cases := []netCase{
				{"tcp to blocked port", packet(6, ok, blockedPort, 10), 7, 1},
				{"udp to blocked port", packet(17, ok, blockedPort, 0), 3, 1},
				{"tcp to open port", packet(6, ok, 443, 100), 11, 2},
				{"udp from blocked source", packet(17, blockedSrc, 53, 4), 5, 1},
				{"arp", packet(0, nil, 0, 0), 2, 2},
				{"truncated ipv4", packet(6, ok, blockedPort, 0)[:20], 4, 2},
			}
			packets, bytes, _ := runCases(t, coll.Programs["xdp_filter"], cases)
			c := netCounters(t, in, coll)
			want := []uint64{packets, bytes, 11 + 2 + 4, 7 + 3 + 5, 2 + 4}
			for i := range want {
				if c[i] != want[i] {
					t.Errorf("counters %v, want %v", c, want)
					break
				}
			}
		})
	}
}

// TestTcclass runs crafted packets through both tcclass variants and checks
// verdicts, counters, and the DSCP rewrite (with a valid IPv4 checksum) in
// the packet the program hands back.
func TestTcclass(t *testing.T) {
	const (
		blockedPort = 23
		markPort    = 5060
		dscp        = 46 // EF
	)
	for _, in := range intentsOf("tcclass") {
		t.Run(in.variant, func(t *testing.T) {
			_, coll := loadVariant(t, in, func(spec *ebpf.CollectionSpec) {
				if !in.legacy {
					setVar(t, spec, "blocked_port", uint16(blockedPort))
					setVar(t, spec, "mark_port", uint16(markPort))
					setVar(t, spec, "dscp", uint8(dscp))
				}
			})
			if in.legacy {
				putConfig(t, coll, TcclassMapsConfig{BlockedPort: blockedPort, MarkPort: markPort, Dscp: dscp})
			}
			src := net.IPv4(192, 0, 2, 1)
			cases := []netCase{
				{"blocked", packet(6, src, blockedPort, 0), 3, 2},
				{"marked", packet(17, src, markPort, 32), 5, 0},
				{"other", packet(17, src, 53, 8), 2, 0},
				{"arp", packet(0, nil, 0, 0), 1, 0},
			}
			packets, bytes, out := runCases(t, coll.Programs["tc_classify"], cases)
			c := netCounters(t, in, coll)
			want := []uint64{packets, bytes, 3, 5, 1}
			for i := range want {
				if c[i] != want[i] {
					t.Errorf("counters %v, want %v", c, want)
					break
				}
			}
			ip := out["marked"][14:34]
			if got := ip[1] >> 2; got != dscp {
				t.Errorf("marked packet DSCP %d, want %d", got, dscp)
			}
			if ipChecksum(ip) != 0 {
				t.Errorf("marked packet IPv4 checksum invalid: % x", ip)
			}
			if other := out["other"][14:34]; other[1] != 0 {
				t.Errorf("unmarked packet TOS changed to %#x", other[1])
			}
		})
	}
}
