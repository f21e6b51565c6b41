/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/*
 * Generic netlink interface of rds_rs, RDS over TCP.
 *
 * The enums below match Documentation/netlink/rds_tcp.yaml: running
 * tools/net/ynl/ynl-gen-c.py --mode uapi --header on it yields them exactly.
 * This comment is the part the generator cannot write.
 *
 * Documentation
 * =============
 *
 * Family RDS_TCP_GENL_NAME ("rds_tcp"), version RDS_TCP_GENL_VERSION (1):
 * requests set genlmsghdr.version to it. Every request acts on the network
 * namespace of the requesting netlink socket. Attribute sets may grow at
 * their end; receivers ignore attributes they do not know. The requests of
 * SET_CONFIG and RESET_CONN are validated strictly against their policies:
 * an unknown attribute is refused with EINVAL.
 *
 * Types: NLA_UINT is 4 or 8 bytes (nla_put_uint(), never padded, maybe
 * unaligned). Addresses are NLA_BINARY of exactly RDS_TCP_ADDR_LEN (16)
 * bytes, a struct in6_addr in network byte order; an IPv4 address is
 * IPv4-mapped (::ffff:a.b.c.d), as RDS stores it in the kernel, and requests
 * must use that form too. Ports (NLA_U16) are in host byte order. Byte
 * counts are RDS payload bytes, without the 48-byte RDS header. Counters
 * start at 0 when their connection or socket is created and never reset.
 *
 * Reading (GET_CONFIG, GET_CONN, GET_SOCK, the events group) needs no
 * privilege, as the RDS_INFO_* getsockopts do not; SET_CONFIG and RESET_CONN
 * need CAP_NET_ADMIN in the user namespace owning the network namespace
 * (GENL_UNS_ADMIN_PERM's rule; checked by the handlers, so that EPERM comes
 * with an extack message too). Errors of a request come back in
 * NLMSG_ERROR with an extack message, and the offending attribute when
 * there is one (NL_SET_ERR_MSG_ATTR()).
 *
 * RDS_TCP_CMD_GET_CONFIG
 * ----------------------
 *
 * NLM_F_REQUEST only, no attributes. The reply (cmd RDS_TCP_CMD_GET_CONFIG)
 * carries every setting of the namespace:
 *
 *    RDS_TCP_CONFIG_A_TCP_SNDBUF: NLA_U32, 0 or SOCK_MIN_SNDBUF..S32_MAX
 *    RDS_TCP_CONFIG_A_TCP_RCVBUF: NLA_U32, 0 or SOCK_MIN_RCVBUF..S32_MAX
 *    RDS_TCP_CONFIG_A_NPATHS: NLA_U32, 1..RDS_TCP_MAX_PATHS
 *    RDS_TCP_CONFIG_A_RECONNECT_MIN_MS: NLA_U32, 1..RDS_TCP_MAX_MS
 *    RDS_TCP_CONFIG_A_RECONNECT_MAX_MS: NLA_U32, 1..RDS_TCP_MAX_MS
 *    RDS_TCP_CONFIG_A_PING_ENABLE: NLA_U8, 0..1
 *    RDS_TCP_CONFIG_A_STALL_MS: NLA_U32, 0..RDS_TCP_MAX_MS
 *
 * TCP_SNDBUF and TCP_RCVBUF are SO_SNDBUF and SO_RCVBUF of the TCP sockets,
 * 0 for the TCP stack's autotuning; the sysctls net.rds.tcp.rds_tcp_sndbuf
 * and rds_tcp_rcvbuf show and change the same values. NPATHS is how many
 * paths (TCP connections) a new connection asks for; it uses the smaller of
 * both ends' numbers. RECONNECT_MIN_MS and RECONNECT_MAX_MS bound the
 * reconnect backoff (net.rds.reconnect_{min,max}_delay_ms, per namespace
 * here). PING_ENABLE is net.rds.ping_enable: 1 answers messages to port 0
 * with a pong. STALL_MS is the stall threshold of the path-stalled event
 * (below); 0 turns stall detection off; 10000 in a new namespace. Until a
 * SET_CONFIG gives them, NPATHS follows rds_rs's npaths module parameter
 * and RECONNECT_*_MS and PING_ENABLE the net.rds sysctls; once set, they
 * are the namespace's own.
 *
 * RDS_TCP_CMD_SET_CONFIG
 * ----------------------
 *
 * NLM_F_REQUEST (and NLM_F_ACK); any subset of the attributes of
 * GET_CONFIG, with the ranges above (kernel policy):
 *
 *    [RDS_TCP_CONFIG_A_TCP_SNDBUF] = NLA_POLICY_FULL_RANGE(NLA_U32, 0..S32_MAX)
 *    [RDS_TCP_CONFIG_A_TCP_RCVBUF] = NLA_POLICY_FULL_RANGE(NLA_U32, 0..S32_MAX)
 *    [RDS_TCP_CONFIG_A_NPATHS] = NLA_POLICY_RANGE(NLA_U32, 1, RDS_TCP_MAX_PATHS)
 *    [RDS_TCP_CONFIG_A_RECONNECT_MIN_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, 1..RDS_TCP_MAX_MS)
 *    [RDS_TCP_CONFIG_A_RECONNECT_MAX_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, 1..RDS_TCP_MAX_MS)
 *    [RDS_TCP_CONFIG_A_PING_ENABLE] = NLA_POLICY_MAX(NLA_U8, 1)
 *    [RDS_TCP_CONFIG_A_STALL_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, 0..RDS_TCP_MAX_MS)
 *
 * The whole request is checked before anything changes, then applied under
 * one lock: either every attribute takes effect or none does. Beyond the
 * policy the handler refuses, with EINVAL and that attribute in the extack:
 * TCP_SNDBUF (TCP_RCVBUF) from 1 to SOCK_MIN_SNDBUF - 1 (SOCK_MIN_RCVBUF - 1);
 * a resulting RECONNECT_MIN_MS above the resulting RECONNECT_MAX_MS (the
 * extack names RECONNECT_MIN_MS if the request has it, else
 * RECONNECT_MAX_MS). A module without multipath refuses NPATHS above 1 with
 * EOPNOTSUPP. Absent attributes keep their values; an empty request changes
 * nothing and succeeds. A change of TCP_SNDBUF or TCP_RCVBUF resets every
 * connection of the namespace, as a write of the sysctl does (no message is
 * lost); NPATHS applies to connections created afterwards; the others apply
 * at once.
 *
 * RDS_TCP_CMD_GET_CONN
 * --------------------
 *
 * NLM_F_REQUEST | NLM_F_DUMP, no attributes. The TCP connections of the
 * namespace (deliveries within the host have none), one per NLM_F_MULTI
 * message (a read returns as many messages as fit), each holding the
 * following tree:
 *
 *    RDS_TCP_CONN_A_LOCAL_ADDR: NLA_BINARY, len RDS_TCP_ADDR_LEN
 *    RDS_TCP_CONN_A_PEER_ADDR: NLA_BINARY, len RDS_TCP_ADDR_LEN
 *    RDS_TCP_CONN_A_TOS: NLA_U8
 *    RDS_TCP_CONN_A_IFINDEX: NLA_U32, only for link-local IPv6 addresses
 *    RDS_TCP_CONN_A_LOCAL_CONG_PORTS: NLA_U32, ports of LOCAL_ADDR congested
 *    RDS_TCP_CONN_A_PEER_CONG_PORTS: NLA_U32, ports of PEER_ADDR congested in
 *                                    the peer's last congestion map update
 *    RDS_TCP_CONN_A_TX_ENOBUFS: NLA_UINT, sends refused with ENOBUFS
 *    RDS_TCP_CONN_A_PATHS: NLA_NESTED
 *        0: NLA_NESTED
 *            RDS_TCP_PATH_A_INDEX: NLA_U32, 0..RDS_TCP_MAX_PATHS - 1
 *            RDS_TCP_PATH_A_STATE: NLA_U32, enum rds_tcp_path_state
 *            RDS_TCP_PATH_A_TCP_LOCAL_PORT: NLA_U16 \ while the path has a
 *            RDS_TCP_PATH_A_TCP_PEER_PORT: NLA_U16  / TCP socket
 *            RDS_TCP_PATH_A_TX_BYTES: NLA_UINT
 *            RDS_TCP_PATH_A_TX_MSGS: NLA_UINT
 *            RDS_TCP_PATH_A_RX_BYTES: NLA_UINT
 *            RDS_TCP_PATH_A_RX_MSGS: NLA_UINT
 *            RDS_TCP_PATH_A_RETRANS_MSGS: NLA_UINT
 *            RDS_TCP_PATH_A_RECONNECTS: NLA_UINT
 *            RDS_TCP_PATH_A_UNACKED_BYTES: NLA_UINT
 *            RDS_TCP_PATH_A_UNACKED_MSGS: NLA_UINT
 *            RDS_TCP_PATH_A_QUEUED_BYTES: NLA_UINT
 *            RDS_TCP_PATH_A_QUEUED_MSGS: NLA_UINT
 *            RDS_TCP_PATH_A_NEXT_TX_SEQ: NLA_UINT
 *            RDS_TCP_PATH_A_NEXT_RX_SEQ: NLA_UINT
 *            RDS_TCP_PATH_A_TCP_RTT_US: NLA_U32    \ while the path has a
 *            RDS_TCP_PATH_A_TCP_RTTVAR_US: NLA_U32 / TCP socket
 *            RDS_TCP_PATH_A_LAST_PROGRESS_MS: NLA_UINT
 *            RDS_TCP_PATH_A_STALLED: NLA_FLAG, present while stalled
 *            RDS_TCP_PATH_A_LAT_HIST: NLA_NESTED
 *                0: NLA_NESTED
 *                    RDS_TCP_LAT_A_BUCKET: NLA_U32, 0..RDS_TCP_LAT_BUCKETS - 1
 *                    RDS_TCP_LAT_A_COUNT: NLA_UINT
 *                0: NLA_NESTED
 *                    ...
 *                ...
 *        0: NLA_NESTED
 *            ...
 *        ...
 *
 * TX_* count messages fully written to TCP, once each (RETRANS_MSGS counts
 * those written again after a reset, flagged RDS_FLAG_RETRANSMITTED); RX_*
 * count messages received, duplicates not counted; both include control
 * messages (pongs, congestion map updates). RECONNECTS counts TCP
 * connections of the path after its first. UNACKED_* are written to TCP
 * and not acknowledged yet; QUEUED_* not yet fully written. NEXT_TX_SEQ and
 * NEXT_RX_SEQ are RDS sequence numbers (as rds_info_connection's). TCP_RTT_US
 * and TCP_RTTVAR_US are tcpi_rtt and tcpi_rttvar of the path's socket.
 * LAST_PROGRESS_MS is the time since TCP last acknowledged bytes of the
 * path's messages, or since its queues went from empty to not empty,
 * whichever is later; a path is stalled while STALL_MS is not 0, it has
 * messages queued or unacknowledged, and LAST_PROGRESS_MS > STALL_MS,
 * whatever its state.
 *
 * LAT_HIST is the send-to-ack latency histogram of the path: for each
 * message acknowledged, the time from its sendmsg() to the acknowledgement
 * (a retransmitted message counts once). A latency of L microseconds counts
 * in bucket min(floor(log2(max(L, 1))), RDS_TCP_LAT_BUCKETS - 1): bucket 0
 * holds 0..1 us, bucket i [2^i, 2^(i+1)) us, the last one everything from
 * 2^31 us up. Buckets come in increasing order; empty ones are left out.
 *
 * A path is never split between messages, but the paths of one connection
 * may be: then the next message repeats LOCAL_ADDR, PEER_ADDR, TOS and
 * IFINDEX (the connection's key) with PATHS holding the remaining paths, and
 * nothing else. Receivers coalesce adjacent messages with the same key, as
 * for WireGuard's peers. The dump resumes at the connection's position in
 * key order and the index of its next path. Path 0 is always listed, the
 * others once they have been used. If connections came or went during the
 * dump, messages carry NLM_F_DUMP_INTR (genl_dump_check_consistent()); the
 * receiver should dump again. As for any dump, the final NLMSG_DONE carries
 * 0 or a negative errno.
 *
 * RDS_TCP_CMD_RESET_CONN
 * ----------------------
 *
 * NLM_F_REQUEST (and NLM_F_ACK), with the key of one connection:
 *
 *    RDS_TCP_CONN_A_LOCAL_ADDR: NLA_BINARY, len RDS_TCP_ADDR_LEN, required
 *    RDS_TCP_CONN_A_PEER_ADDR: NLA_BINARY, len RDS_TCP_ADDR_LEN, required
 *    RDS_TCP_CONN_A_TOS: NLA_U8, 0 if absent
 *    RDS_TCP_CONN_A_IFINDEX: NLA_U32, for link-local IPv6 addresses
 *
 * Kernel policy: NLA_POLICY_EXACT_LEN(RDS_TCP_ADDR_LEN) for the addresses,
 * NLA_U8 and NLA_U32 for the others; a missing address is EINVAL with
 * the missing attribute reported (GENL_REQ_ATTR_CHECK()). Every path of the
 * connection is reset as a lost TCP connection would be: unacknowledged
 * messages are sent again after the reconnect and nothing is lost. ENOENT
 * (extack "no such connection") if the namespace has no such connection.
 *
 * RDS_TCP_CMD_GET_SOCK
 * --------------------
 *
 * NLM_F_REQUEST | NLM_F_DUMP, no attributes. The RDS sockets of the
 * namespace, bound or not, one per NLM_F_MULTI message, each holding:
 *
 *    RDS_TCP_SOCK_A_BOUND_ADDR: NLA_BINARY, len RDS_TCP_ADDR_LEN \ absent
 *    RDS_TCP_SOCK_A_BOUND_PORT: NLA_U16                         / unbound
 *    RDS_TCP_SOCK_A_IFINDEX: NLA_U32, scope id of a link-local address
 *    RDS_TCP_SOCK_A_CONN_ADDR: NLA_BINARY, len RDS_TCP_ADDR_LEN \ after
 *    RDS_TCP_SOCK_A_CONN_PORT: NLA_U16                         / connect()
 *    RDS_TCP_SOCK_A_INODE: NLA_UINT, as in socket:[N] of /proc/PID/fd
 *    RDS_TCP_SOCK_A_TOS: NLA_U8
 *    RDS_TCP_SOCK_A_SNDBUF: NLA_U32, SO_SNDBUF
 *    RDS_TCP_SOCK_A_SND_BYTES: NLA_U32, sent and not acknowledged
 *    RDS_TCP_SOCK_A_RCVBUF: NLA_U32, SO_RCVBUF
 *    RDS_TCP_SOCK_A_RCV_BYTES: NLA_U32, on the receive queue
 *    RDS_TCP_SOCK_A_RCV_MSGS: NLA_U32, on the receive queue
 *    RDS_TCP_SOCK_A_CONGESTED: NLA_FLAG, present while its port is congested
 *    RDS_TCP_SOCK_A_CONG_MASK: NLA_UINT, the RDS_CONG_MONITOR mask
 *    RDS_TCP_SOCK_A_ENOBUFS: NLA_UINT, its sends refused with ENOBUFS
 *
 * A port is congested while its socket's receive queue holds more than the
 * limit (half of RCVBUF, as upstream). The dump resumes at the position
 * after the last socket sent and flags races with NLM_F_DUMP_INTR, as
 * GET_CONN.
 *
 * Events: RDS_TCP_CMD_EVENT to group RDS_TCP_MCGRP_EVENTS
 * -------------------------------------------------------
 *
 * Sent by the kernel only (a request with this command gets EOPNOTSUPP,
 * with an extack message),
 * in the network namespace of the connection or socket concerned:
 *
 *    RDS_TCP_EVENT_A_TYPE: NLA_U32, enum rds_tcp_event, always
 *    RDS_TCP_EVENT_A_LOCAL_ADDR: NLA_BINARY, len RDS_TCP_ADDR_LEN, always
 *    RDS_TCP_EVENT_A_PEER_ADDR: NLA_BINARY, len RDS_TCP_ADDR_LEN
 *    RDS_TCP_EVENT_A_TOS: NLA_U8
 *    RDS_TCP_EVENT_A_IFINDEX: NLA_U32, link-local IPv6 only
 *    RDS_TCP_EVENT_A_PATH: NLA_U32
 *    RDS_TCP_EVENT_A_LOCAL_PORT: NLA_U16
 *    RDS_TCP_EVENT_A_PEER_PORT: NLA_U16
 *    RDS_TCP_EVENT_A_LAST_PROGRESS_MS: NLA_UINT
 *    RDS_TCP_EVENT_A_WAITING_BYTES: NLA_UINT
 *    RDS_TCP_EVENT_A_ERROR: NLA_U32
 *
 * RDS_TCP_EVENT_CONN_UP, RDS_TCP_EVENT_CONN_DOWN: a path's TCP connection
 *   came up or went down. LOCAL_ADDR, PEER_ADDR, TOS, PATH. (ERROR, for
 *   the errno of a failed socket, is reserved: rds_rs does not send it yet.)
 * RDS_TCP_EVENT_PORT_CONGESTED, RDS_TCP_EVENT_PORT_UNCONGESTED: for a local
 *   port (its receive queue crossed the limit), LOCAL_ADDR and LOCAL_PORT;
 *   for a peer's port (set or cleared in the peer's congestion map update),
 *   LOCAL_ADDR, PEER_ADDR, TOS and PEER_PORT. One map update reports at
 *   most 64 ports (the first in port order); the dumps tell the rest.
 * RDS_TCP_EVENT_PATH_STALLED: LOCAL_ADDR, PEER_ADDR, TOS, PATH,
 *   LAST_PROGRESS_MS and WAITING_BYTES (queued plus unacknowledged).
 * RDS_TCP_EVENT_PATH_UNSTALLED: LOCAL_ADDR, PEER_ADDR, TOS, PATH, once a
 *   stalled path makes progress or runs out of messages (checked once a
 *   second, as stalls are).
 *
 * Events are not rate limited. A listener that falls behind gets ENOBUFS
 * from recv() (netlink overrun): events were lost, and it can read the
 * current state with the dumps.
 */

