package debian

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

// buildAr writes an ar archive the way dpkg-deb does.
func buildAr(members ...arMember) []byte {
	var buf bytes.Buffer
	buf.WriteString(arMagic)
	for _, m := range members {
		fmt.Fprintf(&buf, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m.Name, 0, 0, 0, "100644", len(m.Data))
		buf.Write(m.Data)
		if len(m.Data)%2 == 1 {
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes()
}

type arMember struct {
	Name string
	Data []byte
}

func TestArReader(t *testing.T) {
	ar := buildAr(arMember{"debian-binary", []byte("2.0\n")}, arMember{"odd", []byte("abc")}, arMember{"last/", []byte("zz")})
	r := NewArReader(bytes.NewReader(ar))
	var names []string
	var datas []string
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		b, err := io.ReadAll(r)
		if err != nil || int64(len(b)) != h.Size {
			t.Fatalf("%s: %q %v", h.Name, b, err)
		}
		datas = append(datas, string(b))
	}
	if len(names) != 3 || names[1] != "odd" || names[2] != "last" || datas[1] != "abc" || datas[2] != "zz" {
		t.Errorf("names %q data %q", names, datas)
	}
	// Skipping a member without reading it.
	r = NewArReader(bytes.NewReader(ar))
	r.Next()
	if h, err := r.Next(); err != nil || h.Name != "odd" {
		t.Errorf("skip: %v %v", h, err)
	}
	// Truncation is an error, not a silent short member.
	r = NewArReader(bytes.NewReader(ar[:len(ar)-4]))
	var err error
	for err == nil {
		if _, err = r.Next(); err == nil {
			_, err = io.ReadAll(r)
		}
	}
	if !errors.Is(err, ErrBadAr) {
		t.Errorf("truncated archive: %v, want ErrBadAr", err)
	}
}

// FuzzAr checks that the ar reader never panics or loops, and that every
// member it returns has exactly its declared size.
func FuzzAr(f *testing.F) {
	f.Add(buildAr(arMember{"debian-binary", []byte("2.0\n")}, arMember{"data.tar.xz", []byte("xyz")}))
	f.Add([]byte(arMagic))
	f.Add([]byte(arMagic + "short"))
	f.Add([]byte("!<arch>\ndebian-binary   0           0     0     100644  -5        `\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewArReader(bytes.NewReader(data))
		for i := 0; i < 1000; i++ {
			h, err := r.Next()
			if err != nil {
				return
			}
			if h.Size < 0 {
				t.Fatalf("negative size %d", h.Size)
			}
			n, err := io.Copy(io.Discard, r)
			if err == nil && n != h.Size {
				t.Fatalf("member %q read %d bytes, declared %d", h.Name, n, h.Size)
			}
			if err != nil {
				return
			}
		}
	})
}
