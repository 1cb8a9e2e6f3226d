package bpf

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// blockBackedDir returns a writable directory on a block device (not tmpfs,
// ramfs or overlay of those), or "" when the system has none (VM guests
// running from an initramfs).
func blockBackedDir(t *testing.T) string {
	t.Helper()
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return ""
	}
	defer f.Close()
	candidates := []string{os.TempDir()}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 4 && strings.HasPrefix(fields[0], "/dev/") && strings.Contains(","+fields[3]+",", ",rw,") {
			candidates = append(candidates, fields[1])
		}
	}
	for _, dir := range candidates {
		var st unix.Statfs_t
		if unix.Statfs(dir, &st) != nil {
			continue
		}
		switch st.Type {
		case unix.TMPFS_MAGIC, unix.RAMFS_MAGIC, unix.OVERLAYFS_SUPER_MAGIC:
			continue
		}
		d, err := os.MkdirTemp(dir, "retrobpf-biolatency-")
		if err != nil {
			continue
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	return ""
}

// TestBiolatency attaches every biolatency variant, writes and fsyncs a file
// on a block device and expects completed requests in the histogram.
func TestBiolatency(t *testing.T) {
	for _, in := range intentsOf("biolatency") {
		t.Run(in.variant, func(t *testing.T) {
			spec, coll := loadVariant(t, in, nil)
			if in.legacy {
				putConfig(t, coll, BiolatencyLegacyConfig{})
			}
			// A file system on a block device, else a loop device.
			target := ""
			if dir := blockBackedDir(t); dir != "" {
				target = filepath.Join(dir, "fsync")
			} else {
				dev, why := loopDevice(t)
				if dev == "" {
					t.Skipf("no writable block device to generate block I/O on: %s", why)
				}
				target = dev
			}
			detach := attachAll(t, in, spec, coll)

			f, err := os.OpenFile(target, os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			buf := make([]byte, 64<<10)
			for i := range 8 {
				buf[0] = byte(i)
				if _, err := f.WriteAt(buf, int64(i)*int64(len(buf))); err != nil {
					t.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(50 * time.Millisecond) // let the last completions land
			detach()

			var hist []uint64
			if in.legacy {
				hist = arrayCounters(t, coll.Maps["hist"])
			} else {
				var h [32]uint64
				getVar(t, coll, "hist", &h)
				hist = h[:]
				var bytes uint64
				getVar(t, coll, "bytes", &bytes)
				if bytes < uint64(len(buf)) {
					t.Errorf("bytes issued %d, want at least %d", bytes, len(buf))
				}
			}
			if sum(hist) == 0 {
				t.Fatalf("no block request completed in the histogram after 8 write+fsync of %s", target)
			}
			t.Logf("biolatency %s histogram (log2 us): %v", in.variant, hist)
		})
	}
}
