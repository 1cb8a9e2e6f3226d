package download

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cavaliergopher/grab/v3"
	"github.com/schollz/progressbar/v3"
)

// Defaults of a zero Client.
const (
	DefaultRetries       = 4
	DefaultBackoff       = time.Second
	DefaultIdleTimeout   = 30 * time.Second
	DefaultHeaderTimeout = 30 * time.Second
	// DefaultMaxSize is far above any kernel package or BTF archive (the
	// largest Debian kernel packages are ~100 MiB) and far below a full disk.
	DefaultMaxSize = 2 << 30
)

// Client downloads with one retry and limit policy. The zero value is
// usable; fields left zero take the defaults above.
type Client struct {
	// HTTP makes the requests; its Transport is wrapped with the limits.
	// Nil means a transport with bounded dial and TLS handshake.
	HTTP *http.Client
	// Retries is the number of attempts after the first; negative means none.
	Retries int
	// Backoff is the delay before the first retry, doubled for each next one.
	Backoff time.Duration
	// IdleTimeout fails an attempt whose body brings no byte for this long.
	IdleTimeout time.Duration
	// HeaderTimeout fails an attempt whose server sends no headers for this long.
	HeaderTimeout time.Duration
	// AttemptTimeout bounds one whole attempt; zero means no bound (a large
	// package takes as long as it takes while bytes keep arriving).
	AttemptTimeout time.Duration
	// MaxSize caps every download, whatever the server announces.
	MaxSize int64
	// Progress receives a progress bar per download; give a terminal or nil.
	Progress io.Writer
	// Logf receives one line per retry, naming the URL and the reason.
	Logf func(format string, args ...any)
}

// Request is one file to fetch.
type Request struct {
	URL string
	// Dst is the final file name; the body goes to Dst+".part" first.
	Dst string
	// Size is the expected size, or 0 if unknown.
	Size int64
	// SHA256 is the expected hex digest, or "" to accept any content.
	SHA256 string
	// MaxSize overrides Client.MaxSize for this request when positive.
	MaxSize int64
	// Label names the download on the progress bar (default: the file name).
	Label string
}

// Result describes a completed download.
type Result struct {
	Path     string
	Size     int64
	SHA256   string
	Resumed  bool // a partial file from an earlier attempt was continued
	Attempts int
}

func (c *Client) retries() int {
	switch {
	case c.Retries < 0:
		return 0
	case c.Retries == 0:
		return DefaultRetries
	}
	return c.Retries
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (c *Client) maxSize(req Request) int64 {
	switch {
	case req.MaxSize > 0:
		return req.MaxSize
	case c.MaxSize > 0:
		return c.MaxSize
	}
	return DefaultMaxSize
}

func (c *Client) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

// httpClient returns an http.Client whose transport enforces the limits.
func (c *Client) httpClient(max int64) *http.Client {
	hc := &http.Client{}
	if c.HTTP != nil {
		*hc = *c.HTTP
	}
	base := hc.Transport
	if base == nil {
		base = defaultTransport()
	}
	hc.Transport = &guard{
		base:          base,
		headerTimeout: orDefault(c.HeaderTimeout, DefaultHeaderTimeout),
		idleTimeout:   orDefault(c.IdleTimeout, DefaultIdleTimeout),
		maxSize:       max,
	}
	return hc
}

// retryable reports whether another attempt may succeed, and whether it
// must start from zero rather than resume the partial file.
func retryable(err error) (retry, restart bool) {
	var sce grab.StatusCodeError
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrTooLarge):
		return false, false
	case errors.Is(err, ErrChecksum), errors.Is(err, grab.ErrBadLength), errors.Is(err, errRangeIgnored):
		return true, true
	case errors.As(err, &sce):
		code := int(sce)
		if code == http.StatusRequestedRangeNotSatisfiable {
			return true, true
		}
		return code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout, false
	case errors.Is(err, os.ErrPermission):
		return false, false
	}
	return true, false
}

// classify turns grab's errors into this package's sentinels.
func classify(url string, err error) error {
	var sce grab.StatusCodeError
	switch {
	case errors.As(err, &sce) && (int(sce) == http.StatusNotFound || int(sce) == http.StatusGone):
		return fmt.Errorf("%s: HTTP %d: %w", url, int(sce), ErrNotFound)
	case errors.As(err, &sce):
		return fmt.Errorf("%s: HTTP %d: %w", url, int(sce), ErrStatus)
	case errors.Is(err, grab.ErrBadLength):
		return fmt.Errorf("%s: %w: length differs from the expected one", url, ErrChecksum)
	}
	var ue *neturl.Error
	if errors.As(err, &ue) {
		err = ue.Err // it repeats the URL
	}
	return fmt.Errorf("%s: %w", url, err)
}

