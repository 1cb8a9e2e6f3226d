package btfhub

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// fault is an injected failure for the next GET of one path.
type fault string

const (
	faultCut fault = "cut" // send half the body, then drop the connection
	fault500 fault = "500"
)

// testHub is a BTFHub-layout archive served over real HTTP on loopback.
type testHub struct {
	*httptest.Server
	mu       sync.Mutex
	files    map[string][]byte  // archive path -> content
	faults   map[string][]fault // archive path -> queued faults
	requests []string           // "METHOD path range"
}

func newTestHub(t *testing.T) *testHub {
	h := &testHub{files: map[string][]byte{}, faults: map[string][]fault{}}
	h.Server = httptest.NewServer(h)
	t.Cleanup(h.Close)
	return h
}

func (h *testHub) put(path string, data []byte, faults ...fault) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.files[path] = data
	h.faults[path] = faults
}

func (h *testHub) log() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.requests...)
}

func (h *testHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	h.mu.Lock()
	h.requests = append(h.requests, fmt.Sprintf("%s %s %s", r.Method, p, r.Header.Get("Range")))
	data, ok := h.files[p]
	var f fault
	if ok && r.Method == http.MethodGet && len(h.faults[p]) > 0 {
		f, h.faults[p] = h.faults[p][0], h.faults[p][1:]
	}
	var listing []string
	if !ok && strings.HasSuffix(p, "/") {
		for name := range h.files {
			if rest, found := strings.CutPrefix(name, p); found && !strings.Contains(rest, "/") {
				listing = append(listing, rest)
			}
		}
	}
	h.mu.Unlock()

	switch {
	case f == fault500:
		http.Error(w, "injected", http.StatusInternalServerError)
	case f == faultCut:
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	case ok:
		http.ServeContent(w, r, p, time.Time{}, bytes.NewReader(data))
	case listing != nil:
		sort.Strings(listing)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<html><body><pre>\n<a href=\"../\">../</a>\n")
		for _, n := range listing {
			fmt.Fprintf(w, "<a href=%q>%s</a>\n", n, n)
		}
		fmt.Fprint(w, "</pre></body></html>\n")
	default:
		http.NotFound(w, r)
	}
}
