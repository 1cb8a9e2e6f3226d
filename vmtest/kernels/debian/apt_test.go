package debian

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseDeb822Sources(t *testing.T) {
	in := `Types: deb deb-src
# a comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main

Types: deb
Enabled: no
URIs: http://disabled.example/debian
Suites: trixie

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
`
	got := ParseDeb822Sources(strings.NewReader(in))
	want := []AptSource{
		{URIs: []string{"http://mirror.example/debian"}, Suites: []string{"bookworm", "bookworm-updates"}},
		{URIs: []string{"http://mirror.example/debian-security"}, Suites: []string{"bookworm-security"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	m, err := PickMirrors(got)
	if err != nil || m != (Mirrors{Archive: "http://mirror.example/debian", Security: "http://mirror.example/debian-security"}) {
		t.Errorf("mirrors %+v %v", m, err)
	}
}

func TestParseOneLineSources(t *testing.T) {
	in := `# comment
deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] https://mirror.example/debian/ bullseye main contrib
deb-src http://mirror.example/debian bullseye main
deb http://security.example/debian-security bullseye-security main # trailing
deb cdrom:[Debian]/ bullseye main
`
	got := ParseOneLineSources(strings.NewReader(in))
	want := []AptSource{
		{URIs: []string{"https://mirror.example/debian/"}, Suites: []string{"bullseye"}},
		{URIs: []string{"http://security.example/debian-security"}, Suites: []string{"bullseye-security"}},
		{URIs: []string{"cdrom:"}, Suites: []string{"bullseye"}},
	}
	if len(got) != 3 || !reflect.DeepEqual(got[:2], want[:2]) {
		t.Errorf("got %+v", got)
	}
	m, err := PickMirrors(got)
	if err != nil || m != (Mirrors{Archive: "https://mirror.example/debian", Security: "http://security.example/debian-security"}) {
		t.Errorf("mirrors %+v %v", m, err)
	}
}

func TestMirrorsFromApt(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "etc/apt/sources.list.d/debian.sources"), []byte("Types: deb\nURIs: http://m.example/debian\nSuites: trixie\nComponents: main\n"))
	writeFile(t, filepath.Join(root, "etc/apt/sources.list.d/other.list.disabled"), []byte("deb http://ignored.example/debian sid main\n"))
	m, err := MirrorsFromApt(root)
	if err != nil || m != (Mirrors{Archive: "http://m.example/debian", Security: "http://m.example/debian-security"}) {
		t.Errorf("mirrors %+v %v", m, err)
	}
	// One-line sources.list wins when it comes first.
	writeFile(t, filepath.Join(root, "etc/apt/sources.list"), []byte("deb http://first.example/debian bookworm main\n"))
	if m, _ := MirrorsFromApt(root); m.Archive != "http://first.example/debian" {
		t.Errorf("archive %s", m.Archive)
	}
	if _, err := MirrorsFromApt(t.TempDir()); !errors.Is(err, ErrNoMirror) {
		t.Errorf("no sources: %v", err)
	}
}

func TestSecurityFor(t *testing.T) {
	for in, want := range map[string]string{
		"http://m.example/debian":        "http://m.example/debian-security",
		"http://m.example/debian/":       "http://m.example/debian-security",
		"http://127.0.0.1:8080/mirror/x": "http://127.0.0.1:8080/mirror/debian-security",
	} {
		if got := SecurityFor(in); got != want {
			t.Errorf("SecurityFor(%s) = %s, want %s", in, got, want)
		}
	}
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
