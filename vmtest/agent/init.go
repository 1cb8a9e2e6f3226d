package agent

import (
	"os"

	"github.com/retrobpf/retrobpf/vmtest/proto"
)

// IsGuest reports whether this process is the init of a vmtest guest: PID 1
// with the work plan at the root. The plan check keeps retrobpf usable as
// PID 1 of a container, where it must stay the ordinary command.
func IsGuest() bool {
	if os.Getpid() != 1 {
		return false
	}
	_, err := os.Stat(proto.PlanPath)
	return err == nil
}

// init starts the agent while the binary is still initializing its
// packages, when the process is a guest's init. Go initializes packages in
// import-path order as soon as their imports are ready, so this package
// comes before the heavy ones of the retrobpf binary (JSON Schema
// compilation, the registry client, the command tree): under TCG that is
// a few hundred milliseconds of start-up the boot no longer waits for.
// Main never returns. main() calls Main as well, for binaries that link
// this package but reach main first.
func init() {
	if IsGuest() {
		Main()
	}
}