#ifndef _UAPI_LINUX_RDS_TCP_NL_H
#define _UAPI_LINUX_RDS_TCP_NL_H

#define RDS_TCP_GENL_NAME	"rds_tcp"
#define RDS_TCP_GENL_VERSION	1

#define RDS_TCP_MAX_PATHS	8
#define RDS_TCP_LAT_BUCKETS	32
#define RDS_TCP_ADDR_LEN	16
#define RDS_TCP_MAX_MS		3600000

/**
 * enum rds_tcp_path_state - State of a connection path; the values of
 *   upstream's RDS_CONN_*.
 * @RDS_TCP_PATH_STATE_DOWN: No TCP connection; waiting to (re)connect.
 * @RDS_TCP_PATH_STATE_CONNECTING: TCP connect in progress, or waiting for the
 *   peer to connect.
 * @RDS_TCP_PATH_STATE_DISCONNECTING: Shutting the TCP connection down.
 * @RDS_TCP_PATH_STATE_UP: Connected; messages flow.
 * @RDS_TCP_PATH_STATE_RESETTING: Reset requested; unacknowledged messages go
 *   back to the queue.
 * @RDS_TCP_PATH_STATE_ERROR: Failed; about to go down.
 */
enum rds_tcp_path_state {
	RDS_TCP_PATH_STATE_DOWN,
	RDS_TCP_PATH_STATE_CONNECTING,
	RDS_TCP_PATH_STATE_DISCONNECTING,
	RDS_TCP_PATH_STATE_UP,
	RDS_TCP_PATH_STATE_RESETTING,
	RDS_TCP_PATH_STATE_ERROR,
};

