package btfhub

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/retrobpf/retrobpf/internal/testutils"
)

func TestExtractBTF(t *testing.T) {
	raw, tarball := hostBTF(t, "4.19.0-27-amd64")
	got, err := ExtractBTF(bytes.NewReader(tarball), "4.19.0-27-amd64.btf", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, raw) {
		t.Fatal("extracted BTF differs from the original")
	}
	if _, err := ValidateBTF(got); err != nil {
		t.Fatal(err)
	}
	if _, err := ExtractBTF(bytes.NewReader(tarball), "other.btf", 0); !errors.Is(err, ErrBadArchive) {
		t.Fatalf("wrong member name accepted: %v", err)
	}
	if _, err := ExtractBTF(bytes.NewReader(tarball), "", int64(len(raw)-1)); !errors.Is(err, ErrBadArchive) {
		t.Fatalf("over the size cap accepted: %v", err)
	}
	if _, err := ExtractBTF(bytes.NewReader(tarball[:len(tarball)/2]), "", 0); !errors.Is(err, ErrBadArchive) {
		t.Fatalf("truncated archive accepted: %v", err)
	}
	if _, err := ExtractBTF(bytes.NewReader(tarball[:len(tarball)-4]), "", 0); !errors.Is(err, ErrBadArchive) {
		t.Fatalf("archive without its xz footer accepted: %v", err)
	}
}

func TestExtractRejects(t *testing.T) {
	data := []byte("BTF-ish")
	for name, tarball := range map[string][]byte{
		"empty archive":   makeTarXZ(t),
		"empty file":      makeTarXZ(t, tarEntry{name: "x.btf", data: nil}),
		"dotdot":          makeTarXZ(t, tarEntry{name: "../x.btf", data: data}),
		"nested dotdot":   makeTarXZ(t, tarEntry{name: "a/../../x.btf", data: data}),
		"absolute":        makeTarXZ(t, tarEntry{name: "/etc/x.btf", data: data}),
		"symlink":         makeTarXZ(t, tarEntry{name: "x.btf", typeflag: tar.TypeSymlink, linkname: "/etc/passwd"}),
		"hardlink":        makeTarXZ(t, tarEntry{name: "x.btf", typeflag: tar.TypeLink, linkname: "y.btf"}),
		"directory":       makeTarXZ(t, tarEntry{name: "dir/", typeflag: tar.TypeDir}),
		"two files":       makeTarXZ(t, tarEntry{name: "a.btf", data: data}, tarEntry{name: "b.btf", data: data}),
		"not btf":         makeTarXZ(t, tarEntry{name: "vmlinux", data: data}),
		"not xz":          []byte("plain text"),
		"xz of garbage":   compressXZ(t, bytes.Repeat([]byte{0x42}, 4096)),
		"nothing at all":  nil,
		"trailing member": makeTarXZ(t, tarEntry{name: "a.btf", data: data}, tarEntry{name: "dev", typeflag: tar.TypeChar}),
	} {
		if got, err := ExtractBTF(bytes.NewReader(tarball), "", 0); !errors.Is(err, ErrBadArchive) {
			t.Errorf("%s: got %d bytes, %v; want ErrBadArchive", name, len(got), err)
		}
	}
}

func TestExtractRefusesHugeDictionary(t *testing.T) {
	tarball := makeTarXZ(t, tarEntry{name: "a.btf", data: []byte("x")})
	if _, err := ExtractBTF(bytes.NewReader(tarball), "", 0); err != nil {
		t.Fatalf("small archive: %v", err)
	}
	// Find the LZMA2 filter properties in the first block header (filter ID
	// 0x21, one property byte) and ask for a 3 GiB dictionary.
	evil := append([]byte(nil), tarball...)
	i := bytes.Index(evil[12:12+16], []byte{0x21, 0x01})
	if i < 0 {
		t.Fatalf("no LZMA2 filter flags in % x", evil[12:28])
	}
	evil[12+i+2] = 39
	if _, err := ExtractBTF(bytes.NewReader(evil), "", 0); !errors.Is(err, ErrBadArchive) || !strings.Contains(err.Error(), "dictionary") {
		t.Fatalf("huge dictionary: %v", err)
	}
}

func TestValidateBTFRejects(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":   nil,
		"garbage": []byte("definitely not BTF"),
	} {
		if _, err := ValidateBTF(data); !errors.Is(err, ErrInvalidBTF) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Valid BTF, but not kernel BTF: an object's own types.
	raw, _ := hostBTF(t, "4.19.0-27-amd64")
	if len(raw) < 1000 {
		t.Fatal("host BTF too small")
	}
	if _, err := ValidateBTF(raw[:len(raw)/2]); !errors.Is(err, ErrInvalidBTF) {
		t.Errorf("half a BTF file accepted: %v", err)
	}
}

// FuzzExtract: whatever the input, ExtractBTF returns data within the cap
// or an ErrBadArchive, and never panics.
func FuzzExtract(f *testing.F) {
	f.Add(makeTarXZ(f, tarEntry{name: "a.btf", data: []byte("x")}))
	f.Add(makeTarXZ(f, tarEntry{name: "../a.btf", data: []byte("x")}))
	f.Add(makeTarXZ(f))
	f.Add([]byte{0xfd, '7', 'z', 'X', 'Z', 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := ExtractBTF(bytes.NewReader(data), "", 1<<16)
		if err != nil {
			if !errors.Is(err, ErrBadArchive) {
				t.Fatalf("error without ErrBadArchive: %v", err)
			}
			return
		}
		if len(out) == 0 || len(out) > 1<<16 {
			t.Fatalf("returned %d bytes", len(out))
		}
	})
}

// BTF with two identical task_structs (pahole's output for some older
// gcc-built kernels) is valid kernel BTF; it was refused with "multiple
// matching types".
func TestValidateBTFDuplicateStructs(t *testing.T) {
	raw, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		t.Skipf("no kernel BTF to copy: %v", err)
	}
	dup, err := testutils.DuplicateStructs(raw, "task_struct", "pt_regs")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ValidateBTF(dup); err != nil {
		t.Fatalf("ValidateBTF(duplicate task_struct, pt_regs): %v", err)
	}
}
