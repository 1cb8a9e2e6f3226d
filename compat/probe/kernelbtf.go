package probe

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/cilium/ebpf/btf"
	"github.com/klauspost/compress/zstd"

	"github.com/retrobpf/retrobpf/internal/btflimit"
	"github.com/retrobpf/retrobpf/internal/inputfile"
)

// KernelBTFEncoding is how a report holds the kernel's BTF: zstd, then
// base64 for JSON. A distribution kernel's 5-6 MB of BTF take about 1.5 MB
// that way.
const KernelBTFEncoding = "zstd+base64"

// maxKernelBTF bounds the decoded BTF (a distribution vmlinux has 5-7 MB).
const maxKernelBTF = 64 << 20

// ErrNoKernelBTF is returned by Report.KernelTypes for a report that did
// not record the kernel's BTF (Options.KernelBTF).
var ErrNoKernelBTF = errors.New("the report has no kernel BTF (probe with --kernel-btf)")

// EmbeddedBTF is the probed kernel's vmlinux BTF, so a saved report
// resolves CO-RE relocations as a load there would: a field the kernel
// lacks, a bpf_core_field_exists() guard, without the kernel.
type EmbeddedBTF struct {
	Encoding string `json:"encoding"`
	// Size and SHA256 are those of the raw BTF.
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
	Data   string `json:"data"`

	once sync.Once
	spec *btf.Spec
	err  error
}

// embedKernelBTF reads the running kernel's BTF into an EmbeddedBTF.
func embedKernelBTF() (*EmbeddedBTF, error) {
	raw, err := inputfile.Read(vmlinuxBTF, maxKernelBTF)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	return &EmbeddedBTF{Encoding: KernelBTFEncoding, Size: len(raw), SHA256: hex.EncodeToString(sum[:]),
		Data: base64.StdEncoding.EncodeToString(buf.Bytes())}, nil
}

// KernelTypes returns the probed kernel's BTF recorded in the report,
// decoded once; ErrNoKernelBTF when it was not recorded.
func (r *Report) KernelTypes() (*btf.Spec, error) {
	if r.KernelBTF == nil {
		return nil, ErrNoKernelBTF
	}
	e := r.KernelBTF
	e.once.Do(func() { e.spec, e.err = e.decode() })
	return e.spec, e.err
}

func (e *EmbeddedBTF) decode() (*btf.Spec, error) {
	if e.Encoding != KernelBTFEncoding {
		return nil, fmt.Errorf("kernel_btf: encoding %q (this retrobpf reads %s)", e.Encoding, KernelBTFEncoding)
	}
	if e.Size <= 0 || e.Size > maxKernelBTF {
		return nil, fmt.Errorf("kernel_btf: size %d out of range (at most %d)", e.Size, maxKernelBTF)
	}
	compressed, err := base64.StdEncoding.DecodeString(e.Data)
	if err != nil {
		return nil, fmt.Errorf("kernel_btf: %w", err)
	}
	zr, err := zstd.NewReader(bytes.NewReader(compressed), zstd.WithDecoderMaxMemory(maxKernelBTF), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("kernel_btf: %w", err)
	}
	defer zr.Close()
	raw, err := io.ReadAll(io.LimitReader(zr, int64(e.Size)+1))
	if err != nil {
		return nil, fmt.Errorf("kernel_btf: %w", err)
	}
	if len(raw) != e.Size {
		return nil, fmt.Errorf("kernel_btf: %d bytes decoded, the report says %d", len(raw), e.Size)
	}
	if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != e.SHA256 {
		return nil, fmt.Errorf("kernel_btf: sha256 mismatch")
	}
	spec, err := btflimit.Load(raw)
	if err != nil {
		return nil, fmt.Errorf("kernel_btf: %w", err)
	}
	return spec, nil
}
