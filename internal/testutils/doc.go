// Package testutils holds the environment checks every retrobpf test shares:
// root, QEMU, a minimum kernel version, and the kernel filesystems a test
// needs mounted. Each skip states its reason, and a test that needs state the
// machine may not have (tracefs on a freshly installed host) creates it
// instead of depending on what earlier work left behind.
package testutils
