// SPDX-License-Identifier: GPL-2.0
/*
 * The C half of rds_rs's FFI layer: static kernel objects and calls whose
 * types the Rust side does not see. No protocol logic lives here; each
 * function either fills in a kernel structure or forwards to struct rdsrs_ops.
 */

#include <linux/delay.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/random.h>
#include <linux/sched/clock.h>
#include <linux/rds.h>
#include <linux/socket.h>
#include <linux/uio.h>
#include <net/addrconf.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/route.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "internal.h"

MODULE_VERSION(RDSRS_VERSION);

/*
 * Paths (TCP connections) per peer that this host offers in the multipath
 * handshake. Upstream always offers RDS_MPATH_WORKERS (8); 1 here by default
 * until upstream's test.py passes with loss, corruption and duplication
 * together on 8 paths (it timed out once: see Documentation/upstream-bugs.rst).
 */
static int rdsrs_npaths_param = 1;
module_param_named(npaths, rdsrs_npaths_param, int, 0644);
MODULE_PARM_DESC(npaths, "TCP connections per peer offered in the multipath handshake, 1 to 8 (new peers)");

int rdsrs_npaths(void)
{
	return clamp(READ_ONCE(rdsrs_npaths_param), 1, RDSRS_MPATH_WORKERS);
}

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
static_assert(RDSRS_EPOLLWRBAND == (__force int)EPOLLWRBAND);
static_assert(RDSRS_SOL_RDS == SOL_RDS);
static_assert(RDSRS_ENOIOCTLCMD == ENOIOCTLCMD);
static_assert(RDSRS_CMSG_RXPATH_LATENCY == RDS_CMSG_RXPATH_LATENCY);
static_assert(sizeof(struct rds_zcopy_cookies) == 4 + 4 * RDS_MAX_ZCOOKIES);
static_assert(sizeof(struct rds_rdma_args) == 56);
static_assert(sizeof(struct rds_atomic_args) == 72);
static_assert(sizeof(struct rds_get_mr_args) == 32);
static_assert(RDSRS_RX_TRACE_MAX == RDS_MSG_RX_DGRAM_TRACE_MAX);
static_assert(sizeof(struct rds_rx_trace_so) == 1 + RDSRS_RX_TRACE_MAX);
static_assert(sizeof(struct rds_cmsg_rx_trace) == 8 + 8 * RDSRS_RX_TRACE_MAX);

/* Senders waiting for a congested port to drain (upstream: rds_poll_waitq). */
static DECLARE_WAIT_QUEUE_HEAD(rdsrs_cong_waitq);

/* The Rust side's callbacks and context, set once by rdsrs_register(). */
static const struct rdsrs_ops *ops;
static void *ops_ctx;
static unsigned int net_id;
static struct workqueue_struct *rdsrs_workqueue;

/* Per-namespace data: the Rust state and the net.rds.tcp sysctls. */
struct rdsrs_net {
	void *priv;
	struct delayed_work tick;
	int tcp_sndbuf;
	int tcp_rcvbuf;
	struct ctl_table *tbl;
	struct ctl_table_header *hdr;
};

static struct rdsrs_net *rdsrs_net(struct net *net)
{
	return net_generic(net, net_id);
}

static void **net_slot(struct net *net)
{
	return &rdsrs_net(net)->priv;
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
	return (__force __poll_t)ops->poll(ops_ctx, sk);
}

/*
 * SOL_RDS SO_TIMESTAMP: the socket-level flag, set from the RDS level as
 * upstream's rds_enable_recvtstamp() does (a wrong length is -EFAULT there).
 */
static int rdsrs_set_tstamp(struct sock *sk, sockptr_t optval,
			    unsigned int optlen, int optname)
{
	int val;

	if (optlen != sizeof(int))
		return -EFAULT;
	if (copy_from_sockptr(&val, optval, sizeof(int)))
		return -EFAULT;
	lock_sock(sk);
	if (optname == SO_TIMESTAMP_NEW)
		sock_set_flag(sk, SOCK_TSTAMP_NEW);
	if (val)
		sock_set_flag(sk, SOCK_RCVTSTAMP);
	else
		sock_reset_flag(sk, SOCK_RCVTSTAMP);
	release_sock(sk);
	return 0;
}

static int rdsrs_setsockopt(struct socket *sock, int level, int optname,
			    sockptr_t optval, unsigned int optlen)
{
	unsigned char buf[RDSRS_OPT_MAX];
	unsigned int n = min_t(unsigned int, optlen, sizeof(buf));
	int fault = 0;

	if (level != SOL_RDS)
		return -ENOPROTOOPT;
	if (optname == SO_TIMESTAMP_OLD || optname == SO_TIMESTAMP_NEW)
		return rdsrs_set_tstamp(sock->sk, optval, optlen, optname);
	memset(buf, 0, sizeof(buf));
	if (copy_from_sockptr(buf, optval, n))
		fault = 1;
	return ops->setsockopt(ops_ctx, sock->sk, rdsrs_sk(sock->sk)->priv,
			       optname, buf, optlen, fault);
}

