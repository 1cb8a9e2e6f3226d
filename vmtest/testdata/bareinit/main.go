// Command bareinit is the baseline for scripts/bench-boot.sh: the least an
// init can do to be timed the same way as the agent. It sends the Ready and
// Done frames on the result port and powers off at once, without mounting
// anything beyond /proc (for the uptime it reports). It encodes the two
// small frames by hand (see package proto) so that it links nothing but
// the Go runtime and x/sys.
package main

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

func main() {
	unix.Mount("proc", "/proc", "proc", 0, "")
	f, err := os.OpenFile("/dev/ttyS1", os.O_WRONLY|unix.O_NOCTTY, 0)
	if err == nil {
		if t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
			t.Oflag &^= unix.OPOST
			unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, t)
		}
		ready := `{"uptime":` + strconv.FormatFloat(uptime(), 'g', -1, 64) + `}`
		f.Write(frame(1, []byte(ready)))         // proto.TypeReady
		f.Write(frame(4, []byte(`{"steps":0}`))) // proto.TypeDone
		unix.IoctlSetInt(int(f.Fd()), unix.TCSBRK, 1)
	}
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	select {}
}

func uptime() float64 {
	b, _ := os.ReadFile("/proc/uptime")
	v, _ := strconv.ParseFloat(strings.Fields(string(b) + " 0")[0], 64)
	return v
}

// frame encodes an uncompressed proto frame.
func frame(typ byte, payload []byte) []byte {
	tab := crc32.MakeTable(crc32.Castagnoli)
	b := []byte{'R', 'B', typ, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[4:], uint32(len(payload)))
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, tab))
	b = append(b, payload...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(payload, tab))
}
