package download

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// server serves handler on 127.0.0.1 and counts GET requests (grab sends
// HEAD before resuming).
func server(t *testing.T, handler func(n int, w http.ResponseWriter, r *http.Request)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			handler(int(n.Load()), w, r)
			return
		}
		handler(int(n.Add(1)), w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// testClient is fast: short backoff and timeouts, and a log to inspect.
type logged struct {
	mu    sync.Mutex
	lines []string
}

func (l *logged) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func testClient(log *logged) *Client {
	return &Client{Retries: 2, Backoff: 10 * time.Millisecond, IdleTimeout: 500 * time.Millisecond,
		HeaderTimeout: 500 * time.Millisecond, MaxSize: 1 << 20, Logf: log.logf}
}

// noLeftovers fails if the destination or its partial file exists.
func noLeftovers(t *testing.T, dst string) {
	t.Helper()
	for _, p := range []string{dst, dst + ".part"} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind (%v)", p, err)
		}
	}
	ents, _ := os.ReadDir(filepath.Dir(dst))
	if len(ents) != 0 {
		t.Errorf("files left behind: %v", ents)
	}
}

func fetch(t *testing.T, c *Client, url string, req Request) (*Result, time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req.URL = url
	if req.Dst == "" {
		req.Dst = filepath.Join(t.TempDir(), "file")
	}
	start := time.Now()
	res, err := c.Fetch(ctx, req)
	return res, time.Since(start), err
}

var payload = bytes.Repeat([]byte("retrobpf"), 64<<10) // 512 KiB

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestEndlessBody(t *testing.T) {
	srv, n := server(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 32<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	})
	var log logged
	dst := filepath.Join(t.TempDir(), "file")
	_, took, err := fetch(t, testClient(&log), srv.URL+"/endless", Request{Dst: dst})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("endless body: %v, want ErrTooLarge", err)
	}
	if took > 10*time.Second {
		t.Errorf("took %v", took)
	}
	if n.Load() != 1 {
		t.Errorf("a refused body was retried: %d requests", n.Load())
	}
	noLeftovers(t, dst)
}

func TestAnnouncedTooLarge(t *testing.T) {
	srv, n := server(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(int64(3)<<30))
		w.Write(make([]byte, 1<<10))
	})
	var log logged
	dst := filepath.Join(t.TempDir(), "file")
	_, took, err := fetch(t, testClient(&log), srv.URL+"/big", Request{Dst: dst})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "announces") {
		t.Fatalf("3 GiB Content-Length: %v, want ErrTooLarge", err)
	}
	if took > 5*time.Second || n.Load() != 1 {
		t.Errorf("took %v, %d requests", took, n.Load())
	}
	noLeftovers(t, dst)

	// A size from an index beyond the cap is refused before any request.
	_, _, err = fetch(t, testClient(&log), srv.URL+"/big", Request{Dst: dst, Size: 2 << 20})
	if !errors.Is(err, ErrTooLarge) || n.Load() != 1 {
		t.Fatalf("indexed size over the cap: %v, %d requests", err, n.Load())
	}
	noLeftovers(t, dst)
}

func TestStalledMidBody(t *testing.T) {
	srv, n := server(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(payload)))
		if r.Method == http.MethodHead {
			return
		}
		w.Write(payload[:len(payload)/2])
		w.(http.Flusher).Flush()
		<-r.Context().Done() // never sends the rest
	})
	var log logged
	dst := filepath.Join(t.TempDir(), "file")
	_, took, err := fetch(t, testClient(&log), srv.URL+"/stall", Request{Dst: dst})
	if !errors.Is(err, ErrStalled) || !errors.Is(err, ErrFailed) {
		t.Fatalf("stalled body: %v, want ErrStalled after retries", err)
	}
	// Three attempts of 0.5 s idle each, plus backoff: well under 10 s.
	if took > 10*time.Second {
		t.Errorf("took %v", took)
	}
	if n.Load() != 3 {
		t.Errorf("%d requests, want 3", n.Load())
	}
	if len(log.lines) != 2 || !strings.Contains(log.lines[0], srv.URL+"/stall") || !strings.Contains(log.lines[0], "stalled") {
		t.Errorf("retry log %q, want two lines naming the URL and the stall", log.lines)
	}
	noLeftovers(t, dst)
}

