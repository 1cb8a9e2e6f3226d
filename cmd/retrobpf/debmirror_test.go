package main

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/retrobpf/retrobpf/vmtest/kernels/kernelstest"
)

// cmdDebMirror runs "debmirror VAR SUITE PACKAGE=VERSION...": it
// publishes SUITE (main, amd64) with the packages into a Debian archive
// on 127.0.0.1, replacing what the suite held, and sets $VAR to its
// ".../debian" root. The first call starts the server; later calls with
// the same VAR update the same archive, as a mirror sync does. The pool
// answers HEAD but refuses GET of a .deb (403): a command that works
// against it downloaded no package.
func cmdDebMirror(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: debmirror VAR SUITE PACKAGE=VERSION...")
	}
	root := ts.MkAbs(".debmirror-" + args[0])
	if ts.Getenv(args[0]) == "" {
		files := http.FileServer(http.Dir(root))
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, ".deb") {
				http.Error(w, "this mirror serves no package", http.StatusForbidden)
				return
			}
			files.ServeHTTP(w, r)
		}))
		ts.Defer(srv.Close)
		ts.Setenv(args[0], srv.URL+"/debian")
	}
	suite := args[1]
	var idx strings.Builder
	for _, pv := range args[2:] {
		pkg, ver, ok := strings.Cut(pv, "=")
		if !ok {
			ts.Fatalf("debmirror: %q is not PACKAGE=VERSION", pv)
		}
		file := fmt.Sprintf("pool/main/l/linux/%s_%s_amd64.deb", pkg, ver)
		deb := []byte("not really a package: " + pv + "\n")
		writeScriptFile(ts, filepath.Join(root, "debian", file), deb)
		fmt.Fprintf(&idx, "Package: %s\nVersion: %s\nArchitecture: amd64\nFilename: %s\nSize: %d\nSHA256: %x\n\n", pkg, ver, file, len(deb), sha256.Sum256(deb))
	}
	dists := filepath.Join(root, "debian", "dists", suite)
	writeScriptFile(ts, filepath.Join(dists, "main", "binary-amd64", "Packages"), []byte(idx.String()))
	writeScriptFile(ts, filepath.Join(dists, "Release"), fmt.Appendf(nil, "Suite: %s\nSHA256:\n %x %d main/binary-amd64/Packages\n",
		suite, sha256.Sum256([]byte(idx.String())), idx.Len()))
}

func writeScriptFile(ts *testscript.TestScript, path string, data []byte) {
	ts.Check(os.MkdirAll(filepath.Dir(path), 0o755))
	ts.Check(os.WriteFile(path, data, 0o644))
}

// cmdFakeBzImage runs "fakebzimage FILE RELEASE": FILE gets the header
// of a bzImage for RELEASE (kernelstest.FakeBzImage), which passes the
// checks of a file: or dir: kernel without booting.
func cmdFakeBzImage(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: fakebzimage FILE RELEASE")
	}
	writeScriptFile(ts, ts.MkAbs(args[0]), kernelstest.FakeBzImage(args[1]))
}
