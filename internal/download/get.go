package download

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"time"
)

// Get fetches a small file (an index, a Release file) into memory, with
// the same retries and limits as Fetch; max caps the body (a larger one
// is ErrTooLarge, never silently truncated).
func (c *Client) Get(ctx context.Context, url string, max int64) ([]byte, error) {
	return c.request(ctx, http.MethodGet, url, max)
}

// Head asks whether url is on the server without fetching its body, with
// the same retries as Get: nil for a 200, ErrNotFound for a 404 or 410.
func (c *Client) Head(ctx context.Context, url string) error {
	_, err := c.request(ctx, http.MethodHead, url, c.maxSize(Request{}))
	return err
}

func (c *Client) request(ctx context.Context, method, url string, max int64) ([]byte, error) {
	hc := c.httpClient(max)
	defer hc.CloseIdleConnections()
	retries, delay := c.retries(), orDefault(c.Backoff, DefaultBackoff)
	var err error
	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 {
			c.logf("retrying %s in %v (attempt %d of %d): %v", url, delay, attempt+1, retries+1, err)
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(delay):
			}
			delay *= 2
		}
		var data []byte
		data, err = c.get(ctx, hc, method, url)
		if err == nil {
			return data, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrTooLarge) || isPermanent(err) {
			return nil, err
		}
	}
	return nil, failed(retries+1, err)
}

// permanent marks an error another attempt cannot fix.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

func isPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

func (c *Client) get(ctx context.Context, hc *http.Client, method, url string) ([]byte, error) {
	if c.AttemptTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.AttemptTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, permanent{fmt.Errorf("%s: %w", url, err)}
	}
	req.Header.Set("User-Agent", "retrobpf")
	resp, err := hc.Do(req)
	if err != nil {
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err // it repeats the URL
		}
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	defer resp.Body.Close()
	switch code := resp.StatusCode; {
	case code == http.StatusNotFound || code == http.StatusGone:
		return nil, fmt.Errorf("%s: HTTP %d: %w", url, code, ErrNotFound)
	case code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout:
		return nil, fmt.Errorf("%s: HTTP %d: %w", url, code, ErrStatus)
	case code != http.StatusOK:
		return nil, permanent{fmt.Errorf("%s: HTTP %d: %w", url, code, ErrStatus)}
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	return data, nil
}
