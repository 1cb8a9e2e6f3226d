package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// JUnit XML (the Ant/Jenkins dialect CI test reporters read): one
// <testsuite> per kernel, one <testcase> per program variant.
//
//   - loaded                               → pass
//   - rejected, selection expected it to   → <skipped> (a dead fallback on an
//     old kernel is information, not a failure)
//   - rejected otherwise                   → <failure type=class message=…>
//   - skipped                              → <skipped>
//   - error                                → <error>
//
// A kernel that did not finish (panic, oops, timeout, infra error) gets a
// "kernel" test case with an <error>; selection errors get a "selection"
// test case with a <failure>.

// JUnitTestSuites is the root element; exported so tests and tools can
// decode what Render wrote.
type JUnitTestSuites struct {
	XMLName  xml.Name         `xml:"testsuites"`
	Name     string           `xml:"name,attr"`
	Tests    int              `xml:"tests,attr"`
	Failures int              `xml:"failures,attr"`
	Errors   int              `xml:"errors,attr"`
	Skipped  int              `xml:"skipped,attr"`
	Suites   []JUnitTestSuite `xml:"testsuite"`
}

// JUnitTestSuite is one kernel.
type JUnitTestSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr,omitempty"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []JUnitProperty `xml:"properties>property"`
	Cases      []JUnitTestCase `xml:"testcase"`
}

// JUnitProperty is a name/value pair of a suite.
type JUnitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// JUnitTestCase is one program variant on one kernel.
type JUnitTestCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr,omitempty"`
	Failure   *JUnitProblem `xml:"failure"`
	Error     *JUnitProblem `xml:"error"`
	Skipped   *JUnitSkipped `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// JUnitProblem is a <failure> or <error>.
type JUnitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnitSkipped is a <skipped>.
type JUnitSkipped struct {
	Message string `xml:"message,attr"`
}

func renderJUnit(w io.Writer, r *Results) error {
	root := JUnitTestSuites{Name: "retrobpf " + r.Manifest.Path}
	for i := range r.Kernels {
		k := &r.Kernels[i]
		s := JUnitTestSuite{
			Name:      "kernel " + k.Ref,
			Timestamp: r.CreatedAt.UTC().Format("2006-01-02T15:04:05"),
			Properties: []JUnitProperty{
				{"release", k.Release}, {"version", k.Version.String()}, {"accel", string(k.Accel)},
				{"outcome", string(k.Outcome)}, {"btf_source", k.BTFSource},
			},
		}
		if k.WallSeconds != nil {
			s.Time = fmt.Sprintf("%.3f", *k.WallSeconds)
		}
		if k.Emulated {
			s.Properties = append(s.Properties, JUnitProperty{"note", TCGNote})
		}
		class := "retrobpf.kernel-" + k.Ref
		if k.Outcome != OutcomeOK && k.Outcome != OutcomeFailed {
			s.Cases = append(s.Cases, JUnitTestCase{Name: "kernel", Classname: class,
				Error: &JUnitProblem{Message: fmt.Sprintf("%s: %s", k.Outcome, k.Error), Type: string(k.Outcome), Text: k.ConsoleTail}})
		}
		if len(k.SelectionErrors) > 0 {
			s.Cases = append(s.Cases, JUnitTestCase{Name: "selection", Classname: class,
				Failure: &JUnitProblem{Message: k.SelectionErrors[0], Type: "selection", Text: strings.Join(k.SelectionErrors, "\n")}})
		}
		for j := range k.Variants {
			s.Cases = append(s.Cases, junitCase(k, &k.Variants[j], class))
		}
		for _, c := range s.Cases {
			s.Tests++
			switch {
			case c.Failure != nil:
				s.Failures++
			case c.Error != nil:
				s.Errors++
			case c.Skipped != nil:
				s.Skipped++
			}
		}
		root.Tests += s.Tests
		root.Failures += s.Failures
		root.Errors += s.Errors
		root.Skipped += s.Skipped
		root.Suites = append(root.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func junitCase(k *KernelResult, v *VariantResult, class string) JUnitTestCase {
	c := JUnitTestCase{Name: fmt.Sprintf("%s[%s]", v.Program, v.Variant), Classname: class}
	var out strings.Builder
	var verifUs int64
	fmt.Fprintf(&out, "object %s, verdict %s", v.Object, v.Verdict)
	if k.isSelected(v) {
		out.WriteString(", selected")
	}
	out.WriteString("\n")
	for _, p := range v.Programs {
		vs := p.Verifier
		fmt.Fprintf(&out, "%s (%s): %s insns=%s (%s) states=%s peak_states=%s stack=%s verification_us=%s\n",
			p.Name, p.Type, p.Verdict, optInt(vs.InsnsProcessed), dash(vs.InsnsSource), optInt(vs.TotalStates),
			optInt(vs.PeakStates), optInt(vs.StackDepth), optInt(vs.VerificationTimeUs))
		if vs.VerificationTimeUs != nil {
			verifUs += *vs.VerificationTimeUs
		}
	}
	if v.Overhead != nil {
		fmt.Fprintf(&out, "overhead per event: %s; run_time/run: %s; test_run/op: %s\n",
			overheadText(v), runTimeText(v.Overhead), testRunText(v.Overhead))
	}
	if verifUs > 0 {
		c.Time = fmt.Sprintf("%.6f", float64(verifUs)/1e6)
	}
	switch v.Verdict {
	case VerdictLoaded:
	case VerdictSkipped:
		c.Skipped = &JUnitSkipped{Message: dash(v.Reason)}
	case VerdictRejected:
		p, t := v.triage()
		msg, typ, text := "rejected", "other", ""
		if p != nil {
			msg = p.Name + ": " + p.Error
			text = p.Verifier.LogExcerpt
		}
		if t != nil {
			typ = string(t.Class)
			msg = fmt.Sprintf("%s: %s: %s", p.Name, t.Class, t.Message)
			if t.Hint != "" {
				msg += " (hint: " + t.Hint + ")"
			}
			if t.Source != nil {
				text = fmt.Sprintf("%s: %s\n%s", t.Source, t.Source.Text, text)
			}
		}
		if why := k.predictedRejection(v); why != "" {
			c.Skipped = &JUnitSkipped{Message: "not for this kernel: " + why + "; verifier: " + msg}
		} else {
			c.Failure = &JUnitProblem{Message: msg, Type: typ, Text: text}
		}
	default:
		msg := v.Reason
		if p, _ := v.triage(); p != nil && p.Error != "" {
			msg = p.Name + ": " + p.Error
		}
		c.Error = &JUnitProblem{Message: dash(msg), Type: string(v.Verdict)}
	}
	c.SystemOut = out.String()
	return c
}
