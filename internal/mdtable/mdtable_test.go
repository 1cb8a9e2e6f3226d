package mdtable

import "testing"

func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		"plain":          "plain",
		"a|b":            `a\|b`,
		"two\nlines\r\n": "two<br>lines<br>",
		"<script>":       "&lt;script&gt;",
	} {
		if got := Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}
