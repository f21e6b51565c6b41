// SPDX-License-Identifier: GPL-2.0
/*
 * The rds_tcp generic netlink family: policies, message layout and the
 * genetlink plumbing, in the style of drivers/net/wireguard/netlink.c. What
 * the messages say comes from Rust through the ->nl_* callbacks, as plain
 * structs; include/uapi/linux/rds_tcp_nl.h documents the interface.
 */

#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "../include/uapi/linux/rds_tcp_nl.h"
#include "internal.h"

static_assert(RDSRS_NL_LAT_BUCKETS == RDS_TCP_LAT_BUCKETS);
static_assert(RDSRS_MPATH_WORKERS == RDS_TCP_MAX_PATHS);
static_assert(sizeof(((struct rdsrs_nl_key *)0)->laddr) == RDS_TCP_ADDR_LEN);

static const struct netlink_range_validation buf_range = {
	.min = 0,
	.max = S32_MAX,
};

static const struct netlink_range_validation delay_range = {
	.min = 1,
	.max = RDS_TCP_MAX_MS,
};

static const struct netlink_range_validation stall_range = {
	.min = 0,
	.max = RDS_TCP_MAX_MS,
};

static const struct nla_policy config_policy[RDS_TCP_CONFIG_A_MAX + 1] = {
	[RDS_TCP_CONFIG_A_TCP_SNDBUF] = NLA_POLICY_FULL_RANGE(NLA_U32, &buf_range),
	[RDS_TCP_CONFIG_A_TCP_RCVBUF] = NLA_POLICY_FULL_RANGE(NLA_U32, &buf_range),
	[RDS_TCP_CONFIG_A_NPATHS] = NLA_POLICY_RANGE(NLA_U32, 1, RDS_TCP_MAX_PATHS),
	[RDS_TCP_CONFIG_A_RECONNECT_MIN_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, &delay_range),
	[RDS_TCP_CONFIG_A_RECONNECT_MAX_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, &delay_range),
	[RDS_TCP_CONFIG_A_PING_ENABLE] = NLA_POLICY_MAX(NLA_U8, 1),
	[RDS_TCP_CONFIG_A_STALL_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, &stall_range),
};

static const struct nla_policy conn_policy[RDS_TCP_CONN_A_MAX + 1] = {
	[RDS_TCP_CONN_A_LOCAL_ADDR] = NLA_POLICY_EXACT_LEN(RDS_TCP_ADDR_LEN),
	[RDS_TCP_CONN_A_PEER_ADDR] = NLA_POLICY_EXACT_LEN(RDS_TCP_ADDR_LEN),
	[RDS_TCP_CONN_A_TOS] = { .type = NLA_U8 },
	[RDS_TCP_CONN_A_IFINDEX] = { .type = NLA_U32 },
};

static struct genl_family rds_tcp_family;

static void *req_net(struct genl_info *info, const struct rdsrs_ops **ops,
		     void **ctx)
{
	*ops = rdsrs_ops_get(ctx);
	return rdsrs_net_priv(genl_info_net(info));
}

/*
 * CAP_NET_ADMIN in the user namespace owning the request's network namespace,
 * as GENL_UNS_ADMIN_PERM checks, but answered with an extack message.
 */
static bool admin(struct sk_buff *skb, struct genl_info *info)
{
	if (netlink_ns_capable(skb, genl_info_net(info)->user_ns, CAP_NET_ADMIN))
		return true;
	NL_SET_ERR_MSG(info->extack,
		       "needs CAP_NET_ADMIN in the network namespace's user namespace");
	return false;
}

