package verifier

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
)

// Compress returns the log gzip-compressed, the artifact kept per load.
func Compress(log []string) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	for _, l := range log {
		io.WriteString(zw, l)
		zw.Write([]byte{'\n'})
	}
	zw.Close()
	return buf.Bytes()
}

// Decompress is the inverse of Compress.
func Decompress(b []byte) ([]string, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	return splitLog(string(data)), nil
}

// Excerpt returns the last lines of the log, at most maxLines lines and
// maxBytes bytes, prefixed with how many lines were left out.
func Excerpt(log []string, maxLines, maxBytes int) string {
	var kept []string
	size := 0
	for i := len(log) - 1; i >= 0 && len(kept) < maxLines; i-- {
		l := log[i]
		if len(l) > 512 {
			l = l[:512] + "…"
		}
		if size+len(l)+1 > maxBytes && len(kept) > 0 {
			break
		}
		size += len(l) + 1
		kept = append(kept, l)
	}
	for i, j := 0, len(kept)-1; i < j; i, j = i+1, j-1 {
		kept[i], kept[j] = kept[j], kept[i]
	}
	var b strings.Builder
	if omitted := len(log) - len(kept); omitted > 0 {
		b.WriteString("(")
		b.WriteString(itoa(omitted))
		b.WriteString(" earlier lines omitted)\n")
	}
	b.WriteString(strings.Join(kept, "\n"))
	return b.String()
}

func itoa(n int) string {
	var d [20]byte
	i := len(d)
	for n >= 10 {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
	}
	i--
	d[i] = byte('0' + n)
	return string(d[i:])
}
