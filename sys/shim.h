/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C half of rds_rs's FFI layer: the kernel objects whose layout Rust cannot
 * see through the kernel's `bindings` crate (struct proto, proto_ops,
 * net_proto_family, pernet_operations, sockets), wrapped in functions over
 * plain C types.
 *
 * This header is self-contained on purpose: bindgen reads it without the
 * kernel's include paths to generate sys/shim_generated.rs, and shim.c
 * includes it, so the C compiler checks every prototype here against its
 * definition and the two languages cannot disagree on a signature.
 */
#ifndef RDSRS_SHIM_H
#define RDSRS_SHIM_H

struct msghdr;
struct net;
struct sk_buff;
struct sock;
struct socket;
struct workqueue_struct;

/*
 * Kernel constants the Rust side needs, with the values of the kernel's own
 * headers (shim.c checks each with static_assert).
 */
enum {
	RDSRS_SOCK_SEQPACKET	= 5,
	RDSRS_MSG_OOB		= 0x1,
	RDSRS_MSG_PEEK		= 0x2,
	RDSRS_MSG_TRUNC		= 0x20,
	RDSRS_MSG_DONTWAIT	= 0x40,
	RDSRS_MSG_ERRQUEUE	= 0x2000,
	RDSRS_MSG_ZEROCOPY	= 0x4000000,
	RDSRS_EPOLLIN		= 0x1,
	RDSRS_EPOLLOUT		= 0x4,
	RDSRS_EPOLLRDNORM	= 0x40,
	RDSRS_EPOLLWRNORM	= 0x100,
	RDSRS_EPOLLWRBAND	= 0x200,
	RDSRS_SOL_RDS		= 276,
	RDSRS_TCP_PORT		= 16385,
	RDSRS_MPATH_WORKERS	= 8,
	RDSRS_ENOIOCTLCMD	= 515,
	RDSRS_CMSG_RXPATH_LATENCY = 11,
	RDSRS_RX_TRACE_MAX	= 3,
	/* Longest SOL_RDS option value setsockopt() hands to Rust. */
	RDSRS_OPT_MAX		= 64,
	/* Room for statistics (RDS_INFO_COUNTERS). */
	RDSRS_NSTATS_MAX	= 64,
};

/* Events of a kernel TCP socket, given to ->tcp_event. */
enum rdsrs_tcp_event {
	RDSRS_TCP_READABLE,	/* data to read (sk_data_ready) */
	RDSRS_TCP_WRITABLE,	/* send space or acks (sk_write_space) */
	RDSRS_TCP_STATE,	/* state changed (sk_state_change) */
	RDSRS_TCP_ACCEPT,	/* a listener has connections to accept */
};

/* The states of a TCP socket that the Rust side tells apart. */
enum rdsrs_tcp_state {
	RDSRS_TCP_CONNECTING,
	RDSRS_TCP_ESTABLISHED,
	RDSRS_TCP_CLOSED,	/* closed, closing, or reset */
};

/* What the rds_tcp netlink family carries (include/uapi/linux/rds_tcp_nl.h). */
enum {
	RDSRS_NL_LAT_BUCKETS	= 32,
};

struct rdsrs_nl_config {
	unsigned int present;
	unsigned int tcp_sndbuf;
	unsigned int tcp_rcvbuf;
	unsigned int npaths;
	unsigned int reconnect_min_ms;
	unsigned int reconnect_max_ms;
	unsigned int stall_ms;
	unsigned char ping_enable;
};

/* A connection's key; addresses IPv6 or IPv4-mapped, network order. */
struct rdsrs_nl_key {
	unsigned char laddr[16];
	unsigned char faddr[16];
	unsigned int ifindex;		/* 0 unless link-local */
	unsigned char tos;
};

struct rdsrs_nl_path {
	unsigned int index;
	unsigned int state;		/* enum rds_tcp_path_state */
	unsigned char has_sock;		/* the ports and RTTs are valid */
	unsigned char stalled;
	unsigned short lport;
	unsigned short fport;
	unsigned int rtt_us;
	unsigned int rttvar_us;
	unsigned long long tx_bytes, tx_msgs, rx_bytes, rx_msgs;
	unsigned long long retrans_msgs, reconnects;
	unsigned long long unacked_bytes, unacked_msgs;
	unsigned long long queued_bytes, queued_msgs;
	unsigned long long next_tx_seq, next_rx_seq;
	unsigned long long last_progress_ms;
	unsigned long long lat[RDSRS_NL_LAT_BUCKETS];
};