static int get_config(struct sk_buff *skb, struct genl_info *info)
{
	struct rdsrs_nl_config cfg = {};
	const struct rdsrs_ops *ops;
	struct sk_buff *msg;
	void *ctx, *priv = req_net(info, &ops, &ctx);
	void *hdr;

	ops->nl_get_config(ctx, priv, &cfg);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &rds_tcp_family, 0, RDS_TCP_CMD_GET_CONFIG);
	if (!hdr)
		goto nospace;
	if (nla_put_u32(msg, RDS_TCP_CONFIG_A_TCP_SNDBUF, cfg.tcp_sndbuf) ||
	    nla_put_u32(msg, RDS_TCP_CONFIG_A_TCP_RCVBUF, cfg.tcp_rcvbuf) ||
	    nla_put_u32(msg, RDS_TCP_CONFIG_A_NPATHS, cfg.npaths) ||
	    nla_put_u32(msg, RDS_TCP_CONFIG_A_RECONNECT_MIN_MS, cfg.reconnect_min_ms) ||
	    nla_put_u32(msg, RDS_TCP_CONFIG_A_RECONNECT_MAX_MS, cfg.reconnect_max_ms) ||
	    nla_put_u8(msg, RDS_TCP_CONFIG_A_PING_ENABLE, cfg.ping_enable) ||
	    nla_put_u32(msg, RDS_TCP_CONFIG_A_STALL_MS, cfg.stall_ms))
		goto nospace;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

nospace:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

static int set_config(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **tb = info->attrs;
	struct rdsrs_nl_config cfg = {};
	const struct rdsrs_ops *ops;
	void *ctx, *priv = req_net(info, &ops, &ctx);
	const char *why = NULL;
	int attr = 0, ret;

	if (!admin(skb, info))
		return -EPERM;

#define TAKE(a, field, get)					\
	do {							\
		if (tb[a]) {					\
			cfg.field = get(tb[a]);			\
			cfg.present |= 1U << (a);		\
		}						\
	} while (0)
	TAKE(RDS_TCP_CONFIG_A_TCP_SNDBUF, tcp_sndbuf, nla_get_u32);
	TAKE(RDS_TCP_CONFIG_A_TCP_RCVBUF, tcp_rcvbuf, nla_get_u32);
	TAKE(RDS_TCP_CONFIG_A_NPATHS, npaths, nla_get_u32);
	TAKE(RDS_TCP_CONFIG_A_RECONNECT_MIN_MS, reconnect_min_ms, nla_get_u32);
	TAKE(RDS_TCP_CONFIG_A_RECONNECT_MAX_MS, reconnect_max_ms, nla_get_u32);
	TAKE(RDS_TCP_CONFIG_A_PING_ENABLE, ping_enable, nla_get_u8);
	TAKE(RDS_TCP_CONFIG_A_STALL_MS, stall_ms, nla_get_u32);
#undef TAKE

	/* The kernel's minimum socket buffers, as the sysctls enforce. */
	if (tb[RDS_TCP_CONFIG_A_TCP_SNDBUF] && cfg.tcp_sndbuf &&
	    cfg.tcp_sndbuf < SOCK_MIN_SNDBUF) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[RDS_TCP_CONFIG_A_TCP_SNDBUF],
				    "below the kernel's minimum send buffer (0 for autotuning)");
		return -EINVAL;
	}
	if (tb[RDS_TCP_CONFIG_A_TCP_RCVBUF] && cfg.tcp_rcvbuf &&
	    cfg.tcp_rcvbuf < SOCK_MIN_RCVBUF) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[RDS_TCP_CONFIG_A_TCP_RCVBUF],
				    "below the kernel's minimum receive buffer (0 for autotuning)");
		return -EINVAL;
	}
	ret = ops->nl_set_config(ctx, priv, &cfg, &attr, &why);
	if (ret && info->extack) {
		/* NL_SET_ERR_MSG() wants a literal; @why is static too. */
		info->extack->_msg = why;
		if (attr > 0 && attr <= RDS_TCP_CONFIG_A_MAX && tb[attr])
			NL_SET_BAD_ATTR(info->extack, tb[attr]);
	}
	return ret;
}

static int put_key(struct sk_buff *msg, const struct rdsrs_nl_key *key,
		   int laddr, int faddr, int tos, int ifindex)
{
	if (nla_put(msg, laddr, RDS_TCP_ADDR_LEN, key->laddr) ||
	    nla_put(msg, faddr, RDS_TCP_ADDR_LEN, key->faddr) ||
	    nla_put_u8(msg, tos, key->tos))
		return -EMSGSIZE;
	if (key->ifindex && nla_put_u32(msg, ifindex, key->ifindex))
		return -EMSGSIZE;
	return 0;
}

