package testutils

import (
	"os"
	"testing"
)

func TestRequireTracefs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount tracefs")
	}
	before := tracefsMounted()
	t.Run("mounted inside", func(t *testing.T) {
		RequireTracefs(t)
		if !tracefsMounted() {
			t.Fatal("RequireTracefs returned but no tracefs is mounted")
		}
		if _, err := os.Stat(tracefsMountPoint + "/events/sched/sched_process_exec/id"); err != nil && !before {
			t.Fatalf("tracefs mounted but has no sched events: %v", err)
		}
	})
	if after := tracefsMounted(); after != before {
		t.Fatalf("tracefs mounted before the test: %v, after: %v; the helper must leave the machine as it found it", before, after)
	}
}
