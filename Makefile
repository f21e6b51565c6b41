# SPDX-License-Identifier: GPL-2.0
#
# rds-tcp-rs: out-of-tree build of rds_rs.ko, host tests and VM tests.
#
#   make                  build the module against $(KDIR)
#   make KDIR=/lib/modules/$(uname -r)/build   any Rust-enabled 6.12 tree
#   make test             host tests + VM selftests (what CI runs)
#   make check            rustfmt, and clippy over the module and the host crate
#   make bench            benchmark raw TCP, the C module and ours in one VM (scripts/bench)
#   make soak             fault and stress tests 20 times each on the debug kernel (scripts/soak)
#   make interop-kill     ss -K across two VMs: rds_rs vs itself, the C module vs itself and vs rds_rs
#   make fuzz-host        the protocol core's fuzz targets, 5 million cases each (host only)

# The cached test kernel (scripts/build-kernel builds it on first use).
# Evaluated on first use only, and once.
KDIR ?= $(eval KDIR := $$(shell scripts/build-kernel))$(KDIR)
# LLVM=-19 RUSTC=... RUST_LIB_SRC=... BINDGEN=..., derived from installed packages.
TOOLCHAIN ?= $(eval TOOLCHAIN := $$(shell scripts/toolchain))$(TOOLCHAIN)
KMAKE = $(MAKE) -C $(KDIR) M=$(CURDIR) $(TOOLCHAIN)

.PHONY: all modules clean test check clippy demo bench soak interop-kill fuzz-host

all: modules

modules:
	@test -n "$(KDIR)" || { echo "no kernel tree: run scripts/setup, or set KDIR" >&2; exit 1; }
	$(KMAKE) modules

clean:
	rm -f *.ko *.o *.mod *.mod.c .*.cmd sys/*.o sys/.*.cmd modules.order Module.symvers \
		sys/shim_generated.rs .*.d

test:
	scripts/test

demo:
	scripts/demo

bench:
	scripts/bench

soak:
	scripts/soak

interop-kill:
	scripts/test --kill

fuzz-host:
	PROPTEST_CASES=5000000 cargo test --release fuzz_

# rustfmt over every Rust file (the crate root reaches them all), clippy over
# the module as the kernel builds it (warnings are errors) and over the host crate.
check: clippy
	rustfmt --edition 2021 --check rds_tcp_rs.rs
	cargo clippy --quiet --all-targets -- -D warnings

clippy:
	$(KMAKE) CLIPPY=1 KRUSTFLAGS=-Dwarnings modules