static int put_path(struct sk_buff *msg, const struct rdsrs_nl_path *p)
{
	struct nlattr *path, *hist, *bucket;
	int i;

	path = nla_nest_start(msg, 0);
	if (!path)
		return -EMSGSIZE;
	if (nla_put_u32(msg, RDS_TCP_PATH_A_INDEX, p->index) ||
	    nla_put_u32(msg, RDS_TCP_PATH_A_STATE, p->state) ||
	    nla_put_uint(msg, RDS_TCP_PATH_A_TX_BYTES, p->tx_bytes) ||
	    nla_put_uint(msg, RDS_TCP_PATH_A_TX_MSGS, p->tx_msgs) ||
	    nla_put_uint(msg, RDS_TCP_PATH_A_RX_BYTES, p->rx_bytes) ||
	    nla_put_uint(msg, RDS_TCP_PATH_A_RX_MSGS, p->rx_msgs) ||
	    nla_put_uint(msg, RDS_TCP_PATH_A_RETRANS_MSGS, p->retrans_msgs) ||
	    nla_put_uint(msg, RDS_TCP_PATH_A_RECONNECTS, p->reconnects) ||
	    nla_put_uint(msg, RDS_TCP_PATH_A_UNACKED_BYTES, p->unacked_bytes) ||
	    nla_put_uint(msg, RDS_TCP_PATH_A_UNACKED_MSGS, p->unacked_msgs) ||
	    nla_put_uint(msg, RDS_TCP_PATH_A_QUEUED_BYTES, p->queued_bytes) ||
	    nla_put_uint(msg, RDS_TCP_PATH_A_QUEUED_MSGS, p->queued_msgs) ||
	    nla_put_uint(msg, RDS_TCP_PATH_A_NEXT_TX_SEQ, p->next_tx_seq) ||
	    nla_put_uint(msg, RDS_TCP_PATH_A_NEXT_RX_SEQ, p->next_rx_seq) ||
	    nla_put_uint(msg, RDS_TCP_PATH_A_LAST_PROGRESS_MS, p->last_progress_ms))
		goto cancel;
	if (p->has_sock &&
	    (nla_put_u16(msg, RDS_TCP_PATH_A_TCP_LOCAL_PORT, p->lport) ||
	     nla_put_u16(msg, RDS_TCP_PATH_A_TCP_PEER_PORT, p->fport) ||
	     nla_put_u32(msg, RDS_TCP_PATH_A_TCP_RTT_US, p->rtt_us) ||
	     nla_put_u32(msg, RDS_TCP_PATH_A_TCP_RTTVAR_US, p->rttvar_us)))
		goto cancel;
	if (p->stalled && nla_put_flag(msg, RDS_TCP_PATH_A_STALLED))
		goto cancel;
	hist = nla_nest_start(msg, RDS_TCP_PATH_A_LAT_HIST);
	if (!hist)
		goto cancel;
	for (i = 0; i < RDS_TCP_LAT_BUCKETS; i++) {
		if (!p->lat[i])
			continue;
		bucket = nla_nest_start(msg, 0);
		if (!bucket ||
		    nla_put_u32(msg, RDS_TCP_LAT_A_BUCKET, i) ||
		    nla_put_uint(msg, RDS_TCP_LAT_A_COUNT, p->lat[i]))
			goto cancel;
		nla_nest_end(msg, bucket);
	}
	nla_nest_end(msg, hist);
	nla_nest_end(msg, path);
	return 0;

cancel:
	nla_nest_cancel(msg, path);
	return -EMSGSIZE;
}

/*
 * GET_CONN dump: cb->args[0] is the position of the connection to resume at,
 * cb->args[1] the index of its first path not yet sent (0: the connection's
 * start). A connection whose paths do not fit in one message continues in
 * the next, which repeats the key only.
 */
