package proto

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Type says what a frame's payload is.
type Type uint8

// Frame types sent by the guest agent.
const (
	TypeReady  Type = 1 // Ready: the agent runs and is about to execute the plan
	TypeLog    Type = 2 // free text from the agent, for the host's debug log
	TypeResult Type = 3 // StepResult: one step finished
	TypeDone   Type = 4 // Done: every step ran; the agent powers off next
	TypeFatal  Type = 5 // Fatal: the agent itself failed (a recovered panic, an unreadable plan)
	TypeSetup  Type = 6 // Setup: what the agent mounted, sent after Ready
)

func (t Type) String() string {
	switch t {
	case TypeReady:
		return "ready"
	case TypeLog:
		return "log"
	case TypeResult:
		return "result"
	case TypeDone:
		return "done"
	case TypeFatal:
		return "fatal"
	case TypeSetup:
		return "setup"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

const (
	magic0, magic1 = 'R', 'B'
	flagZstd       = 1 << 0
	headerLen      = 12 // magic(2) type(1) flags(1) length(4) header-crc(4)
	trailerLen     = 4  // payload crc

	// MaxPayload bounds a frame's (stored) payload; a longer length field is
	// treated as corruption.
	MaxPayload = 64 << 20
	// CompressThreshold is the payload size above which the writer compresses.
	CompressThreshold = 1024
)

// Errors returned by the reader. Both are recoverable: call Next again.
var (
	ErrCorrupt  = errors.New("corrupt frame")
	ErrTooLarge = errors.New("frame too large")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Frame is one decoded message.
type Frame struct {
	Type    Type
	Payload []byte // uncompressed
}

var (
	encOnce sync.Once
	enc     *zstd.Encoder
	dec     *zstd.Decoder
)

func codecs() (*zstd.Encoder, *zstd.Decoder) {
	encOnce.Do(func() {
		// Small windows and one goroutine: the guest has little memory and
		// a slow emulated CPU; frames are compressed one at a time.
		enc, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(1<<20), zstd.WithEncoderLevel(zstd.SpeedFastest))
		dec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(MaxPayload*2))
	})
	return enc, dec
}

// Encode returns the frame for payload, compressed if that pays off.
func Encode(t Type, payload []byte) ([]byte, error) {
	var flags byte
	body := payload
	if len(payload) > CompressThreshold {
		e, _ := codecs()
		if c := e.EncodeAll(payload, nil); len(c) < len(payload) {
			body, flags = c, flagZstd
		}
	}
	if len(body) > MaxPayload {
		return nil, fmt.Errorf("encode %s frame of %d bytes: %w", t, len(body), ErrTooLarge)
	}
	out := make([]byte, headerLen, headerLen+len(body)+trailerLen)
	out[0], out[1], out[2], out[3] = magic0, magic1, byte(t), flags
	binary.BigEndian.PutUint32(out[4:8], uint32(len(body)))
	binary.BigEndian.PutUint32(out[8:12], crc32.Checksum(out[:8], castagnoli))
	out = append(out, body...)
	return binary.BigEndian.AppendUint32(out, crc32.Checksum(body, castagnoli)), nil
}

// Writer writes frames to an underlying stream, one Write call per frame.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// WriteFrame encodes and writes one frame.
func (w *Writer) WriteFrame(t Type, payload []byte) error {
	b, err := Encode(t, payload)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err = w.w.Write(b)
	return err
}

// Reader reads frames from a byte stream.
type Reader struct {
	r *bufio.Reader
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, 64<<10)} }

// Next returns the next frame. Bytes before a magic are skipped. A frame
// whose checksums do not match yields an error wrapping ErrCorrupt (or
// ErrTooLarge); the reader then resumes after that frame's magic, so the
// caller may keep calling Next. io.EOF (or io.ErrUnexpectedEOF inside a
// frame) ends the stream.
func (r *Reader) Next() (Frame, error) {
	for {
		b, err := r.r.ReadByte()
		if err != nil {
			return Frame{}, err
		}
		if b != magic0 {
			continue
		}
		peek, err := r.r.Peek(headerLen - 1)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return Frame{}, io.ErrUnexpectedEOF
			}
			return Frame{}, err
		}
		hdr := append([]byte{b}, peek...)
		f, n, err := decodeHeader(hdr)
		if err != nil {
			if errors.Is(err, errNoMagic) {
				continue // a stray 'R'
			}
			return Frame{}, err // resume after this magic byte
		}
		if _, err := r.r.Discard(headerLen - 1); err != nil {
			return Frame{}, err
		}
		body := make([]byte, n+trailerLen)
		if _, err := io.ReadFull(r.r, body); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return Frame{}, err
		}
		return f.finish(hdr[3], body)
	}
}

var errNoMagic = errors.New("no magic")

func decodeHeader(h []byte) (Frame, int, error) {
	if h[0] != magic0 || h[1] != magic1 {
		return Frame{}, 0, errNoMagic
	}
	if crc32.Checksum(h[:8], castagnoli) != binary.BigEndian.Uint32(h[8:12]) {
		return Frame{}, 0, fmt.Errorf("header checksum mismatch: %w", ErrCorrupt)
	}
	if h[3]&^flagZstd != 0 {
		return Frame{}, 0, fmt.Errorf("unknown flags %#x: %w", h[3], ErrCorrupt)
	}
	n := binary.BigEndian.Uint32(h[4:8])
	if n > MaxPayload {
		return Frame{}, 0, fmt.Errorf("length %d: %w", n, ErrTooLarge)
	}
	return Frame{Type: Type(h[2])}, int(n), nil
}

func (f Frame) finish(flags byte, body []byte) (Frame, error) {
	n := len(body) - trailerLen
	if crc32.Checksum(body[:n], castagnoli) != binary.BigEndian.Uint32(body[n:]) {
		return Frame{}, fmt.Errorf("%s frame: payload checksum mismatch: %w", f.Type, ErrCorrupt)
	}
	f.Payload = body[:n:n]
	if flags&flagZstd != 0 {
		_, d := codecs()
		p, err := d.DecodeAll(f.Payload, nil)
		if err != nil {
			return Frame{}, fmt.Errorf("%s frame: decompress: %v: %w", f.Type, err, ErrCorrupt)
		}
		f.Payload = p
	}
	return f, nil
}

// Decode decodes one frame that must start at data[0] and returns it with
// the number of bytes it used.
func Decode(data []byte) (Frame, int, error) {
	if len(data) < headerLen {
		return Frame{}, 0, io.ErrUnexpectedEOF
	}
	f, n, err := decodeHeader(data[:headerLen])
	if errors.Is(err, errNoMagic) {
		return Frame{}, 0, fmt.Errorf("bad magic: %w", ErrCorrupt)
	}
	if err != nil {
		return Frame{}, 0, err
	}
	end := headerLen + n + trailerLen
	if len(data) < end {
		return Frame{}, 0, io.ErrUnexpectedEOF
	}
	f, err = f.finish(data[3], bytes.Clone(data[headerLen:end]))
	if err != nil {
		return Frame{}, 0, err
	}
	return f, end, nil
}
