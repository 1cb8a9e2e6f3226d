package agent

import "testing"

func TestIsGuestOnHost(t *testing.T) {
	// A test process is never PID 1 of a guest; were IsGuest wrong here,
	// the package's init would already have powered this machine off.
	if IsGuest() {
		t.Fatal("IsGuest() = true in a test process")
	}
}
