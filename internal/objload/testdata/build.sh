#!/bin/sh
# Rebuilds the extern fixtures (clang 14+, libbpf-dev 1.1+ headers). The .o
# files are committed so tests need no compiler.
set -e
cd "$(dirname "$0")"
inc="-I/usr/include/$(uname -m)-linux-gnu"
for f in kconfig strong ksym usdt; do
	clang -O2 -g -target bpf -D__TARGET_ARCH_x86 $inc -c "$f.c" -o "$f.o"
done
# The same program built big-endian: loadable only by a big-endian kernel.
clang -O2 -g -target bpfeb -D__TARGET_ARCH_x86 $inc -c strong.c -o strong_bpfeb.o