static int dump_conns(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct rdsrs_ops *ops;
	struct rdsrs_nl_conn *c;
	void *ctx, *priv;
	unsigned int gen = 0;
	int ret = 0;

	ops = rdsrs_ops_get(&ctx);
	priv = rdsrs_net_priv(sock_net(skb->sk));
	c = kmalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	for (;;) {
		unsigned long first = cb->args[1];
		struct nlattr *paths;
		unsigned int i, put = 0;
		void *hdr;

		memset(c, 0, sizeof(*c));
		ret = ops->nl_conn(ctx, priv, cb->args[0], c, &gen);
		if (ret == -ENOENT) {
			ret = 0;
			break;
		}
		if (ret)
			break;
		cb->seq = gen;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
				  &rds_tcp_family, NLM_F_MULTI, RDS_TCP_CMD_GET_CONN);
		if (!hdr)
			break;
		genl_dump_check_consistent(cb, hdr);
		if (put_key(skb, &c->key, RDS_TCP_CONN_A_LOCAL_ADDR,
			    RDS_TCP_CONN_A_PEER_ADDR, RDS_TCP_CONN_A_TOS,
			    RDS_TCP_CONN_A_IFINDEX))
			goto cancel;
		if (!first &&
		    (nla_put_u32(skb, RDS_TCP_CONN_A_LOCAL_CONG_PORTS, c->local_cong_ports) ||
		     nla_put_u32(skb, RDS_TCP_CONN_A_PEER_CONG_PORTS, c->peer_cong_ports) ||
		     nla_put_uint(skb, RDS_TCP_CONN_A_TX_ENOBUFS, c->tx_enobufs)))
			goto cancel;
		paths = nla_nest_start(skb, RDS_TCP_CONN_A_PATHS);
		if (!paths)
			goto cancel;
		for (i = 0; i < c->npaths && i < RDS_TCP_MAX_PATHS; i++) {
			if (c->paths[i].index < first)
				continue;
			if (put_path(skb, &c->paths[i]))
				break;
			put++;
		}
		if (!put && i < c->npaths) {
			/* Not even one path fits: end this skb. */
			nla_nest_cancel(skb, paths);
			goto cancel;
		}
		nla_nest_end(skb, paths);
		genlmsg_end(skb, hdr);
		if (i < c->npaths) {
			cb->args[1] = c->paths[i].index;
			break;
		}
		cb->args[0]++;
		cb->args[1] = 0;
		continue;
cancel:
		genlmsg_cancel(skb, hdr);
		/* An empty skb that cannot take one path never will. */
		if (!skb->len)
			ret = -EMSGSIZE;
		break;
	}
	kfree(c);
	return ret ?: skb->len;
}

static int dump_socks(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct rdsrs_ops *ops;
	struct rdsrs_nl_sock s;
	void *ctx, *priv;
	unsigned int gen = 0;
	int ret;

	ops = rdsrs_ops_get(&ctx);
	priv = rdsrs_net_priv(sock_net(skb->sk));
	for (;;) {
		void *hdr;

		memset(&s, 0, sizeof(s));
		ret = ops->nl_sock(ctx, priv, cb->args[0], &s, &gen);
		if (ret == -ENOENT)
			return skb->len;
		if (ret)
			return ret;
		cb->seq = gen;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
				  &rds_tcp_family, NLM_F_MULTI, RDS_TCP_CMD_GET_SOCK);
		if (!hdr)
			return skb->len;
		genl_dump_check_consistent(cb, hdr);
		if (s.bound &&
		    (nla_put(skb, RDS_TCP_SOCK_A_BOUND_ADDR, RDS_TCP_ADDR_LEN, s.bound_addr) ||
		     nla_put_u16(skb, RDS_TCP_SOCK_A_BOUND_PORT, s.bound_port)))
			goto cancel;
		if (s.ifindex && nla_put_u32(skb, RDS_TCP_SOCK_A_IFINDEX, s.ifindex))
			goto cancel;
		if (s.connected &&
		    (nla_put(skb, RDS_TCP_SOCK_A_CONN_ADDR, RDS_TCP_ADDR_LEN, s.conn_addr) ||
		     nla_put_u16(skb, RDS_TCP_SOCK_A_CONN_PORT, s.conn_port)))
			goto cancel;
		if (nla_put_uint(skb, RDS_TCP_SOCK_A_INODE, s.inode) ||
		    nla_put_u8(skb, RDS_TCP_SOCK_A_TOS, s.tos) ||
		    nla_put_u32(skb, RDS_TCP_SOCK_A_SNDBUF, s.sndbuf) ||
		    nla_put_u32(skb, RDS_TCP_SOCK_A_SND_BYTES, s.snd_bytes) ||
		    nla_put_u32(skb, RDS_TCP_SOCK_A_RCVBUF, s.rcvbuf) ||
		    nla_put_u32(skb, RDS_TCP_SOCK_A_RCV_BYTES, s.rcv_bytes) ||
		    nla_put_u32(skb, RDS_TCP_SOCK_A_RCV_MSGS, s.rcv_msgs) ||
		    nla_put_uint(skb, RDS_TCP_SOCK_A_CONG_MASK, s.cong_mask) ||
		    nla_put_uint(skb, RDS_TCP_SOCK_A_ENOBUFS, s.enobufs))
			goto cancel;
		if (s.congested && nla_put_flag(skb, RDS_TCP_SOCK_A_CONGESTED))
			goto cancel;
		genlmsg_end(skb, hdr);
		cb->args[0]++;
		continue;
cancel:
		genlmsg_cancel(skb, hdr);
		return skb->len ?: -EMSGSIZE;
	}
}

