package vmtest

import (
	"regexp"
	"strings"
)

// Console markers. A kernel with oops=panic prints the oops (or BUG) first
// and then "Kernel panic - not syncing: Fatal exception", so the oops
// markers are checked first.
var (
	oopsRE  = regexp.MustCompile(`(?m)(^|\]\s*)(Oops: .*|BUG: .*|kernel BUG at .*|general protection fault.*|Unable to handle kernel .*)$`)
	panicRE = regexp.MustCompile(`(?m)Kernel panic - not syncing: ?.*$`)
)

// classify returns the outcome the console proves (oops, kernel-panic) or
// "" when it shows neither, with the line that decided it.
func classify(console string) (Outcome, string) {
	console = strings.ReplaceAll(console, "\r", "")
	if m := oopsRE.FindStringSubmatch(console); m != nil {
		return OutcomeOops, strings.TrimSpace(m[2])
	}
	if m := panicRE.FindString(console); m != "" {
		return OutcomeKernelPanic, strings.TrimSpace(m)
	}
	return "", ""
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	s = strings.TrimRight(strings.ReplaceAll(s, "\r", ""), "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// crashContext is how many lines before the first oops/panic line the
// console excerpt keeps: the guest's last words explain most crashes.
const crashContext = 10

// consoleTail is the console excerpt kept in a Result: the last n lines,
// unless the kernel crashed and its backtrace would push the lines that led
// to the crash out of those n; then the excerpt starts a few lines before
// the first oops or panic line.
func consoleTail(console string, n int) string {
	s := strings.TrimRight(strings.ReplaceAll(console, "\r", ""), "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if !oopsRE.MatchString(l) && !panicRE.MatchString(l) {
			continue
		}
		start := max(i-crashContext, 0)
		if len(lines)-start <= n {
			break
		}
		return strings.Join(lines[start:start+n], "\n")
	}
	return lastLines(s, n)
}