func TestNoHeaders(t *testing.T) {
	srv, _ := server(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	var log logged
	c := testClient(&log)
	c.Retries = -1
	dst := filepath.Join(t.TempDir(), "file")
	_, took, err := fetch(t, c, srv.URL+"/silent", Request{Dst: dst})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("silent server: %v, want ErrTimeout", err)
	}
	if took > 5*time.Second {
		t.Errorf("took %v", took)
	}
	noLeftovers(t, dst)

	// Get is bounded the same way.
	if _, err := c.Get(context.Background(), srv.URL+"/silent", 1<<10); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Get from a silent server: %v, want ErrTimeout", err)
	}
}

func TestFlaky(t *testing.T) {
	srv, n := server(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n <= 2 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		w.Write(payload)
	})
	var log logged
	dst := filepath.Join(t.TempDir(), "file")
	res, _, err := fetch(t, testClient(&log), srv.URL+"/flaky", Request{Dst: dst, SHA256: sum(payload)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 3 || n.Load() != 3 || res.SHA256 != sum(payload) || res.Size != int64(len(payload)) {
		t.Errorf("result %+v after %d requests", res, n.Load())
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, payload) {
		t.Error("content differs")
	}
	if _, err := os.Stat(dst + ".part"); !errors.Is(err, os.ErrNotExist) {
		t.Error("partial file left behind")
	}
	if len(log.lines) != 2 || !strings.Contains(log.lines[1], "HTTP 503") || !strings.Contains(log.lines[1], srv.URL+"/flaky") {
		t.Errorf("retry log %q", log.lines)
	}
}

// cutThenServe sends half the body and drops the connection, then serves
// ranges (or, with ignoreRange, the whole file again).
func cutThenServe(t *testing.T, ignoreRange bool) (*httptest.Server, *[]string) {
	var mu sync.Mutex
	var seen []string
	srv, _ := server(t, func(n int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.Header.Get("Range"))
		mu.Unlock()
		if r.Method == http.MethodHead {
			http.ServeContent(w, r, "f", time.Time{}, bytes.NewReader(payload))
			return
		}
		if n == 1 {
			w.Header().Set("Content-Length", fmt.Sprint(len(payload)))
			w.Write(payload[:len(payload)/2])
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		if ignoreRange {
			w.Header().Set("Accept-Ranges", "bytes")
			w.Write(payload)
			return
		}
		http.ServeContent(w, r, "f", time.Time{}, bytes.NewReader(payload))
	})
	return srv, &seen
}

func TestResume(t *testing.T) {
	srv, seen := cutThenServe(t, false)
	var log logged
	dst := filepath.Join(t.TempDir(), "file")
	res, _, err := fetch(t, testClient(&log), srv.URL+"/cut", Request{Dst: dst, SHA256: sum(payload)})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.Attempts != 2 {
		t.Errorf("result %+v, want a resumed second attempt", res)
	}
	ranged := false
	for _, s := range *seen {
		ranged = ranged || strings.HasPrefix(s, "GET bytes=")
	}
	if !ranged {
		t.Errorf("no Range request: %q", *seen)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, payload) {
		t.Error("resumed content differs")
	}

	// A server that ignores Range: the whole file is fetched again, not
	// appended to the partial one.
	srv, _ = cutThenServe(t, true)
	dst = filepath.Join(t.TempDir(), "file")
	res, _, err = fetch(t, testClient(&log), srv.URL+"/cut", Request{Dst: dst, SHA256: sum(payload)})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, payload) || res.Resumed {
		t.Errorf("range-ignoring server: %+v", res)
	}
}

