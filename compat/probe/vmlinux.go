package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/retrobpf/retrobpf/compat"
	"golang.org/x/sys/unix"
)

// vmlinuxIndex is the little the probe needs from vmlinux BTF: FUNC and
// btf_trace_* TYPEDEF IDs by name, the FUNCs tagged bpf_kfunc, and the
// values of enum bpf_attach_type. One pass over the raw type section costs
// a few milliseconds; decoding the whole spec with cilium/ebpf costs
// several times the rest of the probe's user-space work.
type vmlinuxIndex struct {
	data []byte // the raw BTF, for names that were not indexed up front
	// funcs and typedefs hold the IDs of the names in wanted that exist:
	// indexing all ~60k FUNCs costs more than the whole probe's other
	// user-space work.
	wanted      map[string]bool
	funcs       map[string]uint32
	typedefs    map[string]uint32
	kfuncTagged map[uint32]bool
	attachTypes map[string]bool

	mu    sync.Mutex
	extra map[string]int64 // lookups of other names: ID, or -1 if absent
}

// vmlinuxWanted are the names the probe itself looks up.
func vmlinuxWanted() map[string]bool {
	w := map[string]bool{}
	for _, n := range []string{
		"bpf_init", "bpf_fentry_test1", "bpf_modify_return_test", "bpf_lsm_file_mprotect",
		"bpf_lsm_bprm_committed_creds", "security_file_mprotect",
		"bpf_iter_task", "bpf_rcu_read_lock", "bpf_rcu_read_unlock", "btf_trace_sched_process_exec",
	} {
		w[n] = true
	}
	for _, f := range compat.Catalog() {
		if n, ok := strings.CutPrefix(string(f.ID), "kfunc:"); ok {
			w[n] = true
		}
	}
	return w
}

// funcID returns the BTF ID of FUNC name.
func (idx *vmlinuxIndex) funcID(name string) (uint32, bool) {
	if id, ok := idx.funcs[name]; ok || idx.wanted[name] {
		return id, ok
	}
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if id, ok := idx.extra[name]; ok {
		return uint32(id), id >= 0
	}
	id := int64(-1)
	if one, err := indexBTF(idx.data, map[string]bool{name: true}); err == nil {
		if v, ok := one.funcs[name]; ok {
			id = int64(v)
		}
	}
	idx.extra[name] = id
	return uint32(id), id >= 0
}

var (
	vmlinuxOnce sync.Once
	vmlinuxIdx  *vmlinuxIndex
	vmlinuxErr  error
)

// vmlinux returns the index of /sys/kernel/btf/vmlinux, parsed once per
// process. Without the file the error wraps ebpf.ErrNotSupported.
func vmlinux() (*vmlinuxIndex, error) {
	vmlinuxOnce.Do(func() {
		data, err := readVmlinuxBTF()
		if errors.Is(err, os.ErrNotExist) {
			if _, serr := os.Stat("/sys/kernel"); serr != nil {
				// sysfs is not mounted: that says nothing about the kernel.
				vmlinuxErr = fmt.Errorf("%s: %w (is sysfs mounted?)", vmlinuxBTF, err)
				return
			}
			vmlinuxErr = fmt.Errorf("%s: %w", vmlinuxBTF, ebpf.ErrNotSupported)
			return
		}
		if err != nil {
			vmlinuxErr = err
			return
		}
		vmlinuxIdx, vmlinuxErr = indexBTF(data, vmlinuxWanted())
		if vmlinuxErr != nil {
			vmlinuxErr = fmt.Errorf("%s: %w", vmlinuxBTF, vmlinuxErr)
		}
	})
	return vmlinuxIdx, vmlinuxErr
}

// readVmlinuxBTF maps vmlinux BTF read-only (sysfs allows it since 6.16)
// or else reads it: mapping skips copying and zeroing megabytes. The
// mapping is never unmapped, like the index that points into it.
func readVmlinuxBTF() ([]byte, error) {
	f, err := os.Open(vmlinuxBTF)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > 0 && st.Size() < 1<<31 {
		if data, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_PRIVATE); err == nil {
			return data, nil
		}
	}
	return os.ReadFile(vmlinuxBTF)
}

// BTF kinds (include/uapi/linux/btf.h).
const (
	btfKindInt = iota + 1
	btfKindPtr
	btfKindArray
	btfKindStruct
	btfKindUnion
	btfKindEnum
	btfKindFwd
	btfKindTypedef
	btfKindVolatile
	btfKindConst
	btfKindRestrict
	btfKindFunc
	btfKindFuncProto
	btfKindVar
	btfKindDatasec
	btfKindFloat
	btfKindDeclTag
	btfKindTypeTag
	btfKindEnum64
)

