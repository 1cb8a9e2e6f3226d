// Package mdtable escapes text for GitHub-flavoured Markdown tables, the
// one escaper every Markdown renderer of retrobpf uses (check, select,
// probe, features and the reports).
package mdtable

import "strings"

// cellReplacer: a pipe would end the cell, a newline the row; < and >
// would open HTML in renderers that allow it (GitHub's job summary does).
var cellReplacer = strings.NewReplacer("|", `\|`, "\r", "", "\n", "<br>", "<", "&lt;", ">", "&gt;")

// Cell makes s safe inside one table cell.
func Cell(s string) string { return cellReplacer.Replace(s) }
