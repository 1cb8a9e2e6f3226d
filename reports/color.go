package reports

import "strings"

// ANSI colours of verdict cells. Every code is two digits so that every
// painted cell is the same number of bytes longer than its text: tabwriter
// counts bytes, and a column of cells all painted (the header and the
// cells without a verdict in the neutral colour) stays aligned.
const (
	colorGreen   = "32"
	colorRed     = "31"
	colorYellow  = "33"
	colorNeutral = "39" // the terminal's default foreground
)

// paint wraps s in an ANSI colour when on is set.
func paint(on bool, code, s string) string {
	if !on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// verdictColor picks the colour of a verdict cell by its glyph: ✔ loaded
// green, ✗ rejected red, ! error and – skipped yellow.
func verdictColor(cell string) string {
	switch {
	case strings.HasPrefix(cell, "✔"):
		return colorGreen
	case strings.HasPrefix(cell, "✗"):
		return colorRed
	case strings.HasPrefix(cell, "!"), strings.HasPrefix(cell, "–"):
		return colorYellow
	}
	return colorNeutral
}
