package kernels_test

import (
	"context"
	"fmt"
	"log"

	"github.com/retrobpf/retrobpf/vmtest/kernels"
)

// Resolve returns a cached kernel or pulls it: here the newest bookworm
// cloud kernel, from the Debian mirror of the system's apt sources.
func ExampleCache_Resolve() {
	cache, err := kernels.Open("") // $XDG_CACHE_HOME/retrobpf/kernels
	if err != nil {
		log.Fatal(err)
	}
	k, err := cache.Resolve(context.Background(), "6.1", kernels.ResolveOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(k.Release, k.Vmlinuz)
}

func ExampleParseRef() {
	for _, s := range []string{"6.12", "deb:linux-image-cloud-amd64=6.1.76-1", "oci:localhost:5000/kernel-images:5.4", "4.19"} {
		r, err := kernels.ParseRef(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s %s\n", r.Kind, r.Key())
	}
	// Output:
	// alias 6.12
	// deb deb_linux-image-cloud-amd64=6.1.76-1-de98ab35
	// oci oci_localhost_5000_kernel-images_5.4-41f07603
	// unknown kernel alias "4.19" (known: 5.10, 6.1, 6.12; other versions come as oci:IMAGE, file:PATH or dir:PATH)
}
