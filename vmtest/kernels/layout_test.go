package kernels

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func tarReader(b []byte) *tar.Reader { return tar.NewReader(bytes.NewReader(b)) }

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// A header claiming a 100 GiB kernel image is refused before a byte of
// it is written: the body here is an endless stream of zeros.
func TestUnpackRefusesHugeMember(t *testing.T) {
	var hdr bytes.Buffer
	tw := tar.NewWriter(&hdr)
	tw.WriteHeader(&tar.Header{Name: "boot/vmlinuz-6.1.0", Mode: 0o644, Size: 100 << 30, Typeflag: tar.TypeReg})
	tw.Flush()
	dst := t.TempDir()
	start := time.Now()
	_, err := unpackKernelTar(tar.NewReader(io.MultiReader(&hdr, zeroReader{})), dst, false)
	if !errors.Is(err, ErrArchiveTooLarge) {
		t.Fatalf("100 GiB member: %v, want ErrArchiveTooLarge", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	if ents, _ := os.ReadDir(dst); len(ents) != 0 {
		t.Errorf("wrote %v", ents)
	}
}

// A decompression bomb: a zstd-compressed package whose modules expand to
// 64 MiB of zeros (a few KiB compressed) stops at the cap.
func TestUnpackStopsBomb(t *testing.T) {
	defer func(a, b int64) { maxExtracted, maxStream = a, b }(maxExtracted, maxStream)
	maxExtracted, maxStream = 8<<20, 16<<20
	files := []tarFile{{Name: "./boot/vmlinuz-6.1.0-1-cloud-amd64", Data: fakeBzImage("6.1.0-1-cloud-amd64")}}
	for i := range 16 {
		files = append(files, tarFile{Name: "./lib/modules/6.1.0-1-cloud-amd64/kernel/" + string(rune('a'+i)) + ".ko", Data: make([]byte, 4<<20)})
	}
	data := compress(t, "zst", buildTar(t, files))
	if len(data) > 1<<20 {
		t.Fatalf("bomb is %d bytes compressed", len(data))
	}
	deb := buildAr(arMember{"debian-binary", []byte("2.0\n")}, arMember{"data.tar.zst", data})
	for _, modules := range []bool{true, false} {
		dst := t.TempDir()
		_, err := unpackDeb(bytes.NewReader(deb), dst, modules)
		if !errors.Is(err, ErrArchiveTooLarge) {
			t.Fatalf("modules=%v: %v, want ErrArchiveTooLarge", modules, err)
		}
		var written int64
		filepath.Walk(dst, func(_ string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				written += fi.Size()
			}
			return nil
		})
		if written > maxExtracted {
			t.Errorf("modules=%v: wrote %d bytes past the %d cap", modules, written, maxExtracted)
		}
	}
}

// FuzzUnpackKernelTar checks that extraction never panics, never writes
// outside its destination and never writes past the caps.
func FuzzUnpackKernelTar(f *testing.F) {
	f.Add(buildTar(f, []tarFile{{Name: "boot/vmlinuz-6.1", Data: fakeBzImage("6.1.0")}, {Name: "lib/modules/6.1.0/a.ko", Data: []byte("ko")}}))
	f.Add(buildTar(f, []tarFile{{Name: "../../boot/vmlinuz", Data: []byte("x")}, {Name: "lib/modules/../../../etc/passwd", Data: []byte("x")}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		defer func(a, b, c int64) { maxKernelFile, maxExtracted, maxStream = a, b, c }(maxKernelFile, maxExtracted, maxStream)
		maxKernelFile, maxExtracted, maxStream = 1<<16, 1<<18, 1<<20
		parent := t.TempDir()
		dst := filepath.Join(parent, "dst")
		os.Mkdir(dst, 0o755)
		unpackKernelTar(tar.NewReader(bytes.NewReader(data)), dst, true)
		var written int64
		filepath.Walk(parent, func(p string, fi os.FileInfo, err error) error {
			if err != nil || p == parent || p == dst {
				return nil
			}
			if rel, _ := filepath.Rel(dst, p); rel == ".." || len(rel) > 2 && rel[:3] == "../" {
				t.Fatalf("wrote %s outside the destination", p)
			}
			if fi.Mode().IsRegular() {
				written += fi.Size()
			}
			return nil
		})
		if written > maxExtracted {
			t.Fatalf("wrote %d bytes, cap %d", written, maxExtracted)
		}
	})
}
