package compat

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
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
// cilium/ebpf does (fentry on bpf_init, LSM on file_mprotect) but against
// the shared vmlinux BTF, which cilium/ebpf would parse once per probe.
func (p *prober) probeProgType(pt progType) {
	var err error
	switch pt.typ {
	case ebpf.Tracing:
		err = p.btfProgTypeProbe(ebpf.ProgramSpec{Type: ebpf.Tracing, AttachType: ebpf.AttachTraceFEntry, AttachTo: "bpf_init"})
	case ebpf.LSM:
		err = p.btfProgTypeProbe(ebpf.ProgramSpec{Type: ebpf.LSM, AttachType: ebpf.AttachLSMMac, AttachTo: "file_mprotect"})
	default:
		err = p.feat.ProgramType(pt.typ)
	}
	p.set(p.rep.ProgramTypes, pt.name, resultOf(err))
}

// btfProgTypeProbe loads spec; EINVAL and E2BIG mean the kernel does not
// know the program type (cilium/ebpf's probeProgram rule).
func (p *prober) btfProgTypeProbe(spec ebpf.ProgramSpec) error {
	prog, err := p.loadProbeProg(spec)
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
	<-p.phase1Done
	return p.get(p.rep.ProgramTypes, name)
}
