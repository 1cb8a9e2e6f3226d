package kernels

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/retrobpf/retrobpf/internal/cache"
)

// Resolved is what a kernel reference stands for at the time it is asked,
// found without downloading the kernel: for a cache key that changes when
// an alias moves to a newer package or a tag to a new image, and only then.
type Resolved struct {
	// Ref is the canonical reference ("6.1", "deb:linux-image-cloud-amd64",
	// "oci:HOST/REPO:TAG", "file:PATH"), the string as given once trimmed.
	Ref string `json:"ref"`
	// Identity names the chosen kernel: PACKAGE=VERSION for Debian
	// (aliases and deb:), HOST/REPO@sha256:… for oci:, the absolute path
	// for file: and dir:.
	Identity string `json:"identity"`
	// Digest is "sha256:<hex>" of the content: the SHA256 of the .deb as
	// the Packages index lists it, the image manifest's digest (of the
	// linux/amd64 image of an index, the one a pull unpacks), or for file:
	// and dir: a digest over the files the source uses (see localDigest).
	Digest string `json:"digest"`
}

// Identify resolves ref to the kernel a Pull would fetch now, without
// fetching it: Debian references read the suite indexes (cached under the
// cache directory like a pull's) and choose the package exactly as a pull
// does, asking the mirror only whether it still has the file (HEAD), so a
// candidate the pool lacks is skipped as a pull would skip it; oci: asks
// the registry for the manifest and downloads no layer; file: and dir:
// hash the local files. No cache entry is written or read.
//
// Errors wrap the package's sentinels: ErrBadRef or ErrUnknownAlias for
// a bad reference, ErrPackageNotFound, ErrImageNotFound or ErrNotAKernel
// for a kernel that is not there, ErrUnavailable when the mirror or
// registry cannot be reached.
func (c *Cache) Identify(ctx context.Context, ref string, opts ResolveOptions) (Resolved, error) {
	r, src, err := parseSource(ref)
	if err != nil {
		return Resolved{}, err
	}
	res, err := src.identify(ctx, c, r, opts)
	if err != nil {
		if src.local() {
			return Resolved{}, err // the path is in the message already
		}
		return Resolved{}, fmt.Errorf("%s: %w", r, err)
	}
	res.Ref = r.String()
	return res, nil
}

// ResolvedKey is a cache key for a set of resolved kernels: the hex
// SHA256 over their "ref identity digest" lines (tab-separated, each
// ending in a newline), sorted, so the order the kernels were given in
// does not matter and any change of a chosen kernel changes the key.
func ResolvedKey(rs []Resolved) string {
	lines := make([]string, len(rs))
	for i, r := range rs {
		lines[i] = r.Ref + "\t" + r.Identity + "\t" + r.Digest + "\n"
	}
	sort.Strings(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "")))
	return hex.EncodeToString(sum[:])
}

// localIdentity is the Resolved of a local kernel (file:, dir:): its
// path and localDigest of the files it was validated with.
func localIdentity(k *Kernel) (Resolved, error) {
	d, err := localDigest(k)
	if err != nil {
		return Resolved{}, err
	}
	return Resolved{Identity: k.Source, Digest: d}, nil
}

// localDigest digests the files a local kernel uses. A bare bzImage
// (nothing beside it) is the SHA256 of that file itself; otherwise it is
// the SHA256 over "<sha256>  <role>" lines, sorted — the roles vmlinuz,
// vmlinux, config, System.map, btf, and modules/<path> for each file of
// the modules tree — so it depends on the contents, not on where the
// kernel lies.
func localDigest(k *Kernel) (string, error) {
	files := map[string]string{}
	for role, p := range map[string]string{fileVmlinux: k.Vmlinux, fileConfig: k.Config, fileSystemMap: k.SystemMap, fileBTF: k.BTF} {
		if p != "" {
			files[role] = p
		}
	}
	if k.Modules != "" {
		err := filepath.WalkDir(k.Modules, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			rel, err := filepath.Rel(k.Modules, p)
			files["modules/"+filepath.ToSlash(rel)] = p
			return err
		})
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrNotAKernel, err)
		}
	}
	if len(files) == 0 {
		return "sha256:" + k.SHA256, nil
	}
	files[fileVmlinuz] = k.Vmlinuz
	var lines []string
	for role, p := range files {
		sum, err := cache.SHA256File(p)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrNotAKernel, err)
		}
		lines = append(lines, sum+"  "+role+"\n")
	}
	sort.Strings(lines)
	h := sha256.Sum256([]byte(strings.Join(lines, "")))
	return "sha256:" + hex.EncodeToString(h[:]), nil
}
