// Shared includes for the hostile test objects. Build with `go generate`
// (see build.sh): clang -O2 -g -target bpf.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