struct rdsrs_nl_conn {
	struct rdsrs_nl_key key;
	unsigned int local_cong_ports;
	unsigned int peer_cong_ports;
	unsigned long long tx_enobufs;
	unsigned int npaths;		/* valid entries of @paths */
	struct rdsrs_nl_path paths[RDSRS_MPATH_WORKERS];
};

struct rdsrs_nl_sock {
	unsigned char bound;		/* @bound_addr, @bound_port valid */
	unsigned char connected;	/* @conn_addr, @conn_port valid */
	unsigned char congested;
	unsigned char tos;
	unsigned char bound_addr[16];
	unsigned char conn_addr[16];
	unsigned short bound_port;
	unsigned short conn_port;
	unsigned int ifindex;
	unsigned int sndbuf, snd_bytes, rcvbuf, rcv_bytes, rcv_msgs;
	unsigned long long inode, cong_mask, enobufs;
};

/* An event for the "events" group; @present: bit 1 << RDS_TCP_EVENT_A_*. */
struct rdsrs_nl_event {
	unsigned int present;
	unsigned int type;		/* enum rds_tcp_event */
	struct rdsrs_nl_key key;
	unsigned int path;
	unsigned short lport;
	unsigned short fport;
	unsigned int error;
	unsigned long long last_progress_ms;
	unsigned long long waiting_bytes;
};

/*
 * Callbacks into Rust. @ctx is the pointer given to rdsrs_register(); @priv is
 * what ->sock_new or ->net_init stored. Every callback runs in process context
 * and returns 0 or a negative errno unless it says otherwise.
 */
struct rdsrs_ops {
	/*
	 * socket(2) in the namespace whose state is @net_priv: checks @type and
	 * @protocol, allocates per-socket state into *@priv.
	 */
	int (*sock_new)(void *ctx, void *net_priv, int type, int protocol,
			void **priv);
	/* The struct sock of a new socket is set up, with @sk's priv set. */
	void (*sock_init)(void *ctx, struct sock *sk);
	/* Frees the state of ->sock_new once the struct sock is destroyed. */
	void (*sock_free)(void *ctx, void *priv);
	/* close(2) of the last file reference; @sk stays valid until it returns. */
	void (*release)(void *ctx, struct sock *sk, void *priv);
	/* bind(2) with the user's address, @len bytes of it. */
	int (*bind)(void *ctx, struct sock *sk, void *priv,
		    const unsigned char *addr, int len);
	/* getsockname/getpeername: fills @out (128 bytes), returns its length. */
	int (*getname)(void *ctx, void *priv, unsigned char *out, int peer);
	/* connect(2): records the default destination of sendmsg(). */
	int (*connect)(void *ctx, void *priv, const unsigned char *addr, int len);
	/*
	 * sendmsg(2) of @len payload bytes in @msg to @name (@namelen bytes, 0
	 * when none), @timeo jiffies of blocking allowed; @flags without
	 * MSG_CMSG_COMPAT. Returns @len or -errno.
	 */
	long (*sendmsg)(void *ctx, struct sock *sk, void *priv, struct msghdr *msg,
			const unsigned char *name, int namelen, unsigned long len,
			int flags, long timeo);
	/* recvmsg(2) of at most @size bytes into @msg; bytes or -errno. */
	long (*recvmsg)(void *ctx, struct sock *sk, void *priv, struct msghdr *msg,
			unsigned long size, int flags, long timeo);
	/*
	 * setsockopt(2) at level SOL_RDS (but SO_TIMESTAMP, handled in C): the
	 * first min(@optlen, RDSRS_OPT_MAX) bytes of the value are in @buf
	 * (zeroes past them); @fault says copying them from the caller faulted.
	 */
	int (*setsockopt)(void *ctx, struct sock *sk, void *priv, int optname,
			  const unsigned char *buf, unsigned int optlen,
			  int fault);
	/*
	 * getsockopt(2) at level SOL_RDS: writes the value to user address
	 * @uaddr, *@len bytes available, and sets *@len to the length written
	 * (or needed, with -ENOSPC), which the shim returns to the caller
	 * when the result is >= 0 or -ENOSPC.
	 */
	int (*getsockopt)(void *ctx, struct sock *sk, void *priv, int optname,
			  unsigned long uaddr, int *len);
	/* SIOCRDSSETTOS with the caller's @tos; SIOCRDSGETTOS: tos or -errno. */
	int (*set_tos)(void *ctx, void *priv, unsigned char tos);
	int (*get_tos)(void *ctx, void *priv);
	/* poll(2): the EPOLL* mask; the caller has registered on the wait queue. */
	unsigned int (*poll)(void *ctx, struct sock *sk);
	/*
	 * An event of a kernel TCP socket whose callbacks carry @owner. Runs in
	 * softirq context under the socket's sk_callback_lock: queue work only.
	 */
	void (*tcp_event)(void *ctx, void *owner, int event);
	/*
	 * tcp_read_sock() actor: @len bytes of @skb at @off are available;
	 * returns how many were consumed, or -errno to stop and reset.
	 */
	long (*tcp_recv)(void *ctx, void *arg, struct sk_buff *skb,
			 unsigned int off, unsigned long len);
	/*
	 * net.rds.tcp.rds_tcp_sndbuf or rds_tcp_rcvbuf was written in the
	 * namespace whose state is @net_priv: reconnect with the new sizes.
	 */
	void (*tcp_bufs_changed)(void *ctx, void *net_priv);
	/* A network namespace appears: allocate its state into *@priv. */
	int (*net_init)(void *ctx, struct net *net, void **priv);
	/* A network namespace goes: free its state. */
	void (*net_exit)(void *ctx, struct net *net, void *priv);