// indexBTF walks raw BTF (native endian, as the kernel exports it),
// recording the FUNC and TYPEDEF IDs of the names in want.
func indexBTF(data []byte, want map[string]bool) (*vmlinuxIndex, error) {
	bo := binary.NativeEndian
	if len(data) < 24 || bo.Uint16(data) != 0xeb9f {
		return nil, errors.New("not BTF (bad magic)")
	}
	hdrLen := bo.Uint32(data[4:])
	typeOff, typeLen := bo.Uint32(data[8:]), bo.Uint32(data[12:])
	strOff, strLen := bo.Uint32(data[16:]), bo.Uint32(data[20:])
	end := func(off, n uint32) uint64 { return uint64(hdrLen) + uint64(off) + uint64(n) }
	if end(typeOff, typeLen) > uint64(len(data)) || end(strOff, strLen) > uint64(len(data)) {
		return nil, errors.New("truncated BTF")
	}
	types := data[hdrLen+typeOff : hdrLen+typeOff+typeLen]
	strTab := data[hdrLen+strOff : hdrLen+strOff+strLen]
	strs := unsafe.String(unsafe.SliceData(strTab), len(strTab)) // data is never modified
	name := func(off uint32) string {
		if int(off) >= len(strs) {
			return ""
		}
		s := strs[off:]
		if i := strings.IndexByte(s, 0); i >= 0 {
			return s[:i]
		}
		return s
	}
	// Most of the walk is FUNC names (tens of thousands): a bloom filter
	// of the wanted names' length, first and last byte rules out nearly
	// all of them before a map lookup.
	var bloom [64]uint64
	key := func(n string) uint32 {
		if n == "" {
			return 0
		}
		return (uint32(len(n))*131 + uint32(n[0])*31 + uint32(n[len(n)-1])) % 4096
	}
	for n := range want {
		k := key(n)
		bloom[k/64] |= 1 << (k % 64)
	}
	wanted := func(off uint32) (string, bool) {
		n := name(off)
		if k := key(n); bloom[k/64]&(1<<(k%64)) == 0 {
			return "", false
		}
		return n, want[n]
	}
	// The string section is deduplicated, so every bpf_kfunc tag names the
	// same offset; others are compared as strings.
	kfuncTag := ^uint32(0)

	idx := &vmlinuxIndex{
		data:        data,
		wanted:      want,
		extra:       map[string]int64{},
		funcs:       map[string]uint32{},
		typedefs:    map[string]uint32{},
		kfuncTagged: map[uint32]bool{},
		attachTypes: map[string]bool{},
	}
	id := uint32(1)
	for off := 0; off+12 <= len(types); id++ {
		nameOff, info, sizeType := bo.Uint32(types[off:]), bo.Uint32(types[off+4:]), bo.Uint32(types[off+8:])
		kind, vlen := (info>>24)&0x1f, int(info&0xffff)
		body := off + 12
		var extra int
		switch kind {
		case btfKindInt, btfKindVar, btfKindDeclTag:
			extra = 4
		case btfKindArray:
			extra = 12
		case btfKindStruct, btfKindUnion, btfKindDatasec, btfKindEnum64:
			extra = 12 * vlen
		case btfKindEnum, btfKindFuncProto:
			extra = 8 * vlen
		case btfKindPtr, btfKindFwd, btfKindTypedef, btfKindVolatile, btfKindConst, btfKindRestrict,
			btfKindFunc, btfKindFloat, btfKindTypeTag:
		default:
			return nil, fmt.Errorf("type %d: unknown BTF kind %d", id, kind)
		}
		if body+extra > len(types) {
			return nil, fmt.Errorf("type %d: truncated", id)
		}
		switch kind {
		case btfKindFunc:
			if n, ok := wanted(nameOff); ok {
				idx.funcs[strings.Clone(n)] = id
			}
		case btfKindTypedef:
			if n, ok := wanted(nameOff); ok {
				idx.typedefs[strings.Clone(n)] = id
			}
		case btfKindDeclTag:
			if nameOff == kfuncTag || name(nameOff) == "bpf_kfunc" {
				kfuncTag = nameOff
				if int32(bo.Uint32(types[body:])) == -1 {
					idx.kfuncTagged[sizeType] = true
				}
			}
		case btfKindEnum:
			if name(nameOff) == "bpf_attach_type" {
				for i := 0; i < vlen; i++ {
					idx.attachTypes[name(bo.Uint32(types[body+8*i:]))] = true
				}
			}
		}
		off = body + extra
	}
	return idx, nil
}

