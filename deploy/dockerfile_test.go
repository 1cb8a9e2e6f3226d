package deploy

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// repoRoot is the module root, the Docker build context.
func repoRoot(t testing.TB) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

// goBuildCmd is a `go build` command line: environment assignments, the
// flags other than -o, the -o value and the package.
type goBuildCmd struct {
	env   []string
	flags []string
	out   string
	pkg   string
}

func parseGoBuild(t testing.TB, where, line string) goBuildCmd {
	t.Helper()
	if strings.ContainsAny(line, `"'\$;&|`) {
		t.Fatalf("%s: %q: quoting, variables or several commands: this test reads plain words only", where, line)
	}
	w := strings.Fields(line)
	var c goBuildCmd
	for len(w) > 0 && strings.Contains(w[0], "=") {
		c.env, w = append(c.env, w[0]), w[1:]
	}
	if len(w) < 3 || w[0] != "go" || w[1] != "build" {
		t.Fatalf("%s: %q is not a go build command", where, line)
	}
	w = w[2:]
	c.pkg, w = w[len(w)-1], w[:len(w)-1]
	for i := 0; i < len(w); i++ {
		if w[i] == "-o" && i+1 < len(w) {
			c.out = w[i+1]
			i++
			continue
		}
		c.flags = append(c.flags, w[i])
	}
	slices.Sort(c.env)
	return c
}

// dockerfile returns the Dockerfile's instructions (continuations joined).
func dockerfile(t testing.TB) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var cur string
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		cur += l
		if strings.HasSuffix(cur, `\`) {
			cur = strings.TrimSuffix(cur, `\`) + " "
			continue
		}
		if strings.TrimSpace(cur) != "" {
			out = append(out, strings.TrimSpace(cur))
		}
		cur = ""
	}
	return out
}

// dockerGoBuild is the Dockerfile's one `RUN ... go build ...`.
func dockerGoBuild(t testing.TB) goBuildCmd {
	t.Helper()
	var lines []string
	for _, in := range dockerfile(t) {
		if rest, ok := strings.CutPrefix(in, "RUN "); ok && strings.Contains(rest, "go build") {
			lines = append(lines, rest)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("Dockerfile: %d RUN lines with go build, want 1", len(lines))
	}
	return parseGoBuild(t, "Dockerfile", lines[0])
}

// makeGoBuild is the Makefile's build target with its variables expanded
// and its exported variables as the environment.
func makeGoBuild(t testing.TB) goBuildCmd {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	var env []string
	assign := regexp.MustCompile(`^(export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(\?=|:=|=)\s*(.*)$`)
	lines := strings.Split(string(raw), "\n")
	recipe := ""
	for i, l := range lines {
		if m := assign.FindStringSubmatch(l); m != nil {
			vars[m[2]] = strings.TrimSpace(m[4])
			if m[1] != "" {
				env = append(env, m[2]+"="+vars[m[2]])
			}
		}
		if strings.HasPrefix(l, "build:") && i+1 < len(lines) {
			recipe = strings.TrimSpace(lines[i+1])
		}
	}
	if recipe == "" {
		t.Fatal("Makefile: no build target")
	}
	vars["GO"] = "go" // GO ?= go; the Dockerfile's image has go on PATH
	expanded := regexp.MustCompile(`\$\(([A-Za-z_]+)\)`).ReplaceAllStringFunc(recipe, func(s string) string {
		v, ok := vars[s[2:len(s)-1]]
		if !ok {
			t.Fatalf("Makefile build recipe %q: unknown variable %s", recipe, s)
		}
		return v
	})
	return parseGoBuild(t, "Makefile", strings.Join(env, " ")+" "+expanded)
}

func TestDockerfileBuildIsMakeBuild(t *testing.T) {
	d, m := dockerGoBuild(t), makeGoBuild(t)
	if !slices.Equal(d.env, m.env) || !slices.Equal(d.flags, m.flags) || d.pkg != m.pkg {
		t.Errorf("Dockerfile builds with env %q flags %q package %s; make build with env %q flags %q package %s",
			d.env, d.flags, d.pkg, m.env, m.flags, m.pkg)
	}
	ins := dockerfile(t)
	var froms []string
	for _, in := range ins {
		if strings.HasPrefix(in, "FROM ") {
			froms = append(froms, in)
		}
	}
	if len(froms) < 2 || froms[len(froms)-1] != "FROM scratch" {
		t.Errorf("stages %q: want a build stage and a final FROM scratch", froms)
	}
	if !slices.Contains(ins, "COPY --from=build "+d.out+" /retrobpf") {
		t.Errorf("Dockerfile: no COPY --from=build %s /retrobpf (the go build output)", d.out)
	}
	if !slices.Contains(ins, `ENTRYPOINT ["/retrobpf"]`) {
		t.Error(`Dockerfile: want ENTRYPOINT ["/retrobpf"]`)
	}
}

var (
	buildOnce sync.Once
	built     string
	buildErr  string
)

// dockerBinary runs the Dockerfile's go build line, output redirected to a
// temporary directory, and returns the binary (once per test process).
func dockerBinary(t testing.TB) string {
	t.Helper()
	c := dockerGoBuild(t)
	root := repoRoot(t)
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "retrobpf-docker-build-*")
		if err != nil {
			buildErr = err.Error()
			return
		}
		built = filepath.Join(dir, "retrobpf")
		args := append(append([]string{"build"}, c.flags...), "-o", built, c.pkg)
		cmd := exec.Command("go", args...)
		cmd.Dir = root // the Dockerfile's WORKDIR holds the whole context
		cmd.Env = append(os.Environ(), c.env...)
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErr = "go " + strings.Join(args, " ") + ": " + err.Error() + "\n" + string(b)
		}
	})
	if buildErr != "" {
		t.Fatal(buildErr)
	}
	return built
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built != "" {
		os.RemoveAll(filepath.Dir(built))
	}
	os.Exit(code)
}

// TestDockerBinaryIsStatic builds what the image ships and checks it runs
// on an empty base: no ELF interpreter, no shared libraries.
func TestDockerBinaryIsStatic(t *testing.T) {
	bin := dockerBinary(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has a PT_INTERP program header: it needs a dynamic loader scratch does not have")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("shared libraries %v (%v)", libs, err)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "retrobpf ") {
		t.Fatalf("retrobpf version: %v: %s", err, out)
	}
	t.Logf("%s", out)
}
