// Package overhead measures what an attached BPF program costs at run time:
//
//   - per event: a trigger workload (exec, open, sleep, connect, fsync) runs
//     N events with and without the program attached, interleaved over at
//     least six samples; the added cost per event is the median of the
//     paired differences with a 95 % order-statistics confidence interval;
//   - run time: bpf stats run_time_ns/run_cnt (BPF_ENABLE_STATS on 5.8+,
//     the kernel.bpf_stats_enabled sysctl on 5.1–5.7), the JITed body only;
//   - test run: BPF_PROG_TEST_RUN mean ns per run for the program types that
//     support it.
//
// A figure that cannot be measured is absent with a reason, never 0. Under
// TCG absolute times are emulated: compare ratios within one VM only.
package overhead