// Fetch downloads req.URL to req.Dst. On any error Dst is untouched and
// nothing is left at Dst+".part", except after ctx ends during a download
// pinned by req.SHA256, whose partial file a later Fetch resumes.
func (c *Client) Fetch(ctx context.Context, req Request) (*Result, error) {
	max := c.maxSize(req)
	if req.Size > max {
		return nil, fmt.Errorf("%s: %w: the index says %d bytes, the cap is %d", req.URL, ErrTooLarge, req.Size, max)
	}
	var want []byte
	if req.SHA256 != "" {
		var err error
		if want, err = hex.DecodeString(req.SHA256); err != nil || len(want) != sha256.Size {
			return nil, fmt.Errorf("%s: bad expected sha256 %q", req.URL, req.SHA256)
		}
	}
	if err := os.MkdirAll(filepath.Dir(req.Dst), 0o755); err != nil {
		return nil, err
	}
	part := req.Dst + ".part"
	// A partial file left by an interrupted earlier Fetch is resumed only
	// when the content is pinned by a digest: otherwise it may belong to
	// another version of the file.
	if req.SHA256 == "" {
		os.Remove(part)
	}
	// On failure the partial file goes, except when the caller interrupted
	// a pinned download: the next Fetch resumes it.
	cancelled := func() error {
		if req.SHA256 == "" {
			os.Remove(part)
		}
		return ctx.Err()
	}
	gc := grab.NewClient()
	gc.UserAgent = "retrobpf"
	hc := c.httpClient(max)
	defer hc.CloseIdleConnections()
	gc.HTTPClient = hc

	res := &Result{Path: req.Dst}
	retries, delay := c.retries(), orDefault(c.Backoff, DefaultBackoff)
	var err error
	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 {
			c.logf("retrying %s in %v (attempt %d of %d): %s", req.URL, delay, attempt+1, retries+1, strings.TrimPrefix(classify(req.URL, err).Error(), req.URL+": "))
			select {
			case <-ctx.Done():
				return nil, cancelled()
			case <-time.After(delay):
			}
			delay *= 2
		}
		res.Attempts = attempt + 1
		var resumed bool
		resumed, err = c.attempt(ctx, gc, req, part)
		res.Resumed = res.Resumed || resumed
		if err == nil {
			err = c.verify(part, req, want, res)
		}
		if err == nil {
			if err = os.Rename(part, req.Dst); err == nil {
				return res, nil
			}
		}
		if ctx.Err() != nil {
			return nil, cancelled()
		}
		retry, restart := retryable(err)
		if restart || !retry {
			os.Remove(part)
			res.Resumed = false
		}
		if !retry {
			return nil, classify(req.URL, err)
		}
	}
	os.Remove(part)
	return nil, failed(retries+1, classify(req.URL, err))
}

// failed wraps the last error of n attempts in ErrFailed; callers prefix
// their own "download failed", so the text only counts the attempts.
func failed(n int, err error) error { return &failedError{n: n, err: err} }

type failedError struct {
	n   int
	err error
}

func (e *failedError) Error() string {
	if e.n == 1 {
		return e.err.Error()
	}
	return fmt.Sprintf("gave up after %d attempts: %v", e.n, e.err)
}

func (e *failedError) Unwrap() []error { return []error{ErrFailed, e.err} }

// attempt runs one grab transfer into part, resuming it if it exists.
func (c *Client) attempt(ctx context.Context, gc *grab.Client, req Request, part string) (resumed bool, err error) {
	if c.AttemptTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.AttemptTimeout, fmt.Errorf("%w: the attempt took over %v", ErrTimeout, c.AttemptTimeout))
		defer cancel()
	}
	greq, err := grab.NewRequest(part, req.URL)
	if err != nil {
		return false, err
	}
	greq = greq.WithContext(ctx)
	greq.Size = req.Size
	greq.IgnoreRemoteTime = true
	greq.NoCreateDirectories = true
	resp := gc.Do(greq)
	label := req.Label
	if label == "" {
		label = filepath.Base(req.Dst)
	}
	c.showProgress(resp, label)
	err = resp.Err()
	if err != nil && ctx.Err() != nil && context.Cause(ctx) != ctx.Err() {
		err = context.Cause(ctx) // the attempt's own timeout
	}
	return resp.DidResume, err
}

// verify checks a complete partial file against the expected size and
// digest and records them in res.
func (c *Client) verify(part string, req Request, want []byte, res *Result) error {
	f, err := os.Open(part)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, c.maxSize(req)+1))
	if err != nil {
		return err
	}
	if n > c.maxSize(req) {
		return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, c.maxSize(req))
	}
	if req.Size > 0 && n != req.Size {
		return fmt.Errorf("%w: %d bytes, want %d", ErrChecksum, n, req.Size)
	}
	sum := h.Sum(nil)
	if want != nil && string(sum) != string(want) {
		return fmt.Errorf("%w: sha256 %x, want %s", ErrChecksum, sum, req.SHA256)
	}
	res.Size, res.SHA256 = n, hex.EncodeToString(sum)
	return nil
}

// showProgress draws a progress bar while resp runs, when a writer was
// given; otherwise it just waits.
func (c *Client) showProgress(resp *grab.Response, label string) {
	if c.Progress == nil {
		<-resp.Done
		return
	}
	bar := progressbar.NewOptions64(resp.Size(),
		progressbar.OptionSetWriter(c.Progress),
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
