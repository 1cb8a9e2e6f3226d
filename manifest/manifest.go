package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/inputfile"
	"github.com/retrobpf/retrobpf/internal/objload"
)

// APIVersion is the only apiVersion Load accepts.
const APIVersion = "retrobpf/v1"

// ErrInvalid wraps every manifest error (syntax, unknown key,
// missing object, duplicate name, unknown feature, bad constraint).
var ErrInvalid = errors.New("invalid manifest")

// Manifest lists programs and, per program, variants in preference order.
// Its format is documented by manifest/manifest.schema.json.
type Manifest struct {
	APIVersion string    `json:"apiVersion"`
	Programs   []Program `json:"programs"`
	// Path is the file the manifest was loaded from; object paths are
	// relative to its directory.
	Path string `json:"-"`
	// Dir is Path's directory, absolute: objects resolve against it.
	Dir string `json:"-"`
	// Raw is the manifest file as read, shipped into VMs so the guest
	// selects from the same bytes; SHA256 is its digest, kept for reports.
	Raw    []byte `json:"-"`
	SHA256 string `json:"-"`
}

// Program is one logical program with its variants.
type Program struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Trigger     Trigger   `json:"trigger"`
	Variants    []Variant `json:"variants"`
	Line        int       `json:"-"` // line in the manifest, for messages
}

// Variant is one way to build a program: an object and the programs in it
// to load and attach.
type Variant struct {
	Name string `json:"name"`
	// Object is the path as written in the manifest; ObjectPath is it
	// resolved against the manifest's directory.
	Object     string `json:"object"`
	ObjectPath string `json:"object_path"`
	// Programs to load and attach from the object; empty means all.
	Programs []string `json:"programs,omitempty"`
	// Requires are extra feature IDs, added to what Analyze derives.
	Requires []compat.FeatureID `json:"requires,omitempty"`
	// Kernel is an optional version constraint — a last resort, since
	// distro kernels backport features and version checks lie.
	Kernel      *KernelConstraint `json:"kernel,omitempty"`
	Description string            `json:"description,omitempty"`
	// Set gives global variables their values before the load, as the
	// program's own loader would (skel->rodata->x = v): analysis, selection
	// and loads all see them, so code they rule out is no requirement.
	Set map[string]string `json:"set,omitempty"`
	// Maps resizes maps before the load, as the loader would.
	Maps map[string]objload.MapSize `json:"maps,omitempty"`
	Line int                        `json:"-"`
	// requiresLines are the manifest lines of Requires, for messages.
	requiresLines []int
	kernelLine    int
}

// Settings returns what the loader sets on the variant's object.
func (v *Variant) Settings() objload.Settings {
	return objload.Settings{Variables: v.Set, Maps: v.Maps}
}

// TriggerKind names the workload that makes a program fire.
type TriggerKind string

// Trigger kinds the matrix knows how to run.
const (
	TriggerExec    TriggerKind = "exec"
	TriggerOpen    TriggerKind = "open"
	TriggerSleep   TriggerKind = "sleep"
	TriggerConnect TriggerKind = "connect"
	TriggerFsync   TriggerKind = "fsync"
	TriggerTestRun TriggerKind = "test-run"
	// TriggerCommand runs the user's own static binary (path, relative
	// to the manifest, shipped into the VM) with args, once per sample;
	// count says how many events one run makes.
	TriggerCommand TriggerKind = "command"
)

// TriggerKinds lists every valid kind.
var TriggerKinds = []TriggerKind{TriggerExec, TriggerOpen, TriggerSleep, TriggerConnect, TriggerFsync, TriggerTestRun, TriggerCommand}

// Trigger is the workload that fires a program. Which fields apply depends
// on Kind: Path for exec/open/fsync, Path and Args for command, Port for
// connect (0 = pick one), Duration for sleep, Packet for test-run.
type Trigger struct {
	Kind  TriggerKind `json:"kind"`
	Count int         `json:"count,omitempty"` // events per sample; 0 = the runner's default
	Path  string      `json:"path,omitempty"`
	Args  []string    `json:"args,omitempty"` // command: its arguments
	Port  int         `json:"port,omitempty"`
	// Duration is a Go duration ("10ms").
	Duration time.Duration `json:"duration,omitempty"`
	Packet   string        `json:"packet,omitempty"`
	Line     int           `json:"-"`
}

