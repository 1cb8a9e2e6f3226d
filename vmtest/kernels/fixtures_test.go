package kernels

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// fakeBzImage builds the first bytes of an x86 bzImage: a setup header
// with the "HdrS" magic and a kernel_version string, as the boot
// protocol lays them out. It is enough for the header checks; real
// kernels are covered by the end-to-end tests.
func fakeBzImage(release string) []byte {
	b := make([]byte, 0x600)
	copy(b[bzMagicOffset:], "HdrS")
	binary.LittleEndian.PutUint16(b[bzVersionOffset:], 0x20f)
	binary.LittleEndian.PutUint16(b[bzKernelVersion:], 0x200) // string at 0x400
	copy(b[0x400:], release+" (builder@test) #1 SMP PREEMPT_DYNAMIC\x00")
	return b
}

// tarFile is one entry of a test tar.
type tarFile struct {
	Name string
	Data []byte
	Dir  bool
}

func buildTar(t testing.TB, files []tarFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.Name, Mode: 0o644, Size: int64(len(f.Data)), Typeflag: tar.TypeReg}
		if f.Dir {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func compress(t testing.TB, kind string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch kind {
	case "xz":
		w, err := xz.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	case "zst":
		w, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("compression %q", kind)
	}
	return buf.Bytes()
}

// buildAr writes an ar archive the way dpkg-deb does.
func buildAr(members ...arMember) []byte {
	var buf bytes.Buffer
	buf.WriteString("!<arch>\n")
	for _, m := range members {
		fmt.Fprintf(&buf, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m.Name, 0, 0, 0, "100644", len(m.Data))
		buf.Write(m.Data)
		if len(m.Data)%2 == 1 {
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes()
}

type arMember struct {
	Name string
	Data []byte
}

// buildDeb builds a kernel package: data.tar.<comp> holding boot/ files
// for release (and two modules).
func buildDeb(t testing.TB, release, comp string) []byte {
	t.Helper()
	data := buildTar(t, []tarFile{
		{Name: "./", Dir: true},
		{Name: "./boot/", Dir: true},
		{Name: "./boot/vmlinuz-" + release, Data: fakeBzImage(release)},
		{Name: "./boot/config-" + release, Data: []byte("CONFIG_BPF_SYSCALL=y\n")},
		{Name: "./boot/System.map-" + release, Data: []byte("ffffffff81000000 T _text\n")},
		{Name: "./usr/share/doc/x/changelog", Data: []byte("doc")},
		{Name: "./lib/modules/" + release + "/", Dir: true},
		{Name: "./lib/modules/" + release + "/kernel/net/a.ko", Data: []byte("module a")},
		{Name: "./lib/modules/" + release + "/modules.order", Data: []byte("kernel/net/a.ko\n")},
	})
	control := buildTar(t, []tarFile{{Name: "./control", Data: []byte("Package: x\n")}})
	return buildAr(
		arMember{"debian-binary", []byte("2.0\n")},
		arMember{"control.tar.xz", compress(t, "xz", control)},
		arMember{"data.tar." + comp, compress(t, comp, data)},
	)
}

// testPkg is one package of a test archive.
type testPkg struct {
	Name, Version, Depends string
	Deb                    []byte // nil: build a kernel package from the name
	Missing                bool   // listed in Packages but absent from the pool (404)
	BadSum                 bool   // the index lists a wrong SHA256
}

// testArchive is a Debian archive tree on a loopback HTTP server.
type testArchive struct {
	Root string
	URL  string // the main archive root, ".../debian"
	srv  *httptest.Server

	mu       sync.Mutex
	requests map[string]int // path → count
	methods  map[string]int // "METHOD path" → count
	ranges   int            // GETs with a Range header
	fail     map[string]int // path → number of 503s still to answer
	// stall: paths whose next full GET sends half the body and then
	// hangs until the client goes away (an interrupted download).
	stall map[string]bool
}

// newTestArchive serves suites (name → packages) under /debian (and
// suites ending in -security under /debian-security).
func newTestArchive(t testing.TB, suites map[string][]testPkg) *testArchive {
	t.Helper()
	a := &testArchive{Root: t.TempDir(), requests: map[string]int{}, methods: map[string]int{}, fail: map[string]int{}, stall: map[string]bool{}}
	a.publish(t, suites)
	files := http.FileServer(http.Dir(a.Root))
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.requests[r.URL.Path]++
		a.methods[r.Method+" "+r.URL.Path]++
		if r.Header.Get("Range") != "" {
			a.ranges++
		}
		if a.fail[r.URL.Path] > 0 {
			a.fail[r.URL.Path]--
			a.mu.Unlock()
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		stall := a.stall[r.URL.Path] && r.Method == http.MethodGet && r.Header.Get("Range") == ""
		if stall {
			delete(a.stall, r.URL.Path)
		}
		a.mu.Unlock()
		if stall {
			data, err := os.ReadFile(filepath.Join(a.Root, filepath.FromSlash(r.URL.Path)))
			if err != nil {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Length", fmt.Sprint(len(data)))
			w.Write(data[:len(data)/2])
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(a.srv.Close)
	a.URL = a.srv.URL + "/debian"
	return a
}

// publish writes suites (name → packages) into the archive, replacing
// their indexes (and Release files) as a mirror update does; the server
// answers from the new tree at once. Suites not named are left as they are.
func (a *testArchive) publish(t testing.TB, suites map[string][]testPkg) {
	t.Helper()
	for suite, pkgs := range suites {
		base := "debian"
		if strings.HasSuffix(suite, "-security") {
			base = "debian-security"
		}
		var idx bytes.Buffer
		for _, p := range pkgs {
			deb := p.Deb
			if deb == nil && p.Depends == "" {
				deb = buildDeb(t, strings.TrimPrefix(p.Name, "linux-image-"), "xz")
			}
			if deb == nil {
				deb = buildAr(arMember{"debian-binary", []byte("2.0\n")})
			}
			file := fmt.Sprintf("pool/main/l/linux/%s_%s_amd64.deb", p.Name, strings.ReplaceAll(p.Version, ":", "%3a"))
			sum := sha256.Sum256(deb)
			if p.BadSum {
				sum = sha256.Sum256([]byte("something else"))
			}
			if !p.Missing {
				writeFile(t, filepath.Join(a.Root, base, file), deb)
			}
			fmt.Fprintf(&idx, "Package: %s\nVersion: %s\nArchitecture: amd64\n", p.Name, p.Version)
			if p.Depends != "" {
				fmt.Fprintf(&idx, "Depends: %s\n", p.Depends)
			}
			fmt.Fprintf(&idx, "Description: test\n  long description\nFilename: %s\nSize: %d\nSHA256: %s\n\n", file, len(deb), hex.EncodeToString(sum[:]))
		}
		xzIdx := compress(t, "xz", idx.Bytes())
		dists := filepath.Join(a.Root, base, "dists", suite)
		writeFile(t, filepath.Join(dists, "main/binary-amd64/Packages.xz"), xzIdx)
		s1, s2 := sha256.Sum256(idx.Bytes()), sha256.Sum256(xzIdx)
		release := fmt.Sprintf("Origin: Test\nSuite: %s\nMD5Sum:\n 00000000000000000000000000000000 %d main/binary-amd64/Packages.xz\nSHA256:\n %x %d main/binary-amd64/Packages\n %x %d main/binary-amd64/Packages.xz\n",
			suite, len(xzIdx), s1, idx.Len(), s2, len(xzIdx))
		inRelease := "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n" + release + "-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n"
		writeFile(t, filepath.Join(dists, "InRelease"), []byte(inRelease))
	}
}

func (a *testArchive) count(path string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests[path]
}

// countMethod counts the requests with method for paths ending in suffix.
func (a *testArchive) countMethod(method, suffix string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for p, c := range a.methods {
		if strings.HasPrefix(p, method+" ") && strings.HasSuffix(p, suffix) {
			n += c
		}
	}
	return n
}

func (a *testArchive) countSuffix(suffix string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for p, c := range a.requests {
		if strings.HasSuffix(p, suffix) {
			n += c
		}
	}
	return n
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
