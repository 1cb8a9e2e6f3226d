package objload

import (
	"bytes"
	"encoding/binary"
	"errors"
	"github.com/cilium/ebpf/btf"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/retrobpf/retrobpf/internal/kversion"
)

// testConfig is a target config with a value for every form kconfig.o
// reads; CONFIG_RETRO_ABSENT is deliberately missing.
const testConfig = `# generated
CONFIG_BPF_SYSCALL=y
CONFIG_RETRO_TRI=m
CONFIG_HZ=250
CONFIG_RETRO_STR="abcdefghij"
CONFIG_RETRO_CHAR=m
# CONFIG_RETRO_ABSENT is not set
`

var testTarget = Options{
	Release: "6.1.0-18-amd64",
	Version: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)",
	Config:  []byte(testConfig),
	Virtual: map[string]uint64{"LINUX_HAS_BPF_COOKIE": 1},
}

func TestCiliumRefusesWhatLibbpfLoads(t *testing.T) {
	// The reason this package exists: without it these fail to parse.
	for f, refusal := range map[string]string{
		"testdata/usdt.o":    "unsupported binding",
		"testdata/kconfig.o": "unsupported binding",
		"testdata/ksym.o":    "expected runqueues to be *Void",
	} {
		if _, err := ebpf.LoadCollectionSpec(f); err == nil || !strings.Contains(err.Error(), refusal) {
			t.Errorf("%s: cilium/ebpf no longer refuses it with %q (%v): objload's rewrite may be unnecessary", f, refusal, err)
		}
		o, err := ReadFile(f)
		if err != nil {
			t.Fatalf("ReadFile(%s): %v", f, err)
		}
		if len(o.Spec.Programs) == 0 {
			t.Fatalf("%s: no programs", f)
		}
	}
	o, err := ReadFile("testdata/usdt.o")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"__bpf_usdt_specs", "__bpf_usdt_ip_to_spec_id"} {
		if o.Spec.Maps[m] == nil || !o.Weak(m) {
			t.Errorf("weak map %s: spec %v, weak %v", m, o.Spec.Maps[m], o.Weak(m))
		}
	}
}

func TestKconfigValues(t *testing.T) {
	o, err := ReadFile("testdata/kconfig.o")
	if err != nil {
		t.Fatal(err)
	}
	vals, err := o.Kconfig(testTarget)
	if err != nil {
		t.Fatal(err)
	}
	bo := o.Spec.ByteOrder
	u32 := func(name string) uint32 { return bo.Uint32(vals[name]) }
	if got, want := u32("LINUX_KERNEL_VERSION"), kversion.MustParse("6.1.76").Code(); got != want {
		t.Errorf("LINUX_KERNEL_VERSION = %#x, want %#x (the Debian version from uname -v)", got, want)
	}
	checks := map[string][]byte{
		"LINUX_HAS_BPF_COOKIE": {1},
		"CONFIG_BPF_SYSCALL":   {1},
		"CONFIG_RETRO_CHAR":    {'m'},
		"CONFIG_RETRO_STR":     []byte("abcdefg\x00"), // truncated, terminated
		"CONFIG_RETRO_ABSENT":  make([]byte, 8),
	}
	for name, want := range checks {
		if got := vals[name]; string(got) != string(want) {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if got := u32("CONFIG_RETRO_TRI"); got != triModule {
		t.Errorf("CONFIG_RETRO_TRI = %d, want TRI_MODULE (2)", got)
	}
	if got := u32("CONFIG_HZ"); got != 250 {
		t.Errorf("CONFIG_HZ = %d, want 250", got)
	}
}

func TestKconfigErrors(t *testing.T) {
	o, err := ReadFile("testdata/strong.o")
	if err != nil {
		t.Fatal(err)
	}
	_, err = o.Prepare(testTarget)
	if !errors.Is(err, ErrUnresolved) || !strings.Contains(err.Error(), "CONFIG_RETRO_REQUIRED") {
		t.Errorf("strong absent extern: %v, want ErrUnresolved naming CONFIG_RETRO_REQUIRED", err)
	}
	// A config that exists but says "not set" is the same.
	opts := testTarget
	opts.Config = []byte("# CONFIG_RETRO_REQUIRED is not set\n")
	if _, err := o.Prepare(opts); !errors.Is(err, ErrUnresolved) {
		t.Errorf("not set: %v, want ErrUnresolved", err)
	}
	opts.Config = []byte("CONFIG_RETRO_REQUIRED=m\n")
	if _, err := o.Prepare(opts); !errors.Is(err, ErrBadValue) {
		t.Errorf("bool =m: %v, want ErrBadValue", err)
	}
	opts.Config = []byte("CONFIG_RETRO_REQUIRED=y\n")
	if _, err := o.Prepare(opts); err != nil {
		t.Errorf("=y: %v", err)
	}

	k, err := ReadFile("testdata/kconfig.o")
	if err != nil {
		t.Fatal(err)
	}
	opts = testTarget
	opts.Config = []byte("CONFIG_BPF_SYSCALL=y\nCONFIG_HZ=0x1_0000_0000_0\n")
	if _, err := k.Prepare(opts); !errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), "CONFIG_HZ") {
		t.Errorf("int too large: %v, want ErrBadValue naming CONFIG_HZ", err)
	}
	// No config at all: the weak CONFIG_ externs are zero, the strong one
	// (CONFIG_BPF_SYSCALL) is unresolved.
	opts = Options{Release: "0.0-no-such-kernel", Virtual: map[string]uint64{"LINUX_HAS_BPF_COOKIE": 0}}
	if _, err := k.Prepare(opts); !errors.Is(err, ErrUnresolved) || !strings.Contains(err.Error(), "CONFIG_BPF_SYSCALL") {
		t.Errorf("no config: %v, want ErrUnresolved naming CONFIG_BPF_SYSCALL", err)
	}
}

func TestReadBadInput(t *testing.T) {
	for name, raw := range map[string][]byte{
		"empty":     {},
		"not elf":   []byte("hello"),
		"truncated": mustRead(t, "testdata/kconfig.o")[:100],
	} {
		if _, err := Read(raw); !errors.Is(err, ErrBadObject) {
			t.Errorf("%s: %v, want ErrBadObject", name, err)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

var _ = binary.LittleEndian

func emptyBTF(t *testing.T) *btf.Spec {
	t.Helper()
	var b btf.Builder
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestKernelVersionSources(t *testing.T) {
	if v, ok := ubuntuVersion("Ubuntu 5.15.0-91.101-generic 5.15.131\n"); !ok || v.Code() != kversion.MustParse("5.15.131").Code() {
		t.Errorf("ubuntuVersion = %v, %v", v, ok)
	}
	if _, ok := ubuntuVersion("garbage"); ok {
		t.Error("ubuntuVersion accepted garbage")
	}
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Release: "6.1.0-18-amd64", Version: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"}, "6.1.76"},
		{Options{Release: "6.1.0-18-amd64"}, "6.1.0"},
		{Options{Release: "4.19.300-custom"}, "4.19.255"}, // the patch level saturates
	} {
		v, err := tc.opts.kernelVersion()
		if err != nil || v.Code() != kversion.MustParse(tc.want).Code() {
			t.Errorf("%+v: %v, %v, want %s", tc.opts, v, err, tc.want)
		}
	}
}