static int rdsrs_getsockopt(struct socket *sock, int level, int optname,
			    char __user *optval, int __user *optlen)
{
	int len, ret;

	if (level != SOL_RDS)
		return -ENOPROTOOPT;
	if (get_user(len, optlen))
		return -EFAULT;
	ret = ops->getsockopt(ops_ctx, sock->sk, rdsrs_sk(sock->sk)->priv,
			      optname, (unsigned long)optval, &len);
	if ((ret >= 0 || ret == -ENOSPC) && put_user(len, optlen))
		return -EFAULT;
	return ret;
}

static int rdsrs_ioctl(struct socket *sock, unsigned int cmd, unsigned long arg)
{
	void *priv = rdsrs_sk(sock->sk)->priv;
	rds_tos_t tos;
	int ret;

	switch (cmd) {
	case SIOCRDSSETTOS:
		if (get_user(tos, (rds_tos_t __user *)arg))
			return -EFAULT;
		return ops->set_tos(ops_ctx, priv, tos);
	case SIOCRDSGETTOS:
		ret = ops->get_tos(ops_ctx, priv);
		if (ret < 0)
			return ret;
		tos = ret;
		if (put_user(tos, (rds_tos_t __user *)arg))
			return -EFAULT;
		return 0;
	default:
		return -ENOIOCTLCMD;
	}
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
	.ioctl		= rdsrs_ioctl,
	.listen		= sock_no_listen,
	.shutdown	= sock_no_shutdown,
	.setsockopt	= rdsrs_setsockopt,
	.getsockopt	= rdsrs_getsockopt,
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
	ops->sock_init(ops_ctx, sk);
	return 0;
}

static const struct net_proto_family rdsrs_family_ops = {
	.family	= AF_RDS,
	.create	= rdsrs_create,
	.owner	= THIS_MODULE,
};

/*
 * Sysctls, as upstream's: net.rds (global, in the initial namespace) and
 * net.rds.tcp (per namespace; a write reconnects that namespace's
 * connections with the new buffer sizes).
 */
static unsigned long rdsrs_reconnect_min = 1;	/* jiffies; set at register */
static unsigned long rdsrs_reconnect_max = ~0UL;
static unsigned long rdsrs_reconnect_min_jiffies;
static unsigned long rdsrs_reconnect_max_jiffies = HZ;
static int rdsrs_max_unacked_packets = 8;
static int rdsrs_max_unacked_bytes = 16 << 20;
static int rdsrs_ping_enabled = 1;
static int rdsrs_min_sndbuf = SOCK_MIN_SNDBUF;
static int rdsrs_min_rcvbuf = SOCK_MIN_RCVBUF;
static struct ctl_table_header *rdsrs_rds_sysctl;

static struct ctl_table rdsrs_rds_table[] = {
	{
		.procname	= "reconnect_min_delay_ms",
		.data		= &rdsrs_reconnect_min_jiffies,
		.maxlen		= sizeof(unsigned long),
		.mode		= 0644,
		.proc_handler	= proc_doulongvec_ms_jiffies_minmax,
		.extra1		= &rdsrs_reconnect_min,
		.extra2		= &rdsrs_reconnect_max_jiffies,
	},
	{
		.procname	= "reconnect_max_delay_ms",
		.data		= &rdsrs_reconnect_max_jiffies,
		.maxlen		= sizeof(unsigned long),
		.mode		= 0644,
		.proc_handler	= proc_doulongvec_ms_jiffies_minmax,
		.extra1		= &rdsrs_reconnect_min_jiffies,
		.extra2		= &rdsrs_reconnect_max,
	},
	{
		.procname	= "max_unacked_packets",
		.data		= &rdsrs_max_unacked_packets,
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec,
	},
	{
		.procname	= "max_unacked_bytes",
		.data		= &rdsrs_max_unacked_bytes,
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec,
	},
	{
		.procname	= "ping_enable",
		.data		= &rdsrs_ping_enabled,
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec,
	},
};

static int rdsrs_tcp_buf_handler(struct rdsrs_net *rn, const struct ctl_table *ctl,
				 int write, void *buffer, size_t *lenp, loff_t *fpos)
{
	int ret;

	ret = proc_dointvec_minmax(ctl, write, buffer, lenp, fpos);
	if (ret || !write)
		return ret;
	ops->tcp_bufs_changed(ops_ctx, rn->priv);
	return 0;
}

static int rdsrs_tcp_sndbuf_handler(const struct ctl_table *ctl, int write,
				    void *buffer, size_t *lenp, loff_t *fpos)
{
	return rdsrs_tcp_buf_handler(container_of(ctl->data, struct rdsrs_net, tcp_sndbuf),
				     ctl, write, buffer, lenp, fpos);
}

static int rdsrs_tcp_rcvbuf_handler(const struct ctl_table *ctl, int write,
				    void *buffer, size_t *lenp, loff_t *fpos)
{
	return rdsrs_tcp_buf_handler(container_of(ctl->data, struct rdsrs_net, tcp_rcvbuf),
				     ctl, write, buffer, lenp, fpos);
}

static const struct ctl_table rdsrs_tcp_table[] = {
	{
		.procname	= "rds_tcp_sndbuf",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= rdsrs_tcp_sndbuf_handler,
		.extra1		= &rdsrs_min_sndbuf,
	},
	{
		.procname	= "rds_tcp_rcvbuf",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= rdsrs_tcp_rcvbuf_handler,
		.extra1		= &rdsrs_min_rcvbuf,
	},
};

