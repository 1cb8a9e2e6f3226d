package bpf

import (
	"encoding/binary"
	"net"
	"os"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// tcpEvent mirrors struct event in tcpconnect/tcpconnect.h.
type tcpEvent struct {
	Pid, Uid     uint32
	Saddr, Daddr [4]byte // network order
	Sport        uint16  // host order
	Dport        uint16  // network order
	Ret          int32
	Comm         [16]int8
}

// TestTcpconnect attaches every tcpconnect variant filtered to a loopback
// listener's port, connects to it and expects the connect with both
// addresses and ports.
func TestTcpconnect(t *testing.T) {
	for _, in := range intentsOf("tcpconnect") {
		t.Run(in.variant, func(t *testing.T) {
			loopbackUp(t)
			ln, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			port := uint16(ln.Addr().(*net.TCPAddr).Port)

			spec, coll := loadVariant(t, in, func(spec *ebpf.CollectionSpec) {
				if !in.legacy {
					setVar(t, spec, "target_port", port)
					setVar(t, spec, "target_pid", uint32(os.Getpid()))
				}
			})
			if in.legacy {
				putConfig(t, coll, TcpconnectLegacyConfig{Flags: 3, TargetPid: uint32(os.Getpid()), TargetPort: port})
			}
			ev := openEvents(t, coll)
			attachAll(t, in, spec, coll)

			conn, err := net.Dial("tcp4", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			local := conn.LocalAddr().(*net.TCPAddr)
			conn.Close()

			got := waitFor(t, ev, eventTimeout, func(e *tcpEvent) bool { return e.Sport == uint16(local.Port) })
			dport := binary.BigEndian.Uint16([]byte{byte(got.Dport), byte(got.Dport >> 8)})
			if dport != port {
				t.Errorf("dport %d, want %d", dport, port)
			}
			if d := net.IP(got.Daddr[:]); !d.Equal(net.IPv4(127, 0, 0, 1)) {
				t.Errorf("daddr %v, want 127.0.0.1", d)
			}
			if s := net.IP(got.Saddr[:]); !s.Equal(local.IP) {
				t.Errorf("saddr %v, want %v", s, local.IP)
			}
			if got.Ret != 0 || got.Pid != uint32(os.Getpid()) {
				t.Errorf("ret %d pid %d, want 0 and %d", got.Ret, got.Pid, os.Getpid())
			}
		})
	}
}

// loopbackUp brings "lo" up when it is down (VM guests start with it down).
func loopbackUp(t *testing.T) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		t.Fatalf("lo flags: %v", err)
	}
	if ifr.Uint16()&unix.IFF_UP != 0 {
		return
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP | unix.IFF_RUNNING)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		t.Fatalf("bring lo up: %v", err)
	}
}
