package vmtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/retrobpf/retrobpf/internal/atomicfile"
)

// KVMProbeTimeout bounds the real boot that proves KVM works: a healthy
// KVM guest reaches the agent in about a second, while on hosts where KVM
// is broken the guest hangs.
const KVMProbeTimeout = 10 * time.Second

var accelMu sync.Mutex

type accelAnswer struct {
	Accel   Accel     `json:"accel"`
	Reason  string    `json:"reason"`
	Checked time.Time `json:"checked"`
}

// DetectAccel answers AccelAuto: AccelKVM only if /dev/kvm opens and a
// short real boot of m.Kernel under KVM reaches the agent within
// KVMProbeTimeout, else AccelTCG. /dev/kvm alone proves nothing: on some
// hosts SeaBIOS runs under it yet a kernel hangs. The answer is cached in
// the cache dir, keyed by the host kernel and the QEMU version.
func DetectAccel(ctx context.Context, m Machine) Accel {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return AccelTCG
	}
	f.Close()

	accelMu.Lock()
	defer accelMu.Unlock()
	qemuBin := m.QEMU
	if qemuBin == "" {
		qemuBin = "qemu-system-x86_64"
	}
	path := filepath.Join(cacheDir(m), "accel-"+accelKey(qemuBin)+".json")
	if b, err := os.ReadFile(path); err == nil {
		var a accelAnswer
		if json.Unmarshal(b, &a) == nil && (a.Accel == AccelKVM || a.Accel == AccelTCG) {
			return a.Accel
		}
	}
	probe := m
	probe.Accel = AccelKVM
	probe.BootTimeout = KVMProbeTimeout
	probe.RunTimeout = KVMProbeTimeout
	probe.WorkDir = ""
	res, err := Run(ctx, probe, Plan{})
	if _, lookErr := exec.LookPath(qemuBin); ctx.Err() != nil || lookErr != nil {
		// Cancelled, or there is no QEMU to run at all: not an answer
		// about KVM, so nothing is cached; the run itself will report it.
		return AccelTCG
	}
	// QEMU that is there but dies under KVM (an assertion in its KVM code,
	// KVM_CREATE_VM refused) is an answer: this host's KVM is unusable.
	a := accelAnswer{Accel: AccelTCG, Checked: time.Now().UTC()}
	switch {
	case err != nil:
		a.Reason = err.Error()
	case res.Outcome == OutcomeOK:
		a.Accel, a.Reason = AccelKVM, "booted to the agent in "+res.BootToReady.String()
	default:
		a.Reason = string(res.Outcome) + ": " + res.Reason
	}
	if b, err := json.MarshalIndent(a, "", "  "); err == nil {
		if os.MkdirAll(filepath.Dir(path), 0o755) == nil {
			atomicfile.WriteFile(path, append(b, '\n'), 0o644)
		}
	}
	return a.Accel
}

// accelKey identifies the host setup the answer holds for.
func accelKey(qemuBin string) string {
	h := sha256.New()
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Write(u.Release[:])
		h.Write(u.Version[:])
	}
	out, _ := exec.Command(qemuBin, "--version").Output()
	h.Write(out)
	return hex.EncodeToString(h.Sum(nil))[:16]
}