static int reset_conn(struct sk_buff *skb, struct genl_info *info)
{
	struct rdsrs_nl_key key = {};
	struct nlattr **tb = info->attrs;
	const struct rdsrs_ops *ops;
	void *ctx, *priv = req_net(info, &ops, &ctx);
	int ret;

	if (!admin(skb, info))
		return -EPERM;
	if (GENL_REQ_ATTR_CHECK(info, RDS_TCP_CONN_A_LOCAL_ADDR) ||
	    GENL_REQ_ATTR_CHECK(info, RDS_TCP_CONN_A_PEER_ADDR)) {
		NL_SET_ERR_MSG(info->extack, "the local and peer addresses are required");
		return -EINVAL;
	}
	nla_memcpy(key.laddr, tb[RDS_TCP_CONN_A_LOCAL_ADDR], RDS_TCP_ADDR_LEN);
	nla_memcpy(key.faddr, tb[RDS_TCP_CONN_A_PEER_ADDR], RDS_TCP_ADDR_LEN);
	if (tb[RDS_TCP_CONN_A_TOS])
		key.tos = nla_get_u8(tb[RDS_TCP_CONN_A_TOS]);
	if (tb[RDS_TCP_CONN_A_IFINDEX])
		key.ifindex = nla_get_u32(tb[RDS_TCP_CONN_A_IFINDEX]);
	ret = ops->nl_reset(ctx, priv, &key);
	if (ret == -ENOENT)
		NL_SET_ERR_MSG(info->extack, "no such connection");
	return ret;
}

/* Events go from the kernel only: a request with their command is refused. */
static int event_cmd(struct sk_buff *skb, struct genl_info *info)
{
	NL_SET_ERR_MSG(info->extack, "events are sent by the kernel only");
	return -EOPNOTSUPP;
}

static const struct genl_ops rds_tcp_ops[] = {
	{
		.cmd = RDS_TCP_CMD_GET_CONFIG,
		.doit = get_config,
	},
	{
		.cmd = RDS_TCP_CMD_SET_CONFIG,
		.doit = set_config,
		.policy = config_policy,
		.maxattr = RDS_TCP_CONFIG_A_MAX,
	},
	{
		.cmd = RDS_TCP_CMD_GET_CONN,
		.dumpit = dump_conns,
	},
	{
		.cmd = RDS_TCP_CMD_RESET_CONN,
		.doit = reset_conn,
		.policy = conn_policy,
		.maxattr = RDS_TCP_CONN_A_MAX,
	},
	{
		.cmd = RDS_TCP_CMD_GET_SOCK,
		.dumpit = dump_socks,
	},
	{
		.cmd = RDS_TCP_CMD_EVENT,
		.doit = event_cmd,
	},
};

static const struct genl_multicast_group rds_tcp_mcgrps[] = {
	{ .name = RDS_TCP_MCGRP_EVENTS },
};

