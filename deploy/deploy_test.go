package deploy

import (
	"path"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// wantKinds is every manifest and the kinds of its documents.
var wantKinds = map[string][]string{
	"preflight-job.yaml":         {"Job"},
	"nfd-daemonset.yaml":         {"DaemonSet"},
	"initcontainer-example.yaml": {"DaemonSet"},
}

func load(t *testing.T) []Object {
	t.Helper()
	objs, err := Load(Files)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func TestManifestsDecodeStrictly(t *testing.T) {
	got := map[string][]string{}
	for _, o := range load(t) {
		got[o.File] = append(got[o.File], o.Kind)
		if o.Name == "" {
			t.Errorf("%s: %s without metadata.name", o.File, o.Kind)
		}
	}
	for f, kinds := range wantKinds {
		if !slices.Equal(got[f], kinds) {
			t.Errorf("%s: kinds %v, want %v", f, got[f], kinds)
		}
	}
	for f := range got {
		if _, ok := wantKinds[f]; !ok {
			t.Errorf("%s: a manifest this test does not know: add it to wantKinds", f)
		}
	}
}

// The decoder must refuse what a typo produces: without that the test
// above proves nothing.
func TestLoadRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":    "apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\nspec:\n  backofLimit: 0\n",
		"nested unknown":   "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: b, readonly: true}]\n",
		"field case":       "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      volumes: [{name: a, emptyDir: {sizelimit: 1Mi}}]\n",
		"duplicate key":    "apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\nmetadata: {name: y}\n",
		"unknown kind":     "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
		"wrong apiVersion": "apiVersion: extensions/v1beta1\nkind: DaemonSet\nmetadata: {name: x}\n",
	} {
		if _, err := Load(fstest.MapFS{"x.yaml": {Data: []byte(doc)}}); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
	objs, err := Load(fstest.MapFS{"x.yaml": {Data: []byte("# only a comment\n---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: a}\n---\n")}})
	if err != nil || len(objs) != 1 || objs[0].Doc != 1 {
		t.Errorf("multi-document file: %v, %v", objs, err)
	}
}

func volumes(p *corev1.PodSpec) map[string]corev1.Volume {
	m := map[string]corev1.Volume{}
	for _, v := range p.Volumes {
		m[v.Name] = v
	}
	return m
}

// mountFor returns the mount of c whose mountPath is dir or contains it.
func mountFor(c corev1.Container, file string) (corev1.VolumeMount, bool) {
	for _, m := range c.VolumeMounts {
		if path.Dir(file) == path.Clean(m.MountPath) {
			return m, true
		}
	}
	return corev1.VolumeMount{}, false
}

func under(file, dir string) bool {
	return strings.HasPrefix(path.Clean(file), path.Clean(dir)+"/")
}

// TestRetrobpfContainers checks what every retrobpf container needs to
// answer for its node: the image's entrypoint, root with the BPF
// capabilities, tracefs and debugfs from the host, and every host path
// read-only except NFD's features.d.
func TestRetrobpfContainers(t *testing.T) {
	n := 0
	for _, c := range Containers(load(t)) {
		if !IsRetrobpf(c.Container) {
			continue
		}
		n++
		where := c.Object.File + ": container " + c.Name
		if len(c.Command) != 0 {
			t.Errorf("%s: command %q replaces the image's ENTRYPOINT /retrobpf: give args only", where, c.Command)
		}
		if len(c.Args) == 0 {
			t.Errorf("%s: no args", where)
			continue
		}
		if c.Object.Pod.HostPID {
			t.Errorf("%s: hostPID is not needed", where)
		}
		sc := c.SecurityContext
		if sc == nil || sc.Capabilities == nil {
			t.Errorf("%s: no securityContext capabilities", where)
			continue
		}
		if sc.RunAsUser == nil || *sc.RunAsUser != 0 {
			t.Errorf("%s: capabilities only count for uid 0 without ambient ones: runAsUser: 0", where)
		}
		if sc.Privileged == nil || !*sc.Privileged {
			for _, cp := range []corev1.Capability{"BPF", "PERFMON", "SYS_ADMIN"} {
				if !slices.Contains(sc.Capabilities.Add, cp) {
					t.Errorf("%s: capability %s missing", where, cp)
				}
			}
		}
		vols := volumes(c.Object.Pod)
		seen := map[string]bool{}
		for _, m := range c.VolumeMounts {
			v, ok := vols[m.Name]
			if !ok {
				t.Errorf("%s: mount %s: no volume %q", where, m.MountPath, m.Name)
				continue
			}
			if v.HostPath == nil {
				continue
			}
			seen[v.HostPath.Path] = true
			if v.HostPath.Path != m.MountPath {
				t.Errorf("%s: host %s mounted at %s: the probe reads fixed paths", where, v.HostPath.Path, m.MountPath)
			}
			if rw := v.HostPath.Path == NFDFeaturesDir; m.ReadOnly == rw {
				t.Errorf("%s: host path %s readOnly=%v, want %v", where, v.HostPath.Path, m.ReadOnly, !rw)
			}
		}
		for _, p := range []string{"/sys/kernel/tracing", "/sys/kernel/debug"} {
			if !seen[p] {
				t.Errorf("%s: host %s not mounted: tracepoint and kprobe probes read it", where, p)
			}
		}
	}
	if n != 3 {
		t.Errorf("%d retrobpf containers, want 3 (preflight, nfd, the gate): update the test", n)
	}
}

func TestPreflightJob(t *testing.T) {
	for _, o := range load(t) {
		if o.File != "preflight-job.yaml" {
			continue
		}
		j := o.Value.(*batchv1.Job)
		p := &j.Spec.Template.Spec
		if p.NodeName == "" && len(p.NodeSelector) == 0 && p.Affinity == nil {
			t.Error("not pinned to a node: set nodeName or a nodeSelector")
		}
		if p.RestartPolicy != corev1.RestartPolicyNever || j.Spec.BackoffLimit == nil || *j.Spec.BackoffLimit != 0 {
			t.Error("a verdict must not be retried: restartPolicy Never, backoffLimit 0")
		}
		c := p.Containers[0]
		if c.Args[0] != "select" || !slices.Contains(c.Args, "--host") {
			t.Errorf("args %q: want select --host", c.Args)
		}
		if m, _ := FlagValue(c.Args, "manifest"); m != BundledManifest {
			t.Errorf("--manifest %q, want the image's bundled %s", m, BundledManifest)
		}
	}
}

// BundledManifest is where the Dockerfile puts bpf/suite.yaml.
const BundledManifest = "/usr/share/retrobpf/suite/suite.yaml"

func TestNFDDaemonSet(t *testing.T) {
	for _, o := range load(t) {
		if o.File != "nfd-daemonset.yaml" {
			continue
		}
		ds := o.Value.(*appsv1.DaemonSet)
		c := ds.Spec.Template.Spec.Containers[0]
		if c.Args[0] != "probe" {
			t.Fatalf("args %q: want probe", c.Args)
		}
		if f, _ := FlagValue(c.Args, "format"); f != "nfd" {
			t.Errorf("--format %q, want nfd", f)
		}
		if e, ok := FlagValue(c.Args, "every"); !ok || e == "" {
			t.Error("no --every: the container would exit after one probe and restart forever")
		}
		out, _ := FlagValue(c.Args, "output")
		if path.Dir(out) != NFDFeaturesDir {
			t.Errorf("--output %q is not in NFD's %s", out, NFDFeaturesDir)
		}
		if strings.HasPrefix(path.Base(out), ".") {
			t.Errorf("--output %q: NFD ignores hidden files", out)
		}
		// The atomic write renames a temporary file in the same
		// directory: the directory must be the mount, not the file.
		m, ok := mountFor(c, out)
		if !ok {
			t.Fatalf("--output %q: its directory is not a mount", out)
		}
		v := volumes(&ds.Spec.Template.Spec)[m.Name]
		if v.HostPath == nil || v.HostPath.Path != NFDFeaturesDir || m.ReadOnly {
			t.Errorf("%s: want a writable hostPath %s, got %+v readOnly=%v", m.MountPath, NFDFeaturesDir, v.VolumeSource, m.ReadOnly)
		}
	}
}

// gate returns the initcontainer example's gate, its agent and the pod.
func gate(t *testing.T) (g, agent corev1.Container, pod *corev1.PodSpec) {
	t.Helper()
	for _, o := range load(t) {
		if o.File == "initcontainer-example.yaml" {
			p := o.Pod
			if len(p.InitContainers) != 1 || len(p.Containers) != 1 {
				t.Fatalf("want one initContainer and one agent, got %d and %d", len(p.InitContainers), len(p.Containers))
			}
			return p.InitContainers[0], p.Containers[0], p
		}
	}
	t.Fatal("initcontainer-example.yaml not loaded")
	panic("unreachable")
}

func TestInitContainerGate(t *testing.T) {
	g, agent, pod := gate(t)
	if !IsRetrobpf(g) || IsRetrobpf(agent) {
		t.Fatalf("the initContainer must be retrobpf and the agent something else: %s, %s", g.Image, agent.Image)
	}
	if g.Args[0] != "select" || !slices.Contains(g.Args, "--host") {
		t.Errorf("gate args %q: want select --host", g.Args)
	}
	vols := volumes(pod)
	env, ok := FlagValue(g.Args, "write-env")
	if !ok {
		t.Fatal("gate without --write-env: the agent cannot learn the variants")
	}
	gm, ok := mountFor(g, env)
	if !ok || gm.ReadOnly || vols[gm.Name].EmptyDir == nil {
		t.Fatalf("--write-env %s: its directory must be a writable emptyDir mount of the gate", env)
	}
	am, ok := mountFor(agent, env)
	if !ok || am.Name != gm.Name {
		t.Errorf("the agent does not mount the gate's %s at %s", gm.Name, path.Dir(env))
	} else if !am.ReadOnly {
		t.Errorf("the agent's mount of %s should be read-only", gm.Name)
	}
	// The object paths written are the gate's: the manifest's volume must
	// be at the same path in the agent.
	man, _ := FlagValue(g.Args, "manifest")
	var shared bool
	for _, m := range g.VolumeMounts {
		if !under(man, m.MountPath) {
			continue
		}
		for _, a := range agent.VolumeMounts {
			shared = shared || (a.Name == m.Name && a.MountPath == m.MountPath)
		}
		if vols[m.Name].ConfigMap == nil {
			t.Errorf("--manifest %s: volume %s is not the ConfigMap the README creates", man, m.Name)
		}
	}
	if !shared {
		t.Errorf("--manifest %s: not on a volume the agent mounts at the same path", man)
	}
}