static void rdsrs_net_tick(struct work_struct *work)
{
	struct rdsrs_net *rn = container_of(to_delayed_work(work),
					    struct rdsrs_net, tick);
	unsigned int next_ms = ops->net_tick(ops_ctx, rn->priv);

	queue_delayed_work(rdsrs_workqueue, &rn->tick, msecs_to_jiffies(next_ms));
}

static int __net_init rdsrs_net_init(struct net *net)
{
	struct rdsrs_net *rn = rdsrs_net(net);
	int ret;

	rn->tbl = kmemdup(rdsrs_tcp_table, sizeof(rdsrs_tcp_table), GFP_KERNEL);
	if (!rn->tbl)
		return -ENOMEM;
	rn->tbl[0].data = &rn->tcp_sndbuf;
	rn->tbl[1].data = &rn->tcp_rcvbuf;

	ret = ops->net_init(ops_ctx, net, &rn->priv);
	if (ret)
		goto err_tbl;
	rn->hdr = register_net_sysctl_sz(net, "net/rds/tcp", rn->tbl,
					 ARRAY_SIZE(rdsrs_tcp_table));
	if (!rn->hdr) {
		ret = -ENOMEM;
		goto err_priv;
	}
	INIT_DELAYED_WORK(&rn->tick, rdsrs_net_tick);
	queue_delayed_work(rdsrs_workqueue, &rn->tick, HZ);
	return 0;

err_priv:
	ops->net_exit(ops_ctx, net, rn->priv);
	rn->priv = NULL;
err_tbl:
	kfree(rn->tbl);
	return ret;
}

static void __net_exit rdsrs_net_exit(struct net *net)
{
	struct rdsrs_net *rn = rdsrs_net(net);

	/* Also stops the work requeueing itself. */
	cancel_delayed_work_sync(&rn->tick);
	unregister_net_sysctl_table(rn->hdr);
	kfree(rn->tbl);
	ops->net_exit(ops_ctx, net, rn->priv);
	rn->priv = NULL;
}

static struct pernet_operations rdsrs_net_ops = {
	.init	= rdsrs_net_init,
	.exit	= rdsrs_net_exit,
	.id	= &net_id,
	.size	= sizeof(struct rdsrs_net),
};

void rdsrs_net_tcp_bufs(struct net *net, int *sndbuf, int *rcvbuf)
{
	struct rdsrs_net *rn = rdsrs_net(net);

	*sndbuf = READ_ONCE(rn->tcp_sndbuf);
	*rcvbuf = READ_ONCE(rn->tcp_rcvbuf);
}

void rdsrs_net_set_tcp_bufs(struct net *net, int sndbuf, int rcvbuf)
{
	struct rdsrs_net *rn = rdsrs_net(net);

	WRITE_ONCE(rn->tcp_sndbuf, sndbuf);
	WRITE_ONCE(rn->tcp_rcvbuf, rcvbuf);
}

void *rdsrs_net_priv(struct net *net)
{
	return rdsrs_net(net)->priv;
}

const struct rdsrs_ops *rdsrs_ops_get(void **ctx)
{
	*ctx = ops_ctx;
	return ops;
}

void rdsrs_reconnect_delays(unsigned int *min_ms, unsigned int *max_ms)
{
	*min_ms = jiffies_to_msecs(READ_ONCE(rdsrs_reconnect_min_jiffies));
	*max_ms = jiffies_to_msecs(READ_ONCE(rdsrs_reconnect_max_jiffies));
}

int rdsrs_ping_enable(void)
{
	return READ_ONCE(rdsrs_ping_enabled);
}

int rdsrs_register(const struct rdsrs_ops *rust_ops, void *ctx)
{
	int ret;

	ops = rust_ops;
	ops_ctx = ctx;

	rdsrs_reconnect_min = msecs_to_jiffies(1);
	rdsrs_reconnect_min_jiffies = rdsrs_reconnect_min;
	rdsrs_workqueue = alloc_workqueue("rds_rs", WQ_MEM_RECLAIM, 0);
	if (!rdsrs_workqueue)
		return -ENOMEM;
	rdsrs_rds_sysctl = register_net_sysctl(&init_net, "net/rds", rdsrs_rds_table);
	if (!rdsrs_rds_sysctl) {
		ret = -ENOMEM;
		goto err_wq;
	}
	ret = proto_register(&rdsrs_proto, 1);
	if (ret)
		goto err_sysctl;
	ret = register_pernet_subsys(&rdsrs_net_ops);
	if (ret)
		goto err_proto;
	ret = rdsrs_genl_init();
	if (ret)
		goto err_pernet;
	ret = sock_register(&rdsrs_family_ops);
	if (ret)
		goto err_genl;
	return 0;

err_genl:
	rdsrs_genl_exit();
err_pernet:
	unregister_pernet_subsys(&rdsrs_net_ops);
err_proto:
	proto_unregister(&rdsrs_proto);
err_sysctl:
	unregister_net_sysctl_table(rdsrs_rds_sysctl);
err_wq:
	destroy_workqueue(rdsrs_workqueue);
	return ret;
}