static struct genl_family rds_tcp_family __ro_after_init = {
	.name		= RDS_TCP_GENL_NAME,
	.version	= RDS_TCP_GENL_VERSION,
	.netnsok	= true,
	/* The handlers take their own locks: none waits on genl_mutex. */
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.ops		= rds_tcp_ops,
	.n_ops		= ARRAY_SIZE(rds_tcp_ops),
	.resv_start_op	= RDS_TCP_CMD_GET_CONFIG,
	.mcgrps		= rds_tcp_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(rds_tcp_mcgrps),
};

/*
 * Events may come from connection work until the namespaces are gone, after
 * the family is unregistered at module exit: they stop at this flag (under
 * RCU, so that rdsrs_genl_exit() waits out a sender that saw it set).
 */
static bool rds_tcp_family_live;

_Bool rdsrs_nl_listening(struct net *net)
{
	return READ_ONCE(rds_tcp_family_live) &&
	       genl_has_listeners(&rds_tcp_family, net, 0);
}

/* An event: the header and at most 11 small attributes. */
#define EVENT_SIZE	256

void rdsrs_nl_notify(struct net *net, const struct rdsrs_nl_event *ev)
{
	struct sk_buff *msg;
	void *hdr;

	rcu_read_lock();
	if (!READ_ONCE(rds_tcp_family_live))
		goto unlock;
#define HAS(a) (ev->present & (1U << (a)))
	msg = genlmsg_new(EVENT_SIZE, GFP_ATOMIC);
	if (!msg)
		goto unlock;
	hdr = genlmsg_put(msg, 0, 0, &rds_tcp_family, 0, RDS_TCP_CMD_EVENT);
	if (!hdr)
		goto drop;
	if (nla_put_u32(msg, RDS_TCP_EVENT_A_TYPE, ev->type) ||
	    nla_put(msg, RDS_TCP_EVENT_A_LOCAL_ADDR, RDS_TCP_ADDR_LEN, ev->key.laddr))
		goto drop;
	if (HAS(RDS_TCP_EVENT_A_PEER_ADDR) &&
	    (nla_put(msg, RDS_TCP_EVENT_A_PEER_ADDR, RDS_TCP_ADDR_LEN, ev->key.faddr) ||
	     nla_put_u8(msg, RDS_TCP_EVENT_A_TOS, ev->key.tos)))
		goto drop;
	if ((ev->key.ifindex && nla_put_u32(msg, RDS_TCP_EVENT_A_IFINDEX, ev->key.ifindex)) ||
	    (HAS(RDS_TCP_EVENT_A_PATH) && nla_put_u32(msg, RDS_TCP_EVENT_A_PATH, ev->path)) ||
	    (HAS(RDS_TCP_EVENT_A_LOCAL_PORT) &&
	     nla_put_u16(msg, RDS_TCP_EVENT_A_LOCAL_PORT, ev->lport)) ||
	    (HAS(RDS_TCP_EVENT_A_PEER_PORT) &&
	     nla_put_u16(msg, RDS_TCP_EVENT_A_PEER_PORT, ev->fport)) ||
	    (HAS(RDS_TCP_EVENT_A_LAST_PROGRESS_MS) &&
	     nla_put_uint(msg, RDS_TCP_EVENT_A_LAST_PROGRESS_MS, ev->last_progress_ms)) ||
	    (HAS(RDS_TCP_EVENT_A_WAITING_BYTES) &&
	     nla_put_uint(msg, RDS_TCP_EVENT_A_WAITING_BYTES, ev->waiting_bytes)) ||
	    (HAS(RDS_TCP_EVENT_A_ERROR) && nla_put_u32(msg, RDS_TCP_EVENT_A_ERROR, ev->error)))
		goto drop;
#undef HAS
	genlmsg_end(msg, hdr);
	genlmsg_multicast_netns(&rds_tcp_family, net, msg, 0, 0, GFP_ATOMIC);
	goto unlock;

drop:
	nlmsg_free(msg);
unlock:
	rcu_read_unlock();
}

int rdsrs_genl_init(void)
{
	int ret = genl_register_family(&rds_tcp_family);

	if (!ret)
		WRITE_ONCE(rds_tcp_family_live, true);
	return ret;
}

void rdsrs_genl_exit(void)
{
	WRITE_ONCE(rds_tcp_family_live, false);
	synchronize_rcu();
	genl_unregister_family(&rds_tcp_family);
}
