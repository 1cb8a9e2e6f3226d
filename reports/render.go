package reports

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Formats lists every format Render accepts.
var Formats = []string{"table", "json", "markdown", "junit", "html", "sarif", "csv"}

// ErrUnknownFormat is returned by Render for a format not in Formats.
var ErrUnknownFormat = errors.New("unknown report format")

// RenderOptions tune Render. The zero value is fine.
type RenderOptions struct {
	// SourceRoot is stripped from absolute source paths in SARIF, so
	// locations are relative to the repository (code scanning needs that).
	SourceRoot string
	// MarkdownBudget caps the markdown output in bytes (default
	// MarkdownLimit); logs are cut first, then per-kernel details.
	MarkdownBudget int
	// Color paints the table's verdicts (✔ green, ✗ red, others yellow);
	// set it only for a terminal, and never when NO_COLOR is set.
	Color bool
}

// Render writes r in format (one of Formats) with default options.
func Render(w io.Writer, r *Results, format string) error {
	return RenderOptions{}.Render(w, r, format)
}

// Render writes r in format (one of Formats).
func (o RenderOptions) Render(w io.Writer, r *Results, format string) error {
	switch format {
	case "table":
		return renderTable(w, r, o.Color)
	case "json":
		return r.Write(w)
	case "markdown":
		return renderMarkdown(w, r, o.MarkdownBudget)
	case "junit":
		return renderJUnit(w, r)
	case "html":
		return renderHTML(w, r)
	case "sarif":
		return renderSARIF(w, r, o.SourceRoot)
	case "csv":
		return renderCSV(w, r)
	}
	return fmt.Errorf("%w %q (want one of %s)", ErrUnknownFormat, format, strings.Join(Formats, ", "))
}
