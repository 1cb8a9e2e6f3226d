package btfhub

import (
	"archive/tar"
	"bytes"
	"os"
	"sync"
	"testing"

	"github.com/ulikunitz/xz"
)

type tarEntry struct {
	name     string
	typeflag byte
	data     []byte
	linkname string
}

// makeTarXZ builds a .tar.xz in memory, like btfhub's `tar -cJ`.
func makeTarXZ(tb testing.TB, entries ...tarEntry) []byte {
	tb.Helper()
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	for _, e := range entries {
		typ := e.typeflag
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o444, Linkname: e.linkname}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			tb.Fatal(err)
		}
		if typ == tar.TypeReg {
			tw.Write(e.data)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return compressXZ(tb, tarBuf.Bytes())
}

func compressXZ(tb testing.TB, data []byte) []byte {
	var out bytes.Buffer
	zw, err := xz.NewWriter(&out)
	if err != nil {
		tb.Fatal(err)
	}
	zw.Write(data)
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

var (
	hostBTFOnce    sync.Once
	hostBTFRaw     []byte
	hostBTFTarball []byte
	hostBTFErr     error
)

// hostBTF returns the running kernel's raw BTF and a BTFHub-style tarball
// of it (member name: release.btf); built once per test binary since xz is
// slow.
func hostBTF(tb testing.TB, release string) (raw, tarball []byte) {
	tb.Helper()
	hostBTFOnce.Do(func() {
		hostBTFRaw, hostBTFErr = os.ReadFile(DefaultSysfsBTF)
		if hostBTFErr == nil {
			hostBTFTarball = makeTarXZ(tb, tarEntry{name: "4.19.0-27-amd64.btf", data: hostBTFRaw})
		}
	})
	if hostBTFErr != nil {
		tb.Skipf("needs real kernel BTF: %v", hostBTFErr)
	}
	if release != "4.19.0-27-amd64" {
		return hostBTFRaw, makeTarXZ(tb, tarEntry{name: release + ".btf", data: hostBTFRaw})
	}
	return hostBTFRaw, hostBTFTarball
}