/**
 * enum rds_tcp_event - Value of the event type attribute of an event
 *   notification.
 * @RDS_TCP_EVENT_CONN_UP: A path's TCP connection came up.
 * @RDS_TCP_EVENT_CONN_DOWN: A path's TCP connection went down.
 * @RDS_TCP_EVENT_PORT_CONGESTED: A port became congested: a local port whose
 *   receive queue went over its limit (local-port set), or a peer's port that
 *   the peer reported congested in a congestion map update (peer-port set).
 * @RDS_TCP_EVENT_PORT_UNCONGESTED: A port reported by port-congested is no
 *   longer congested.
 * @RDS_TCP_EVENT_PATH_STALLED: A path has had messages waiting (queued or
 *   unacknowledged) and no progress for longer than the namespace's stall-ms.
 * @RDS_TCP_EVENT_PATH_UNSTALLED: A stalled path made progress again, its
 *   messages are gone, or the connection was destroyed.
 */
enum rds_tcp_event {
	RDS_TCP_EVENT_CONN_UP = 1,
	RDS_TCP_EVENT_CONN_DOWN,
	RDS_TCP_EVENT_PORT_CONGESTED,
	RDS_TCP_EVENT_PORT_UNCONGESTED,
	RDS_TCP_EVENT_PATH_STALLED,
	RDS_TCP_EVENT_PATH_UNSTALLED,
};

