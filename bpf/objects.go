package bpf

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"

	"github.com/cilium/ebpf"
)

// ManifestName is the file name of the suite's manifest next to the objects.
const ManifestName = "suite.yaml"

//go:embed suite.yaml *_bpfel.o
var files embed.FS

// Manifest returns the embedded suite.yaml: every program, its variants in
// preference order and its trigger. Object paths in it are relative to the
// manifest and resolve with Object.
func Manifest() []byte {
	b, err := files.ReadFile(ManifestName)
	if err != nil {
		panic(err) // embedded at build time
	}
	return b
}

// Object returns the embedded compiled object with the given file name, as
// the manifest names it (e.g. "execsnoop_modern_bpfel.o").
func Object(name string) ([]byte, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("bpf object %q: %w", name, fs.ErrNotExist)
	}
	return b, nil
}

// FS returns the manifest and every object as a file system, laid out as in
// the source tree, so a manifest loader can resolve relative object paths.
func FS() fs.FS { return files }

// LoadObjectSpec parses an embedded object into a CollectionSpec.
func LoadObjectSpec(name string) (*ebpf.CollectionSpec, error) {
	b, err := Object(name)
	if err != nil {
		return nil, err
	}
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("bpf object %q: %w", name, err)
	}
	return spec, nil
}
