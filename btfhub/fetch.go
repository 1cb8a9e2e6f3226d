package btfhub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/cavaliergopher/grab/v3"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/retrobpf/retrobpf/internal/atomicfile"
)

// EnvHub names the environment variable holding the archive base URL.
const EnvHub = "RETROBPF_BTFHUB"

var (
	// ErrNoHub is returned when no archive base URL is configured. There is
	// deliberately no built-in default: the archive's location is the user's
	// choice (a public archive, a company mirror, an air-gapped directory).
	ErrNoHub = errors.New("no BTFHub archive configured")
	// ErrNotInHub is returned when the archive has no file for the kernel.
	ErrNotInHub = errors.New("kernel not in the BTFHub archive")
	// ErrBadHub is returned for a hub URL that is not http(s):// or
	// file:///absolute/path.
	ErrBadHub = errors.New("invalid hub URL")
	// ErrNetwork wraps transport failures that survived all retries.
	ErrNetwork = errors.New("archive download failed")
)

// HubFromEnv returns flag if set, else $RETROBPF_BTFHUB, else ErrNoHub.
func HubFromEnv(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if v := os.Getenv(EnvHub); v != "" {
		return v, nil
	}
	return "", ErrNoHub
}

// Fetcher downloads kernel BTF from a BTFHub-layout archive into a Cache.
type Fetcher struct {
	Hub      string // base URL: http(s)://… or file:///… (a local mirror)
	Cache    Cache
	LockPath string // lock file; default Cache.LockPath()
	Update   bool   // accept a tarball whose hash differs from the lock

	Retries int           // extra attempts after a failure; 0 means 4, negative none
	Backoff time.Duration // first retry delay, doubled each time; default 1s
	Timeout time.Duration // per-attempt limit; default 10 minutes
	MaxSize int64         // cap on the extracted BTF; default DefaultMaxBTFSize

	Progress io.Writer // progress bar destination, used only if a terminal
	Client   *http.Client
	Logf     func(format string, args ...any)
}

// FetchResult describes a fetched (or already cached) kernel BTF.
type FetchResult struct {
	Kernel      Kernel `json:"kernel"`
	ArchivePath string `json:"archive_path"`
	URL         string `json:"url,omitempty"`
	File        string `json:"file"` // the cached raw BTF
	SHA256      string `json:"sha256,omitempty"`
	Size        int64  `json:"size"`
	Cached      bool   `json:"cached"`  // it was already in the cache
	Resumed     bool   `json:"resumed"` // a partial download was continued
	Attempts    int    `json:"attempts"`
}

func (f *Fetcher) logf(format string, args ...any) {
	if f.Logf != nil {
		f.Logf(format, args...)
	}
}

