// Package bpf is retrobpf's bundled suite of observability and network
// programs, each compiled in variants from newest-kernel to 4.19-safe:
// execsnoop, opensnoop, runqlat, tcpconnect, biolatency (tracing) and
// xdpfilter, tcclass (networking, measurable with BPF_PROG_TEST_RUN).
//
// The C sources live in one directory per program; bpf/include holds the
// shared headers and a trimmed vmlinux.h (see include/gen-vmlinux.sh).
// `go generate` (make bpf) compiles every variant with bpf2go into
// <program>_<variant>_bpfel.o plus Go bindings; both are committed, so
// neither users nor CI need clang. suite.yaml is the manifest that describes
// every program, its variants in preference order and its trigger.
//
// Manifest, Object, FS and LoadObjectSpec give the embedded manifest and
// objects to loaders that do not go through the generated bindings, and
// Attach attaches a tracing program to the hook its section names.
package bpf