enum rds_tcp_config_attr {
	RDS_TCP_CONFIG_A_UNSPEC,
	RDS_TCP_CONFIG_A_TCP_SNDBUF,
	RDS_TCP_CONFIG_A_TCP_RCVBUF,
	RDS_TCP_CONFIG_A_NPATHS,
	RDS_TCP_CONFIG_A_RECONNECT_MIN_MS,
	RDS_TCP_CONFIG_A_RECONNECT_MAX_MS,
	RDS_TCP_CONFIG_A_PING_ENABLE,
	RDS_TCP_CONFIG_A_STALL_MS,

	__RDS_TCP_CONFIG_A_MAX,
	RDS_TCP_CONFIG_A_MAX = (__RDS_TCP_CONFIG_A_MAX - 1)
};

enum rds_tcp_conn_attr {
	RDS_TCP_CONN_A_UNSPEC,
	RDS_TCP_CONN_A_LOCAL_ADDR,
	RDS_TCP_CONN_A_PEER_ADDR,
	RDS_TCP_CONN_A_TOS,
	RDS_TCP_CONN_A_IFINDEX,
	RDS_TCP_CONN_A_LOCAL_CONG_PORTS,
	RDS_TCP_CONN_A_PEER_CONG_PORTS,
	RDS_TCP_CONN_A_TX_ENOBUFS,
	RDS_TCP_CONN_A_PATHS,

