package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/objload"
	"gopkg.in/yaml.v3"
)

// manifestDecoder walks the YAML node tree by hand so every error carries
// the line it is about, and collects all of them.
type manifestDecoder struct {
	file     string
	problems []Problem
}

func (d *manifestDecoder) errorf(line int, format string, args ...any) {
	d.problems = append(d.problems, Problem{Line: line, Message: fmt.Sprintf(format, args...)})
}

func (d *manifestDecoder) err() error {
	if len(d.problems) == 0 {
		return nil
	}
	return &ParseError{File: d.file, Problems: d.problems}
}

var (
	yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	nameRE     = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
	packetRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
)

func (d *manifestDecoder) decode(data []byte) *Manifest {
	m := &Manifest{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.errorf(1, "empty manifest (want apiVersion: %s and programs:)", APIVersion)
			return m
		}
		d.yamlError(err)
		return m
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.errorf(extra.Line, "more than one YAML document")
	} else if !errors.Is(err, io.EOF) {
		d.yamlError(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	fields := d.mapping(root, "manifest", map[string]bool{"apiVersion": true, "programs": true})
	if fields == nil {
		return m
	}
	if n := fields["apiVersion"]; n != nil {
		m.APIVersion = d.str(n, "apiVersion")
		if m.APIVersion != "" && m.APIVersion != APIVersion {
			d.errorf(n.Line, "apiVersion %q is not supported (want %s)", m.APIVersion, APIVersion)
		}
	}
	n := fields["programs"]
	if n == nil {
		return m
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n.Line, "programs must be a list")
		return m
	}
	if len(n.Content) == 0 {
		d.errorf(n.Line, "programs is empty")
	}
	seen := map[string]int{}
	for _, pn := range n.Content {
		p, ok := d.program(pn)
		if !ok {
			continue
		}
		if first, dup := seen[p.Name]; dup {
			d.errorf(pn.Line, "duplicate program name %q (first at line %d)", p.Name, first)
			continue
		}
		seen[p.Name] = pn.Line
		m.Programs = append(m.Programs, p)
	}
	return m
}

func (d *manifestDecoder) yamlError(err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(line)
		if mm := yamlLineRE.FindStringSubmatch(line); mm != nil {
			n, _ := strconv.Atoi(mm[1])
			d.errorf(n, "YAML syntax: %s", mm[2])
			continue
		}
		if line != "" && line != "yaml: unmarshal errors:" {
			d.errorf(0, "YAML syntax: %s", strings.TrimPrefix(line, "yaml: "))
		}
	}
}

// mapping checks that n is a mapping with only allowed keys, required
// keys marked true, and no duplicates; it returns key → value node.
func (d *manifestDecoder) mapping(n *yaml.Node, what string, keys map[string]bool) map[string]*yaml.Node {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, "%s must be a mapping", what)
		return nil
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		if _, ok := keys[k.Value]; !ok {
			d.errorf(k.Line, "unknown key %q in %s (known: %s)", k.Value, what, keyList(keys))
			continue
		}
		if _, dup := out[k.Value]; dup {
			d.errorf(k.Line, "duplicate key %q in %s", k.Value, what)
			continue
		}
		out[k.Value] = v
	}
	for k, required := range keys {
		if required && out[k] == nil {
			d.errorf(n.Line, "%s: missing %s", what, k)
		}
	}
	return out
}

func keyList(keys map[string]bool) string {
	var ks []string
	for k := range keys {
		ks = append(ks, k)
	}
	sortStrings(ks)
	return strings.Join(ks, ", ")
}

func (d *manifestDecoder) str(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(n.Line, "%s must be a string", what)
		return ""
	}
	if n.Value == "" {
		d.errorf(n.Line, "%s is empty", what)
	}
	return n.Value
}

func (d *manifestDecoder) integer(n *yaml.Node, what string, lo, hi int) int {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		d.errorf(n.Line, "%s must be an integer", what)
		return 0
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil || v < lo || v > hi {
		d.errorf(n.Line, "%s %s is out of range [%d, %d]", what, n.Value, lo, hi)
		return 0
	}
	return v
}

