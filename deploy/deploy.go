package deploy

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Files are the manifests of this directory.
//
//go:embed *.yaml
var Files embed.FS

// NFDFeaturesDir is node-feature-discovery's directory of local feature
// files on a node (its worker's default -features.d, mounted from the host).
const NFDFeaturesDir = "/etc/kubernetes/node-feature-discovery/features.d"

// Object is one YAML document of a manifest, decoded strictly.
type Object struct {
	File string // file name under deploy/
	Doc  int    // document index in the file, from 0
	Kind string
	Name string
	// Value is *batchv1.Job, *appsv1.DaemonSet or *appsv1.Deployment.
	Value any
	// Pod is the object's pod template spec.
	Pod *corev1.PodSpec
}

var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

// Load decodes every document of every manifest in fsys (Files for the
// real ones). Unknown fields, duplicate keys, an unknown kind or a kind
// with a foreign apiVersion are errors.
func Load(fsys fs.FS) ([]Object, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, err
	}
	var out []Object
	for _, name := range names {
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		for i, doc := range docSep.Split(string(raw), -1) {
			if isEmptyDoc(doc) {
				continue
			}
			o, err := decode([]byte(doc))
			if err != nil {
				return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
			}
			o.File, o.Doc = name, i
			out = append(out, o)
		}
	}
	return out, nil
}

func isEmptyDoc(doc string) bool {
	for _, l := range strings.Split(doc, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

func decode(doc []byte) (Object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return Object{}, err
	}
	var o Object
	var want string
	switch tm.Kind {
	case "Job":
		v := &batchv1.Job{}
		want, o.Value, o.Pod = "batch/v1", v, &v.Spec.Template.Spec
	case "DaemonSet":
		v := &appsv1.DaemonSet{}
		want, o.Value, o.Pod = "apps/v1", v, &v.Spec.Template.Spec
	case "Deployment":
		v := &appsv1.Deployment{}
		want, o.Value, o.Pod = "apps/v1", v, &v.Spec.Template.Spec
	default:
		return Object{}, fmt.Errorf("kind %q: want Job, DaemonSet or Deployment", tm.Kind)
	}
	if tm.APIVersion != want {
		return Object{}, fmt.Errorf("%s: apiVersion %q, want %q", tm.Kind, tm.APIVersion, want)
	}
	// YAMLToJSONStrict refuses duplicate keys; sigs.k8s.io/json decodes
	// as the API server does: field names case-sensitively (encoding/json
	// alone would take "sizelimit" for sizeLimit), unknown fields refused.
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return Object{}, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	strict, err := kjson.UnmarshalStrict(j, o.Value, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err == nil && len(strict) > 0 {
		err = errors.Join(strict...)
	}
	if err != nil {
		return Object{}, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	o.Kind = tm.Kind
	o.Name = o.Value.(metav1.Object).GetName()
	return o, nil
}

// IsRetrobpf reports whether a container runs the retrobpf image (any
// registry or tag: the last path element of the image is "retrobpf").
func IsRetrobpf(c corev1.Container) bool {
	name, _, _ := strings.Cut(path.Base(c.Image), "@")
	name, _, _ = strings.Cut(name, ":")
	return name == "retrobpf"
}

// Container is one container of a manifest's pod, init containers first.
type Container struct {
	Object *Object
	Init   bool
	corev1.Container
}

// Containers lists the containers of objs, init containers first.
func Containers(objs []Object) []Container {
	var out []Container
	for i := range objs {
		o := &objs[i]
		for _, c := range o.Pod.InitContainers {
			out = append(out, Container{o, true, c})
		}
		for _, c := range o.Pod.Containers {
			out = append(out, Container{o, false, c})
		}
	}
	return out
}

// FlagValue returns the value of the last --name VALUE or --name=VALUE in
// args, and whether it was there.
func FlagValue(args []string, name string) (string, bool) {
	v, ok := "", false
	for i, a := range args {
		switch {
		case a == "--"+name && i+1 < len(args):
			v, ok = args[i+1], true
		case strings.HasPrefix(a, "--"+name+"="):
			v, ok = strings.TrimPrefix(a, "--"+name+"="), true
		}
	}
	return v, ok
}

// ReplaceFlag returns a copy of args with the value of --name set to value.
func ReplaceFlag(args []string, name, value string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		switch {
		case a == "--"+name && i+1 < len(out):
			out[i+1] = value
		case strings.HasPrefix(a, "--"+name+"="):
			out[i] = "--" + name + "=" + value
		}
	}
	return out
}
