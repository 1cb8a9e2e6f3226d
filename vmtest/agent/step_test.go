package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/retrobpf/retrobpf/vmtest/proto"
)

// runStep is the agent's process runner; it runs real processes on the
// host just as it does in the guest.
func TestRunStep(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "in.txt"), []byte("collected"), 0o644)
	for _, tc := range []struct {
		name  string
		step  proto.Step
		check func(t *testing.T, r proto.StepResult)
	}{
		{"exit code and output", proto.Step{Args: []string{"sh", "-c", "echo out; echo err >&2; exit 7"}}, func(t *testing.T, r proto.StepResult) {
			if r.ExitCode != 7 || string(r.Stdout) != "out\n" || string(r.Stderr) != "err\n" || r.Error != "" {
				t.Errorf("got %+v", r)
			}
		}},
		{"env and dir", proto.Step{Args: []string{"sh", "-c", "echo $RB_X; pwd"}, Env: []string{"RB_X=42"}, Dir: dir}, func(t *testing.T, r proto.StepResult) {
			if string(r.Stdout) != "42\n"+dir+"\n" || r.ExitCode != 0 {
				t.Errorf("got %q exit %d", r.Stdout, r.ExitCode)
			}
		}},
		{"timeout kills the process group", proto.Step{Args: []string{"sh", "-c", "sleep 30 & sleep 30"}, Timeout: 300 * time.Millisecond}, func(t *testing.T, r proto.StepResult) {
			if !r.TimedOut || r.ExitCode != -1 || r.Duration > 5*time.Second {
				t.Errorf("got timed out %v exit %d after %s", r.TimedOut, r.ExitCode, r.Duration)
			}
		}},
		{"signal", proto.Step{Args: []string{"sh", "-c", "kill -9 $$"}}, func(t *testing.T, r proto.StepResult) {
			if r.ExitCode != -1 || !strings.Contains(r.Error, "killed") {
				t.Errorf("got exit %d error %q", r.ExitCode, r.Error)
			}
		}},
		{"missing binary", proto.Step{Args: []string{"/no/such/prog"}}, func(t *testing.T, r proto.StepResult) {
			if r.ExitCode != -1 || !strings.Contains(r.Error, "no such file") {
				t.Errorf("got exit %d error %q", r.ExitCode, r.Error)
			}
		}},
		{"collect", proto.Step{Args: []string{"true"}, Collect: []string{filepath.Join(dir, "in.txt"), filepath.Join(dir, "missing")}}, func(t *testing.T, r proto.StepResult) {
			if string(r.Files[filepath.Join(dir, "in.txt")]) != "collected" || !strings.Contains(r.Error, "missing") {
				t.Errorf("got files %v error %q", r.Files, r.Error)
			}
		}},
		{"no command", proto.Step{}, func(t *testing.T, r proto.StepResult) {
			if r.Error == "" {
				t.Errorf("got %+v", r)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, runStep(0, tc.step)) })
	}
}

func TestCappedOutput(t *testing.T) {
	c := &capped{max: 10}
	c.Write([]byte("0123456"))
	c.Write([]byte("789abc"))
	got := string(c.bytes())
	if !strings.HasPrefix(got, "0123456789\n") || !strings.Contains(got, "3 more bytes dropped") {
		t.Errorf("capped = %q", got)
	}
}

func TestReadPlan(t *testing.T) {
	p := filepath.Join(t.TempDir(), "plan.json")
	os.WriteFile(p, []byte(`{"steps":[{"name":"a","args":["x"],"timeout":1000000000}]}`), 0o644)
	plan, err := readPlan(p)
	if err != nil || len(plan.Steps) != 1 || plan.Steps[0].Timeout != time.Second {
		t.Fatalf("readPlan = %+v, %v", plan, err)
	}
	os.WriteFile(p, []byte(`{"steps":`), 0o644)
	if _, err := readPlan(p); err == nil {
		t.Fatal("truncated plan accepted")
	}
}
