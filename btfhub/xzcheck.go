package btfhub

import (
	"bufio"
	"encoding/binary"
	"fmt"
)

// maxXZDict caps the LZMA2 dictionary an archive may ask for. The xz
// decoder allocates the dictionary the block header names (up to 4 GiB)
// before reading any data; `xz -9` uses 64 MiB.
const maxXZDict = 64 << 20

// checkXZDict peeks at the first block header of the xz stream in br and
// refuses a dictionary larger than maxXZDict. Streams it cannot parse are
// left to the decoder, which reports them.
func checkXZDict(br *bufio.Reader) error {
	hdr, _ := br.Peek(12 + 1024)
	if len(hdr) < 12+8 || string(hdr[:6]) != "\xfd7zXZ\x00" {
		return nil
	}
	b := hdr[12:]
	if b[0] == 0 { // index indicator: no blocks
		return nil
	}
	size := (int(b[0]) + 1) * 4
	if size > len(b) {
		return nil
	}
	b = b[:size]
	flags := b[1]
	filters := int(flags&3) + 1
	p := 2
	for _, present := range []bool{flags&0x40 != 0, flags&0x80 != 0} {
		if present { // compressed / uncompressed size
			_, n := binary.Uvarint(b[p:])
			if n <= 0 {
				return nil
			}
			p += n
		}
	}
	for i := 0; i < filters && p < len(b); i++ {
		id, n := binary.Uvarint(b[p:])
		if n <= 0 {
			return nil
		}
		p += n
		plen, n := binary.Uvarint(b[p:])
		if n <= 0 || p+n+int(plen) > len(b) {
			return nil
		}
		p += n
		if id == 0x21 && plen == 1 { // LZMA2: one byte encodes the dictionary size
			bits := b[p] & 0x3f
			if bits > 40 {
				return fmt.Errorf("%w: invalid LZMA2 dictionary size", ErrBadArchive)
			}
			dict := uint64(0xffffffff)
			if bits < 40 {
				dict = uint64(2|bits&1) << (bits/2 + 11)
			}
			if dict > maxXZDict {
				return fmt.Errorf("%w: xz dictionary of %d bytes is over the %d byte cap", ErrBadArchive, dict, maxXZDict)
			}
		}
		p += int(plen)
	}
	return nil
}
