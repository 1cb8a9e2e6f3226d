package debian

import (
	"strings"
	"testing"
)

func TestSelectAlias(t *testing.T) {
	es := []Package{
		{Package: "linux-image-6.1.0-9-cloud-amd64", Version: "6.1.40-1"},
		{Package: "linux-image-6.1.0-10-cloud-amd64", Version: "6.1.50-1"},
		{Package: "linux-image-6.1.0-10-cloud-amd64", Version: "6.1.50-1", Suite: "bookworm-security", Filename: "x"},
		{Package: "linux-image-6.1.0-10-amd64", Version: "6.1.50-1"},
		{Package: "linux-image-6.1.0-11-cloud-amd64-unsigned", Version: "6.1.55-1"},
		{Package: "linux-image-6.1.0-11-cloud-amd64-dbg", Version: "6.1.55-1"},
		{Package: "linux-image-cloud-amd64", Version: "6.1.55-1", Depends: "linux-image-6.1.0-11-cloud-amd64 (= 6.1.55-1)"},
		{Package: "linux-image-6.1-cloud-amd64", Version: "6.1.55-1~deb11u1", Depends: "linux-image-6.1.0-0.deb11.5-cloud-amd64 (= 6.1.55-1~deb11u1)"},
		{Package: "linux-image-6.12.9+deb12-cloud-amd64", Version: "6.12.9-1~deb12u1"},
		{Package: "linux-image-6.10.1-cloud-amd64", Version: "6.10.1-1"},
	}
	got := SelectAlias(es, "6.1")
	var names []string
	for _, e := range got {
		names = append(names, e.Package+"@"+e.Suite)
	}
	want := "linux-image-6.1.0-10-cloud-amd64@bookworm-security linux-image-6.1.0-10-cloud-amd64@ linux-image-6.1.0-9-cloud-amd64@"
	if strings.Join(names, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(names, " "), want)
	}
	if got := SelectAlias(es, "6.12"); len(got) != 1 || got[0].Package != "linux-image-6.12.9+deb12-cloud-amd64" {
		t.Errorf("6.12: %+v", got)
	}
}

func TestCompareDebVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"6.1.50-1", "6.1.50-1", 0},
		{"6.1.9-1", "6.1.10-1", -1},
		{"6.1.55-1", "6.1.55-2", -1},
		{"6.12.115-1", "6.12.115-2~deb12u1", -1},
		{"6.1.55-1~deb11u1", "6.1.55-1", -1},
		{"6.1.55-1", "6.1.55-1+b1", -1},
		{"1:1.0", "2.0", 1},
		{"1.0~rc1", "1.0", -1},
		{"1.0a", "1.0", 1},
		{"1.0-1", "1.0", 1},
		{"5.10.262-1", "5.10.257-1", 1},
	} {
		if got := sign(CompareVersions(c.a, c.b)); got != c.want {
			t.Errorf("compare(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := sign(CompareVersions(c.b, c.a)); got != -c.want {
			t.Errorf("compare(%s, %s) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func TestParseRelease(t *testing.T) {
	in := "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nOrigin: Debian\nAcquire-By-Hash: yes\nMD5Sum:\n 0123 10 main/binary-amd64/Packages.xz\nSHA256:\n " + strings.Repeat("ab", 32) + "   376904 main/binary-amd64/Packages.xz\n- -escaped\n-----BEGIN PGP SIGNATURE-----\n\nxx\n-----END PGP SIGNATURE-----\n"
	r, err := ParseRelease([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	f, ok := r.Files["main/binary-amd64/Packages.xz"]
	if !ok || f.Size != 376904 || f.SHA256 != strings.Repeat("ab", 32) || !r.AcquireHash {
		t.Errorf("parsed %+v", r)
	}
	if _, err := ParseRelease([]byte("<html>not a release</html>")); err == nil {
		t.Error("garbage parsed as a Release file")
	}
}