func (d *manifestDecoder) strList(n *yaml.Node, what string) []string {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n.Line, "%s must be a list", what)
		return nil
	}
	if len(n.Content) == 0 {
		d.errorf(n.Line, "%s is empty (leave it out instead)", what)
	}
	var out []string
	seen := map[string]bool{}
	for _, e := range n.Content {
		s := d.str(e, what+" entry")
		if s == "" {
			continue
		}
		if seen[s] {
			d.errorf(e.Line, "%s lists %q twice", what, s)
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}

func (d *manifestDecoder) name(n *yaml.Node, what string) string {
	s := d.str(n, what)
	if s != "" && !nameRE.MatchString(s) {
		d.errorf(n.Line, "%s %q: use letters, digits, '_', '-' and '.'", what, s)
	}
	return s
}

func (d *manifestDecoder) program(n *yaml.Node) (Program, bool) {
	p := Program{Line: n.Line}
	label := "program"
	if name := peekName(n); name != "" {
		label = "program " + name
	}
	f := d.mapping(n, label, map[string]bool{"name": true, "description": false, "trigger": true, "variants": true})
	if f == nil {
		return p, false
	}
	what := "program"
	if v := f["name"]; v != nil {
		p.Name = d.name(v, "program name")
		what = "program " + p.Name
	}
	if v := f["description"]; v != nil {
		p.Description = d.str(v, what+": description")
	}
	if v := f["trigger"]; v != nil {
		p.Trigger = d.trigger(v, what)
	}
	v := f["variants"]
	if v == nil {
		return p, p.Name != ""
	}
	if v.Kind != yaml.SequenceNode {
		d.errorf(v.Line, "%s: variants must be a list", what)
		return p, p.Name != ""
	}
	if len(v.Content) == 0 {
		d.errorf(v.Line, "%s: variants is empty", what)
	}
	seen := map[string]int{}
	for _, vn := range v.Content {
		va, ok := d.variant(vn, what)
		if !ok {
			continue
		}
		if first, dup := seen[va.Name]; dup {
			d.errorf(vn.Line, "%s: duplicate variant name %q (first at line %d)", what, va.Name, first)
			continue
		}
		seen[va.Name] = vn.Line
		p.Variants = append(p.Variants, va)
	}
	return p, p.Name != ""
}

func (d *manifestDecoder) trigger(n *yaml.Node, what string) Trigger {
	t := Trigger{Line: n.Line}
	f := d.mapping(n, what+": trigger", map[string]bool{"kind": true, "count": false, "path": false, "args": false, "port": false, "duration": false, "packet": false})
	if f == nil {
		return t
	}
	kn := f["kind"]
	if kn == nil {
		return t
	}
	t.Kind = TriggerKind(d.str(kn, what+": trigger kind"))
	allowed, ok := triggerFields[t.Kind]
	if !ok {
		if t.Kind != "" {
			d.errorf(kn.Line, "%s: trigger kind %q is unknown (want one of %s)", what, t.Kind, kindList())
		}
		return t
	}
	if v := f["count"]; v != nil {
		t.Count = d.integer(v, what+": trigger count", 1, 1<<20)
	}
	for _, k := range []string{"path", "args", "port", "duration", "packet"} {
		v := f[k]
		if v == nil {
			continue
		}
		if !slices.Contains(allowed, k) {
			d.errorf(v.Line, "%s: trigger %s does not apply to kind %s", what, k, t.Kind)
			continue
		}
		switch k {
		case "path":
			t.Path = d.str(v, what+": trigger path")
		case "args":
			t.Args = d.strList(v, what+": trigger args")
		case "port":
			t.Port = d.integer(v, what+": trigger port", 0, 65535)
		case "duration":
			s := d.str(v, what+": trigger duration")
			if s == "" {
				continue
			}
			dur, err := time.ParseDuration(s)
			if err != nil || dur <= 0 {
				d.errorf(v.Line, "%s: trigger duration %q is not a positive duration (e.g. 10ms)", what, s)
				continue
			}
			t.Duration = dur
		case "packet":
			t.Packet = d.str(v, what+": trigger packet")
			if t.Packet != "" && !packetRE.MatchString(t.Packet) {
				d.errorf(v.Line, "%s: trigger packet %q: want a packet kind such as ipv4-tcp", what, t.Packet)
			}
		}
	}
	if t.Kind == TriggerCommand {
		// The command is the user's: only they know how many events one
		// run of it makes, and the per-event cost divides by that.
		if t.Path == "" {
			d.errorf(n.Line, "%s: trigger kind command needs path (a static binary, relative to the manifest)", what)
		}
		if t.Count == 0 {
			d.errorf(n.Line, "%s: trigger kind command needs count (the events one run of the command makes)", what)
		}
	}
	return t
}

func kindList() string {
	var s []string
	for _, k := range TriggerKinds {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

func (d *manifestDecoder) variant(n *yaml.Node, prog string) (Variant, bool) {
	v := Variant{Line: n.Line}
	label := prog + ", variant"
	if name := peekName(n); name != "" {
		label += " " + name
	}
	f := d.mapping(n, label, map[string]bool{"name": true, "object": true, "programs": false, "requires": false, "kernel": false, "description": false, "set": false, "maps": false})
	if f == nil {
		return v, false
	}
	what := prog + ", variant"
	if x := f["name"]; x != nil {
		v.Name = d.name(x, what+" name")
		what = prog + ", variant " + v.Name
	}
	if x := f["object"]; x != nil {
		v.Object = d.str(x, what+": object")
	}
	if x := f["programs"]; x != nil {
		v.Programs = d.strList(x, what+": programs")
	}
	if x := f["requires"]; x != nil {
		for i, id := range d.strList(x, what+": requires") {
			line := x.Line
			if i < len(x.Content) {
				line = x.Content[i].Line
			}
			if _, err := compat.Lookup(compat.FeatureID(id)); err != nil {
				d.errorf(line, "%s: requires unknown feature %q%s", what, id, suggest(compat.FeatureID(id)))
				continue
			}
			v.Requires = append(v.Requires, compat.FeatureID(id))
			v.requiresLines = append(v.requiresLines, line)
		}
	}
	if x := f["kernel"]; x != nil {
		s := d.str(x, what+": kernel")
		if s != "" {
			c, err := ParseKernelConstraint(s)
			if err != nil {
				d.errorf(x.Line, "%s: kernel: %v", what, err)
			} else {
				v.Kernel, v.kernelLine = c, x.Line
			}
		}
	}
	if x := f["description"]; x != nil {
		v.Description = d.str(x, what+": description")
	}
	if x := f["set"]; x != nil {
		v.Set = d.settings(x, what+": set")
	}
	if x := f["maps"]; x != nil {
		v.Maps = d.mapSizes(x, what+": maps")
	}
	return v, v.Name != ""
}

// pairs returns the key/value nodes of a mapping with free-form keys.
func (d *manifestDecoder) pairs(n *yaml.Node, what string) [][2]*yaml.Node {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, "%s must be a mapping", what)
		return nil
	}
	var out [][2]*yaml.Node
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			d.errorf(k.Line, "%s: keys must be names", what)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(k.Line, "%s: %s is given twice (first at line %d)", what, k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out
}

// settings reads `set: {VARIABLE: VALUE}`: the values stay text, typed
// from the object's BTF when the variant is analysed or loaded.
func (d *manifestDecoder) settings(n *yaml.Node, what string) map[string]string {
	out := map[string]string{}
	for _, kv := range d.pairs(n, what) {
		if kv[1].Kind != yaml.ScalarNode || kv[1].Tag == "!!null" {
			d.errorf(kv[1].Line, "%s: %s must be a number, a bool or a string", what, kv[0].Value)
			continue
		}
		out[kv[0].Value] = kv[1].Value
	}
	return out
}

// mapSizes reads `maps: {MAP: {max_entries: N, value_size: N}}`.
func (d *manifestDecoder) mapSizes(n *yaml.Node, what string) map[string]objload.MapSize {
	out := map[string]objload.MapSize{}
	for _, kv := range d.pairs(n, what) {
		w := what + " " + kv[0].Value
		f := d.mapping(kv[1], w, map[string]bool{"max_entries": false, "value_size": false})
		if f == nil {
			continue
		}
		var size objload.MapSize
		if x := f["max_entries"]; x != nil {
			size.MaxEntries = uint32(d.integer(x, w+": max_entries", 1, math.MaxInt32))
		}
		if x := f["value_size"]; x != nil {
			size.ValueSize = uint32(d.integer(x, w+": value_size", 1, 1<<20))
		}
		if size == (objload.MapSize{}) {
			d.errorf(kv[1].Line, "%s: give max_entries, value_size or both", w)
			continue
		}
		out[kv[0].Value] = size
	}
	return out
}

// peekName returns the scalar "name" of a mapping node, for messages
// about the mapping itself.
func peekName(n *yaml.Node) string {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "name" && n.Content[i+1].Kind == yaml.ScalarNode {
			return n.Content[i+1].Value
		}
	}
	return ""
}

// suggest names the closest catalog ID for a typo, if one is close.
func suggest(id compat.FeatureID) string {
	best, bestD := compat.FeatureID(""), 4
	for _, f := range compat.Catalog() {
		if dd := editDistance(string(id), string(f.ID), bestD); dd < bestD {
			best, bestD = f.ID, dd
		}
	}
	if best == "" {
		return " (see retrobpf features)"
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance, giving up above limit.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func sortStrings(s []string) { sort.Strings(s) }