// Fetch makes k's BTF available in the cache and returns where it is. A
// cached file is returned as is unless Update is set. Nothing reaches the
// cache unless the tarball extracts cleanly, holds valid kernel BTF and
// agrees with the lock file.
func (f *Fetcher) Fetch(ctx context.Context, k Kernel) (*FetchResult, error) {
	ap, err := k.ArchivePath()
	if err != nil {
		return nil, err
	}
	dst, err := f.Cache.Path(k)
	if err != nil {
		return nil, err
	}
	res := &FetchResult{Kernel: k, ArchivePath: ap, File: dst}
	unlock, err := f.Cache.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()

	if fi, err := os.Stat(dst); err == nil && fi.Mode().IsRegular() && !f.Update {
		res.Cached, res.Size = true, fi.Size()
		return res, nil
	}
	if f.Hub == "" {
		return nil, ErrNoHub
	}
	base, err := url.Parse(f.Hub)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https" && base.Scheme != "file") {
		return nil, fmt.Errorf("%w %q: want http(s):// or file://", ErrBadHub, f.Hub)
	}
	lockPath := f.LockPath
	if lockPath == "" {
		lockPath = f.Cache.LockPath()
	}
	lock, err := ReadLockFile(lockPath)
	if err != nil {
		return nil, err
	}

	var tarball []byte
	if base.Scheme == "file" {
		if (base.Host != "" && base.Host != "localhost") || !filepath.IsAbs(base.Path) {
			return nil, fmt.Errorf("%w %q: want file:///absolute/path", ErrBadHub, f.Hub)
		}
		res.URL = base.JoinPath(ap).String()
		tarball, err = os.ReadFile(filepath.Join(base.Path, filepath.FromSlash(ap)))
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotInHub, res.URL)
		}
		if err != nil {
			return nil, err
		}
		res.Attempts = 1
	} else {
		res.URL = base.JoinPath(ap).String()
		tarball, err = f.download(ctx, res)
		if err != nil {
			return nil, err
		}
	}

	sum := sha256.Sum256(tarball)
	res.SHA256 = hex.EncodeToString(sum[:])
	raw, err := ExtractBTF(bytes.NewReader(tarball), k.Release+".btf", f.MaxSize)
	if err != nil && res.Resumed {
		// A server may ignore the Range header and send the whole file,
		// which grab appends to the partial one: fetch once more from zero.
		f.logf("resumed download of %s is corrupt (%v), fetching it again", res.URL, err)
		res.Resumed = false
		if tarball, err = f.download(ctx, res); err != nil {
			return nil, err
		}
		sum = sha256.Sum256(tarball)
		res.SHA256 = hex.EncodeToString(sum[:])
		raw, err = ExtractBTF(bytes.NewReader(tarball), k.Release+".btf", f.MaxSize)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", res.URL, err)
	}
	if _, err := ValidateBTF(raw); err != nil {
		return nil, fmt.Errorf("%s: %w", res.URL, err)
	}
	if !f.Update {
		if err := lock.Check(ap, res.SHA256); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(dst, raw, 0o644); err != nil {
		return nil, err
	}
	lock.Entries[ap] = LockEntry{SHA256: res.SHA256, Size: int64(len(tarball)), URL: res.URL, Fetched: time.Now().UTC().Truncate(time.Second)}
	if err := lock.Write(lockPath); err != nil {
		return nil, err
	}
	res.Size = int64(len(raw))
	return res, nil
}

// partialPath is where an interrupted download waits to be resumed.
func (f *Fetcher) partialPath(ap string) string {
	return filepath.Join(f.Cache.Dir, ".partial", filepath.FromSlash(ap))
}

// download fetches res.URL with grab, resuming a partial file, retrying
// transport errors and 5xx answers with exponential backoff. It returns the
// complete tarball and removes the partial file.
func (f *Fetcher) download(ctx context.Context, res *FetchResult) ([]byte, error) {
	retries, backoff, timeout := f.Retries, f.Backoff, f.Timeout
	if retries == 0 {
		retries = 4
	} else if retries < 0 {
		retries = 0
	}
	if backoff <= 0 {
		backoff = time.Second
	}
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	client := grab.NewClient()
	client.UserAgent = "retrobpf"
	if f.Client != nil {
		client.HTTPClient = f.Client
	} else {
		client.HTTPClient = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   30 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
			IdleConnTimeout:       90 * time.Second,
		}}
	}
	part := f.partialPath(res.ArchivePath)
	if err := os.MkdirAll(filepath.Dir(part), 0o755); err != nil {
		return nil, err
	}

	var lastErr error
	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 {
			delay := backoff << (attempt - 1)
			f.logf("retrying %s in %s (attempt %d of %d): %v", res.URL, delay, attempt+1, retries+1, lastErr)
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		res.Attempts = attempt + 1
		resumed, err := f.attempt(ctx, client, res.URL, part, timeout)
		res.Resumed = res.Resumed || resumed
		if err == nil {
			data, err := os.ReadFile(part)
			os.Remove(part)
			return data, err
		}
		lastErr = err
		var status grab.StatusCodeError
		switch {
		case errors.As(err, &status) && int(status) == http.StatusNotFound:
			os.Remove(part)
			return nil, fmt.Errorf("%w: %s (HTTP 404)", ErrNotInHub, res.URL)
		case errors.As(err, &status) && int(status) == http.StatusRequestedRangeNotSatisfiable,
			errors.Is(err, grab.ErrBadLength):
			// The partial file does not fit the remote one: start over.
			os.Remove(part)
		case errors.As(err, &status) && int(status) < 500 && int(status) != http.StatusTooManyRequests:
			os.Remove(part)
			return nil, fmt.Errorf("%w: %s: %v", ErrNetwork, res.URL, err)
		case ctx.Err() != nil:
			return nil, ctx.Err()
		}
	}
	return nil, fmt.Errorf("%w: %s after %d attempts: %v", ErrNetwork, res.URL, retries+1, lastErr)
}

