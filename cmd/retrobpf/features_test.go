package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/retrobpf/retrobpf/compat"
)

func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files (docs/features.md)")
	}
}

// TestFeaturesDocUpToDate keeps docs/features.md equal to the catalog;
// run with -update to regenerate it.
func TestFeaturesDocUpToDate(t *testing.T) {
	var buf bytes.Buffer
	if err := writeFeaturesMarkdown(&buf, compat.Catalog()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "docs", "features.md")
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/retrobpf -run TestFeaturesDocUpToDate -update)", err)
	}
	if !bytes.Equal(have, buf.Bytes()) {
		t.Errorf("%s is out of date with the catalog: run go test ./cmd/retrobpf -run TestFeaturesDocUpToDate -update", path)
	}
}

func TestNFDName(t *testing.T) {
	for id, want := range map[compat.FeatureID]string{
		"prog:xdp":                         "prog.xdp",
		"helper:bpf_ringbuf_output@kprobe": "helper.bpf_ringbuf_output.kprobe",
		"limit:1m-insns":                   "limit.1m-insns",
		"ksym:tcp_sendmsg.cold":            "ksym.tcp_sendmsg.cold",
		"global-data":                      "global-data",
		"weird:a b/c":                      "weird.a-b-c",
		"helper:bpf_tcp_raw_check_syncookie_ipv6@raw_tracepoint_writable": "helper.bpf_tcp_raw_check_syncookie_ipv6.raw_tracepoint_writable",
	} {
		got := nfdName(id)
		if len(want) > 63 {
			want = want[:63]
		}
		if got != want {
			t.Errorf("nfdName(%s) = %q, want %q", id, got, want)
		}
	}
}