	/*
	 * The rds_tcp generic netlink family (sys/genl.c), each in the
	 * namespace whose state is @net_priv: the requester's.
	 */
	/* RDS_TCP_CMD_GET_CONFIG: fills every field of @cfg. */
	void (*nl_get_config)(void *ctx, void *net_priv, struct rdsrs_nl_config *cfg);
	/*
	 * RDS_TCP_CMD_SET_CONFIG of the fields @cfg->present names (bit
	 * 1 << RDS_TCP_CONFIG_A_*): all applied, or none and -errno with the
	 * attribute to blame in *@attr (0 for none) and a static message in
	 * *@why.
	 */
	int (*nl_set_config)(void *ctx, void *net_priv,
			     const struct rdsrs_nl_config *cfg, int *attr,
			     const char **why);
	/*
	 * Dumps: fills @out with the connection (socket) at position @idx, in
	 * key order; -ENOENT past the last. *@gen is a number that changes
	 * whenever connections (sockets) come or go.
	 */
	int (*nl_conn)(void *ctx, void *net_priv, unsigned long idx,
		       struct rdsrs_nl_conn *out, unsigned int *gen);
	int (*nl_sock)(void *ctx, void *net_priv, unsigned long idx,
		       struct rdsrs_nl_sock *out, unsigned int *gen);
	/*
	 * Once a second in each namespace (on the module's workqueue): checks
	 * paths for stalls. Returns the milliseconds until the next call.
	 */
	unsigned int (*net_tick)(void *ctx, void *net_priv);
	/* RDS_TCP_CMD_RESET_CONN of the connection @key: 0 or -ENOENT. */
	int (*nl_reset)(void *ctx, void *net_priv, const struct rdsrs_nl_key *key);
};

/* Registers AF_RDS: proto, per-netns operations, then the socket family. */
int rdsrs_register(const struct rdsrs_ops *ops, void *ctx);
/* Undoes rdsrs_register(); no RDS socket exists when it is called. */
void rdsrs_unregister(void);

/* The per-socket state ->sock_new stored for @sk. */
void *rdsrs_sk_priv(struct sock *sk);
/* Takes and drops a reference on @sk (sock_hold / sock_put). */
void rdsrs_sk_hold(struct sock *sk);
void rdsrs_sk_put(struct sock *sk);

/*
 * Whether @addr (IPv6, IPv4 v4-mapped, network order) is an address of an
 * interface in the namespace of @sk, limited to interface @scope_id when it is
 * not 0: 0 if so, -EADDRNOTAVAIL if not (rds_tcp_laddr_check()).
 */
int rdsrs_laddr_check(struct sock *sk, const unsigned char addr[16],
		      unsigned int scope_id);

