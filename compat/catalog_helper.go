package compat

import (
	"strings"

	"github.com/cilium/ebpf/asm"

	"github.com/retrobpf/retrobpf/compat/internal/kenum"
)

// helperHints name the usual fallback for helpers that decide variants.
var helperHints = map[string]string{
	"bpf_ringbuf_output":          "use a perf event array (map:perf_event_array) fallback variant with bpf_perf_event_output",
	"bpf_ringbuf_reserve":         "use a perf event array (map:perf_event_array) fallback variant: build the event in a per-CPU array and bpf_perf_event_output it",
	"bpf_ringbuf_submit":          "use a perf event array (map:perf_event_array) fallback variant with bpf_perf_event_output",
	"bpf_ringbuf_discard":         "use a perf event array (map:perf_event_array) fallback variant with bpf_perf_event_output",
	"bpf_ringbuf_query":           "use a perf event array (map:perf_event_array) fallback variant",
	"bpf_probe_read_kernel":       "use bpf_probe_read (cilium/ebpf rewrites this call automatically below 5.5)",
	"bpf_probe_read_kernel_str":   "use bpf_probe_read_str (cilium/ebpf rewrites this call automatically below 5.5)",
	"bpf_probe_read_user":         "use bpf_probe_read (cilium/ebpf rewrites this call automatically below 5.5)",
	"bpf_probe_read_user_str":     "use bpf_probe_read_str (cilium/ebpf rewrites this call automatically below 5.5)",
	"bpf_loop":                    "use a bounded loop (insn:bounded-loops, 5.3) or an unrolled loop on older kernels",
	"bpf_get_current_task_btf":    "use bpf_get_current_task with bpf_probe_read_kernel (BPF_CORE_READ)",
	"bpf_task_storage_get":        "use a hash map keyed by pid/tgid (map:hash) fallback variant",
	"bpf_task_storage_delete":     "use a hash map keyed by pid/tgid (map:hash) fallback variant",
	"bpf_for_each_map_elem":       "iterate with a bounded loop over known keys, or read the map from user space",
	"bpf_snprintf":                "format the string in user space",
	"bpf_trace_vprintk":           "use bpf_trace_printk with at most 3 arguments",
	"bpf_get_func_ip":             "read the instruction pointer from the pt_regs context (PT_REGS_IP) in a kprobe variant",
	"bpf_get_attach_cookie":       "key per-attachment configuration by function address in a map",
	"bpf_ktime_get_boot_ns":       "use bpf_ktime_get_ns (monotonic, excludes suspend)",
	"bpf_ktime_get_coarse_ns":     "use bpf_ktime_get_ns",
	"bpf_d_path":                  "resolve paths in user space or walk dentries with CO-RE reads",
	"bpf_copy_from_user":          "use bpf_probe_read_user in a non-sleepable variant",
	"bpf_send_signal":             "signal the process from user space on an event",
	"bpf_get_stack":               "use bpf_get_stackid with a stack trace map (map:stack_trace)",
	"bpf_get_current_cgroup_id":   "read the cgroup id through bpf_get_current_task and CO-RE reads",
	"bpf_spin_lock":               "use atomic adds or per-CPU maps instead of a lock",
	"bpf_spin_unlock":             "use atomic adds or per-CPU maps instead of a lock",
	"bpf_timer_init":              "drive periodic work from user space",
	"bpf_get_ns_current_pid_tgid": "translate pids in user space",
	"bpf_strncmp":                 "compare with an unrolled loop",
	"bpf_find_vma":                "resolve addresses in user space from /proc/PID/maps",
	"bpf_map_lookup_percpu_elem":  "read per-CPU values from user space",
	"bpf_override_return":         "needs CONFIG_BPF_KPROBE_OVERRIDE and an error-injectable function; no fallback",
	"bpf_probe_write_user":        "avoid writing user memory; no fallback",
}

func helperFeatures() []Feature {
	out := make([]Feature, 0, len(kenum.Helpers))
	for _, h := range kenum.Helpers {
		hint, ok := helperHints[h.Name]
		if !ok {
			hint = h.Name + " needs Linux " + h.Since + " (and a program type that may call it); ship a variant without it"
		}
		out = append(out, Feature{
			ID:          FeatureID("helper:" + h.Name),
			Kind:        KindHelper,
			Description: "helper " + h.Name + "() (" + strings.TrimPrefix(h.Fn.String(), "Fn") + ")",
			Since:       v(h.Since),
			Probe:       "load a program calling the helper, for every program type (cilium/ebpf features.HaveProgramHelper; unknown for tracing/lsm/ext/struct_ops)",
			Hint:        hint,
		})
	}
	return out
}

// helperFeature returns the catalog ID of a helper
// ("helper:bpf_ringbuf_output"), or "" if the catalog does not know fn.
func helperFeature(fn asm.BuiltinFunc) FeatureID {
	if h, ok := kenum.HelperByFunc(fn); ok {
		return FeatureID("helper:" + h.Name)
	}
	return ""
}
