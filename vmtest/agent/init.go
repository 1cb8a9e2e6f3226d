package agent

import "os"

// init starts the agent while the binary is still initializing its
// packages, when it runs as PID 1. Go initializes packages in import-path
// order as soon as their imports are ready, so this package comes before
// the heavy ones of the retrobpf binary (JSON Schema compilation, the
// registry client, the command tree): under TCG that is about a third of a
// second of start-up the guest no longer waits for. Main never returns.
// main() calls Main as well, for binaries that link this package but
// reach main first.
func init() {
	if os.Getpid() == 1 {
		Main()
	}
}