/* kvmalloc(), kvrealloc() and kvfree() of message bytes: with GFP_KERNEL, or
 * with GFP_ATOMIC | __GFP_NOWARN if @atomic (sys/bytes.rs). */
void *rdsrs_kvmalloc(unsigned long size, _Bool atomic);
void *rdsrs_kvrealloc(void *p, unsigned long size, _Bool atomic);
void rdsrs_kvfree(void *p);

/*
 * Page-fragment memory of @size bytes (at most 4096) for a message to send,
 * whose pages TCP takes references to rather than copying them
 * (netdev_alloc_frag()): NULL if there is none. rdsrs_frag_free() gives it
 * back.
 */
void *rdsrs_frag_alloc(unsigned int size);
void rdsrs_frag_free(void *p);

/* Copies @len bytes of @msg's payload to @dst: 0, or -EFAULT. */
int rdsrs_msg_copy_from(struct msghdr *msg, unsigned char *dst, unsigned long len);
/* Copies @len bytes from @src to @msg's buffers: bytes copied, or -EFAULT. */
long rdsrs_msg_copy_to(struct msghdr *msg, const unsigned char *src,
		       unsigned long len);
/* Takes back the last @len bytes copied to @msg's buffers. */
void rdsrs_msg_revert(struct msghdr *msg, unsigned long len);
/* Sets @msg's source address, if the caller asked for one. */
void rdsrs_msg_set_name(struct msghdr *msg, const unsigned char *name, int len);
/* Adds @flags (MSG_TRUNC) to the flags recvmsg() returns. */
void rdsrs_msg_add_flags(struct msghdr *msg, int flags);
/*
 * The @idx-th control message of level SOL_RDS in @msg (a kernel copy of
 * the caller's control buffer): 1 with its type, data and data length set,
 * 0 when there are fewer, -EINVAL when the buffer is malformed before it.
 */
int rdsrs_msg_rds_cmsg(struct msghdr *msg, unsigned int idx, int *type,
		       const unsigned char **data, unsigned long *len);
/*
 * Adds an RDS_CMSG_ZCOPY_COMPLETION of @len bytes at @done to @msg if the
 * socket uses SO_ZEROCOPY and the caller gave room for it (upstream's
 * rds_recvmsg_zcookie()): 1 if added, 0 if not, -errno.
 */
int rdsrs_msg_put_zcookies(struct sock *sk, struct msghdr *msg,
			   const void *done, int len);
/* Whether @sk has SO_ZEROCOPY set. */
int rdsrs_sk_zerocopy(struct sock *sk);

/*
 * Sleeps on @sk's wait queue until @cond(@arg) holds, a signal arrives or
 * @timeo jiffies pass: the jiffies left (> 0) when @cond held, 0 on timeout,
 * -ERESTARTSYS on a signal (wait_event_interruptible_timeout()).
 */
long rdsrs_sk_wait(struct sock *sk, long timeo, _Bool (*cond)(void *arg), void *arg);
/* Wakes everything waiting on @sk: readers, writers and poll(2). */
void rdsrs_sk_wake(struct sock *sk);
/* The same on the module's congestion wait queue (senders to a full port). */
long rdsrs_cong_wait(long timeo, _Bool (*cond)(void *arg), void *arg);
void rdsrs_cong_wake(void);
/* sk->sk_sndbuf and sk->sk_rcvbuf (SO_SNDBUF, SO_RCVBUF). */
int rdsrs_sk_sndbuf(struct sock *sk);
int rdsrs_sk_rcvbuf(struct sock *sk);

/*
 * Kernel TCP sockets of the transport. Addresses are IPv6 (IPv4 v4-mapped),
 * network order. Callbacks installed with @owner report to ->tcp_event until
 * rdsrs_tcp_close() returns.
 */
/* A listener on RDSRS_TCP_PORT, all addresses, IPv4 and IPv6. */
int rdsrs_tcp_listen(struct net *net, void *owner, struct socket **out);
/* Accepts one connection without blocking: 0, -EAGAIN when none, -errno. */
int rdsrs_tcp_accept(struct socket *listener, struct socket **out);
/* Local and peer addresses of a connected socket, and the scope of local. */
int rdsrs_tcp_names(struct socket *sock, unsigned char local[16],
		    unsigned char peer[16], unsigned int *scope_id);
