package reports

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// TestColorKeepsAlignment: the coloured table is the plain one plus ANSI
// codes, so columns still line up on a terminal.
func TestColorKeepsAlignment(t *testing.T) {
	var plain, colored bytes.Buffer
	if err := Render(&plain, fixture(), "table"); err != nil {
		t.Fatal(err)
	}
	if err := (RenderOptions{Color: true}).Render(&colored, fixture(), "table"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(colored.String(), "\x1b[32m✔") || !strings.Contains(colored.String(), "\x1b[31m✗") {
		t.Fatalf("no coloured verdicts:\n%s", colored.String())
	}
	stripped := regexp.MustCompile("\x1b\\[[0-9]+m").ReplaceAllString(colored.String(), "")
	if stripped != plain.String() {
		t.Errorf("colour changed the layout:\n%s\nwant\n%s", stripped, plain.String())
	}
	if strings.Contains(plain.String(), "\x1b[") {
		t.Error("colour without RenderOptions.Color")
	}
}

func TestKernelLabels(t *testing.T) {
	r := &Results{Kernels: []KernelResult{
		{Ref: "file:/home/ci/kernels/4.19/vmlinuz-4.19.0-27-amd64"},
		{Ref: "dir:/srv/lvh/5.10/"},
		{Ref: "file:/a/bzImage"}, {Ref: "file:/b/bzImage"},
		{Ref: "6.1"},
	}}
	g := newGrid(r)
	want := []string{"file:vmlinuz-4.19.0-27-amd64", "dir:5.10", "file:/a/bzImage", "file:/b/bzImage", "6.1"}
	for i := range r.Kernels {
		if got := g.label(&r.Kernels[i]); got != want[i] {
			t.Errorf("%s: label %q, want %q", r.Kernels[i].Ref, got, want[i])
		}
	}
}
