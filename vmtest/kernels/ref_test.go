package kernels

import (
	"errors"
	"testing"
)

func TestParseRef(t *testing.T) {
	for in, want := range map[string]Ref{
		"6.1":                                  {Kind: KindAlias, Alias: "6.1"},
		"5.10":                                 {Kind: KindAlias, Alias: "5.10"},
		"deb:linux-image-6.1.0-18-cloud-amd64": {Kind: KindDeb, Package: "linux-image-6.1.0-18-cloud-amd64"},
		"deb:linux-image-cloud-amd64=6.1.76-1": {Kind: KindDeb, Package: "linux-image-cloud-amd64", Version: "6.1.76-1"},
		"oci:localhost:5000/kernels:6.1":       {Kind: KindOCI, Image: "localhost:5000/kernels:6.1"},
		"file:/boot/vmlinuz":                   {Kind: KindFile, Path: "/boot/vmlinuz"},
		"oci:registry.example/k/kernel-images@sha256:" + zeros: {Kind: KindOCI, Image: "registry.example/k/kernel-images@sha256:" + zeros},
	} {
		got, err := ParseRef(in)
		if err != nil || got != want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if err == nil && got.String() != in {
			t.Errorf("String() = %q, want %q", got.String(), in)
		}
	}
	for in, want := range map[string]error{
		"4.19":             ErrUnknownAlias,
		"v5.4":             ErrUnknownAlias,
		"latest":           ErrBadRef,
		"deb:":             ErrBadRef,
		"deb:Bad_Name":     ErrBadRef,
		"deb:linux=1 2":    ErrBadRef,
		"oci:UPPER/Case::": ErrBadRef,
		"file:":            ErrBadRef,
		"http://x/vmlinuz": ErrBadRef,
	} {
		if _, err := ParseRef(in); !errors.Is(err, want) {
			t.Errorf("ParseRef(%q) error %v, want %v", in, err, want)
		}
	}
}

const zeros = "0000000000000000000000000000000000000000000000000000000000000000"

func TestRefKey(t *testing.T) {
	keys := map[string]string{}
	for _, s := range []string{"6.1", "deb:linux-image-cloud-amd64", "deb:linux-image-cloud-amd64=6.1.76-1", "oci:localhost:5000/k:6.1", "oci:localhost:5000/k_6.1"} {
		r, err := ParseRef(s)
		if err != nil {
			t.Fatal(err)
		}
		k := r.Key()
		if prev, dup := keys[k]; dup {
			t.Errorf("%s and %s share key %s", prev, s, k)
		}
		keys[k] = s
		for _, c := range k {
			if c == '/' || c == ':' {
				t.Errorf("key %q of %s has %q", k, s, c)
			}
		}
	}
	if r, _ := ParseRef("6.1"); r.Key() != "6.1" {
		t.Errorf("alias key %q", r.Key())
	}
}
