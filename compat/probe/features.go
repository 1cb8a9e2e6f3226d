package probe

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"github.com/retrobpf/retrobpf/compat/internal/kenum"
	"golang.org/x/sys/unix"
)

// featureProber is the part of cilium/ebpf's features package retrobpf
// uses, behind an interface of our own: its API moves between releases
// (HaveProgType was removed in v0.21, the link probes appeared in v0.21,
// HaveProgramHelper may be deprecated), and only nil and ErrNotSupported
// are conclusive answers.
type featureProber interface {
	ProgramType(ebpf.ProgramType) error
	MapType(ebpf.MapType) error
	MapFlag(features.MapFlags) error
	LargeInstructions() error
	BoundedLoops() error
	V2ISA() error
	V3ISA() error
	V4ISA() error
	KprobeMulti() error
	KprobeSession() error
	UprobeMulti() error
}

// ciliumFeatures implements featureProber with cilium/ebpf v0.22.
type ciliumFeatures struct{}

func (ciliumFeatures) ProgramType(pt ebpf.ProgramType) error { return features.HaveProgramType(pt) }
func (ciliumFeatures) MapType(mt ebpf.MapType) error         { return features.HaveMapType(mt) }
func (ciliumFeatures) MapFlag(f features.MapFlags) error     { return features.HaveMapFlag(f) }
func (ciliumFeatures) LargeInstructions() error              { return features.HaveLargeInstructions() }
func (ciliumFeatures) BoundedLoops() error                   { return features.HaveBoundedLoops() }
func (ciliumFeatures) V2ISA() error                          { return features.HaveV2ISA() }
func (ciliumFeatures) V3ISA() error                          { return features.HaveV3ISA() }
func (ciliumFeatures) V4ISA() error                          { return features.HaveV4ISA() }
func (ciliumFeatures) KprobeMulti() error                    { return features.HaveBPFLinkKprobeMulti() }
func (ciliumFeatures) KprobeSession() error                  { return features.HaveBPFLinkKprobeSession() }
func (ciliumFeatures) UprobeMulti() error                    { return features.HaveBPFLinkUprobeMulti() }

// probeProgType records prog:<name>. Tracing and LSM are probed like
// cilium/ebpf does (fentry on bpf_init, LSM on file_mprotect) but resolve
// the target with vmlinuxIndex instead of decoding all of vmlinux BTF.
func (p *prober) probeProgType(pt kenum.ProgType) {
	var err error
	switch pt.Type {
	case ebpf.Tracing:
		err = btfProgTypeProbe(ebpf.Tracing, ebpf.AttachTraceFEntry, "bpf_init")
	case ebpf.LSM:
		err = btfProgTypeProbe(ebpf.LSM, ebpf.AttachLSMMac, "file_mprotect")
	default:
		err = p.feat.ProgramType(pt.Type)
	}
	p.set(p.rep.ProgramTypes, pt.Name, resultOf(err))
}

// btfProgTypeProbe loads a program of type pt on target; EINVAL and E2BIG
// mean the kernel does not know the program type (cilium/ebpf's rule).
func btfProgTypeProbe(pt ebpf.ProgramType, at ebpf.AttachType, target string) error {
	prog, err := loadBTFProg(pt, at, target, 0)
	if err == nil {
		return prog.Close()
	}
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.E2BIG) {
		return fmt.Errorf("%w: %w", ebpf.ErrNotSupported, err)
	}
	return err
}

// progSupported reports the recorded state of a program type.
func (p *prober) progState(name string) Result {
	if pt, ok := kenum.ProgTypeByName(name); ok && needsVmlinuxBTF(pt.Type) {
		<-p.btfProgsDone
	} else {
		<-p.phase1Done
	}
	return p.get(p.rep.ProgramTypes, name)
}

// needsVmlinuxBTF reports whether probing pt parses vmlinux BTF (tens of
// milliseconds): those probes run with the other BTF probes, off the
// critical path of the helper matrix.
func needsVmlinuxBTF(pt ebpf.ProgramType) bool {
	return pt == ebpf.Tracing || pt == ebpf.LSM
}

// storageMapTypes need BTF for key and value. cilium/ebpf probes them with
// a bogus BTF fd, which makes the kernel free the just-allocated map
// synchronously (an RCU barrier: tens of milliseconds, far more under
// load); creating the map for real with BTF and closing it defers the
// free to a kernel worker, as libbpf does.
var storageMapTypes = map[ebpf.MapType]bool{
	ebpf.SkStorage: true, ebpf.InodeStorage: true, ebpf.TaskStorage: true, ebpf.CgroupStorage: true,
}

// probeMapType records map:<name>.
func (p *prober) probeMapType(m kenum.MapType) {
	var err error
	if storageMapTypes[m.Type] {
		err = probeStorageMap(m.Type)
	} else {
		err = p.feat.MapType(m.Type)
	}
	p.set(p.rep.MapTypes, m.Name, resultOf(err))
}

func probeStorageMap(mt ebpf.MapType) error {
	i32 := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: mt, KeySize: 4, ValueSize: 4, Flags: unix.BPF_F_NO_PREALLOC, Key: i32, Value: i32})
	if err == nil {
		return m.Close()
	}
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.E2BIG) {
		return fmt.Errorf("%w: %w", ebpf.ErrNotSupported, err)
	}
	return err
}
