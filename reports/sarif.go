package reports

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// SARIF 2.1.0 for code scanning: one result per rejection site (variant,
// BPF program, triage class, source line), listing every kernel that
// rejected it. The location is the C source line from the object's line
// info, else the object file. A rejection selection predicted (a dead
// fallback on an old kernel) is a "note"; any other is an "error".

const (
	sarifSchema  = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	sarifVersion = "2.1.0"
	srcRoot      = "%SRCROOT%"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                   `json:"tool"`
	OriginalURIBaseIDs map[string]sarifArtifactLoc `json:"originalUriBaseIds,omitempty"`
	Results            []sarifResult               `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string       `json:"id"`
	Name             string       `json:"name"`
	ShortDescription sarifMessage `json:"shortDescription"`
	Help             sarifMessage `json:"help"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifMessage      `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifactLoc `json:"artifactLocation"`
	Region           *sarifRegion     `json:"region,omitempty"`
}

type sarifArtifactLoc struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine   int           `json:"startLine"`
	StartColumn int           `json:"startColumn,omitempty"`
	Snippet     *sarifMessage `json:"snippet,omitempty"`
}

var classHelp = map[TriageClass]string{
	TriageMissingHelper:         "The program calls a BPF helper this kernel does not have (for this program type). Use a fallback variant or guard the call.",
	TriageUnsupportedProgType:   "The kernel does not know this program type.",
	TriageUnsupportedAttachType: "The kernel does not support this attach type.",
	TriageMissingMapType:        "The program uses a map type this kernel does not have.",
	TriageMissingFeature:        "The program needs a kernel feature (global data, callbacks, …) this kernel does not have.",
	TriageNoKernelBTF:           "The kernel has no BTF; give external BTF (--btf, BTFHub) or use a non-CO-RE variant.",
	TriageCORERelocation:        "A CO-RE relocation could not be resolved against this kernel's types.",
	TriageLoop:                  "The verifier refused a loop (back-edge); bound it or use bpf_loop.",
	TriageTooComplex:            "The program is too large or too complex for this kernel's verifier limits.",
	TriageInvalidMemoryAccess:   "The program reads or writes memory the verifier cannot prove safe.",
	TriageUnreleasedReference:   "An acquired reference (socket, ring buffer record, …) is not released on every path.",
	TriageStack:                 "Stack misuse: out of bounds, uninitialised read, or over the 512-byte limit.",
	TriageGPLOnly:               "A GPL-only helper was called from a program without a GPL-compatible license.",
	TriageISA:                   "An instruction (opcode, ISA version) this kernel does not support.",
	TriagePermission:            "The load needs privileges or capabilities it did not have.",
	TriageLockdown:              "Kernel lockdown (lockdown=integrity or confidentiality) denies a helper the program calls.",
	TriageOther:                 "A verifier rejection retrobpf could not classify; see the log.",
}

type sarifGroup struct {
	key       string
	prog      *ProgramResult
	variant   *VariantResult
	triage    *Triage
	kernels   []string
	predicted bool // every kernel's rejection was predicted by selection
	obj       string
}

func renderSARIF(w io.Writer, r *Results, sourceRoot string) error {
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{
		Name: "retrobpf", Version: r.Tool.Version, InformationURI: "https://github.com/retrobpf/retrobpf",
	}}, Results: []sarifResult{}}
	ruleIndex := map[TriageClass]int{}
	for i, c := range TriageClasses {
		ruleIndex[c] = i
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
			ID: "retrobpf/" + string(c), Name: string(c),
			ShortDescription: sarifMessage{Text: "eBPF verifier rejection: " + string(c)},
			Help:             sarifMessage{Text: classHelp[c]},
		})
	}
	if sourceRoot != "" {
		abs, err := filepath.Abs(sourceRoot)
		if err == nil {
			run.OriginalURIBaseIDs = map[string]sarifArtifactLoc{srcRoot: {URI: "file://" + filepath.ToSlash(abs) + "/"}}
		}
	}

	manifestDir := path.Dir(filepath.ToSlash(r.Manifest.Path))
	var groups []*sarifGroup
	byKey := map[string]*sarifGroup{}
	for ki := range r.Kernels {
		k := &r.Kernels[ki]
		for vi := range k.Variants {
			v := &k.Variants[vi]
			for pi := range v.Programs {
				p := &v.Programs[pi]
				if p.Verdict != VerdictRejected {
					continue
				}
				t := p.Triage
				if t == nil {
					t = &Triage{Class: TriageOther, Message: p.Error}
				}
				loc := ""
				if t.Source.Located() {
					loc = t.Source.String()
				}
				key := strings.Join([]string{v.Program, v.Variant, p.Name, string(t.Class), loc}, "\x00")
				g := byKey[key]
				if g == nil {
					g = &sarifGroup{key: key, prog: p, variant: v, triage: t, predicted: true,
						obj: path.Join(manifestDir, filepath.ToSlash(v.Object))}
					byKey[key] = g
					groups = append(groups, g)
				}
				g.kernels = append(g.kernels, k.Ref)
				if k.predictedRejection(v) == "" {
					g.predicted = false
				}
			}
		}
	}
	for _, g := range groups {
		t := g.triage
		level := "error"
		if g.predicted {
			level = "note"
		}
		msg := fmt.Sprintf("%s/%s: BPF program %s rejected by the verifier on kernel %s: %s: %s",
			g.variant.Program, g.variant.Variant, g.prog.Name, strings.Join(g.kernels, ", "), t.Class, t.Message)
		if t.Hint != "" {
			msg += ". Hint: " + t.Hint
		}
		if g.predicted {
			msg += " (expected: selection picks another variant there)"
		}
		var loc sarifPhysical
		if s := t.Source; s.Located() {
			loc.ArtifactLocation = sarifURI(s.File, sourceRoot)
			loc.Region = &sarifRegion{StartLine: s.Line, StartColumn: s.Column}
			if s.Text != "" {
				loc.Region.Snippet = &sarifMessage{Text: s.Text}
			}
		} else {
			loc.ArtifactLocation = sarifURI(g.obj, sourceRoot)
			loc.Region = &sarifRegion{StartLine: 1}
		}
		sum := sha256.Sum256([]byte(g.key))
		props := map[string]any{"kernels": g.kernels, "program": g.variant.Program, "variant": g.variant.Variant,
			"bpf_program": g.prog.Name, "object": g.obj}
		if t.MinKernel != nil {
			props["min_kernel"] = t.MinKernel.String()
		}
		if t.Feature != "" {
			props["feature"] = t.Feature
		}
		run.Results = append(run.Results, sarifResult{
			RuleID: "retrobpf/" + string(t.Class), RuleIndex: ruleIndex[t.Class], Level: level,
			Message:             sarifMessage{Text: msg},
			Locations:           []sarifLocation{{PhysicalLocation: loc}},
			PartialFingerprints: map[string]string{"retrobpfRejection/v1": hex.EncodeToString(sum[:16])},
			Properties:          props,
		})
	}
	sort.SliceStable(run.Results, func(i, j int) bool { return run.Results[i].Level < run.Results[j].Level })
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}})
}

// sarifURI makes file relative to the source root (code scanning wants
// repository-relative paths); absolute paths outside it stay file:// URIs.
func sarifURI(file, sourceRoot string) sarifArtifactLoc {
	file = filepath.ToSlash(file)
	if path.IsAbs(file) {
		if sourceRoot != "" {
			if abs, err := filepath.Abs(sourceRoot); err == nil {
				if rel, err := filepath.Rel(abs, filepath.FromSlash(file)); err == nil && !strings.HasPrefix(rel, "..") {
					return sarifArtifactLoc{URI: filepath.ToSlash(rel), URIBaseID: srcRoot}
				}
			}
		}
		return sarifArtifactLoc{URI: "file://" + file}
	}
	return sarifArtifactLoc{URI: strings.TrimPrefix(path.Clean(file), "./"), URIBaseID: srcRoot}
}
