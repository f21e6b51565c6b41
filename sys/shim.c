// SPDX-License-Identifier: GPL-2.0
/*
 * The C half of rds_rs's FFI layer: static kernel objects and calls whose
 * types the Rust side does not see. No protocol logic lives here; each
 * function either fills in a kernel structure or forwards to struct rdsrs_ops.
 */

#include <linux/module.h>
#include <linux/net.h>
#include <linux/random.h>
#include <linux/rds.h>
#include <linux/socket.h>
#include <linux/uio.h>
#include <net/addrconf.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/route.h>
#include <net/sock.h>

#include "shim.h"

MODULE_VERSION(RDSRS_VERSION);

static_assert(RDSRS_SOCK_SEQPACKET == SOCK_SEQPACKET);
static_assert(RDSRS_MSG_OOB == MSG_OOB);
static_assert(RDSRS_MSG_PEEK == MSG_PEEK);
static_assert(RDSRS_MSG_TRUNC == MSG_TRUNC);
static_assert(RDSRS_MSG_DONTWAIT == MSG_DONTWAIT);
static_assert(RDSRS_MSG_ERRQUEUE == MSG_ERRQUEUE);
static_assert(RDSRS_MSG_ZEROCOPY == MSG_ZEROCOPY);
static_assert(RDSRS_EPOLLIN == (__force int)EPOLLIN);
static_assert(RDSRS_EPOLLOUT == (__force int)EPOLLOUT);
static_assert(RDSRS_EPOLLRDNORM == (__force int)EPOLLRDNORM);
static_assert(RDSRS_EPOLLWRNORM == (__force int)EPOLLWRNORM);
static_assert(RDSRS_SOL_RDS == SOL_RDS);

/* Senders waiting for a congested port to drain (upstream: rds_poll_waitq). */
static DECLARE_WAIT_QUEUE_HEAD(rdsrs_cong_waitq);

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

static int rdsrs_connect(struct socket *sock, struct sockaddr *uaddr, int len,
			 int flags)
{
	return ops->connect(ops_ctx, rdsrs_sk(sock->sk)->priv,
			    (const unsigned char *)uaddr, len);
}

static int rdsrs_sendmsg(struct socket *sock, struct msghdr *msg, size_t len)
{
	struct sock *sk = sock->sk;
	long ret;

	ret = ops->sendmsg(ops_ctx, sk, rdsrs_sk(sk)->priv, msg, msg->msg_name,
			   msg->msg_name ? msg->msg_namelen : 0, len,
			   msg->msg_flags & ~MSG_CMSG_COMPAT,
			   sock_sndtimeo(sk, msg->msg_flags & MSG_DONTWAIT));
	return ret;
}

static int rdsrs_recvmsg(struct socket *sock, struct msghdr *msg, size_t size,
			 int flags)
{
	struct sock *sk = sock->sk;

	if (flags & MSG_ERRQUEUE)
		return sock_recv_errqueue(sk, msg, size, SOL_IP, IP_RECVERR);
	return ops->recvmsg(ops_ctx, sk, rdsrs_sk(sk)->priv, msg, size, flags,
			    sock_rcvtimeo(sk, flags & MSG_DONTWAIT));
}

static __poll_t rdsrs_poll(struct file *file, struct socket *sock,
			   poll_table *wait)
{
	struct sock *sk = sock->sk;

	sock_poll_wait(file, sock, wait);
	return (__force __poll_t)ops->poll(ops_ctx, rdsrs_sk(sk)->priv);
}

static const struct proto_ops rdsrs_proto_ops = {
	.family		= AF_RDS,
	.owner		= THIS_MODULE,
	.release	= rdsrs_release,
	.bind		= rdsrs_bind,
	.connect	= rdsrs_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= sock_no_accept,
	.getname	= rdsrs_getname,
	.poll		= rdsrs_poll,
	.ioctl		= sock_no_ioctl,
	.listen		= sock_no_listen,
	.shutdown	= sock_no_shutdown,
	.sendmsg	= rdsrs_sendmsg,
	.recvmsg	= rdsrs_recvmsg,
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

int rdsrs_msg_copy_from(struct msghdr *msg, unsigned char *dst, unsigned long len)
{
	return copy_from_iter_full(dst, len, &msg->msg_iter) ? 0 : -EFAULT;
}

long rdsrs_msg_copy_to(struct msghdr *msg, const unsigned char *src,
		       unsigned long len)
{
	size_t n = copy_to_iter(src, len, &msg->msg_iter);

	return n == len ? (long)n : -EFAULT;
}

void rdsrs_msg_revert(struct msghdr *msg, unsigned long len)
{
	iov_iter_revert(&msg->msg_iter, len);
}

void rdsrs_msg_set_name(struct msghdr *msg, const unsigned char *name, int len)
{
	if (!msg->msg_name)
		return;
	memcpy(msg->msg_name, name, len);
	msg->msg_namelen = len;
}

void rdsrs_msg_add_flags(struct msghdr *msg, int flags)
{
	msg->msg_flags |= flags;
}

int rdsrs_msg_first_rds_cmsg(struct msghdr *msg)
{
	struct cmsghdr *cmsg;

	for_each_cmsghdr(cmsg, msg) {
		if (!CMSG_OK(msg, cmsg))
			return -EINVAL;
		if (cmsg->cmsg_level == SOL_RDS)
			return cmsg->cmsg_type;
	}
	return -1;
}

long rdsrs_sk_wait(struct sock *sk, long timeo, _Bool (*cond)(void *arg), void *arg)
{
	return wait_event_interruptible_timeout(*sk_sleep(sk), cond(arg), timeo);
}

void rdsrs_sk_wake(struct sock *sk)
{
	struct socket_wq *wq;

	rcu_read_lock();
	wq = rcu_dereference(sk->sk_wq);
	if (skwq_has_sleeper(wq))
		wake_up_interruptible_all(&wq->wait);
	rcu_read_unlock();
}

long rdsrs_cong_wait(long timeo, _Bool (*cond)(void *arg), void *arg)
{
	return wait_event_interruptible_timeout(rdsrs_cong_waitq, cond(arg), timeo);
}

void rdsrs_cong_wake(void)
{
	wake_up_interruptible_all(&rdsrs_cong_waitq);
}

int rdsrs_sk_sndbuf(struct sock *sk)
{
	return READ_ONCE(sk->sk_sndbuf);
}

int rdsrs_sk_rcvbuf(struct sock *sk)
{
	return READ_ONCE(sk->sk_rcvbuf);
}

unsigned short rdsrs_random_u16(void)
{
	return get_random_u16();
}