/*
 * Creates a socket bound to @laddr, on a port that names path @path modulo
 * RDSRS_MPATH_WORKERS when one is free, and starts connecting it to @faddr
 * on RDSRS_TCP_PORT without blocking; @sndbuf/@rcvbuf > 0 set buffer sizes.
 */
int rdsrs_tcp_connect(struct net *net, const unsigned char laddr[16],
		      const unsigned char faddr[16], unsigned int scope_id,
		      unsigned int path, int sndbuf, int rcvbuf, void *owner,
		      struct socket **out);
/*
 * Memory for the callbacks of a socket about to be accepted, taken before it
 * is: an accepted connection must not be closed for lack of it (TCP may have
 * acknowledged data on it already). NULL when out of memory.
 */
void *rdsrs_tcp_cb_new(void);
/* Frees what rdsrs_tcp_cb_new() returned, unused. */
void rdsrs_tcp_cb_free(void *cb);
/* Installs the callbacks on an accepted socket with @cb, and tunes it. */
void rdsrs_tcp_attach(struct socket *sock, void *owner, void *cb, int sndbuf,
		      int rcvbuf);
/* Removes the callbacks, aborts the connection (RST) and releases @sock. */
void rdsrs_tcp_close(struct socket *sock);
/* The socket's state, as enum rdsrs_tcp_state. */
int rdsrs_tcp_state(struct socket *sock);
/*
 * Sends @hlen bytes at @hdr then @dlen at @data without blocking: bytes
 * queued (possibly fewer), -EAGAIN when none fit, or -errno.
 */
long rdsrs_tcp_send(struct socket *sock, const unsigned char *hdr,
		    unsigned long hlen, const unsigned char *data,
		    unsigned long dlen, int more);
/* Bytes to send: @len at @base. */
struct rdsrs_iov {
	const unsigned char *base;
	unsigned long len;
};
enum { RDSRS_TCP_FRAGS_MAX = 16 };
/*
 * As rdsrs_tcp_send(), for the @n (at most RDSRS_TCP_FRAGS_MAX) ranges of
 * @iov in order, within memory from rdsrs_frag_alloc(): TCP takes references
 * to its pages instead of copying the bytes (MSG_SPLICE_PAGES), so they must
 * not change afterwards.
 */
long rdsrs_tcp_send_frags(struct socket *sock, const struct rdsrs_iov *iov,
			  unsigned int n);
/*
 * Corks (@on) or uncorks @sock (TCP_CORK): while corked, TCP sends only full
 * segments; uncorking sends what is pending.
 */
void rdsrs_tcp_cork(struct socket *sock, int on);
/* What RDS_INFO_TCP_SOCKETS and the statistics report of a TCP socket. */
struct rdsrs_tcp_info {
	unsigned short lport;		/* host order */
	unsigned short pport;
	unsigned int srtt_us;		/* smoothed RTT (tcp_info's tcpi_rtt) */
	unsigned int rttvar_us;		/* its variation (tcpi_rttvar) */
};
void rdsrs_tcp_info(struct socket *sock, struct rdsrs_tcp_info *out);
/* tcp_sk()->write_seq (next byte to queue) and snd_una (first unacked). */
unsigned int rdsrs_tcp_write_seq(struct socket *sock);
unsigned int rdsrs_tcp_snd_una(struct socket *sock);
/*
 * Reads what the socket has with tcp_read_sock() under lock_sock(), giving
 * each piece to ->tcp_recv with @arg: 0, or the -errno ->tcp_recv returned.
 * With @last, the connection is then reset before the socket lock is
 * released: segments that arrive meanwhile wait in the backlog and find it
 * closed, so TCP acknowledges nothing that was not read.
 */
int rdsrs_tcp_read(struct socket *sock, void *arg, int last);
/*
 * As rdsrs_tcp_read() without @last, from @sock's data-ready callback (the
 * ->tcp_event of RDSRS_TCP_READABLE), where the socket is already locked:
 * bh-locked and not owned by a task in softirq, or owned by the task whose
 * release_sock() is processing the backlog.
 */
int rdsrs_tcp_read_ready(struct socket *sock, void *arg);
/* Copies @len bytes at @off of @skb to @dst: 0 or -EFAULT. */
int rdsrs_skb_copy(struct sk_buff *skb, unsigned int off, unsigned char *dst,
		   unsigned long len);
