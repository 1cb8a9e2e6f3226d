package btfhub_test

import (
	"fmt"

	"github.com/retrobpf/retrobpf/btfhub"
)

// The archive's naming quirks: Debian 11 lives under its codename, ARM
// under arm64, RHEL under its major version, Amazon Linux 2018.03 under 1.
func ExampleKernel_ArchivePath() {
	for _, k := range []btfhub.Kernel{
		{OSID: "debian", OSVersion: "10", Arch: "x86_64", Release: "4.19.0-27-amd64"},
		{OSID: "debian", OSVersion: "11", Arch: "aarch64", Release: "5.10.0-21-arm64"},
		{OSID: "rhel", OSVersion: "8.4", Arch: "x86_64", Release: "4.18.0-305.el8.x86_64"},
		{OSID: "amzn", OSVersion: "2018.03", Arch: "x86_64", Release: "4.14.106-79.86.amzn1.x86_64"},
	} {
		p, _ := k.ArchivePath()
		fmt.Println(p)
	}
	// Output:
	// debian/10/x86_64/4.19.0-27-amd64.btf.tar.xz
	// debian/bullseye/arm64/5.10.0-21-arm64.btf.tar.xz
	// rhel/8/x86_64/4.18.0-305.el8.x86_64.btf.tar.xz
	// amzn/1/x86_64/4.14.106-79.86.amzn1.x86_64.btf.tar.xz
}
