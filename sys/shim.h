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

struct net;
struct sock;

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
	/* Frees the state of ->sock_new once the struct sock is destroyed. */
	void (*sock_free)(void *ctx, void *priv);
	/* close(2) of the last file reference; @sk stays valid until it returns. */
	void (*release)(void *ctx, struct sock *sk, void *priv);
	/* bind(2) with the user's address, @len bytes of it. */
	int (*bind)(void *ctx, struct sock *sk, void *priv,
		    const unsigned char *addr, int len);
	/* getsockname/getpeername: fills @out (128 bytes), returns its length. */
	int (*getname)(void *ctx, void *priv, unsigned char *out, int peer);
	/* A network namespace appears: allocate its state into *@priv. */
	int (*net_init)(void *ctx, struct net *net, void **priv);
	/* A network namespace goes: free its state. */
	void (*net_exit)(void *ctx, struct net *net, void *priv);
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

/* 16 random bits (get_random_u16()). */
unsigned short rdsrs_random_u16(void);

#endif /* RDSRS_SHIM_H */
