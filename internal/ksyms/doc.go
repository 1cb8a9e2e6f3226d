// Package ksyms reads kernel symbol tables: /proc/kallsyms and System.map,
// which share one format ("ADDRESS TYPE NAME [MODULE]" per line).
//
// A System.map lets a kernel that is not running answer what its
// /proc/kallsyms would: whether a kprobe target or a __ksym exists. Debian
// ships a one-line placeholder in its image packages (the real table is in
// the -dbg package); Read refuses it with ErrPlaceholder rather than
// calling every symbol absent.
package ksyms