	__RDS_TCP_CONN_A_MAX,
	RDS_TCP_CONN_A_MAX = (__RDS_TCP_CONN_A_MAX - 1)
};

enum rds_tcp_path_attr {
	RDS_TCP_PATH_A_UNSPEC,
	RDS_TCP_PATH_A_INDEX,
	RDS_TCP_PATH_A_STATE,
	RDS_TCP_PATH_A_TCP_LOCAL_PORT,
	RDS_TCP_PATH_A_TCP_PEER_PORT,
	RDS_TCP_PATH_A_TX_BYTES,
	RDS_TCP_PATH_A_TX_MSGS,
	RDS_TCP_PATH_A_RX_BYTES,
	RDS_TCP_PATH_A_RX_MSGS,
	RDS_TCP_PATH_A_RETRANS_MSGS,
	RDS_TCP_PATH_A_RECONNECTS,
	RDS_TCP_PATH_A_UNACKED_BYTES,
	RDS_TCP_PATH_A_UNACKED_MSGS,
	RDS_TCP_PATH_A_QUEUED_BYTES,
	RDS_TCP_PATH_A_QUEUED_MSGS,
	RDS_TCP_PATH_A_NEXT_TX_SEQ,
	RDS_TCP_PATH_A_NEXT_RX_SEQ,
	RDS_TCP_PATH_A_TCP_RTT_US,
	RDS_TCP_PATH_A_TCP_RTTVAR_US,
	RDS_TCP_PATH_A_LAST_PROGRESS_MS,
	RDS_TCP_PATH_A_STALLED,
	RDS_TCP_PATH_A_LAT_HIST,

