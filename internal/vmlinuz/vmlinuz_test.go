package vmlinuz

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// elfWithBTF is an ELF with a .BTF section: a BPF object of the test
// suite stands in for a vmlinux.
func elfWithBTF(t *testing.T) (obj, btf []byte) {
	t.Helper()
	obj, err := os.ReadFile(filepath.Join("..", "..", "compat", "testdata", "fentry_core.o"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	btf, err = f.Section(".BTF").Data()
	if err != nil {
		t.Fatal(err)
	}
	return obj, btf
}

// bzImage wraps payload as the boot protocol lays it out: setup sectors,
// then the payload with the decompressed size appended.
func bzImage(payload []byte, size int) []byte {
	img := make([]byte, 3*512)
	img[0x1f1] = 2 // setup sectors: the payload starts at (2+1)*512
	copy(img[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(img[0x206:], 0x20f)
	payload = binary.LittleEndian.AppendUint32(payload, uint32(size))
	binary.LittleEndian.PutUint32(img[0x248:], 0)
	binary.LittleEndian.PutUint32(img[0x24c:], uint32(len(payload)))
	return append(img, payload...)
}

func compress(t *testing.T, kind string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	var err error
	switch kind {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "zstd":
		w, err = zstd.NewWriter(&buf)
	case "xz":
		w, err = xz.NewWriter(&buf)
	case "lzma":
		w, err = lzma.NewWriter(&buf)
	case "lz4-legacy":
		// The kernel's KERNEL_LZ4 framing: magic, then size-prefixed
		// blocks of at most 8 MB each (two here, to cross a boundary).
		out := append([]byte(nil), lz4LegacyMagic...)
		for _, part := range [][]byte{data[:len(data)/2], data[len(data)/2:]} {
			block := make([]byte, lz4.CompressBlockBound(len(part)))
			n, err := lz4.CompressBlock(part, block, nil)
			if err != nil || n == 0 {
				t.Fatalf("lz4: %d, %v", n, err)
			}
			out = binary.LittleEndian.AppendUint32(out, uint32(n))
			out = append(out, block[:n]...)
		}
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecompressEachCompression(t *testing.T) {
	obj, want := elfWithBTF(t)
	for _, kind := range []string{"gzip", "zstd", "xz", "lzma", "lz4-legacy"} {
		t.Run(kind, func(t *testing.T) {
			img := bzImage(compress(t, kind, obj), len(obj))
			vmlinux, err := Decompress(img)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(vmlinux, obj) {
				t.Fatalf("decompressed %d bytes, want the %d of the ELF", len(vmlinux), len(obj))
			}
			got, err := SectionBTF(vmlinux)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf(".BTF: %d bytes, %v", len(got), err)
			}
		})
	}
}

func TestBadImages(t *testing.T) {
	obj, _ := elfWithBTF(t)
	good := bzImage(compress(t, "gzip", obj), len(obj))
	cut := bytes.Clone(good)
	binary.LittleEndian.PutUint32(cut[0x24c:], uint32(len(good))) // payload past the end
	old := bytes.Clone(good)
	binary.LittleEndian.PutUint16(old[0x206:], 0x206)
	lzo := bzImage([]byte{0x89, 'L', 'Z', 'O', 0, 0, 0, 0}, 8)
	noBTF := bzImage(compress(t, "gzip", []byte("\x7fELF not really")), 15)
	badLZ4 := bzImage(append(append([]byte(nil), lz4LegacyMagic...), 0xff, 0xff, 0xff, 0x7f, 1, 2, 3), 1)
	for name, tc := range map[string]struct {
		img  []byte
		want error
	}{
		"not an image":     {[]byte("#!/bin/sh\n"), ErrNotBzImage},
		"payload past end": {cut, ErrNotBzImage},
		"boot protocol":    {old, ErrNotBzImage},
		"lzo":              {lzo, ErrCompression},
		"not an ELF":       {noBTF, ErrCompression},
		"lz4 block size":   {badLZ4, ErrCompression},
	} {
		t.Run(name, func(t *testing.T) {
			vmlinux, err := Decompress(tc.img)
			if err == nil {
				_, err = SectionBTF(vmlinux)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// A file error names the file.
func TestBTFNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vmlinuz")
	os.WriteFile(path, []byte("junk"), 0o644)
	if _, err := BTF(path); !errors.Is(err, ErrNotBzImage) || !bytes.Contains([]byte(err.Error()), []byte(path)) {
		t.Fatalf("err = %v", err)
	}
}
