package overhead

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
)

// errNoTinyExec: no hand-made binary for this architecture.
var errNoTinyExec = errors.New("no tiny exit binary for " + runtime.GOARCH)

// tinyExitELF returns a minimal static ELF executable that calls exit(0):
// one PT_LOAD segment, no sections. The exec trigger runs it so that an
// event costs fork+exec+exit, not the start-up of a large binary (the
// guest's initramfs has no /bin/true, and a Go binary starts slowly under
// TCG).
func tinyExitELF() ([]byte, error) {
	var machine uint16
	var code []byte
	switch runtime.GOARCH {
	case "amd64":
		machine = 0x3e // EM_X86_64
		// mov eax, 60 (exit); xor edi, edi; syscall
		code = []byte{0xb8, 0x3c, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05}
	case "arm64":
		machine = 0xb7                                            // EM_AARCH64
		code = binary.LittleEndian.AppendUint32(nil, 0xd2800000)  // mov x0, #0
		code = binary.LittleEndian.AppendUint32(code, 0xd2800ba8) // mov x8, #93 (exit)
		code = binary.LittleEndian.AppendUint32(code, 0xd4000001) // svc #0
	default:
		return nil, errNoTinyExec
	}
	const base, ehdr, phdr = 0x400000, 64, 56
	le := binary.LittleEndian
	b := []byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	b = le.AppendUint16(b, 2) // ET_EXEC
	b = le.AppendUint16(b, machine)
	b = le.AppendUint32(b, 1)              // EV_CURRENT
	b = le.AppendUint64(b, base+ehdr+phdr) // entry
	b = le.AppendUint64(b, ehdr)           // phoff
	b = le.AppendUint64(b, 0)              // shoff
	b = le.AppendUint32(b, 0)              // flags
	b = le.AppendUint16(b, ehdr)
	b = le.AppendUint16(b, phdr)
	b = le.AppendUint16(b, 1) // phnum
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, 0)
	size := uint64(ehdr + phdr + len(code))
	b = le.AppendUint32(b, 1) // PT_LOAD
	b = le.AppendUint32(b, 5) // R+X
	b = le.AppendUint64(b, 0) // offset
	b = le.AppendUint64(b, base)
	b = le.AppendUint64(b, base)
	b = le.AppendUint64(b, size)
	b = le.AppendUint64(b, size)
	b = le.AppendUint64(b, 0x1000)
	return append(b, code...), nil
}

// writeTinyExit writes the tiny binary into dir and returns its path.
func writeTinyExit(dir string) (string, error) {
	elf, err := tinyExitELF()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "retrobpf-exit0")
	if err := os.WriteFile(p, elf, 0o755); err != nil {
		return "", err
	}
	return p, nil
}
