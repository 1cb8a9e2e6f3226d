package kernels

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/retrobpf/retrobpf/internal/download"
)

// retryBackoff is the first delay between download attempts; it doubles.
var retryBackoff = 500 * time.Millisecond

// maxIndexSize caps Release files fetched into memory.
const maxIndexSize = 64 << 20

// errNotFound is a 404 or 410: the file is not on the server, which is
// an answer (try the next candidate), not an infrastructure failure.
var errNotFound = errors.New("not found")

// fetcher adapts the shared downloader to this package's errors.
type fetcher struct {
	c *download.Client
}

func newFetcher(progress io.Writer, logf func(string, ...any)) *fetcher {
	return &fetcher{c: &download.Client{Retries: 3, Backoff: retryBackoff, Progress: progress, Logf: logf}}
}

// classify maps the downloader's sentinels to this package's: 404 is
// errNotFound, a mismatch ErrChecksum, a permission problem
// ErrCacheUnwritable, anything else ErrUnavailable.
func classify(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, download.ErrNotFound):
		return fmt.Errorf("%w: %w", errNotFound, err)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("%w: %w", ErrCacheUnwritable, err)
	case errors.Is(err, download.ErrChecksum):
		return fmt.Errorf("%w: %w", ErrChecksum, err)
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// get fetches a small file into memory.
func (f *fetcher) get(ctx context.Context, url string) ([]byte, error) {
	data, err := f.c.Get(ctx, url, maxIndexSize)
	return data, classify(ctx, err)
}

// head asks whether url is on the server (errNotFound if not) without
// fetching it.
func (f *fetcher) head(ctx context.Context, url string) error {
	return classify(ctx, f.c.Head(ctx, url))
}

// download fetches url to dst and verifies the size (when known) and
// SHA256; on failure dst is left as it was and no partial file remains.
func (f *fetcher) download(ctx context.Context, url, dst string, size int64, sum string, label string) error {
	_, err := f.c.Fetch(ctx, download.Request{URL: url, Dst: dst, Size: size, SHA256: sum, Label: label})
	return classify(ctx, err)
}
