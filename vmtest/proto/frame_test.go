package proto

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte("retrobpf ring buffer "), 10000)
	var buf bytes.Buffer
	w := NewWriter(&buf)
	frames := []Frame{{TypeReady, []byte(`{"release":"6.1"}`)}, {TypeResult, big}, {TypeDone, nil}}
	for _, f := range frames {
		if err := w.WriteFrame(f.Type, f.Payload); err != nil {
			t.Fatal(err)
		}
	}
	if buf.Len() > len(big)/4 {
		t.Errorf("stream is %d bytes, want the big payload compressed", buf.Len())
	}
	r := NewReader(&buf)
	for i, want := range frames {
		got, err := r.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if got.Type != want.Type || !bytes.Equal(got.Payload, want.Payload) {
			t.Fatalf("frame %d: got %s %d bytes, want %s %d bytes", i, got.Type, len(got.Payload), want.Type, len(want.Payload))
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after last frame: %v, want EOF", err)
	}
}

// TestCorruptionDetected flips every byte of an encoded frame in turn: each
// flip must be reported (or, in the magic, make the frame vanish), never
// decoded into a different payload.
func TestCorruptionDetected(t *testing.T) {
	for _, payload := range [][]byte{[]byte("exit code 7"), bytes.Repeat([]byte("x"), 5000)} {
		enc, err := Encode(TypeResult, payload)
		if err != nil {
			t.Fatal(err)
		}
		for i := range enc {
			bad := bytes.Clone(enc)
			bad[i] ^= 0x20
			f, err := NewReader(bytes.NewReader(bad)).Next()
			if err == nil {
				t.Fatalf("flip at byte %d of %d: decoded %s %q without error", i, len(enc), f.Type, f.Payload)
			}
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) && err != io.EOF && err != io.ErrUnexpectedEOF {
				t.Fatalf("flip at byte %d: unexpected error %v", i, err)
			}
		}
	}
}

// TestResync checks that noise and a corrupt frame do not hide the frames
// after them.
func TestResync(t *testing.T) {
	good1, _ := Encode(TypeLog, []byte("one"))
	bad, _ := Encode(TypeLog, []byte("two"))
	bad[len(bad)-1] ^= 1
	good2, _ := Encode(TypeDone, []byte("three"))
	stream := bytes.Join([][]byte{[]byte("RRnoise\x00R"), good1, bad, []byte("garbage"), good2}, nil)
	r := NewReader(bytes.NewReader(stream))
	var got []string
	var corrupt int
	for {
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, ErrCorrupt) {
			corrupt++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(f.Payload))
	}
	if strings.Join(got, ",") != "one,three" || corrupt != 1 {
		t.Fatalf("got %q with %d corrupt frames, want [one three] and 1", got, corrupt)
	}
}

func TestDecodeTruncated(t *testing.T) {
	enc, _ := Encode(TypeReady, []byte("hello"))
	for n := 0; n < len(enc); n++ {
		if _, _, err := Decode(enc[:n]); err != io.ErrUnexpectedEOF {
			t.Fatalf("Decode(%d of %d bytes) = %v, want ErrUnexpectedEOF", n, len(enc), err)
		}
	}
	f, n, err := Decode(append(enc, 'x'))
	if err != nil || n != len(enc) || string(f.Payload) != "hello" {
		t.Fatalf("Decode = %v %d %v", f, n, err)
	}
}

func FuzzFrame(f *testing.F) {
	for _, p := range []string{"", "ready", strings.Repeat("abc", 1000)} {
		enc, _ := Encode(TypeResult, []byte(p))
		f.Add(enc)
	}
	f.Add([]byte("RB\x03\x01\x00\x00\x00\x10garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, n, err := Decode(data)
		if err != nil {
			return
		}
		if n > len(data) {
			t.Fatalf("used %d of %d bytes", n, len(data))
		}
		// A frame that decodes must re-encode to something that decodes
		// to the same frame.
		enc, err := Encode(fr.Type, fr.Payload)
		if err != nil {
			t.Fatal(err)
		}
		again, _, err := Decode(enc)
		if err != nil || again.Type != fr.Type || !bytes.Equal(again.Payload, fr.Payload) {
			t.Fatalf("re-encode mismatch: %v", err)
		}
		// The streaming reader agrees with Decode.
		sf, err := NewReader(bytes.NewReader(data)).Next()
		if err != nil || sf.Type != fr.Type || !bytes.Equal(sf.Payload, fr.Payload) {
			t.Fatalf("Reader disagrees with Decode: %v", err)
		}
	})
}
