package suite

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadBundled(t *testing.T) {
	s, err := Load("../../bpf/suite.yaml")
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("bundled suite not built")
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Programs) < 5 || len(s.Objects()) < 10 || s.SHA256 == "" {
		t.Fatalf("%d programs, %d objects", len(s.Programs), len(s.Objects()))
	}
	for _, p := range s.Programs {
		if p.Name == "runqlat" && p.Trigger.Duration.String() != "1ms" {
			t.Errorf("runqlat duration %v", p.Trigger.Duration)
		}
	}
}

func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.o"), []byte("x"), 0o644)
	for name, body := range map[string]string{
		"unknown key":  "apiVersion: retrobpf/v1\nprograms:\n - name: a\n   colour: red\n   trigger: {kind: exec}\n   variants: [{name: v, object: a.o}]\n",
		"bad version":  "apiVersion: retrobpf/v9\nprograms: []\n",
		"dup program":  "apiVersion: retrobpf/v1\nprograms:\n - {name: a, trigger: {kind: exec}, variants: [{name: v, object: a.o}]}\n - {name: a, trigger: {kind: exec}, variants: [{name: v, object: a.o}]}\n",
		"bad trigger":  "apiVersion: retrobpf/v1\nprograms:\n - {name: a, trigger: {kind: teleport}, variants: [{name: v, object: a.o}]}\n",
		"missing obj":  "apiVersion: retrobpf/v1\nprograms:\n - {name: a, trigger: {kind: exec}, variants: [{name: v, object: nope.o}]}\n",
		"bad duration": "apiVersion: retrobpf/v1\nprograms:\n - {name: a, trigger: {kind: sleep, duration: soon}, variants: [{name: v, object: a.o}]}\n",
		"dup variant":  "apiVersion: retrobpf/v1\nprograms:\n - {name: a, trigger: {kind: exec}, variants: [{name: v, object: a.o}, {name: v, object: a.o}]}\n",
		"no variants":  "apiVersion: retrobpf/v1\nprograms:\n - {name: a, trigger: {kind: exec}}\n",
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".yaml")
		os.WriteFile(path, []byte(body), 0o644)
		_, err := Load(path)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), path) && !strings.Contains(err.Error(), "nope.o") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