	__RDS_TCP_PATH_A_MAX,
	RDS_TCP_PATH_A_MAX = (__RDS_TCP_PATH_A_MAX - 1)
};

enum rds_tcp_lat_attr {
	RDS_TCP_LAT_A_UNSPEC,
	RDS_TCP_LAT_A_BUCKET,
	RDS_TCP_LAT_A_COUNT,

	__RDS_TCP_LAT_A_MAX,
	RDS_TCP_LAT_A_MAX = (__RDS_TCP_LAT_A_MAX - 1)
};

enum rds_tcp_sock_attr {
	RDS_TCP_SOCK_A_UNSPEC,
	RDS_TCP_SOCK_A_BOUND_ADDR,
	RDS_TCP_SOCK_A_BOUND_PORT,
	RDS_TCP_SOCK_A_IFINDEX,
	RDS_TCP_SOCK_A_CONN_ADDR,
	RDS_TCP_SOCK_A_CONN_PORT,
	RDS_TCP_SOCK_A_INODE,
	RDS_TCP_SOCK_A_TOS,
	RDS_TCP_SOCK_A_SNDBUF,
	RDS_TCP_SOCK_A_SND_BYTES,
	RDS_TCP_SOCK_A_RCVBUF,
	RDS_TCP_SOCK_A_RCV_BYTES,
	RDS_TCP_SOCK_A_RCV_MSGS,
	RDS_TCP_SOCK_A_CONGESTED,
	RDS_TCP_SOCK_A_CONG_MASK,
	RDS_TCP_SOCK_A_ENOBUFS,

