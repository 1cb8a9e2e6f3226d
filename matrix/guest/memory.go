package guest

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// limitMemory makes the Go runtime collect garbage before the process
// uses more than 60 % of the machine's memory: a VM has little, and
// verifier logs are large and short-lived. GOMEMLIMIT, when set, wins.
func limitMemory() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kib, err := strconv.ParseInt(fields[1], 10, 64)
			if err == nil && kib > 0 {
				debug.SetMemoryLimit(kib * 1024 * 6 / 10)
			}
			return
		}
	}
}
