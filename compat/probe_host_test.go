package compat

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
)

var (
	hostOnce   sync.Once
	hostReport *ProbeReport
	hostErr    error
)

// hostProbe probes this host once for all tests; it skips without root.
func hostProbe(t *testing.T) *ProbeReport {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("probing the kernel needs root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_SYS_ADMIN)")
	}
	hostOnce.Do(func() { hostReport, hostErr = Probe(context.Background(), ProbeOptions{Ksyms: []string{"vfs_read", "no_such_symbol_retrobpf"}}) })
	if hostErr != nil {
		t.Fatal(hostErr)
	}
	return hostReport
}

func TestProbeHostDump(t *testing.T) {
	r := hostProbe(t)
	if os.Getenv("RETROBPF_DUMP") != "" {
		b, _ := json.MarshalIndent(r, "", "  ")
		os.WriteFile(os.Getenv("RETROBPF_DUMP"), b, 0o644)
	}
	_ = strings.TrimSpace
}
