// Package kversion parses and compares Linux kernel versions.
//
// Releases come in many shapes ("5.10.0-28-cloud-amd64", "4.19.0-27+deb10u1",
// "6.12.9", "5.4"); only the leading major.minor[.patch] matters for feature
// reasoning, so everything after it is kept as Suffix and ignored in comparisons.
package kversion

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalid is returned when a string does not start with a kernel version.
var ErrInvalid = errors.New("invalid kernel version")

// Version is an upstream kernel version. The zero value means "unknown".
type Version struct {
	Major, Minor, Patch int
	// Suffix is whatever followed the numeric part in the parsed string.
	Suffix string
}

// Parse reads the leading "major.minor[.patch]" of s.
func Parse(s string) (Version, error) {
	orig := s
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	var nums [3]int
	n := 0
	for n < 3 {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			break
		}
		v, err := strconv.Atoi(s[:i])
		if err != nil {
			return Version{}, fmt.Errorf("%w: %q", ErrInvalid, orig)
		}
		nums[n] = v
		n++
		s = s[i:]
		if n < 3 && strings.HasPrefix(s, ".") && len(s) > 1 && s[1] >= '0' && s[1] <= '9' {
			s = s[1:]
			continue
		}
		break
	}
	if n < 2 {
		return Version{}, fmt.Errorf("%w: %q (want MAJOR.MINOR[.PATCH])", ErrInvalid, orig)
	}
	return Version{Major: nums[0], Minor: nums[1], Patch: nums[2], Suffix: s}, nil
}

// MustParse is Parse for constants; it panics on error.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

// FromCode decodes a LINUX_VERSION_CODE (KERNEL_VERSION(a,b,c)).
func FromCode(code uint32) Version {
	return Version{Major: int(code >> 16), Minor: int(code>>8) & 0xff, Patch: int(code & 0xff)}
}

// Code encodes v as LINUX_VERSION_CODE; the patch level saturates at 255 as in the kernel.
func (v Version) Code() uint32 {
	p := v.Patch
	if p > 255 {
		p = 255
	}
	return uint32(v.Major)<<16 | uint32(v.Minor)<<8 | uint32(p)
}

// IsZero reports whether v is unknown.
func (v Version) IsZero() bool { return v.Major == 0 && v.Minor == 0 && v.Patch == 0 }

// Compare returns -1, 0 or 1. Suffixes are ignored.
func (v Version) Compare(o Version) int {
	for _, d := range [3]int{v.Major - o.Major, v.Minor - o.Minor, v.Patch - o.Patch} {
		if d < 0 {
			return -1
		}
		if d > 0 {
			return 1
		}
	}
	return 0
}

// Less reports whether v is older than o.
func (v Version) Less(o Version) bool { return v.Compare(o) < 0 }

// AtLeast reports whether v is o or newer.
func (v Version) AtLeast(o Version) bool { return v.Compare(o) >= 0 }

// String prints "major.minor" or "major.minor.patch" (no suffix).
func (v Version) String() string {
	if v.Patch == 0 {
		return fmt.Sprintf("%d.%d", v.Major, v.Minor)
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// MarshalText encodes v as its String form.
func (v Version) MarshalText() ([]byte, error) {
	if v.IsZero() {
		return []byte(""), nil
	}
	return []byte(v.String()), nil
}

// UnmarshalText parses a version; the empty string is the zero Version.
func (v *Version) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*v = Version{}
		return nil
	}
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// Max returns the newer of a and b.
func Max(a, b Version) Version {
	if a.Less(b) {
		return b
	}
	return a
}
