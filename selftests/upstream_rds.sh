#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs upstream's RDS selftest, tools/testing/selftests/net/rds/test.py from
# the test kernel's own source, unmodified, with the impairment options given
# (-l loss%, -c corruption%, -u duplication%), and prints one TAP line.
#
#   scripts/vm-run --rds rust -- selftests/upstream_rds.sh -l 10 -c 10 -u 10
#
# test.py sends 50 000 messages between two namespaces over veth with netem,
# rewrites net.rds.tcp.rds_tcp_{snd,rcv}buf between rounds (which resets the
# connections), and checks per-pair hashes of everything received.
set -u

src=$(readlink -f "$RDS_KDIR/source")
dir=$src/tools/testing/selftests/net/rds
logs=$(mktemp -d)
name="upstream test.py ${*:-(no impairment)} on $RDS_IMPL"

echo "TAP version 13"
echo "1..1"
# What both namespaces hold: the stacks of blocked tasks and of rds_rs
# workers that are not idle, ss, one line per RDS path, each namespace's
# RDS receive queues (upstream's RDS_INFO_RECV_MESSAGES), and the module's
# non-zero counters. Printed last in a failed run's log, which is the part
# CI shows.
dump_state() {
	[ -x "${RDS_ROOT:-}/target/release/rdstcp" ] || return 0
	for t in /proc/[0-9]*; do
		comm=$(cat "$t/comm" 2>/dev/null) || continue
		state=$(awk '/^State:/ { print $2 }' "$t/status" 2>/dev/null)
		case "$state/$comm" in
		D/* | [!I]/*rds_rs*)
			echo "# task ${t#/proc/} $comm state $state:"
			sed 's/^/#     /' "$t/stack" 2>/dev/null
			;;
		esac
	done
	for ns in net0 net1; do
		ip netns exec $ns ss -tnoi 2>&1 | head -20 | sed "s/^/# $ns ss: /"
		ip netns exec $ns "$RDS_ROOT/target/release/rdstcp" show --json connections |
			python3 -c '
import json, sys, types
d = json.load(sys.stdin, object_hook=lambda o: types.SimpleNamespace(**o))
for c in getattr(d, "connections", None) or []:
    for p in c.paths:
        if p.tx_msgs or p.rx_msgs or p.queued_msgs or p.state != "down":
            stalled = " STALLED" if p.stalled else ""
            print(f"# {sys.argv[1]} {c.local}->{c.peer} path {p.index}: {p.state}{stalled},"
                  f" queued {p.queued_msgs}, unacked {p.unacked_msgs}, tx {p.tx_msgs},"
                  f" rx {p.rx_msgs}, seq tx {p.next_tx_seq} rx {p.next_rx_seq},"
                  f" reconnects {p.reconnects}")
' $ns 2>&1
	done
	for ns in net0 net1; do
		ip netns exec $ns "$RDS_ROOT/target/release/rdstcp" info recv 2>&1 |
			awk -v ns=$ns 'NR > 2 && NF { n++ } END { print "# " ns " RDS receive queues: " n + 0 " messages" }'
	done
	# The counters are the module's, for both namespaces together.
	echo "# counters (non-zero):"
	"$RDS_ROOT/target/release/rdstcp" info counters 2>&1 |
		awk 'NR > 2 && $NF != 0 { print $1 "=" $NF }' | paste -sd ' ' | fold -s -w 150 | sed 's/^/#   /'
}

start=$SECONDS
# test.py's own alarm (--timeout 400, as upstream's run.sh passes) exits it,
# and its sockets with their queues go. So the state is taken shortly
# before, while they are still there, and shown if the run fails.
# UPSTREAM_RDS_DUMP_AT (seconds) moves it, to try it with a shorter
# --timeout.
dump_at=${UPSTREAM_RDS_DUMP_AT:-390}
(
	trap 'kill $nap 2>/dev/null; exit 0' TERM
	sleep "$dump_at" &
	nap=$!
	wait $nap
	# Started, the dump is finished: the wait below waits for it.
	trap '' TERM
	dump_state > "$logs/state" 2>&1
) &
watchdog=$!
(cd "$dir" && PYTHONPATH="$src/tools/testing/selftests/net" \
	timeout 450 python3 -u test.py --timeout 400 -d "$logs" "$@") > "$logs/out" 2>&1
rc=$?
kill $watchdog 2>/dev/null
wait $watchdog 2>/dev/null
killall -q tcpdump
if [ $rc != 0 ]; then
	if [ -s "$logs/state" ]; then
		echo "# state $dump_at s after the start, before test.py's timeout:"
		cat "$logs/state"
	else
		dump_state
	fi
fi
ip netns del net0 2>/dev/null
ip netns del net1 2>/dev/null
if [ $rc = 0 ] && grep -qx Success "$logs/out"; then
	echo "ok 1 - $name ($((SECONDS - start)) s)"
else
	echo "not ok 1 - $name (exit $rc after $((SECONDS - start)) s)"
	grep -v '^sending\|^receiving' "$logs/out" | tail -15 | sed 's/^/#   /'
	grep '^receiving' "$logs/out" | tail -2 | sed 's/^/#   /'
fi
rm -rf "$logs"
[ $rc = 0 ]
