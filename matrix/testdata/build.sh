#!/bin/sh
# Rebuilds the hostile test objects (clang 14+). The .o files are committed
# so tests need no compiler. -mcpu=v2 keeps them loadable on 4.19.
set -e
cd "$(dirname "$0")"
inc="-I. -I/usr/include/$(uname -m)-linux-gnu"
for f in loop oob leak big nongpl core net profile; do
	clang -O2 -g -target bpf -mcpu=v2 $inc -c "$f.c" -o "$f.o"
done
