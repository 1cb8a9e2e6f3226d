package objload

import (
	"bytes"
	"os"
	"testing"
)

func TestEmbedded(t *testing.T) {
	obj, err := os.ReadFile("testdata/strong.o")
	if err != nil {
		t.Fatal(err)
	}
	// A skeleton binary: code, the object, more code, a non-BPF ELF header.
	bin := append(append(append(bytes.Repeat([]byte{0x90}, 1000), obj...), []byte("\x7fELF trailing junk")...), bytes.Repeat([]byte{0xcc}, 100)...)
	got := Embedded(bin)
	if len(got) != 1 || !bytes.Equal(got[0], obj) {
		t.Fatalf("found %d objects", len(got))
	}
	if got := Embedded(bytes.Repeat([]byte("\x7fELF"), 100)); len(got) != 0 {
		t.Fatalf("garbage yields %d objects", len(got))
	}
}