void rdsrs_unregister(void)
{
	sock_unregister(AF_RDS);
	rdsrs_genl_exit();
	unregister_pernet_subsys(&rdsrs_net_ops);
	proto_unregister(&rdsrs_proto);
	unregister_net_sysctl_table(rdsrs_rds_sysctl);
	destroy_workqueue(rdsrs_workqueue);
}

struct workqueue_struct *rdsrs_wq(void)
{
	return rdsrs_workqueue;
}

void rdsrs_wq_flush(void)
{
	flush_workqueue(rdsrs_workqueue);
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

static gfp_t rdsrs_bytes_gfp(bool atomic)
{
	return atomic ? GFP_ATOMIC | __GFP_NOWARN : GFP_KERNEL;
}

void *rdsrs_kvmalloc(unsigned long size, bool atomic)
{
	return kvmalloc(size, rdsrs_bytes_gfp(atomic));
}

void *rdsrs_kvrealloc(void *p, unsigned long size, bool atomic)
{
	return kvrealloc(p, size, rdsrs_bytes_gfp(atomic));
}

void rdsrs_kvfree(void *p)
{
	kvfree(p);
}

void *rdsrs_frag_alloc(unsigned int size)
{
	if (size > PAGE_SIZE)
		return NULL;
	return netdev_alloc_frag(size);
}

void rdsrs_frag_free(void *p)
{
	skb_free_frag(p);
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

int rdsrs_msg_rds_cmsg(struct msghdr *msg, unsigned int idx, int *type,
		       const unsigned char **data, unsigned long *len)
{
	struct cmsghdr *cmsg;

	for_each_cmsghdr(cmsg, msg) {
		if (!CMSG_OK(msg, cmsg))
			return -EINVAL;
		if (cmsg->cmsg_level != SOL_RDS)
			continue;
		if (idx--)
			continue;
		*type = cmsg->cmsg_type;
		*data = CMSG_DATA(cmsg);
		*len = cmsg->cmsg_len - CMSG_LEN(0);
		return 1;
	}
	return 0;
}

int rdsrs_msg_put_zcookies(struct sock *sk, struct msghdr *msg,
			   const void *done, int len)
{
	int ret;

	if (!msg->msg_control || !sock_flag(sk, SOCK_ZEROCOPY) ||
	    msg->msg_controllen < CMSG_SPACE(len))
		return 0;
	ret = put_cmsg(msg, SOL_RDS, RDS_CMSG_ZCOPY_COMPLETION, len, (void *)done);
	return ret ? ret : 1;
}

int rdsrs_sk_zerocopy(struct sock *sk)
{
	return sock_flag(sk, SOCK_ZEROCOPY);
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

unsigned int rdsrs_gen_num(void)
{
	static u32 gen_num;

	net_get_random_once(&gen_num, sizeof(gen_num));
	return gen_num;
}

unsigned short rdsrs_random_u16(void)
{
	return get_random_u16();
}

/*
 * Kernel TCP sockets. The callbacks run in softirq context; they take
 * sk_callback_lock for reading, so that rdsrs_tcp_detach(), which takes it
 * for writing, knows none is running once it has removed them.
 */
struct rdsrs_tcp_cb {
	void *owner;
	void (*orig_data_ready)(struct sock *sk);
	void (*orig_write_space)(struct sock *sk);
	void (*orig_state_change)(struct sock *sk);
	/* snd_una at the last write-space event passed on (the socket's lock
	 * serializes the callbacks). */
	u32 seen_una;
	/* A send found no room (rdsrs_tcp_send()): the next write-space call
	 * is passed on whatever snd_una says. */
	bool want_room;
};

static void rdsrs_tcp_event(struct sock *sk, int event)
{
	struct rdsrs_tcp_cb *cb;

	read_lock_bh(&sk->sk_callback_lock);
	cb = sk->sk_user_data;
	if (cb)
		ops->tcp_event(ops_ctx, cb->owner, event);
	read_unlock_bh(&sk->sk_callback_lock);
}

static void rdsrs_tcp_data_ready(struct sock *sk)
{
	rdsrs_tcp_event(sk, RDSRS_TCP_READABLE);
}

static void rdsrs_tcp_write_space(struct sock *sk)
{
	struct rdsrs_tcp_cb *cb;

	read_lock_bh(&sk->sk_callback_lock);
	cb = sk->sk_user_data;
	if (cb) {
		u32 una = READ_ONCE(tcp_sk(sk)->snd_una);

		/*
		 * TCP also calls this for each segment it sends (in
		 * tcp_event_new_data_sent()), and for each it receives: only
		 * acknowledgement progress, or room after a send found none
		 * (a larger send buffer), is news for ->tcp_event.
		 */
		if (una != cb->seen_una || READ_ONCE(cb->want_room)) {
			cb->seen_una = una;
			WRITE_ONCE(cb->want_room, false);
			ops->tcp_event(ops_ctx, cb->owner, RDSRS_TCP_WRITABLE);
		}
		if (cb->orig_write_space)
			cb->orig_write_space(sk);
		/* The original clears SOCK_NOSPACE once there is room; set it
		 * again so that every acknowledgement keeps reaching us (see
		 * rdsrs_tcp_send()). */
		if (sk->sk_socket)
			set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

static void rdsrs_tcp_state_change(struct sock *sk)
{
	rdsrs_tcp_event(sk, RDSRS_TCP_STATE);
}

/*
 * Children of the listener inherit its callbacks and sk_user_data until they
 * are accepted (rdsrs_tcp_accept() removes them), so this also runs for a
 * child with data: then only the original callback is due.
 */
static void rdsrs_listen_data_ready(struct sock *sk)
{
	struct rdsrs_tcp_cb *cb;

	if (sk->sk_state == TCP_LISTEN) {
		rdsrs_tcp_event(sk, RDSRS_TCP_ACCEPT);
		return;
	}
	read_lock_bh(&sk->sk_callback_lock);
	cb = sk->sk_user_data;
	if (cb && cb->orig_data_ready)
		cb->orig_data_ready(sk);
	read_unlock_bh(&sk->sk_callback_lock);
}

void *rdsrs_tcp_cb_new(void)
{
	return kzalloc(sizeof(struct rdsrs_tcp_cb), GFP_KERNEL);
}

void rdsrs_tcp_cb_free(void *cb)
{
	kfree(cb);
}

/* Installs our callbacks on @sock, with @cb (from rdsrs_tcp_cb_new()). */
static void rdsrs_tcp_install(struct socket *sock, void *owner, bool listener,
			      struct rdsrs_tcp_cb *cb)
{
	struct sock *sk = sock->sk;

	cb->owner = owner;
	write_lock_bh(&sk->sk_callback_lock);
	cb->orig_data_ready = sk->sk_data_ready;
	cb->orig_write_space = sk->sk_write_space;
	cb->orig_state_change = sk->sk_state_change;
	sk->sk_user_data = cb;
	if (listener) {
		sk->sk_data_ready = rdsrs_listen_data_ready;
	} else {
		sk->sk_data_ready = rdsrs_tcp_data_ready;
		sk->sk_write_space = rdsrs_tcp_write_space;
		sk->sk_state_change = rdsrs_tcp_state_change;
	}
	write_unlock_bh(&sk->sk_callback_lock);
}

static int rdsrs_tcp_set_callbacks(struct socket *sock, void *owner, bool listener)
{
	struct rdsrs_tcp_cb *cb = rdsrs_tcp_cb_new();

	if (!cb)
		return -ENOMEM;
	rdsrs_tcp_install(sock, owner, listener, cb);
	return 0;
}

/*
 * Removes our callbacks from @sock; once it returns, none runs any more. The
 * caller frees the returned callback data after releasing the socket: a
 * listener's children use it until they are gone.
 */
static struct rdsrs_tcp_cb *rdsrs_tcp_detach(struct socket *sock)
{
	struct sock *sk = sock->sk;
	struct rdsrs_tcp_cb *cb;

	write_lock_bh(&sk->sk_callback_lock);
	cb = sk->sk_user_data;
	if (cb) {
		sk->sk_data_ready = cb->orig_data_ready;
		sk->sk_write_space = cb->orig_write_space;
		sk->sk_state_change = cb->orig_state_change;
		sk->sk_user_data = NULL;
	}
	write_unlock_bh(&sk->sk_callback_lock);
	return cb;
}

static void rdsrs_tcp_tune(struct socket *sock, int sndbuf, int rcvbuf)
{
	struct sock *sk = sock->sk;

	tcp_sock_set_nodelay(sk);
	/*
	 * Keepalive as upstream's rds_tcp_keepalive(): a connection whose peer
	 * went away without a word (its RST lost) dies within about 30 s, so
	 * that the path can be connected again.
	 */
	sock_set_keepalive(sk);
	tcp_sock_set_keepcnt(sk, 5);
	tcp_sock_set_keepidle(sk, 5);
	tcp_sock_set_keepintvl(sk, 5);
	lock_sock(sk);
	if (sndbuf > 0) {
		sk->sk_sndbuf = sndbuf;
		sk->sk_userlocks |= SOCK_SNDBUF_LOCK;
	}
	if (rcvbuf > 0) {
		sk->sk_rcvbuf = rcvbuf;
		sk->sk_userlocks |= SOCK_RCVBUF_LOCK;
	}
	release_sock(sk);
}

int rdsrs_tcp_listen(struct net *net, void *owner, struct socket **out)
{
	struct sockaddr_in6 sin6 = {
		.sin6_family = AF_INET6,
		.sin6_addr = IN6ADDR_ANY_INIT,
		.sin6_port = htons(RDSRS_TCP_PORT),
	};
	struct socket *sock;
	int ret;

	ret = sock_create_kern(net, PF_INET6, SOCK_STREAM, IPPROTO_TCP, &sock);
	if (ret < 0)
		return ret;
	sock->sk->sk_reuse = SK_CAN_REUSE;
	tcp_sock_set_nodelay(sock->sk);
	ret = kernel_bind(sock, (struct sockaddr *)&sin6, sizeof(sin6));
	if (ret)
		goto err;
	ret = rdsrs_tcp_set_callbacks(sock, owner, true);
	if (ret)
		goto err;
	ret = kernel_listen(sock, 64);
	if (ret) {
		struct rdsrs_tcp_cb *cb = rdsrs_tcp_detach(sock);

		sock_release(sock);
		kfree(cb);
		return ret;
	}
	*out = sock;
	return 0;
err:
	sock_release(sock);
	return ret;
}

int rdsrs_tcp_accept(struct socket *listener, struct socket **out)
{
	int ret;

	ret = kernel_accept(listener, out, O_NONBLOCK);
	if (ret)
		return ret;
	/* Undo what the child inherited from the listener; the callback data
	 * it pointed to stays the listener's. */
	rdsrs_tcp_detach(*out);
	return 0;
}

int rdsrs_tcp_names(struct socket *sock, unsigned char local[16],
		    unsigned char peer[16], unsigned int *scope_id)
{
	struct sock *sk = sock->sk;
	struct inet_sock *inet = inet_sk(sk);

	/* From the socket itself, not getpeername(): the peer may have reset
	 * the connection already, and its addresses still tell who it was. */
	if (sk->sk_family == AF_INET6) {
		memcpy(local, &sk->sk_v6_rcv_saddr, 16);
		memcpy(peer, &sk->sk_v6_daddr, 16);
		*scope_id = READ_ONCE(sk->sk_bound_dev_if);
	} else {
		ipv6_addr_set_v4mapped(inet->inet_rcv_saddr, (struct in6_addr *)local);
		ipv6_addr_set_v4mapped(inet->inet_daddr, (struct in6_addr *)peer);
		*scope_id = 0;
	}
	return 0;
}

static int rdsrs_sockaddr(const unsigned char addr[16], unsigned int scope_id,
			  unsigned short port, struct sockaddr_storage *ss)
{
	const struct in6_addr *a6 = (const struct in6_addr *)addr;

	memset(ss, 0, sizeof(*ss));
	if (ipv6_addr_v4mapped(a6)) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = a6->s6_addr32[3];
		sin->sin_port = htons(port);
		return sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = *a6;
		sin6->sin6_port = htons(port);
		sin6->sin6_scope_id = scope_id;
		return sizeof(*sin6);
	}
}

/*
 * Binds @sock to @laddr with a local port whose remainder modulo
 * RDSRS_MPATH_WORKERS is @path, so that the peer can tell which path a
 * connection is; any port when none such is free after a few tries.
 */
static int rdsrs_tcp_bind_path(struct net *net, struct socket *sock,
			       const unsigned char laddr[16],
			       unsigned int scope_id, unsigned int path)
{
	struct sockaddr_storage ss;
	int lo, hi, len, i, ret;

	inet_get_local_port_range(net, &lo, &hi);
	for (i = 0; i < 16 && hi - lo >= RDSRS_MPATH_WORKERS; i++) {
		int port = lo + get_random_u32_below(hi - lo + 1);

		port += (path - port % RDSRS_MPATH_WORKERS + RDSRS_MPATH_WORKERS) %
			RDSRS_MPATH_WORKERS;
		if (port > hi)
			port -= RDSRS_MPATH_WORKERS;
		len = rdsrs_sockaddr(laddr, scope_id, port, &ss);
		ret = kernel_bind(sock, (struct sockaddr *)&ss, len);
		if (ret != -EADDRINUSE)
			return ret;
	}
	len = rdsrs_sockaddr(laddr, scope_id, 0, &ss);
	return kernel_bind(sock, (struct sockaddr *)&ss, len);
}

int rdsrs_tcp_connect(struct net *net, const unsigned char laddr[16],
		      const unsigned char faddr[16], unsigned int scope_id,
		      unsigned int path, int sndbuf, int rcvbuf, void *owner,
		      struct socket **out)
{
	struct sockaddr_storage ss;
	struct socket *sock;
	int len, ret;

	len = rdsrs_sockaddr(laddr, scope_id, 0, &ss);
	ret = sock_create_kern(net, ss.ss_family, SOCK_STREAM, IPPROTO_TCP, &sock);
	if (ret < 0)
		return ret;
	rdsrs_tcp_tune(sock, sndbuf, rcvbuf);
	ret = rdsrs_tcp_bind_path(net, sock, laddr, scope_id, path);
	if (ret)
		goto err;
	ret = rdsrs_tcp_set_callbacks(sock, owner, false);
	if (ret)
		goto err;
	len = rdsrs_sockaddr(faddr, scope_id, RDSRS_TCP_PORT, &ss);
	ret = kernel_connect(sock, (struct sockaddr *)&ss, len, O_NONBLOCK);
	if (ret && ret != -EINPROGRESS) {
		kfree(rdsrs_tcp_detach(sock));
		goto err;
	}
	*out = sock;
	return 0;
err:
	sock_release(sock);
	return ret;
}

void rdsrs_tcp_attach(struct socket *sock, void *owner, void *cb, int sndbuf,
		      int rcvbuf)
{
	rdsrs_tcp_tune(sock, sndbuf, rcvbuf);
	rdsrs_tcp_install(sock, owner, false, cb);
}

void rdsrs_tcp_close(struct socket *sock)
{
	struct rdsrs_tcp_cb *cb = rdsrs_tcp_detach(sock);

	/* Abort: no orphan lingers in FIN_WAIT or TIME_WAIT with timers that
	 * could outlive the namespace, and the peer sees the reset at once. */
	sock_no_linger(sock->sk);
	kernel_sock_shutdown(sock, SHUT_RDWR);
	sock_release(sock);
	kfree(cb);
}

int rdsrs_tcp_state(struct socket *sock)
{
	switch (READ_ONCE(sock->sk->sk_state)) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECV:
		return RDSRS_TCP_CONNECTING;
	case TCP_ESTABLISHED:
		return RDSRS_TCP_ESTABLISHED;
	default:
		return RDSRS_TCP_CLOSED;
	}
}

/* Sends @msg, of @len bytes, for rdsrs_tcp_send() and rdsrs_tcp_send_frags(). */
static long rdsrs_tcp_sendmsg(struct socket *sock, struct msghdr *msg,
			      unsigned long len)
{
	struct rdsrs_tcp_cb *cb;
	int ret;

	/* TCP calls sk_write_space on ack progress only while SOCK_NOSPACE is
	 * set: set it, so that acknowledgements always reach ->tcp_event. */
	set_bit(SOCK_NOSPACE, &sock->flags);
	ret = sock_sendmsg(sock, msg);
	if (ret == -EAGAIN || (ret >= 0 && ret < len)) {
		/* The caller waits for room: the next write-space call is
		 * news, acknowledgement or not. */
		read_lock_bh(&sock->sk->sk_callback_lock);
		cb = sock->sk->sk_user_data;
		if (cb)
			WRITE_ONCE(cb->want_room, true);
		read_unlock_bh(&sock->sk->sk_callback_lock);
	}
	return ret;
}

long rdsrs_tcp_send(struct socket *sock, const unsigned char *hdr,
		    unsigned long hlen, const unsigned char *data,
		    unsigned long dlen, int more)
{
	struct msghdr msg = {
		.msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL | (more ? MSG_MORE : 0),
	};
	struct kvec vec[2];
	int n = 0;

	if (hlen)
		vec[n++] = (struct kvec){ .iov_base = (void *)hdr, .iov_len = hlen };
	if (dlen)
		vec[n++] = (struct kvec){ .iov_base = (void *)data, .iov_len = dlen };
	iov_iter_kvec(&msg.msg_iter, ITER_SOURCE, vec, n, hlen + dlen);
	return rdsrs_tcp_sendmsg(sock, &msg, hlen + dlen);
}

long rdsrs_tcp_send_frags(struct socket *sock, const struct rdsrs_iov *iov,
			  unsigned int n)
{
	struct msghdr msg = {
		.msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL | MSG_SPLICE_PAGES,
	};
	struct bio_vec bvec[RDSRS_TCP_FRAGS_MAX];
	unsigned long len = 0;
	unsigned int i;

	n = min_t(unsigned int, n, RDSRS_TCP_FRAGS_MAX);
	for (i = 0; i < n; i++) {
		bvec_set_virt(&bvec[i], (void *)iov[i].base, iov[i].len);
		len += iov[i].len;
	}
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, bvec, n, len);
	return rdsrs_tcp_sendmsg(sock, &msg, len);
}

void rdsrs_tcp_cork(struct socket *sock, int on)
{
	tcp_sock_set_cork(sock->sk, on);
}

void rdsrs_tcp_info(struct socket *sock, struct rdsrs_tcp_info *out)
{
	struct sock *sk = sock->sk;
	const struct tcp_sock *tp = tcp_sk(sk);

	out->lport = READ_ONCE(inet_sk(sk)->inet_num);
	out->pport = ntohs(READ_ONCE(inet_sk(sk)->inet_dport));
	out->srtt_us = READ_ONCE(tp->srtt_us) >> 3;
	out->rttvar_us = READ_ONCE(tp->mdev_us) >> 2;
}

unsigned int rdsrs_tcp_write_seq(struct socket *sock)
{
	return READ_ONCE(tcp_sk(sock->sk)->write_seq);
}

unsigned int rdsrs_tcp_snd_una(struct socket *sock)
{
	return READ_ONCE(tcp_sk(sock->sk)->snd_una);
}

struct rdsrs_read_arg {
	void *arg;
	int error;
};

static int rdsrs_tcp_actor(read_descriptor_t *desc, struct sk_buff *skb,
			   unsigned int off, size_t len)
{
	struct rdsrs_read_arg *ra = desc->arg.data;
	long n;

	n = ops->tcp_recv(ops_ctx, ra->arg, skb, off, len);
	if (n < 0) {
		ra->error = n;
		desc->count = 0;
		return 0;
	}
	return n;
}

int rdsrs_tcp_read(struct socket *sock, void *arg, int last)
{
	struct rdsrs_read_arg ra = { .arg = arg };
	read_descriptor_t desc = {
		.arg.data = &ra,
		.count = 1,
	};

	lock_sock(sock->sk);
	tcp_read_sock(sock->sk, &desc, rdsrs_tcp_actor);
	if (last && sock->sk->sk_state != TCP_CLOSE)
		tcp_disconnect(sock->sk, 0);
	release_sock(sock->sk);
	return ra.error;
}

int rdsrs_tcp_read_ready(struct socket *sock, void *arg)
{
	struct rdsrs_read_arg ra = { .arg = arg };
	read_descriptor_t desc = {
		.arg.data = &ra,
		.count = 1,
	};

	tcp_read_sock(sock->sk, &desc, rdsrs_tcp_actor);
	return ra.error;
}

int rdsrs_skb_copy(struct sk_buff *skb, unsigned int off, unsigned char *dst,
		   unsigned long len)
{
	return skb_copy_bits(skb, off, dst, len) ? -EFAULT : 0;
}

/*
 * A received payload kept in the skbs it arrived in, as upstream's
 * rds_tcp_data_recv() keeps ti_skb_list: *head..*tail is a chain of skbs
 * linked by ->next, each holding only bytes of the payload.
 */
int rdsrs_skb_chain_add(struct sk_buff **head, struct sk_buff **tail,
			struct sk_buff *skb, unsigned int off, unsigned int len,
			bool atomic)
{
	struct sk_buff *part;

	part = pskb_extract(skb, off, len,
			    atomic ? GFP_ATOMIC | __GFP_NOWARN : GFP_KERNEL);
	if (!part)
		return -ENOMEM;
	part->next = NULL;
	if (*tail)
		(*tail)->next = part;
	else
		*head = part;
	*tail = part;
	return 0;
}

/* Copies the first len bytes of the chain to the iterator. */
static int rdsrs_skb_chain_copy_iter(struct sk_buff *head, struct iov_iter *to,
				     unsigned long len)
{
	struct sk_buff *skb;
	unsigned long n;

	for (skb = head; skb && len; skb = skb->next) {
		n = min_t(unsigned long, len, skb->len);
		if (skb_copy_datagram_iter(skb, 0, to, n))
			return -EFAULT;
		len -= n;
	}
	return len ? -EINVAL : 0;
}

int rdsrs_skb_chain_copy_bits(struct sk_buff *head, unsigned char *dst,
			      unsigned long len)
{
	struct kvec vec = { .iov_base = dst, .iov_len = len };
	struct iov_iter to;

	iov_iter_kvec(&to, ITER_DEST, &vec, 1, len);
	return rdsrs_skb_chain_copy_iter(head, &to, len);
}

int rdsrs_skb_chain_copy_to(struct sk_buff *head, struct msghdr *msg,
			    unsigned long len)
{
	return rdsrs_skb_chain_copy_iter(head, &msg->msg_iter, len);
}

void rdsrs_skb_chain_free(struct sk_buff *head)
{
	struct sk_buff *skb;

	while (head) {
		skb = head;
		head = skb->next;
		skb->next = NULL;
		consume_skb(skb);
	}
}

void rdsrs_msleep(unsigned int ms)
{
	msleep(ms);
}

void rdsrs_cond_resched(void)
{
	cond_resched();
}

void rdsrs_spin_lock_bh(void *lock)
{
	spin_lock_bh(lock);
}

void rdsrs_spin_unlock_bh(void *lock)
{
	spin_unlock_bh(lock);
}

/* Statistics, per CPU as upstream's rds_stats (RDS_INFO_COUNTERS). */
static DEFINE_PER_CPU(u64 [RDSRS_NSTATS_MAX], rdsrs_stats);

void rdsrs_stat_add(unsigned int idx, unsigned long n)
{
	if (idx < RDSRS_NSTATS_MAX)
		this_cpu_add(rdsrs_stats[idx], n);
}

void rdsrs_stats_sum(unsigned long long *out, unsigned int n)
{
	unsigned int cpu, i;

	n = min_t(unsigned int, n, RDSRS_NSTATS_MAX);
	memset(out, 0, n * sizeof(*out));
	for_each_possible_cpu(cpu)
		for (i = 0; i < n; i++)
			out[i] += per_cpu(rdsrs_stats[i], cpu);
}

int rdsrs_net_ratelimit(void)
{
	return net_ratelimit();
}

int rdsrs_sk_in_init_net(struct sock *sk)
{
	return net_eq(sock_net(sk), &init_net);
}

unsigned long long rdsrs_sk_ino(struct sock *sk)
{
	return sock_i_ino(sk);
}

int rdsrs_sk_tstamp(struct sock *sk)
{
	return sock_flag(sk, SOCK_RCVTSTAMP);
}

unsigned long long rdsrs_real_ns(void)
{
	return ktime_get_real_ns();
}

long rdsrs_msecs_to_jiffies(unsigned int ms)
{
	return msecs_to_jiffies(ms);
}

unsigned long long rdsrs_local_clock(void)
{
	return local_clock();
}

int rdsrs_msg_put_tstamp(struct sock *sk, struct msghdr *msg,
			 unsigned long long ns)
{
	if (!sock_flag(sk, SOCK_TSTAMP_NEW)) {
		struct __kernel_old_timeval tv = ns_to_kernel_old_timeval(ns);

		return put_cmsg(msg, SOL_SOCKET, SO_TIMESTAMP_OLD, sizeof(tv), &tv);
	} else {
		struct __kernel_sock_timeval tv;
		struct timespec64 ts = ns_to_timespec64(ns);

		tv.tv_sec = ts.tv_sec;
		tv.tv_usec = ts.tv_nsec / NSEC_PER_USEC;
		return put_cmsg(msg, SOL_SOCKET, SO_TIMESTAMP_NEW, sizeof(tv), &tv);
	}
}

int rdsrs_msg_put_cmsg(struct msghdr *msg, int type, const void *data, int len)
{
	return put_cmsg(msg, SOL_RDS, type, len, (void *)data);
}
