package objload_test

import (
	"fmt"

	"github.com/retrobpf/retrobpf/internal/objload"
)

// Read an object built for libbpf and prepare it for a kernel that is not
// the running one: its release and config decide the .kconfig values.
func Example() {
	obj, err := objload.ReadFile("testdata/kconfig.o")
	if err != nil {
		fmt.Println(err)
		return
	}
	target := objload.Options{
		Release: "5.10.0-28-amd64",
		Config:  []byte("CONFIG_BPF_SYSCALL=y\nCONFIG_HZ=250\n"),
		Virtual: map[string]uint64{"LINUX_HAS_BPF_COOKIE": 0},
	}
	spec, err := obj.Prepare(target)
	if err != nil {
		fmt.Println(err)
		return
	}
	vals, _ := obj.Kconfig(target)
	fmt.Println("weak map:", obj.Weak("weak_map"), spec.Maps["weak_map"] != nil)
	fmt.Printf("LINUX_KERNEL_VERSION: %#x\n", spec.ByteOrder.Uint32(vals["LINUX_KERNEL_VERSION"]))
	fmt.Println("CONFIG_HZ:", spec.ByteOrder.Uint32(vals["CONFIG_HZ"]))
	fmt.Println("CONFIG_RETRO_ABSENT (weak, absent):", vals["CONFIG_RETRO_ABSENT"])

	// Without CONFIG_BPF_SYSCALL, which the object needs (not __weak):
	target.Config = []byte("CONFIG_HZ=250\n")
	_, err = obj.Prepare(target)
	fmt.Println(err)
	// Output:
	// weak map: true true
	// LINUX_KERNEL_VERSION: 0x50a00
	// CONFIG_HZ: 250
	// CONFIG_RETRO_ABSENT (weak, absent): [0 0 0 0 0 0 0 0]
	// unresolved extern: CONFIG_BPF_SYSCALL (not set for 5.10.0-28-amd64; declare it __weak to default to zero)
}
