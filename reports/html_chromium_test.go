package reports

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromium finds a headless-capable Chromium. In CI (CI=true, root) it is
// installed when missing; elsewhere the test skips with the reason.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "true" || os.Geteuid() != 0 {
		t.Skip("chromium not installed (installed automatically only as root with CI=true; or: apt-get install -y chromium)")
	}
	t.Log("installing chromium")
	for _, args := range [][]string{{"update", "-q"}, {"install", "-y", "-q", "chromium"}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("apt-get %v: %v\n%s", args, err, out)
		}
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHTMLInChromium opens the HTML report in headless Chromium (offline:
// networking features off, a fresh profile) and checks the DOM the browser
// built: the kernel × program grid, its cells, the charts.
func TestHTMLInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no browser")
	}
	bin := chromium(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := Render(f, fixture(), "html"); err != nil {
		t.Fatal(err)
	}
	f.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	shot := filepath.Join(dir, "report.png")
	common := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
		"--host-resolver-rules=MAP * ~NOTFOUND", "--user-data-dir=" + filepath.Join(dir, "profile")}
	cmd := exec.CommandContext(ctx, bin, append(common, "--dump-dom", "file://"+page)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v\n%s", err, stderr.String())
	}
	dom := string(out)

	grid := regexp.MustCompile(`(?s)<table id="grid"[^>]*>(.*?)</table>`).FindStringSubmatch(dom)
	if grid == nil {
		t.Fatalf("no grid table in the DOM Chromium built:\n%.2000s", dom)
	}
	heads := regexp.MustCompile(`<th data-kernel="([^"]+)">`).FindAllStringSubmatch(grid[1], -1)
	var kernels []string
	for _, h := range heads {
		kernels = append(kernels, h[1])
	}
	if strings.Join(kernels, ",") != "5.10,6.1,6.12" {
		t.Fatalf("grid columns %v", kernels)
	}
	rows := regexp.MustCompile(`(?s)<tr[^>]*data-program="([^"]+)"(?: data-variant="([^"]+)")?[^>]*>(.*?)</tr>`).FindAllStringSubmatch(grid[1], -1)
	if len(rows) != 8 {
		t.Fatalf("%d grid rows, want 3 programs + 5 variants", len(rows))
	}
	cellRE := regexp.MustCompile(`<td class="([^"]*)" data-kernel="[^"]+"[^>]*>([^<]*)</td>`)
	cells := map[string][]string{}
	for _, r := range rows {
		key := r[1] + "/" + r[2]
		for _, c := range cellRE.FindAllStringSubmatch(r[3], -1) {
			cells[key] = append(cells[key], c[1]+":"+c[2])
		}
	}
	want := map[string][]string{
		"execsnoop/":       {"selected-variant:legacy", "selected-variant:modern", "selected-variant:modern"},
		"execsnoop/modern": {"rejected expected:✗ missing-map-type", "loaded sel:✔ 1200 ★", "loaded sel:✔ 1200 ★"},
		"execsnoop/legacy": {"loaded sel:✔ 1500 ★", "loaded:✔ 1500", "loaded:✔ 1500"},
		"loopy/only":       {"rejected sel:✗ loop ★", "rejected sel:✗ too-complex ★", "rejected sel:✗ too-complex ★"},
	}
	for k, w := range want {
		if strings.Join(cells[k], "|") != strings.Join(w, "|") {
			t.Errorf("grid row %s: %v, want %v", k, cells[k], w)
		}
	}
	if n := strings.Count(dom, `<rect class="bar"`); n < 12 {
		t.Errorf("%d chart bars in the DOM", n)
	}
	if n := strings.Count(dom, "<svg"); n != 4 {
		t.Errorf("%d svg charts, want 3 instruction charts + 1 overhead", n)
	}

	// And it renders: a screenshot of a non-trivial size.
	cmd = exec.CommandContext(ctx, bin, append(common, "--screenshot="+shot, "--window-size=1200,1600", "file://"+page)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	if st, err := os.Stat(shot); err != nil || st.Size() < 10_000 {
		t.Fatalf("screenshot: %v (%v)", st, err)
	}
}
