package btfhub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/retrobpf/retrobpf/internal/cache"
	"github.com/retrobpf/retrobpf/internal/download"
	"github.com/retrobpf/retrobpf/internal/inputfile"
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
	// ErrNetwork wraps transport failures that survived all retries, and
	// downloads refused for their size.
	ErrNetwork = errors.New("archive download failed")
	// ErrCorruptCache is returned for a cached BTF file that does not match
	// the digest its lock entry recorded (or has no lock entry).
	ErrCorruptCache = errors.New("damaged cache entry")
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

	Retries     int           // extra attempts after a failure; 0 means 4, negative none
	Backoff     time.Duration // first retry delay, doubled each time; default 1s
	Timeout     time.Duration // per-attempt limit; default 10 minutes
	IdleTimeout time.Duration // an attempt that brings no headers or byte for this long fails; default 30s
	MaxSize     int64         // cap on the tarball and on the extracted BTF; default DefaultMaxBTFSize

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

func (f *Fetcher) maxSize() int64 {
	if f.MaxSize > 0 {
		return f.MaxSize
	}
	return DefaultMaxBTFSize
}

// Fetch makes k's BTF available in the cache and returns where it is. A
// cached file is returned as is unless Update is set, after checking it
// against the SHA256 the lock file recorded for it (a damaged or
// unrecorded file is fetched again). Nothing reaches the cache unless the
// tarball extracts cleanly, holds valid kernel BTF and agrees with the
// lock file; the BTF file and its lock entry are installed together.
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
	unlock, err := f.Cache.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	lockPath := f.LockPath
	if lockPath == "" {
		lockPath = f.Cache.LockPath()
	}
	lock, err := ReadLockFile(lockPath)
	if err != nil {
		return nil, err
	}

	if !f.Update {
		size, err := verifyCached(dst, lock.Entries[ap])
		if err == nil {
			res.Cached, res.Size = true, size
			return res, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			f.logf("cached %s is not usable, fetching it again: %v", dst, err)
		}
	}
	if f.Hub == "" {
		return nil, ErrNoHub
	}
	base, err := ParseHub(f.Hub)
	if err != nil {
		return nil, err
	}
	res.URL = base.JoinPath(ap).String()

	var tarball *os.File
	if base.Scheme == "file" {
		// A FIFO or a huge file in the mirror is refused before reading.
		tarball, err = inputfile.Open(filepath.Join(base.Path, filepath.FromSlash(ap)), f.maxSize())
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotInHub, res.URL)
		}
		if errors.Is(err, inputfile.ErrTooLarge) || errors.Is(err, inputfile.ErrNotRegular) {
			return nil, fmt.Errorf("%s: %w: %w", res.URL, ErrBadArchive, err)
		}
		if err != nil {
			return nil, err
		}
		res.Attempts = 1
	} else {
		if tarball, err = f.download(ctx, res); err != nil {
			return nil, err
		}
		defer os.Remove(tarball.Name())
	}
	defer tarball.Close()

	// Hash the tarball while extracting it: one streaming pass.
	h := sha256.New()
	tr := io.TeeReader(tarball, h)
	raw, err := ExtractBTF(tr, k.Release+".btf", f.maxSize())
	if err == nil {
		_, err = io.Copy(io.Discard, tr) // bytes after the xz stream count too
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", res.URL, err)
	}
	res.SHA256 = hex.EncodeToString(h.Sum(nil))
	st, err := tarball.Stat()
	if err != nil {
		return nil, err
	}
	if _, err := ValidateBTF(raw); err != nil {
		return nil, fmt.Errorf("%s: %w", res.URL, err)
	}
	if !f.Update {
		if err := lock.Check(ap, res.SHA256); err != nil {
			return nil, err
		}
	}
	out, err := cache.Create(dst, 0o644)
	if err != nil {
		return nil, err
	}
	defer out.Abort()
	if _, err := out.Write(raw); err != nil {
		return nil, err
	}
	rawSum := sha256.Sum256(raw)
	lock.Entries[ap] = LockEntry{SHA256: res.SHA256, Size: st.Size(), URL: res.URL,
		BTFSHA256: hex.EncodeToString(rawSum[:]), Fetched: time.Now().UTC().Truncate(time.Second)}
	if err := lock.Write(lockPath); err != nil {
		return nil, err
	}
	if err := out.Commit(); err != nil {
		return nil, err
	}
	res.Size = int64(len(raw))
	return res, nil
}