// attempt runs one grab transfer into part; a partial file is resumed.
func (f *Fetcher) attempt(ctx context.Context, client *grab.Client, u, part string, timeout time.Duration) (resumed bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := grab.NewRequest(part, u)
	if err != nil {
		return false, err
	}
	req = req.WithContext(ctx)
	req.IgnoreRemoteTime = true
	resp := client.Do(req)

	var bar *progressbar.ProgressBar
	if tty, ok := f.Progress.(*os.File); ok && term.IsTerminal(int(tty.Fd())) {
		bar = progressbar.DefaultBytes(-1, path.Base(u))
	}
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for done := false; !done; {
		select {
		case <-resp.Done:
			done = true
		case <-t.C:
		}
		if bar != nil {
			if size := resp.Size(); size > 0 {
				bar.ChangeMax64(size)
			}
			bar.Set64(resp.BytesComplete())
		}
	}
	if bar != nil {
		bar.Finish()
	}
	return resp.DidResume, resp.Err()
}

// ErrNoListing is returned by ListHub when the archive server does not
// serve directory listings (the archive itself has no index).
var ErrNoListing = errors.New("the hub serves no directory listing")

// ListHub returns the kernel releases the archive holds for one distribution
// version and architecture. It reads the directory of a file:// mirror, or
// the HTML index an http(s) server generates for the directory.
func ListHub(ctx context.Context, hub string, k Kernel) ([]string, error) {
	id, version, arch, err := k.ArchiveDir()
	if err != nil {
		return nil, err
	}
	base, err := url.Parse(hub)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrBadHub, hub, err)
	}
	var names []string
	switch base.Scheme {
	case "file":
		ents, err := os.ReadDir(filepath.Join(base.Path, id, version, arch))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			names = append(names, e.Name())
		}
	case "http", "https":
		u := base.JoinPath(id, version, arch).String() + "/"
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNetwork, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return nil, nil
		}
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			return nil, fmt.Errorf("%w: %s: HTTP %d %s", ErrNoListing, u, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNetwork, err)
		}
		names = hrefs(string(body))
	default:
		return nil, fmt.Errorf("%w %q: want http(s):// or file://", ErrBadHub, hub)
	}
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		if rel, ok := strings.CutSuffix(n, ".btf.tar.xz"); ok && checkRelease(rel) == nil && !seen[rel] {
			seen[rel] = true
			out = append(out, rel)
		}
	}
	return out, nil
}

// hrefs extracts the href targets of an HTML directory index (last path
// element, unescaped).
func hrefs(html string) []string {
	var out []string
	for {
		i := strings.Index(html, `href="`)
		if i < 0 {
			return out
		}
		html = html[i+len(`href="`):]
		j := strings.IndexByte(html, '"')
		if j < 0 {
			return out
		}
		ref := html[:j]
		html = html[j:]
		if u, err := url.PathUnescape(ref); err == nil {
			ref = u
		}
		out = append(out, path.Base(ref))
	}
}
