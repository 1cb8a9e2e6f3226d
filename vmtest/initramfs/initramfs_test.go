package initramfs

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cavaliergopher/cpio"
)

type entry struct {
	mode   cpio.FileMode
	data   string
	link   string
	device int
}

// readAll reads every archive in a stream of concatenated newc archives
// with an independent implementation (cavaliergopher/cpio).
func readAll(t *testing.T, data []byte) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	r := bytes.NewReader(data)
	for r.Len() > 0 {
		cr := cpio.NewReader(r)
		for {
			h, err := cr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("read back at offset %d: %v", int(r.Size())-r.Len(), err)
			}
			b, _ := io.ReadAll(cr)
			out[h.Name] = entry{mode: h.Mode, data: string(b), link: h.Linkname, device: h.DeviceID}
		}
		// The reader stops after the trailer; skip the padding before the
		// next archive as the kernel does.
		for r.Len() > 0 {
			if c, _ := r.ReadByte(); c != 0 {
				r.UnreadByte()
				break
			}
		}
	}
	return out
}

func TestWriterReadBack(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.File("/a/b/c.txt", 0o640, 5, strings.NewReader("hello"))
	w.Symlink("init", "/bin/retrobpf")
	w.CharDev("dev/ttyS1", 0o660, 4, 65)
	w.Dir("tmp", 0o777|os.ModeSticky)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len()%4 != 0 {
		t.Errorf("archive length %d is not a multiple of 4", buf.Len())
	}
	got := readAll(t, buf.Bytes())
	want := map[string]entry{
		"a":         {mode: cpio.TypeDir | 0o755},
		"a/b":       {mode: cpio.TypeDir | 0o755},
		"a/b/c.txt": {mode: cpio.TypeReg | 0o640, data: "hello"},
		"init":      {mode: cpio.TypeSymlink | 0o777, data: "/bin/retrobpf"},
		"dev":       {mode: cpio.TypeDir | 0o755},
		"dev/ttyS1": {mode: cpio.TypeChar | 0o660},
		"tmp":       {mode: cpio.TypeDir | 0o777 | cpio.ModeSticky},
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s missing; have %v", name, got)
			continue
		}
		if g.mode != w.mode || g.data != w.data && g.link != w.data {
			t.Errorf("%s: mode %v data %q link %q; want mode %v data %q", name, g.mode, g.data, g.link, w.mode, w.data)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d entries, want %d: %v", len(got), len(want), got)
	}
}

func TestWriterShortData(t *testing.T) {
	w := NewWriter(io.Discard)
	if err := w.File("x", 0o644, 10, strings.NewReader("short")); err == nil {
		t.Fatal("a file shorter than its size was accepted")
	}
}

// staticBinary builds a small static program for the tests.
func staticBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	os.WriteFile(src, []byte("package main\nimport \"os\"\nfunc main() { os.Stdout.WriteString(\"static ok \" + os.Args[1] + \"\\n\") }\n"), 0o644)
	out := filepath.Join(dir, "prog")
	cmd := exec.Command("go", "build", "-o", out, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

func TestImage(t *testing.T) {
	agent := staticBinary(t)
	cache := t.TempDir()
	base, err := Base(cache, agent)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Base(cache, agent)
	if err != nil || again != base {
		t.Fatalf("second Base = %s, %v; want the cached %s", again, err, base)
	}
	dst := filepath.Join(t.TempDir(), "initramfs.cpio")
	files := []File{
		{Path: "/loader", Data: []byte("#!bin"), Mode: 0o755},
		{Path: "/deep/dir/obj.o", Source: agent},
	}
	if err := Write(dst, base, []byte(`{"steps":[]}`), files); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(dst)
	got := readAll(t, data)
	if e := got["init"]; e.mode&cpio.TypeSymlink == 0 || e.link+e.data != AgentPath {
		t.Errorf("init = %+v, want a symlink to %s", e, AgentPath)
	}
	if e := got["dev/console"]; e.mode&^0o777 != cpio.TypeChar {
		t.Errorf("dev/console = %+v, want a character device", e)
	}
	if got["plan.json"].data != `{"steps":[]}` {
		t.Errorf("plan.json = %q", got["plan.json"].data)
	}
	if e := got["loader"]; e.data != "#!bin" || e.mode != cpio.TypeReg|0o755 {
		t.Errorf("loader = %+v", e)
	}
	src, _ := os.ReadFile(agent)
	if e := got["deep/dir/obj.o"]; e.data != string(src) || e.mode&0o777 != 0o755 {
		t.Errorf("deep/dir/obj.o: %d bytes mode %v, want the source's %d bytes and mode", len(e.data), e.mode, len(src))
	}
	// The agent in the image is stripped, and still runs.
	bin := got["bin/retrobpf"].data
	if len(bin) == 0 || len(bin) >= len(src) {
		t.Fatalf("agent in image is %d bytes, source %d: not stripped", len(bin), len(src))
	}
	stripped := filepath.Join(t.TempDir(), "stripped")
	os.WriteFile(stripped, []byte(bin), 0o755)
	out, err := exec.Command(stripped, "run").CombinedOutput()
	if err != nil || string(out) != "static ok run\n" {
		t.Fatalf("stripped agent: %v: %s", err, out)
	}

	if err := Write(dst, base, nil, []File{{Path: "relative", Data: []byte("x")}}); err == nil {
		t.Error("relative guest path accepted")
	}
}

func TestNotStatic(t *testing.T) {
	dyn, err := exec.LookPath("ls")
	if err != nil {
		t.Skip("no ls")
	}
	if err := CheckStatic(dyn); !errors.Is(err, ErrNotStatic) {
		t.Skipf("%s: %v (not a dynamic binary here)", dyn, err)
	}
	if _, err := Base(t.TempDir(), dyn); !errors.Is(err, ErrNotStatic) {
		t.Fatalf("Base(%s) = %v, want ErrNotStatic", dyn, err)
	}
	if _, err := Base(t.TempDir(), "/etc/hostname"); err == nil {
		t.Fatal("a non-ELF agent was accepted")
	}
}
