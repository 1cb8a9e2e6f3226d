package verifier

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/retrobpf/retrobpf/internal/kversion"
)

// errNoRawLoad says why the EFAULT log could not be recovered.
var errNoRawLoad = errors.New("cannot reload without cilium/ebpf")

// progLoadAttr is the prefix of union bpf_attr for BPF_PROG_LOAD that a
// plain program needs (present since 4.15).
type progLoadAttr struct {
	ProgType           uint32
	InsnCnt            uint32
	Insns              uint64
	License            uint64
	LogLevel           uint32
	LogSize            uint32
	LogBuf             uint64
	KernVersion        uint32
	ProgFlags          uint32
	ProgName           [16]byte
	ProgIfindex        uint32
	ExpectedAttachType uint32
}

// logOnEFAULT reloads prog with a raw BPF_PROG_LOAD to recover the log of
// a load that failed with EFAULT ("verifier bug", also "The sequence of N
// jumps is too complex" on some kernels): cilium/ebpf v0.20–v0.22 drop that
// log. The reload has no BTF (so no source lines); programs that need BTF
// (CO-RE relocations, kfuncs, BTF attach targets) are not reloaded.
func logOnEFAULT(spec *ebpf.CollectionSpec, prog string, kv kversion.Version) ([]string, error) {
	cs := only(spec, prog)
	ps := cs.Programs[prog].Copy()
	if ps.AttachTo != "" && (ps.Type == ebpf.Tracing || ps.Type == ebpf.LSM || ps.Type == ebpf.Extension || ps.Type == ebpf.StructOps) {
		return nil, fmt.Errorf("%w: BTF attach target %q", errNoRawLoad, ps.AttachTo)
	}
	for _, ins := range ps.Instructions {
		if btf.CORERelocationMetadata(&ins) != nil {
			return nil, fmt.Errorf("%w: CO-RE relocations", errNoRawLoad)
		}
		if ins.IsKfuncCall() {
			return nil, fmt.Errorf("%w: kfunc calls", errNoRawLoad)
		}
	}
	delete(cs.Programs, prog)
	maps, err := ebpf.NewCollection(cs)
	if err != nil {
		return nil, fmt.Errorf("create maps: %w", err)
	}
	defer maps.Close()
	insns := ps.Instructions
	for name, m := range maps.Maps {
		_ = insns.AssociateMap(name, m) // unreferenced maps are fine
	}
	var buf bytes.Buffer
	if err := insns.Marshal(&buf, ps.ByteOrder); err != nil {
		return nil, fmt.Errorf("%w: %v", errNoRawLoad, err)
	}
	code := buf.Bytes()
	license := append([]byte(ps.License), 0)

	level, size := uint32(ebpf.LogLevelBranch|ebpf.LogLevelStats), uint32(64<<20)
	if kv.Less(v5_2) {
		level, size = uint32(ebpf.LogLevelBranch), OldKernelLogCap
	}
	logBuf := make([]byte, size)
	attr := progLoadAttr{
		ProgType:           uint32(ps.Type),
		InsnCnt:            uint32(len(code) / 8),
		Insns:              uint64(uintptr(unsafe.Pointer(&code[0]))),
		License:            uint64(uintptr(unsafe.Pointer(&license[0]))),
		LogLevel:           level,
		LogSize:            size,
		LogBuf:             uint64(uintptr(unsafe.Pointer(&logBuf[0]))),
		KernVersion:        kv.Code(),
		ProgFlags:          ps.Flags,
		ExpectedAttachType: uint32(ps.AttachType),
	}
	fd, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	runtime.KeepAlive(code)
	runtime.KeepAlive(license)
	runtime.KeepAlive(logBuf)
	if errno == 0 {
		unix.Close(int(fd))
	}
	if end := bytes.IndexByte(logBuf, 0); end >= 0 {
		logBuf = logBuf[:end]
	}
	return splitLog(string(logBuf)), nil
}
