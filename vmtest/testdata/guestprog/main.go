// Command guestprog is what the vmtest end-to-end tests run inside the
// guest, as a step or as the guest's init. The mode is argv[1], or, when
// it runs as init, the kernel command-line parameter guestprog=MODE (the
// kernel hands unknown parameters to init as environment variables).
//
//	exit N    exit with code N
//	ringbuf   create a BPF ring buffer map; exit 0 and print "ringbuf: ok"
//	panic     exit at once: as init, the kernel panics ("Attempted to kill init")
//	hang      sleep forever
//	crash     write "c" to /proc/sysrq-trigger: a kernel crash on demand
//	silent    as init: send Ready on the result port, then power off without a report
//	bytes N   write N pseudo-random bytes (math/rand/v2 PCG seeded 1, 2) to stdout
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/retrobpf/retrobpf/vmtest/proto"
)

func main() {
	mode, arg := os.Getenv("guestprog"), ""
	if len(os.Args) > 1 && os.Getpid() != 1 {
		mode = os.Args[1]
	}
	if len(os.Args) > 2 {
		arg = os.Args[2]
	}
	switch mode {
	case "exit":
		n, _ := strconv.Atoi(arg)
		fmt.Printf("guestprog: exiting with %d\n", n)
		os.Exit(n)
	case "ringbuf":
		m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: 4096})
		if err != nil {
			fmt.Fprintf(os.Stderr, "ringbuf: %v\n", err)
			os.Exit(1)
		}
		m.Close()
		fmt.Println("ringbuf: ok")
	case "panic":
		fmt.Println("guestprog: exiting as init")
		os.Exit(1)
	case "hang":
		fmt.Println("guestprog: hanging")
		for {
			time.Sleep(time.Hour)
		}
	case "bytes":
		n, _ := strconv.Atoi(arg)
		os.Stdout.Write(Noise(n))
	case "silent":
		f, err := os.OpenFile("/dev/ttyS1", os.O_WRONLY|unix.O_NOCTTY, 0)
		if err == nil {
			proto.NewWriter(f).WriteFrame(proto.TypeReady, []byte(`{"release":"silent"}`))
			unix.IoctlSetInt(int(f.Fd()), unix.TCSBRK, 1)
		}
		unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
		select {}
	case "crash":
		if err := os.WriteFile("/proc/sysrq-trigger", []byte("c"), 0); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "guestprog: unknown mode %q\n", mode)
		os.Exit(2)
	}
}

// Noise returns n incompressible bytes, the same on every call.
func Noise(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
