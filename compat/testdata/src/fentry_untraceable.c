// Two fentry programs for one kernel (Debian 6.1): blk_account_io_done is
// a BTF FUNC there but ftrace cannot patch it (not in
// available_filter_functions), so the program verifies and then fails to
// attach; do_unlinkat is traceable.
#include "common.h"

SEC("fentry/blk_account_io_done")
int on_io_done(unsigned long long *ctx)
{
	return 0;
}

SEC("fentry/do_unlinkat")
int on_unlinkat(unsigned long long *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
