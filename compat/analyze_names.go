package compat

import (
	"strings"

	"github.com/cilium/ebpf"
)

// progTypeLabel is bpftool's name of a program type ("kprobe"), from the
// catalog, or cilium/ebpf's name for a type the catalog does not know.
func progTypeLabel(t ebpf.ProgramType) string {
	if id := programTypeFeature(t); id != "" {
		return strings.TrimPrefix(string(id), "prog:")
	}
	return t.String()
}

// mapTypeLabel is bpftool's name of a map type ("ringbuf"), from the
// catalog, or cilium/ebpf's name for a type the catalog does not know.
func mapTypeLabel(t ebpf.MapType) string {
	if id := mapTypeFeature(t); id != "" {
		return strings.TrimPrefix(string(id), "map:")
	}
	return t.String()
}

// mapFlagNames names the BPF_F_* map creation flags (uapi/linux/bpf.h),
// lower case without the prefix, as in the map-flag:… feature IDs.
var mapFlagNames = []struct {
	bit  uint32
	name string
}{
	{1 << 0, "no_prealloc"},
	{1 << 1, "no_common_lru"},
	{1 << 2, "numa_node"},
	{1 << 3, "rdonly"},
	{1 << 4, "wronly"},
	{1 << 5, "stack_build_id"},
	{1 << 6, "zero_seed"},
	{1 << 7, "rdonly_prog"},
	{1 << 8, "wronly_prog"},
	{1 << 9, "clone"},
	{1 << 10, "mmapable"},
	{1 << 11, "preserve_elems"},
	{1 << 12, "inner_map"},
	{1 << 13, "link"},
	{1 << 14, "path_fd"},
	{1 << 15, "vtype_btf_obj_fd"},
	{1 << 16, "token_fd"},
	{1 << 17, "segv_on_fault"},
	{1 << 18, "no_user_conv"},
}

// gplOnlyHelpers are helpers whose kernel proto sets gpl_only = true: a
// program with a non-GPL-compatible license that calls one fails to load
// with "cannot call GPL-restricted function from non-GPL compatible program".
var gplOnlyHelpers = map[string]bool{
	"bpf_probe_read":            true,
	"bpf_probe_read_str":        true,
	"bpf_probe_read_kernel":     true,
	"bpf_probe_read_kernel_str": true,
	"bpf_probe_read_user":       true,
	"bpf_probe_read_user_str":   true,
	"bpf_probe_write_user":      true,
	"bpf_trace_printk":          true,
	"bpf_trace_vprintk":         true,
	"bpf_perf_event_output":     true,
	"bpf_skb_output":            true,
	"bpf_xdp_output":            true,
	"bpf_get_stackid":           true,
	"bpf_get_stack":             true,
	"bpf_get_current_task":      true,
	"bpf_get_current_task_btf":  true,
	"bpf_override_return":       true,
	"bpf_perf_event_read_value": true,
	"bpf_perf_prog_read_value":  true,
	"bpf_read_branch_records":   true,
	"bpf_seq_printf":            true,
	"bpf_seq_write":             true,
	"bpf_seq_printf_btf":        true,
	"bpf_get_func_ip":           true,
	"bpf_get_branch_snapshot":   true,
}

// gplCompatibleLicenses mirrors the kernel's license_is_gpl_compatible().
var gplCompatibleLicenses = map[string]bool{
	"GPL":                       true,
	"GPL v2":                    true,
	"GPL and additional rights": true,
	"Dual BSD/GPL":              true,
	"Dual MIT/GPL":              true,
	"Dual MPL/GPL":              true,
}

// isGPLCompatible reports whether the kernel treats license as GPL
// compatible (and so allows GPL-only helpers).
func isGPLCompatible(license string) bool { return gplCompatibleLicenses[license] }
