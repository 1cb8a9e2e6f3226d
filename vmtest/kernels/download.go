package kernels

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/cavaliergopher/grab/v3"
	"github.com/schollz/progressbar/v3"
)

// retryBackoff is the first delay between download attempts; it doubles.
var retryBackoff = 500 * time.Millisecond

// errNotFound is a 404 or 410: the file is not on the server, which is
// an answer (try the next candidate), not an infrastructure failure.
var errNotFound = errors.New("not found")

// fetcher downloads with retries and backoff; large files go through grab
// so an interrupted download resumes from its partial file.
type fetcher struct {
	http     *http.Client
	grab     *grab.Client
	progress io.Writer // a terminal for a progress bar, or nil
	logf     func(format string, args ...any)
	attempts int
	backoff  time.Duration
}

func newFetcher(progress io.Writer, logf func(string, ...any)) *fetcher {
	// No overall timeout (a kernel package takes as long as it takes), but
	// a server that does not connect or answer is given up on.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = 15 * time.Second
	tr.ResponseHeaderTimeout = 60 * time.Second
	hc := &http.Client{Transport: tr}
	g := grab.NewClient()
	g.HTTPClient = hc
	g.UserAgent = "retrobpf"
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &fetcher{http: hc, grab: g, progress: progress, logf: logf, attempts: 4, backoff: retryBackoff}
}

// retry runs op until it succeeds, fails permanently or runs out of
// attempts. Only ErrUnavailable and ErrChecksum failures are retried.
func (f *fetcher) retry(ctx context.Context, what string, op func() error) error {
	var err error
	delay := f.backoff
	for i := 0; i < f.attempts; i++ {
		if i > 0 {
			f.logf("retrying %s in %v: %v", what, delay, err)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(delay):
			}
			delay *= 2
		}
		err = op()
		if err == nil || !(errors.Is(err, ErrUnavailable) || errors.Is(err, ErrChecksum)) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

func statusError(url string, code int) error {
	switch {
	case code == http.StatusNotFound || code == http.StatusGone:
		return fmt.Errorf("%s: HTTP %d: %w", url, code, errNotFound)
	default:
		return fmt.Errorf("%s: HTTP %d: %w", url, code, ErrUnavailable)
	}
}

// get fetches a small file into memory.
func (f *fetcher) get(ctx context.Context, url string) ([]byte, error) {
	var data []byte
	err := f.retry(ctx, url, func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", url, err)
		}
		req.Header.Set("User-Agent", "retrobpf")
		resp, err := f.http.Do(req)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return statusError(url, resp.StatusCode)
		}
		data, err = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrUnavailable, url, err)
		}
		return nil
	})
	return data, err
}

// download fetches url to dst, resuming a partial dst, and verifies the
// size (when known) and SHA256. A mismatching file is deleted.
func (f *fetcher) download(ctx context.Context, url, dst string, size int64, sum string, label string) error {
	want, err := hex.DecodeString(sum)
	if err != nil || len(want) != sha256.Size {
		return fmt.Errorf("%s: bad expected sha256 %q", url, sum)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("%w: %v", ErrCacheUnwritable, err)
	}
	return f.retry(ctx, url, func() error {
		req, err := grab.NewRequest(dst, url)
		if err != nil {
			return fmt.Errorf("%s: %w", url, err)
		}
		req = req.WithContext(ctx)
		req.Size = size
		req.SetChecksum(sha256.New(), want, true)
		resp := f.grab.Do(req)
		f.showProgress(resp, label)
		err = resp.Err()
		var sce grab.StatusCodeError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &sce):
			return statusError(url, int(sce))
		case errors.Is(err, grab.ErrBadChecksum):
			return fmt.Errorf("%s: %w (want sha256 %s)", url, ErrChecksum, sum)
		case errors.Is(err, grab.ErrBadLength):
			// A partial file longer than the real one: start again.
			os.Remove(dst)
			return fmt.Errorf("%s: %w: length differs from the index", url, ErrUnavailable)
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, os.ErrPermission):
			return fmt.Errorf("%w: %v", ErrCacheUnwritable, err)
		}
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, url, err)
	})
}

// showProgress draws a progress bar while resp runs, when a terminal was
// given; otherwise it just waits.
func (f *fetcher) showProgress(resp *grab.Response, label string) {
	if f.progress == nil {
		<-resp.Done
		return
	}
	bar := progressbar.NewOptions64(resp.Size(),
		progressbar.OptionSetWriter(f.progress),
		progressbar.OptionSetDescription(label),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-resp.Done:
			bar.Set64(resp.BytesComplete())
			bar.Finish()
			return
		case <-t.C:
			if bar.GetMax64() <= 0 && resp.Size() > 0 {
				bar.ChangeMax64(resp.Size())
			}
			bar.Set64(resp.BytesComplete())
		}
	}
}