	__RDS_TCP_SOCK_A_MAX,
	RDS_TCP_SOCK_A_MAX = (__RDS_TCP_SOCK_A_MAX - 1)
};

enum rds_tcp_event_attr {
	RDS_TCP_EVENT_A_UNSPEC,
	RDS_TCP_EVENT_A_TYPE,
	RDS_TCP_EVENT_A_LOCAL_ADDR,
	RDS_TCP_EVENT_A_PEER_ADDR,
	RDS_TCP_EVENT_A_TOS,
	RDS_TCP_EVENT_A_IFINDEX,
	RDS_TCP_EVENT_A_PATH,
	RDS_TCP_EVENT_A_LOCAL_PORT,
	RDS_TCP_EVENT_A_PEER_PORT,
	RDS_TCP_EVENT_A_LAST_PROGRESS_MS,
	RDS_TCP_EVENT_A_WAITING_BYTES,
	RDS_TCP_EVENT_A_ERROR,

	__RDS_TCP_EVENT_A_MAX,
	RDS_TCP_EVENT_A_MAX = (__RDS_TCP_EVENT_A_MAX - 1)
};

enum rds_tcp_cmd {
	RDS_TCP_CMD_UNSPEC,
	RDS_TCP_CMD_GET_CONFIG,
	RDS_TCP_CMD_SET_CONFIG,
	RDS_TCP_CMD_GET_CONN,
	RDS_TCP_CMD_RESET_CONN,
	RDS_TCP_CMD_GET_SOCK,
	RDS_TCP_CMD_EVENT,

	__RDS_TCP_CMD_MAX,
	RDS_TCP_CMD_MAX = (__RDS_TCP_CMD_MAX - 1)
};

#define RDS_TCP_MCGRP_EVENTS	"events"

#endif /* _UAPI_LINUX_RDS_TCP_NL_H */
