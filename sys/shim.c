// SPDX-License-Identifier: GPL-2.0
/*
 * The C half of rds_rs's FFI layer: static kernel objects and calls whose
 * types the Rust side does not see. No protocol logic lives here; each
 * function either fills in a kernel structure or forwards to struct rdsrs_ops.
 */

#include <linux/module.h>
#include <linux/net.h>
#include <linux/random.h>
#include <linux/socket.h>
#include <net/addrconf.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/route.h>
#include <net/sock.h>

#include "shim.h"

MODULE_VERSION(RDSRS_VERSION);

/* The Rust side's callbacks and context, set once by rdsrs_register(). */
static const struct rdsrs_ops *ops;
static void *ops_ctx;
static unsigned int net_id;

static void **net_slot(struct net *net)
{
	return net_generic(net, net_id);
}

/* An RDS socket: the struct sock, then a pointer to the Rust state. */
struct rdsrs_sock {
	struct sock sk;
	void *priv;
};

static struct rdsrs_sock *rdsrs_sk(struct sock *sk)
{
	return container_of(sk, struct rdsrs_sock, sk);
}

static struct proto rdsrs_proto = {
	.name		= "RDS",
	.owner		= THIS_MODULE,
	.obj_size	= sizeof(struct rdsrs_sock),
};

static int rdsrs_release(struct socket *sock)
{
	struct sock *sk = sock->sk;

	if (!sk)
		return 0;
	sock_orphan(sk);
	ops->release(ops_ctx, sk, rdsrs_sk(sk)->priv);
	sock->sk = NULL;
	sock_put(sk);
	return 0;
}

static int rdsrs_bind(struct socket *sock, struct sockaddr *uaddr, int len)
{
	struct sock *sk = sock->sk;

	return ops->bind(ops_ctx, sk, rdsrs_sk(sk)->priv,
			 (const unsigned char *)uaddr, len);
}

static int rdsrs_getname(struct socket *sock, struct sockaddr *uaddr, int peer)
{
	/* The socket layer passes a struct sockaddr_storage. */
	return ops->getname(ops_ctx, rdsrs_sk(sock->sk)->priv,
			    (unsigned char *)uaddr, peer);
}

static const struct proto_ops rdsrs_proto_ops = {
	.family		= AF_RDS,
	.owner		= THIS_MODULE,
	.release	= rdsrs_release,
	.bind		= rdsrs_bind,
	.connect	= sock_no_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= sock_no_accept,
	.getname	= rdsrs_getname,
	.poll		= datagram_poll,
	.ioctl		= sock_no_ioctl,
	.listen		= sock_no_listen,
	.shutdown	= sock_no_shutdown,
	.sendmsg	= sock_no_sendmsg,
	.recvmsg	= sock_no_recvmsg,
	.mmap		= sock_no_mmap,
};

static void rdsrs_sk_destruct(struct sock *sk)
{
	void *priv = rdsrs_sk(sk)->priv;

	rdsrs_sk(sk)->priv = NULL;
	if (priv)
		ops->sock_free(ops_ctx, priv);
}

static int rdsrs_create(struct net *net, struct socket *sock, int protocol,
			int kern)
{
	struct sock *sk;
	void *priv;
	int ret;

	ret = ops->sock_new(ops_ctx, *net_slot(net), sock->type, protocol, &priv);
	if (ret)
		return ret;

	sk = sk_alloc(net, AF_RDS, GFP_KERNEL, &rdsrs_proto, kern);
	if (!sk) {
		ops->sock_free(ops_ctx, priv);
		return -ENOMEM;
	}
	sock_init_data(sock, sk);
	sock->ops = &rdsrs_proto_ops;
	sk->sk_protocol = protocol;
	sk->sk_destruct = rdsrs_sk_destruct;
	rdsrs_sk(sk)->priv = priv;
	return 0;
}

static const struct net_proto_family rdsrs_family_ops = {
	.family	= AF_RDS,
	.create	= rdsrs_create,
	.owner	= THIS_MODULE,
};

static int __net_init rdsrs_net_init(struct net *net)
{
	return ops->net_init(ops_ctx, net, net_slot(net));
}

static void __net_exit rdsrs_net_exit(struct net *net)
{
	ops->net_exit(ops_ctx, net, *net_slot(net));
	*net_slot(net) = NULL;
}

static struct pernet_operations rdsrs_net_ops = {
	.init	= rdsrs_net_init,
	.exit	= rdsrs_net_exit,
	.id	= &net_id,
	.size	= sizeof(void *),
};

int rdsrs_register(const struct rdsrs_ops *rust_ops, void *ctx)
{
	int ret;

	ops = rust_ops;
	ops_ctx = ctx;

	ret = proto_register(&rdsrs_proto, 1);
	if (ret)
		return ret;
	ret = register_pernet_subsys(&rdsrs_net_ops);
	if (ret)
		goto err_proto;
	ret = sock_register(&rdsrs_family_ops);
	if (ret)
		goto err_pernet;
	return 0;

err_pernet:
	unregister_pernet_subsys(&rdsrs_net_ops);
err_proto:
	proto_unregister(&rdsrs_proto);
	return ret;
}

void rdsrs_unregister(void)
{
	sock_unregister(AF_RDS);
	unregister_pernet_subsys(&rdsrs_net_ops);
	proto_unregister(&rdsrs_proto);
}

void *rdsrs_sk_priv(struct sock *sk)
{
	return rdsrs_sk(sk)->priv;
}

void rdsrs_sk_hold(struct sock *sk)
{
	sock_hold(sk);
}

void rdsrs_sk_put(struct sock *sk)
{
	sock_put(sk);
}

int rdsrs_laddr_check(struct sock *sk, const unsigned char addr[16],
		      unsigned int scope_id)
{
	struct net *net = sock_net(sk);
	const struct in6_addr *a6 = (const struct in6_addr *)addr;
	struct net_device *dev = NULL;
	int ret = -EADDRNOTAVAIL;

	if (ipv6_addr_v4mapped(a6))
		return inet_addr_type(net, a6->s6_addr32[3]) == RTN_LOCAL ?
			0 : -EADDRNOTAVAIL;

	rcu_read_lock();
	if (scope_id) {
		dev = dev_get_by_index_rcu(net, scope_id);
		if (!dev)
			goto out;
	}
#if IS_ENABLED(CONFIG_IPV6)
	if (ipv6_mod_enabled() && ipv6_chk_addr(net, a6, dev, 0))
		ret = 0;
#endif
out:
	rcu_read_unlock();
	return ret;
}

unsigned short rdsrs_random_u16(void)
{
	return get_random_u16();
}
