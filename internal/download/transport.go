package download

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// errRangeIgnored is a resumed request answered with the whole file: grab
// would append it to the partial one, so the attempt restarts from zero.
var errRangeIgnored = errors.New("server ignored the Range request")

// guard wraps a RoundTripper with the header timeout, the idle timeout and
// the size cap. It sits below grab so every request grab makes (HEAD and
// GET) is bounded, and reports its limits as sentinel errors through the
// request context's cause, which survives grab and net/http untouched.
type guard struct {
	base          http.RoundTripper
	headerTimeout time.Duration
	idleTimeout   time.Duration
	maxSize       int64
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	req = req.WithContext(ctx)
	timer := time.AfterFunc(g.headerTimeout, func() {
		cancel(fmt.Errorf("%w: no response headers within %v", ErrTimeout, g.headerTimeout))
	})
	resp, err := g.base.RoundTrip(req)
	timer.Stop()
	if err != nil {
		cancel(nil)
		return nil, causeOr(ctx, err)
	}
	start := rangeStart(req)
	if start > 0 && resp.StatusCode == http.StatusOK {
		resp.Body.Close()
		cancel(nil)
		return nil, errRangeIgnored
	}
	if resp.StatusCode/100 == 2 && resp.ContentLength >= 0 && start+resp.ContentLength > g.maxSize {
		resp.Body.Close()
		cancel(nil)
		return nil, fmt.Errorf("%w: the server announces %d bytes, the cap is %d", ErrTooLarge, start+resp.ContentLength, g.maxSize)
	}
	resp.Body = &guardedBody{
		rc: resp.Body, ctx: ctx, cancel: cancel,
		left: g.maxSize - start, max: g.maxSize, idle: g.idleTimeout,
		timer: time.AfterFunc(g.idleTimeout, func() {
			cancel(fmt.Errorf("%w: no data for %v", ErrStalled, g.idleTimeout))
		}),
	}
	return resp, nil
}

// rangeStart is the offset of a "bytes=N-" Range request, or 0.
func rangeStart(req *http.Request) int64 {
	r, ok := strings.CutPrefix(req.Header.Get("Range"), "bytes=")
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(r, "-"), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// causeOr returns the context's cause when the context was cancelled by
// one of the guard's limits, else err.
func causeOr(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && (errors.Is(cause, ErrStalled) || errors.Is(cause, ErrTimeout)) {
		return cause
	}
	return err
}

type guardedBody struct {
	rc     io.ReadCloser
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	idle   time.Duration
	left   int64 // bytes still allowed
	max    int64

	once sync.Once
}

func (b *guardedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.timer.Reset(b.idle)
		b.left -= int64(n)
		if b.left < 0 {
			return n, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, b.max)
		}
	}
	if err != nil && err != io.EOF {
		err = causeOr(b.ctx, err)
	}
	return n, err
}

func (b *guardedBody) Close() error {
	b.once.Do(func() {
		b.timer.Stop()
		b.cancel(nil)
	})
	return b.rc.Close()
}

// defaultTransport dials and shakes hands with bounded waits; the guard
// bounds what follows.
func defaultTransport() http.RoundTripper {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = 15 * time.Second
	return tr
}
