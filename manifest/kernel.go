package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/retrobpf/retrobpf/internal/kversion"
)

// KernelConstraint is a conjunction of version comparisons such as
// ">=5.8" or ">=4.19, <5.10" (commas or spaces separate clauses).
type KernelConstraint struct {
	Text    string
	clauses []kernelClause
}

type kernelClause struct {
	op string
	v  kversion.Version
}

var errBadConstraint = errors.New("bad kernel constraint")

// ParseKernelConstraint parses a constraint; operators are >=, >, <=, <,
// == (or =) and !=.
func ParseKernelConstraint(s string) (*KernelConstraint, error) {
	c := &KernelConstraint{Text: strings.TrimSpace(s)}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	// Allow ">= 5.8" (operator and version as separate fields).
	var parts []string
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		if isOperator(f) && i+1 < len(fields) {
			f += fields[i+1]
			i++
		}
		parts = append(parts, f)
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: empty (want e.g. \">=5.8\")", errBadConstraint)
	}
	for _, p := range parts {
		op := ""
		for _, o := range []string{">=", "<=", "==", "!=", ">", "<", "="} {
			if strings.HasPrefix(p, o) {
				op = o
				break
			}
		}
		if op == "" {
			return nil, fmt.Errorf("%w: %q has no operator (want >=, >, <=, <, == or !=, e.g. \">=5.8\")", errBadConstraint, p)
		}
		vs := strings.TrimSpace(strings.TrimPrefix(p, op))
		v, err := kversion.Parse(vs)
		if err != nil || v.Suffix != "" {
			return nil, fmt.Errorf("%w: %q is not a kernel version (want MAJOR.MINOR[.PATCH])", errBadConstraint, vs)
		}
		if op == "=" {
			op = "=="
		}
		c.clauses = append(c.clauses, kernelClause{op: op, v: v})
	}
	return c, nil
}

func isOperator(s string) bool {
	switch s {
	case ">=", "<=", "==", "!=", ">", "<", "=":
		return true
	}
	return false
}

// Match reports whether v satisfies every clause.
func (c *KernelConstraint) Match(v kversion.Version) bool {
	for _, cl := range c.clauses {
		d := v.Compare(cl.v)
		ok := false
		switch cl.op {
		case ">=":
			ok = d >= 0
		case ">":
			ok = d > 0
		case "<=":
			ok = d <= 0
		case "<":
			ok = d < 0
		case "==":
			ok = d == 0
		case "!=":
			ok = d != 0
		}
		if !ok {
			return false
		}
	}
	return true
}

func (c *KernelConstraint) String() string { return c.Text }

// MarshalJSON writes the constraint as written.
func (c *KernelConstraint) MarshalJSON() ([]byte, error) { return json.Marshal(c.Text) }
