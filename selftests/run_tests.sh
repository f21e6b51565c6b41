#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs each named selftest, nesting its TAP output under one TAP line per test,
# as tools/testing/selftests/kselftest/runner.sh does.
set -u
cd "$(dirname "$0")"
echo "TAP version 13"
echo "1..$#"
i=0 failed=0
for t in "$@"; do
	i=$((i + 1))
	echo "# selftests: rds-tcp-rs: $t ($RDS_IMPL)"
	if timeout 600 "./$t" 2>&1 | sed 's/^/    /'; [ "${PIPESTATUS[0]}" = 0 ]; then
		echo "ok $i selftests: rds-tcp-rs: $t"
	else
		failed=$((failed + 1))
		echo "not ok $i selftests: rds-tcp-rs: $t"
	fi
done
[ $failed = 0 ]