func TestChecksumAndNotFound(t *testing.T) {
	srv, n := server(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		w.Write(payload)
	})
	var log logged
	dst := filepath.Join(t.TempDir(), "file")
	_, _, err := fetch(t, testClient(&log), srv.URL+"/f", Request{Dst: dst, SHA256: sum([]byte("other"))})
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("wrong content: %v, want ErrChecksum", err)
	}
	noLeftovers(t, dst)

	n.Store(0)
	_, _, err = fetch(t, testClient(&log), srv.URL+"/missing", Request{Dst: dst})
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrFailed) || n.Load() != 1 {
		t.Fatalf("404: %v after %d requests, want ErrNotFound at once", err, n.Load())
	}
	noLeftovers(t, dst)

	if _, err := testClient(&log).Get(context.Background(), srv.URL+"/f", 1<<10); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Get over its cap: %v, want ErrTooLarge", err)
	}
	if b, err := testClient(&log).Get(context.Background(), srv.URL+"/f", 1<<20); err != nil || !bytes.Equal(b, payload) {
		t.Fatalf("Get: %v", err)
	}
}

func TestCancel(t *testing.T) {
	srv, _ := server(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(payload)))
		w.Write(payload[:1000])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	c := &Client{IdleTimeout: time.Minute}
	dst := filepath.Join(t.TempDir(), "file")
	if _, err := c.Fetch(ctx, Request{URL: srv.URL, Dst: dst}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled: %v", err)
	}
	noLeftovers(t, dst)
}

// An interrupted download pinned by a digest keeps its partial file, and
// the next Fetch resumes it.
func TestCancelPinnedResumes(t *testing.T) {
	var mu sync.Mutex
	var ranges []string
	srv, _ := server(t, func(n int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ranges = append(ranges, r.Header.Get("Range"))
		mu.Unlock()
		if n == 1 && r.Method == http.MethodGet {
			w.Header().Set("Content-Length", fmt.Sprint(len(payload)))
			w.Write(payload[:1000])
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		http.ServeContent(w, r, "f", time.Time{}, bytes.NewReader(payload))
	})
	dst := filepath.Join(t.TempDir(), "file")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	c := &Client{IdleTimeout: time.Minute}
	if _, err := c.Fetch(ctx, Request{URL: srv.URL, Dst: dst, SHA256: sum(payload)}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled: %v", err)
	}
	if fi, err := os.Stat(dst + ".part"); err != nil || fi.Size() != 1000 {
		t.Fatalf("partial file after interruption: %v", err)
	}
	res, err := c.Fetch(context.Background(), Request{URL: srv.URL, Dst: dst, SHA256: sum(payload)})
	if err != nil || !res.Resumed {
		t.Fatalf("second fetch: %+v, %v", res, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if ranges[len(ranges)-1] != "bytes=1000-" {
		t.Errorf("ranges %q", ranges)
	}
}

// TestHead: Head answers from the status line alone, without the body,
// retries a server error and reports a 404 at once.
func TestHead(t *testing.T) {
	var heads, gets, fails atomic.Int32
	fails.Store(1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			heads.Add(1)
		} else {
			gets.Add(1)
		}
		switch {
		case r.URL.Path == "/missing":
			http.NotFound(w, r)
		case fails.Add(-1) >= 0:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		default:
			w.Write(payload)
		}
	}))
	t.Cleanup(srv.Close)
	var log logged
	ctx := context.Background()
	if err := testClient(&log).Head(ctx, srv.URL+"/f"); err != nil {
		t.Fatalf("Head after one 503: %v", err)
	}
	if heads.Load() != 2 || gets.Load() != 0 {
		t.Errorf("%d HEADs and %d GETs, want 2 HEADs (one retry) and no GET", heads.Load(), gets.Load())
	}
	heads.Store(0)
	if err := testClient(&log).Head(ctx, srv.URL+"/missing"); !errors.Is(err, ErrNotFound) || heads.Load() != 1 {
		t.Fatalf("Head of a 404: %v after %d requests, want ErrNotFound at once", err, heads.Load())
	}
}