// triggerFields says which optional keys each kind accepts.
var triggerFields = map[TriggerKind][]string{
	TriggerExec:    {"path"},
	TriggerOpen:    {"path"},
	TriggerFsync:   {"path"},
	TriggerSleep:   {"duration"},
	TriggerConnect: {"port"},
	TriggerTestRun: {"packet"},
	TriggerCommand: {"path", "args"},
}

// Program returns the named program, or nil.
func (m *Manifest) Program(name string) *Program {
	for i := range m.Programs {
		if m.Programs[i].Name == name {
			return &m.Programs[i]
		}
	}
	return nil
}

// Load reads and validates a manifest file: unknown keys, missing
// objects, duplicate program or variant names, unknown feature IDs, bad
// kernel constraints and bad triggers are errors that name the file and
// line, and wrap ErrInvalid.
func Load(path string) (*Manifest, error) {
	// A FIFO or device named as the manifest is refused at once rather
	// than read forever.
	data, err := inputfile.Read(path, inputfile.MaxDocument)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err) // err names the file
	}
	m, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	if err := m.checkObjects(); err != nil {
		return nil, err
	}
	return m, nil
}

// Parse parses and validates manifest YAML without touching the
// file system; path names the source in messages and anchors object paths.
// Load also checks that the objects exist.
func Parse(data []byte, path string) (*Manifest, error) {
	d := &manifestDecoder{file: path}
	m := d.decode(data)
	if err := d.err(); err != nil {
		return nil, err
	}
	m.Path = path
	m.Raw = data
	sum := sha256.Sum256(data)
	m.SHA256 = hex.EncodeToString(sum[:])
	dir := filepath.Dir(path)
	if abs, err := filepath.Abs(dir); err == nil {
		m.Dir = abs
	}
	for i := range m.Programs {
		if t := &m.Programs[i].Trigger; t.Kind == TriggerCommand && !filepath.IsAbs(t.Path) {
			t.Path = filepath.Join(dir, t.Path)
		}
		for j := range m.Programs[i].Variants {
			v := &m.Programs[i].Variants[j]
			v.ObjectPath = v.Object
			if !filepath.IsAbs(v.Object) {
				v.ObjectPath = filepath.Join(dir, v.Object)
			}
		}
	}
	return m, nil
}

func (m *Manifest) checkObjects() error {
	d := &manifestDecoder{file: m.Path}
	for _, p := range m.Programs {
		if t := p.Trigger; t.Kind == TriggerCommand {
			switch st, err := os.Stat(t.Path); {
			case err != nil:
				d.errorf(t.Line, "program %s: trigger command %s: %v", p.Name, t.Path, unwrapPathError(err))
			case !st.Mode().IsRegular() || st.Mode()&0o111 == 0:
				d.errorf(t.Line, "program %s: trigger command %s is not an executable file", p.Name, t.Path)
			}
		}
		for _, v := range p.Variants {
			st, err := os.Stat(v.ObjectPath)
			switch {
			case err != nil:
				d.errorf(v.Line, "program %s, variant %s: object %s: %v", p.Name, v.Name, v.Object, unwrapPathError(err))
			case st.IsDir():
				d.errorf(v.Line, "program %s, variant %s: object %s is a directory", p.Name, v.Name, v.Object)
			}
		}
	}
	return d.err()
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ParseError lists every problem found in a manifest. Its message is
// the first problem (file:line: …) and how many more there are.
type ParseError struct {
	File     string
	Problems []Problem
}

// Problem is one error at one line.
type Problem struct {
	Line    int
	Message string
}

func (p Problem) String() string { return fmt.Sprintf("line %d: %s", p.Line, p.Message) }

func (e *ParseError) Error() string {
	if len(e.Problems) == 0 {
		return e.File + ": invalid manifest"
	}
	first := e.Problems[0]
	loc := e.File
	if first.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, first.Line)
	}
	msg := loc + ": " + first.Message
	if n := len(e.Problems) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more error%s)", n, plural(n))
	}
	return msg
}

// Detail is every problem, one per line, as file:line: message.
func (e *ParseError) Detail() string {
	var b strings.Builder
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "%s:%d: %s\n", e.File, p.Line, p.Message)
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ParseError) Unwrap() error { return ErrInvalid }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
