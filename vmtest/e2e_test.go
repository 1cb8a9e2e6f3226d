package vmtest

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestBootUname(t *testing.T) {
	k := testKernel(t, "6.1")
	res, err := Run(context.Background(), Machine{Kernel: k, Accel: AccelTCG, Agent: agentBinary(t), CacheDir: t.TempDir(), WorkDir: t.TempDir()},
		Plan{Steps: []Step{{Name: "true", Args: []string{"/bin/retrobpf", "--help"}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("outcome %s %s boot %s total %s mounts %v", res.Outcome, res.Reason, res.BootToReady, res.Total, res.Mounts)
	t.Logf("console:\n%s", res.ConsoleTail)
	if res.Outcome != OutcomeOK {
		t.Fatalf("outcome %s", res.Outcome)
	}
	if res.Release != k.Release {
		t.Errorf("release %q, want %q", res.Release, k.Release)
	}
	if !strings.Contains(string(res.Steps[0].Stdout), "retrobpf") {
		t.Errorf("stdout %q", res.Steps[0].Stdout)
	}
	_ = time.Second
}