// verifyCached checks a cached BTF file against its lock entry and
// returns its size. A file without an entry was installed by a fetch whose
// lock write failed, so it is not trusted; entries written before the
// lock recorded BTF digests fall back to validating the BTF.
func verifyCached(path string, e LockEntry) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("%s: not a regular file: %w", path, fs.ErrNotExist)
	}
	switch {
	case e.SHA256 == "":
		return 0, fmt.Errorf("%s: %w: not recorded in the lock file", path, ErrCorruptCache)
	case e.BTFSHA256 != "":
		if err := cache.Verify(path, e.BTFSHA256); err != nil {
			return 0, fmt.Errorf("%w: %w", ErrCorruptCache, err)
		}
	default:
		raw, err := ReadBTFFile(path)
		if err == nil {
			_, err = ValidateBTF(raw)
		}
		if err != nil {
			return 0, fmt.Errorf("%w: %s: %w", ErrCorruptCache, path, err)
		}
	}
	return fi.Size(), nil
}

// partialPath is where a download is written until it is complete.
func (f *Fetcher) partialPath(ap string) string {
	return f.downloadPath(ap) + ".part"
}

func (f *Fetcher) downloadPath(ap string) string {
	return filepath.Join(f.Cache.Dir, ".downloads", filepath.FromSlash(ap))
}

// download fetches res.URL through the shared downloader (retries,
// resume, timeouts, size cap) and returns the complete tarball, open.
// The caller removes the file.
func (f *Fetcher) download(ctx context.Context, res *FetchResult) (*os.File, error) {
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	dl := &download.Client{
		HTTP:           f.Client,
		Retries:        f.Retries,
		Backoff:        f.Backoff,
		IdleTimeout:    f.IdleTimeout,
		HeaderTimeout:  f.IdleTimeout,
		AttemptTimeout: timeout,
		MaxSize:        f.maxSize(),
		Logf:           f.Logf,
	}
	if tty, ok := f.Progress.(*os.File); ok && term.IsTerminal(int(tty.Fd())) {
		dl.Progress = tty
	}
	r, err := dl.Fetch(ctx, download.Request{URL: res.URL, Dst: f.downloadPath(res.ArchivePath), Label: path.Base(res.URL)})
	switch {
	case errors.Is(err, download.ErrNotFound):
		return nil, fmt.Errorf("%w: %s (HTTP 404)", ErrNotInHub, res.URL)
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrNetwork, err)
	}
	res.Attempts, res.Resumed = r.Attempts, r.Resumed
	fh, err := os.Open(r.Path)
	if err != nil {
		os.Remove(r.Path)
		return nil, err
	}
	return fh, nil
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

// ParseHub parses a hub base URL, http(s):// or file:///absolute/path,
// wrapping ErrBadHub for anything else: what commands check when the flag
// is read, before anything asks the hub.
func ParseHub(hub string) (*url.URL, error) {
	base, err := url.Parse(hub)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https" && base.Scheme != "file") {
		return nil, fmt.Errorf("%w %q: want http(s):// or file://", ErrBadHub, hub)
	}
	if base.Scheme == "file" && ((base.Host != "" && base.Host != "localhost") || !filepath.IsAbs(base.Path)) {
		return nil, fmt.Errorf("%w %q: want file:///absolute/path", ErrBadHub, hub)
	}
	return base, nil
}
