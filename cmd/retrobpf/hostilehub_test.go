package main

import (
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdHostileHub starts "hostilehub VAR", a server on 127.0.0.1 that
// misbehaves by the first path element, and sets $VAR to its URL:
// /endless streams zeros forever, /stall sends half of an announced body
// and then nothing, /silent accepts requests and never answers.
func cmdHostileHub(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: hostilehub VAR")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mode, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		switch mode {
		case "endless":
			buf := make([]byte, 32<<10)
			for r.Context().Err() == nil {
				if _, err := w.Write(buf); err != nil {
					return
				}
			}
		case "stall":
			w.Header().Set("Content-Length", "1048576")
			if r.Method == http.MethodHead {
				return
			}
			w.Write(make([]byte, 512<<10))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		case "silent":
			<-r.Context().Done()
		default:
			http.NotFound(w, r)
		}
	}))
	ts.Defer(srv.Close)
	ts.Setenv(args[0], srv.URL)
}
