#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Loads and unloads an RDS implementation 20 times with sockets in between,
# then checks that unload is refused while a socket exists and succeeds after.
# Run in a VM started with `--rds none`:
#
#   scripts/vm-run --rds none -- selftests/module_load.sh rust|c
#
# The VM runner fails the run if the kernel log shows any splat.
set -u

impl=${1:-rust}
here=$(cd "$(dirname "$0")" && pwd)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }

case $impl in
rust)
	load() { insmod "$RDS_MODULE"; }
	unload() { rmmod rds_rs; }
	mod=rds_rs
	;;
c)
	load() { insmod "$RDS_KDIR/net/rds/rds.ko" && insmod "$RDS_KDIR/net/rds/rds_tcp.ko"; }
	# rds_tcp holds no socket: it may already be gone after a refused unload.
	unload() { { [ ! -d /sys/module/rds_tcp ] || rmmod rds_tcp; } && rmmod rds; }
	mod=rds
	;;
*) echo "usage: $0 rust|c" >&2; exit 2 ;;
esac
loaded() { [ -d "/sys/module/$mod" ]; }

# One socket, bound to loopback, then closed.
use_socket() {
	python3 -c '
import socket
s = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
s.bind(("127.0.0.1", 0))
assert s.getsockname()[1] not in (0, 1)
s.close()'
}

echo "TAP version 13"
echo "1..6"

cycles_ok=1
for i in $(seq 20); do
	if ! load; then echo "# load $i failed"; cycles_ok=0; break; fi
	if ! use_socket; then echo "# socket in cycle $i failed"; cycles_ok=0; unload; break; fi
	if ! unload; then echo "# unload $i failed"; cycles_ok=0; break; fi
done
check "20 load / socket / unload cycles" [ $cycles_ok = 1 ]
check "module gone after the cycles" eval '! loaded'

load
# A process elsewhere holds a bound socket: unload must be refused, not crash.
fifo=$(mktemp -u); mkfifo "$fifo"
python3 -c '
import socket, sys
s = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
s.bind(("127.0.0.1", 4000))
print("ready", flush=True)
sys.stdin.read()
print(s.getsockname()[1], flush=True)' < "$fifo" > "$fifo.out" &
holder=$!
exec 3> "$fifo"
for _ in $(seq 100); do grep -q ready "$fifo.out" 2>/dev/null && break; sleep 0.1; done
if unload 2>/dev/null; then not_ok "unload refused while a socket is open"; load; else
	ok "unload refused while a socket is open"; fi
check "module still loaded" loaded
exec 3>&-
wait $holder
check "the open socket kept working (getsockname after the refused unload)" \
	grep -qx 4000 "$fifo.out"
rm -f "$fifo" "$fifo.out"
check "unload succeeds once the socket is closed" unload

echo "# $((n - failed)) passed, $failed failed"
[ $failed = 0 ]