/*
 * A payload kept in received skbs: a chain @head..@tail linked by ->next.
 * Appends @len bytes at @off of @skb, sharing its memory (pskb_extract()),
 * allocating atomically or not: 0 or -ENOMEM.
 */
int rdsrs_skb_chain_add(struct sk_buff **head, struct sk_buff **tail,
			struct sk_buff *skb, unsigned int off, unsigned int len,
			_Bool atomic);
/* Copies the first @len bytes of the chain at @head to @dst: 0 or -errno. */
int rdsrs_skb_chain_copy_bits(struct sk_buff *head, unsigned char *dst,
			      unsigned long len);
/* Copies the first @len bytes of the chain at @head to @msg: 0 or -errno. */
int rdsrs_skb_chain_copy_to(struct sk_buff *head, struct msghdr *msg,
			    unsigned long len);
/* Frees the chain at @head (NULL: nothing). */
void rdsrs_skb_chain_free(struct sk_buff *head);
/* net.rds.tcp.rds_tcp_{snd,rcv}buf of @net: 0 lets the stack choose. */
void rdsrs_net_tcp_bufs(struct net *net, int *sndbuf, int *rcvbuf);
/* net.rds.reconnect_{min,max}_delay_ms, in milliseconds. */
void rdsrs_reconnect_delays(unsigned int *min_ms, unsigned int *max_ms);
/* The npaths module parameter, 1 to RDSRS_MPATH_WORKERS. */
int rdsrs_npaths(void);
/* net.rds.ping_enable. */
int rdsrs_ping_enable(void);
/* Sets net.rds.tcp.rds_tcp_{snd,rcv}buf of @net (values already checked). */
void rdsrs_net_set_tcp_bufs(struct net *net, int sndbuf, int rcvbuf);
/* Whether anyone listens to the events group in @net. */
_Bool rdsrs_nl_listening(struct net *net);
/* Sends @ev to the events group in @net; allocation failure loses it. */
void rdsrs_nl_notify(struct net *net, const struct rdsrs_nl_event *ev);

/* The module's workqueue (transport work), made by rdsrs_register(). */
struct workqueue_struct *rdsrs_wq(void);
/* Waits for every work queued on it so far to finish. */
void rdsrs_wq_flush(void);
/* Sleeps @ms milliseconds (reconnect backoff). */
void rdsrs_msleep(unsigned int ms);
/* cond_resched(). */
void rdsrs_cond_resched(void);
/* spin_lock_bh() and spin_unlock_bh() of the spinlock_t at @lock. */
void rdsrs_spin_lock_bh(void *lock);
void rdsrs_spin_unlock_bh(void *lock);

/* Adds @n to statistic @idx (< RDSRS_NSTATS_MAX) on this CPU. */
void rdsrs_stat_add(unsigned int idx, unsigned long n);
/* The first @n statistics summed over all CPUs into @out. */
void rdsrs_stats_sum(unsigned long long *out, unsigned int n);
/* net_ratelimit(): whether a message about network input may be logged now. */
int rdsrs_net_ratelimit(void);
/* Whether @sk is in the initial network namespace. */
int rdsrs_sk_in_init_net(struct sock *sk);
/* The inode number of @sk's socket (RDS_INFO_SOCKETS). */
unsigned long long rdsrs_sk_ino(struct sock *sk);
/* Whether @sk asked for receive timestamps (SOCK_RCVTSTAMP). */
int rdsrs_sk_tstamp(struct sock *sk);
/* msecs_to_jiffies(). */
long rdsrs_msecs_to_jiffies(unsigned int ms);
/* ktime_get_real_ns() and local_clock(). */
unsigned long long rdsrs_real_ns(void);
unsigned long long rdsrs_local_clock(void);
/* Adds an SO_TIMESTAMP control message for @ns (wall clock) to @msg. */
int rdsrs_msg_put_tstamp(struct sock *sk, struct msghdr *msg,
			 unsigned long long ns);
/* Adds a SOL_RDS control message of @type with @len bytes of @data to @msg. */
int rdsrs_msg_put_cmsg(struct msghdr *msg, int type, const void *data, int len);

/* A random number chosen once per module load (upstream's rds_gen_num). */
unsigned int rdsrs_gen_num(void);

/* 16 random bits (get_random_u16()). */
unsigned short rdsrs_random_u16(void);

#endif /* RDSRS_SHIM_H */
