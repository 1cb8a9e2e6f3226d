package bpf

import (
	"encoding/binary"
	"net"
)

// packet builds an Ethernet + IPv4 + TCP/UDP frame with a valid IPv4
// header checksum (proto 6 or 17), or an ARP frame for proto 0.
func packet(proto uint8, src net.IP, dport uint16, payload int) []byte {
	eth := []byte{
		0x02, 0, 0, 0, 0, 1, // dst
		0x02, 0, 0, 0, 0, 2, // src
		0x08, 0x00,
	}
	if proto == 0 {
		eth[12], eth[13] = 0x08, 0x06
		return append(eth, make([]byte, 28)...)
	}
	l4len := 8
	if proto == 6 {
		l4len = 20
	}
	ip := make([]byte, 20)
	ip[0] = 0x45
	ip[1] = 0x00 // TOS
	binary.BigEndian.PutUint16(ip[2:], uint16(20+l4len+payload))
	ip[8] = 64
	ip[9] = proto
	copy(ip[12:16], src.To4())
	copy(ip[16:20], net.IPv4(10, 0, 0, 1).To4())
	binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip))

	l4 := make([]byte, l4len)
	binary.BigEndian.PutUint16(l4[0:], 40000)
	binary.BigEndian.PutUint16(l4[2:], dport)
	if proto == 6 {
		l4[12] = 5 << 4
	} else {
		binary.BigEndian.PutUint16(l4[4:], uint16(8+payload))
	}
	out := append(eth, ip...)
	out = append(out, l4...)
	return append(out, make([]byte, payload)...)
}

// ipChecksum is the Internet checksum of an IPv4 header; 0 over a header
// whose checksum field is correct.
func ipChecksum(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		s += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