// kfuncResult looks name up in vmlinux BTF: a FUNC tagged bpf_kfunc is a
// kfunc; no FUNC at all means it cannot be called.
func kfuncResult(name string) Result {
	idx, err := vmlinux()
	if err != nil {
		return unknown(fmt.Errorf("vmlinux BTF: %w", err))
	}
	id, ok := idx.funcID(name)
	switch {
	case !ok:
		return unsupported("no FUNC " + name + " in vmlinux BTF")
	case idx.kfuncTagged[id]:
		return supported("FUNC tagged bpf_kfunc in vmlinux BTF")
	case len(idx.kfuncTagged) > 0:
		return unsupported("FUNC " + name + " is not tagged bpf_kfunc (this kernel tags its kfuncs)")
	}
	return Result{State: compat.Unknown, Detail: "FUNC " + name + " in vmlinux BTF, but this kernel's BTF does not tag kfuncs"}
}

// progLoadAttrBTF is union bpf_attr for BPF_PROG_LOAD up to
// attach_btf_obj_fd (Linux 5.5+ layout; older kernels reject the unknown
// non-zero tail with E2BIG, which reads as "program type unsupported").
type progLoadAttrBTF struct {
	progLoadAttr    // 72 bytes, no tail padding: progBTFFd follows at 72 as in the kernel's
	progBTFFd       uint32
	funcInfoRecSize uint32
	funcInfo        uint64
	funcInfoCnt     uint32
	lineInfoRecSize uint32
	lineInfo        uint64
	lineInfoCnt     uint32
	attachBTFID     uint32
	attachBTFObjFd  uint32
	_               uint32
}

// loadBTFProg loads "r0 = 0; exit" of type pt, attached by BTF ID to a
// vmlinux target: a function for fentry/fexit/fmod_ret, the tracepoint for
// tp_btf (btf_trace_<target>), the LSM hook (bpf_lsm_<target>) or the
// iterator (bpf_iter_<target>).
func loadBTFProg(pt ebpf.ProgramType, at ebpf.AttachType, target string, flags uint32) (*ebpf.Program, error) {
	return loadBTFProgInsns(pt, at, target, flags, []uint64{0xb7, 0x95}) // r0 = 0; exit
}

// loadBTFProgInsns is loadBTFProg with the program's raw instructions
// (little-endian 8-byte slots).
func loadBTFProgInsns(pt ebpf.ProgramType, at ebpf.AttachType, target string, flags uint32, insns []uint64) (*ebpf.Program, error) {
	idx, err := vmlinux()
	if err != nil {
		return nil, err
	}
	var (
		id uint32
		ok bool
	)
	switch {
	case at == ebpf.AttachTraceRawTp:
		id, ok = idx.typedefs["btf_trace_"+target]
	case at == ebpf.AttachTraceIter:
		id, ok = idx.funcID("bpf_iter_" + target)
	case pt == ebpf.LSM:
		id, ok = idx.funcID("bpf_lsm_" + target)
	default:
		id, ok = idx.funcID(target)
	}
	if !ok {
		return nil, fmt.Errorf("attach target %s not in vmlinux BTF", target)
	}
	license := [4]byte{'G', 'P', 'L', 0}
	var log [4096]byte
	attr := progLoadAttrBTF{
		progLoadAttr: progLoadAttr{
			progType:           uint32(pt),
			insnCnt:            uint32(len(insns)),
			insns:              uint64(uintptr(unsafe.Pointer(&insns[0]))),
			license:            uint64(uintptr(unsafe.Pointer(&license[0]))),
			logLevel:           1,
			logSize:            uint32(len(log)),
			logBuf:             uint64(uintptr(unsafe.Pointer(&log[0]))),
			progFlags:          flags,
			expectedAttachType: uint32(at),
		},
		attachBTFID: id,
	}
	fd, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	runtime.KeepAlive(insns)
	runtime.KeepAlive(&license)
	runtime.KeepAlive(&log)
	if errno != 0 {
		if reason := verifierReason(log[:clen(log[:])]); reason != "" {
			return nil, fmt.Errorf("load %s program on %s: %w (verifier: %s)", pt, target, errno, reason)
		}
		return nil, fmt.Errorf("load %s program on %s: %w", pt, target, errno)
	}
	return ebpf.NewProgramFromFD(int(fd))
}

func clen(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return len(b)
}
