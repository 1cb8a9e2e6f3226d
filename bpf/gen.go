package bpf

// Every variant is one bpf2go invocation; the output stem is the object name
// the manifest (suite.yaml) refers to: <program>_<variant>_bpfel.o.
// Legacy variants target ISA v2 (4.14+), the others v3 (5.1+).

//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem execsnoop_modern ExecsnoopModern execsnoop/modern.c -- -I./include -Wall -Werror -g -O2 -mcpu=v3 -DUSE_BPF_LOOP
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem execsnoop_ringbuf ExecsnoopRingbuf execsnoop/modern.c -- -I./include -Wall -Werror -g -O2 -mcpu=v3
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem execsnoop_perfbuf ExecsnoopPerfbuf execsnoop/modern.c -- -I./include -Wall -Werror -g -O2 -mcpu=v3 -DUSE_PERFBUF
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem execsnoop_legacy ExecsnoopLegacy execsnoop/legacy.c -- -I./include -Wall -Werror -g -O2 -mcpu=v2
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem execsnoop_legacy_nobtf ExecsnoopLegacyNobtf execsnoop/legacy.c -- -I./include -Wall -Werror -g -O2 -mcpu=v2 -DNO_CORE
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem opensnoop_modern OpensnoopModern opensnoop/modern.c -- -I./include -Wall -Werror -g -O2 -mcpu=v3
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem opensnoop_perfbuf OpensnoopPerfbuf opensnoop/modern.c -- -I./include -Wall -Werror -g -O2 -mcpu=v3 -DUSE_PERFBUF
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem opensnoop_legacy_openat2 OpensnoopLegacyOpenat2 opensnoop/legacy.c -- -I./include -Wall -Werror -g -O2 -mcpu=v2 -DOPENAT2
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem opensnoop_legacy OpensnoopLegacy opensnoop/legacy.c -- -I./include -Wall -Werror -g -O2 -mcpu=v2
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem opensnoop_legacy_tp OpensnoopLegacyTp opensnoop/legacy_tp.c -- -I./include -Wall -Werror -g -O2 -mcpu=v2
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem tcpconnect_modern TcpconnectModern tcpconnect/modern.c -- -I./include -Wall -Werror -g -O2 -mcpu=v3
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem tcpconnect_perfbuf TcpconnectPerfbuf tcpconnect/modern.c -- -I./include -Wall -Werror -g -O2 -mcpu=v3 -DUSE_PERFBUF
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem tcpconnect_legacy TcpconnectLegacy tcpconnect/legacy.c -- -I./include -Wall -Werror -g -O2 -mcpu=v2
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem runqlat_modern RunqlatModern runqlat/modern.c -- -I./include -Wall -Werror -g -O2 -mcpu=v3
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem runqlat_legacy RunqlatLegacy runqlat/legacy.c -- -I./include -Wall -Werror -g -O2 -mcpu=v2
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem biolatency_modern BiolatencyModern biolatency/modern.c -- -I./include -Wall -Werror -g -O2 -mcpu=v3
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem biolatency_legacy BiolatencyLegacy biolatency/legacy.c -- -I./include -Wall -Werror -g -O2 -mcpu=v2
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem xdpfilter_global XdpfilterGlobal xdpfilter/xdpfilter.c -- -I./include -Wall -Werror -g -O2 -mcpu=v3
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem xdpfilter_maps XdpfilterMaps xdpfilter/xdpfilter.c -- -I./include -Wall -Werror -g -O2 -mcpu=v2 -DUSE_MAPS
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem tcclass_global TcclassGlobal tcclass/tcclass.c -- -I./include -Wall -Werror -g -O2 -mcpu=v3
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -output-stem tcclass_maps TcclassMaps tcclass/tcclass.c -- -I./include -Wall -Werror -g -O2 -mcpu=v2 -DUSE_MAPS
