// Package inputfile opens the files a user names on the command line
// (objects, manifests, probe reports, results, BTF, os-release) so that a
// bad one costs one line, never a hang or an out-of-memory crash: only
// regular files are read (a FIFO given as a manifest would otherwise block
// forever, and /dev/zero would be read until the process dies), and each
// kind of input has a size cap.
package inputfile
