// SPDX-License-Identifier: GPL-2.0

//! The `rds_tcp` generic netlink family: names and values of
//! include/uapi/linux/rds_tcp_nl.h, which documents the messages (the test at
//! the bottom checks every value against the header), and upstream's RDS
//! constants from include/uapi/linux/rds.h.

#![allow(dead_code)]

pub const RDS_TCP_GENL_NAME: &str = "rds_tcp";
pub const RDS_TCP_GENL_VERSION: u8 = 1;
pub const RDS_TCP_MCGRP_EVENTS: &str = "events";

pub const RDS_TCP_MAX_PATHS: u32 = 8;
pub const RDS_TCP_LAT_BUCKETS: u32 = 32;
pub const RDS_TCP_ADDR_LEN: usize = 16;
pub const RDS_TCP_MAX_MS: u32 = 3_600_000;

// enum rds_tcp_path_state
pub const RDS_TCP_PATH_STATE_DOWN: u32 = 0;
pub const RDS_TCP_PATH_STATE_CONNECTING: u32 = 1;
pub const RDS_TCP_PATH_STATE_DISCONNECTING: u32 = 2;
pub const RDS_TCP_PATH_STATE_UP: u32 = 3;
pub const RDS_TCP_PATH_STATE_RESETTING: u32 = 4;
pub const RDS_TCP_PATH_STATE_ERROR: u32 = 5;

// enum rds_tcp_event
pub const RDS_TCP_EVENT_CONN_UP: u32 = 1;
pub const RDS_TCP_EVENT_CONN_DOWN: u32 = 2;
pub const RDS_TCP_EVENT_PORT_CONGESTED: u32 = 3;
pub const RDS_TCP_EVENT_PORT_UNCONGESTED: u32 = 4;
pub const RDS_TCP_EVENT_PATH_STALLED: u32 = 5;
pub const RDS_TCP_EVENT_PATH_UNSTALLED: u32 = 6;

// enum rds_tcp_config_attr
pub const RDS_TCP_CONFIG_A_TCP_SNDBUF: u16 = 1;
pub const RDS_TCP_CONFIG_A_TCP_RCVBUF: u16 = 2;
pub const RDS_TCP_CONFIG_A_NPATHS: u16 = 3;
pub const RDS_TCP_CONFIG_A_RECONNECT_MIN_MS: u16 = 4;
pub const RDS_TCP_CONFIG_A_RECONNECT_MAX_MS: u16 = 5;
pub const RDS_TCP_CONFIG_A_PING_ENABLE: u16 = 6;
pub const RDS_TCP_CONFIG_A_STALL_MS: u16 = 7;

// enum rds_tcp_conn_attr
pub const RDS_TCP_CONN_A_LOCAL_ADDR: u16 = 1;
pub const RDS_TCP_CONN_A_PEER_ADDR: u16 = 2;
pub const RDS_TCP_CONN_A_TOS: u16 = 3;
pub const RDS_TCP_CONN_A_IFINDEX: u16 = 4;
pub const RDS_TCP_CONN_A_LOCAL_CONG_PORTS: u16 = 5;
pub const RDS_TCP_CONN_A_PEER_CONG_PORTS: u16 = 6;
pub const RDS_TCP_CONN_A_TX_ENOBUFS: u16 = 7;
pub const RDS_TCP_CONN_A_PATHS: u16 = 8;

// enum rds_tcp_path_attr
pub const RDS_TCP_PATH_A_INDEX: u16 = 1;
pub const RDS_TCP_PATH_A_STATE: u16 = 2;
pub const RDS_TCP_PATH_A_TCP_LOCAL_PORT: u16 = 3;
pub const RDS_TCP_PATH_A_TCP_PEER_PORT: u16 = 4;
pub const RDS_TCP_PATH_A_TX_BYTES: u16 = 5;
pub const RDS_TCP_PATH_A_TX_MSGS: u16 = 6;
pub const RDS_TCP_PATH_A_RX_BYTES: u16 = 7;
pub const RDS_TCP_PATH_A_RX_MSGS: u16 = 8;
pub const RDS_TCP_PATH_A_RETRANS_MSGS: u16 = 9;
pub const RDS_TCP_PATH_A_RECONNECTS: u16 = 10;
pub const RDS_TCP_PATH_A_UNACKED_BYTES: u16 = 11;
pub const RDS_TCP_PATH_A_UNACKED_MSGS: u16 = 12;
pub const RDS_TCP_PATH_A_QUEUED_BYTES: u16 = 13;
pub const RDS_TCP_PATH_A_QUEUED_MSGS: u16 = 14;
pub const RDS_TCP_PATH_A_NEXT_TX_SEQ: u16 = 15;
pub const RDS_TCP_PATH_A_NEXT_RX_SEQ: u16 = 16;
pub const RDS_TCP_PATH_A_TCP_RTT_US: u16 = 17;
pub const RDS_TCP_PATH_A_TCP_RTTVAR_US: u16 = 18;
pub const RDS_TCP_PATH_A_LAST_PROGRESS_MS: u16 = 19;
pub const RDS_TCP_PATH_A_STALLED: u16 = 20;
pub const RDS_TCP_PATH_A_LAT_HIST: u16 = 21;

// enum rds_tcp_lat_attr
pub const RDS_TCP_LAT_A_BUCKET: u16 = 1;
pub const RDS_TCP_LAT_A_COUNT: u16 = 2;

// enum rds_tcp_sock_attr
pub const RDS_TCP_SOCK_A_BOUND_ADDR: u16 = 1;
pub const RDS_TCP_SOCK_A_BOUND_PORT: u16 = 2;
pub const RDS_TCP_SOCK_A_IFINDEX: u16 = 3;
pub const RDS_TCP_SOCK_A_CONN_ADDR: u16 = 4;
pub const RDS_TCP_SOCK_A_CONN_PORT: u16 = 5;
pub const RDS_TCP_SOCK_A_INODE: u16 = 6;
pub const RDS_TCP_SOCK_A_TOS: u16 = 7;
pub const RDS_TCP_SOCK_A_SNDBUF: u16 = 8;
pub const RDS_TCP_SOCK_A_SND_BYTES: u16 = 9;
pub const RDS_TCP_SOCK_A_RCVBUF: u16 = 10;
pub const RDS_TCP_SOCK_A_RCV_BYTES: u16 = 11;
pub const RDS_TCP_SOCK_A_RCV_MSGS: u16 = 12;
pub const RDS_TCP_SOCK_A_CONGESTED: u16 = 13;
pub const RDS_TCP_SOCK_A_CONG_MASK: u16 = 14;
pub const RDS_TCP_SOCK_A_ENOBUFS: u16 = 15;

// enum rds_tcp_event_attr
pub const RDS_TCP_EVENT_A_TYPE: u16 = 1;
pub const RDS_TCP_EVENT_A_LOCAL_ADDR: u16 = 2;
pub const RDS_TCP_EVENT_A_PEER_ADDR: u16 = 3;
pub const RDS_TCP_EVENT_A_TOS: u16 = 4;
pub const RDS_TCP_EVENT_A_IFINDEX: u16 = 5;
pub const RDS_TCP_EVENT_A_PATH: u16 = 6;
pub const RDS_TCP_EVENT_A_LOCAL_PORT: u16 = 7;
pub const RDS_TCP_EVENT_A_PEER_PORT: u16 = 8;
pub const RDS_TCP_EVENT_A_LAST_PROGRESS_MS: u16 = 9;
pub const RDS_TCP_EVENT_A_WAITING_BYTES: u16 = 10;
pub const RDS_TCP_EVENT_A_ERROR: u16 = 11;

// enum rds_tcp_cmd
pub const RDS_TCP_CMD_GET_CONFIG: u8 = 1;
pub const RDS_TCP_CMD_SET_CONFIG: u8 = 2;
pub const RDS_TCP_CMD_GET_CONN: u8 = 3;
pub const RDS_TCP_CMD_RESET_CONN: u8 = 4;
pub const RDS_TCP_CMD_GET_SOCK: u8 = 5;
pub const RDS_TCP_CMD_EVENT: u8 = 6;

// include/uapi/linux/rds.h
pub const AF_RDS: i32 = 21;
pub const SOL_RDS: i32 = 276;
/// Port of the RDS over TCP listener.
pub const RDS_TCP_PORT: u16 = 16385;
pub const RDS_INFO_COUNTERS: i32 = 10000;
pub const RDS_INFO_CONNECTIONS: i32 = 10001;
pub const RDS_INFO_SEND_MESSAGES: i32 = 10003;
pub const RDS_INFO_RETRANS_MESSAGES: i32 = 10004;
pub const RDS_INFO_RECV_MESSAGES: i32 = 10005;
pub const RDS_INFO_SOCKETS: i32 = 10006;
pub const RDS_INFO_TCP_SOCKETS: i32 = 10007;
pub const RDS6_INFO_CONNECTIONS: i32 = 10011;
pub const RDS6_INFO_SEND_MESSAGES: i32 = 10012;
pub const RDS6_INFO_RETRANS_MESSAGES: i32 = 10013;
pub const RDS6_INFO_RECV_MESSAGES: i32 = 10014;
pub const RDS6_INFO_SOCKETS: i32 = 10015;
pub const RDS6_INFO_TCP_SOCKETS: i32 = 10016;
pub const RDS_INFO_CONNECTION_FLAG_SENDING: u8 = 0x01;
pub const RDS_INFO_CONNECTION_FLAG_CONNECTING: u8 = 0x02;
pub const RDS_INFO_CONNECTION_FLAG_CONNECTED: u8 = 0x04;
pub const RDS_INFO_MESSAGE_FLAG_ACK: u8 = 0x01;
pub const RDS_INFO_MESSAGE_FLAG_FAST_ACK: u8 = 0x02;

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    /// Values of the header's enumerators and integer defines, by name:
    /// enumerators count up from 0 or from their last explicit value.
    fn header_values() -> HashMap<String, i64> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../include/uapi/linux/rds_tcp_nl.h"
        );
        let text = std::fs::read_to_string(path).expect("the uAPI header is in the tree");
        // Drop comments, so only code remains.
        let mut code = String::new();
        let mut rest = text.as_str();
        while let Some(start) = rest.find("/*") {
            code.push_str(&rest[..start]);
            let end = rest[start..].find("*/").expect("comments are closed");
            rest = &rest[start + end + 2..];
        }
        code.push_str(rest);

        let mut values = HashMap::new();
        for line in code.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let ["#define", name, value] = words[..] {
                if let Ok(v) = value.parse() {
                    values.insert(name.to_string(), v);
                }
            }
        }
        let mut in_enum = false;
        let mut next = 0;
        for line in code.lines().map(str::trim) {
            if line.starts_with("enum") && line.ends_with('{') {
                (in_enum, next) = (true, 0);
            } else if line.starts_with('}') {
                in_enum = false;
            } else if in_enum && !line.is_empty() {
                let item = line.trim_end_matches(',');
                let (name, value) = match item.split_once('=') {
                    Some((n, v)) => (n.trim(), eval(v.trim(), &values)),
                    None => (item, next),
                };
                values.insert(name.to_string(), value);
                next = value + 1;
            }
        }
        values
    }

    /// An enumerator's value: a number, a name, or `(NAME - 1)`.
    fn eval(expr: &str, values: &HashMap<String, i64>) -> i64 {
        let expr = expr.trim_start_matches('(').trim_end_matches(')');
        let (name, minus) = match expr.split_once(" - ") {
            Some((n, k)) => (n, k.parse::<i64>().expect("a number")),
            None => (expr, 0),
        };
        let v = name.parse().ok().or_else(|| values.get(name).copied());
        v.expect("defined before use") - minus
    }

    #[test]
    fn constants_match_the_uapi_header() {
        let h = header_values();
        let check = |name: &str, value: i64| {
            assert_eq!(h.get(name), Some(&value), "{name} differs from the header");
        };
        macro_rules! same {
            ($($name:ident),* $(,)?) => { $(check(stringify!($name), super::$name as i64);)* };
        }
        same!(
            RDS_TCP_GENL_VERSION,
            RDS_TCP_MAX_PATHS,
            RDS_TCP_LAT_BUCKETS,
            RDS_TCP_ADDR_LEN,
            RDS_TCP_MAX_MS,
            RDS_TCP_PATH_STATE_DOWN,
            RDS_TCP_PATH_STATE_CONNECTING,
            RDS_TCP_PATH_STATE_DISCONNECTING,
            RDS_TCP_PATH_STATE_UP,
            RDS_TCP_PATH_STATE_RESETTING,
            RDS_TCP_PATH_STATE_ERROR,
            RDS_TCP_EVENT_CONN_UP,
            RDS_TCP_EVENT_CONN_DOWN,
            RDS_TCP_EVENT_PORT_CONGESTED,
            RDS_TCP_EVENT_PORT_UNCONGESTED,
            RDS_TCP_EVENT_PATH_STALLED,
            RDS_TCP_EVENT_PATH_UNSTALLED,
            RDS_TCP_CONFIG_A_TCP_SNDBUF,
            RDS_TCP_CONFIG_A_TCP_RCVBUF,
            RDS_TCP_CONFIG_A_NPATHS,
            RDS_TCP_CONFIG_A_RECONNECT_MIN_MS,
            RDS_TCP_CONFIG_A_RECONNECT_MAX_MS,
            RDS_TCP_CONFIG_A_PING_ENABLE,
            RDS_TCP_CONFIG_A_STALL_MS,
            RDS_TCP_CONN_A_LOCAL_ADDR,
            RDS_TCP_CONN_A_PEER_ADDR,
            RDS_TCP_CONN_A_TOS,
            RDS_TCP_CONN_A_IFINDEX,
            RDS_TCP_CONN_A_LOCAL_CONG_PORTS,
            RDS_TCP_CONN_A_PEER_CONG_PORTS,
            RDS_TCP_CONN_A_TX_ENOBUFS,
            RDS_TCP_CONN_A_PATHS,
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
            RDS_TCP_LAT_A_BUCKET,
            RDS_TCP_LAT_A_COUNT,
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
            RDS_TCP_CMD_GET_CONFIG,
            RDS_TCP_CMD_SET_CONFIG,
            RDS_TCP_CMD_GET_CONN,
            RDS_TCP_CMD_RESET_CONN,
            RDS_TCP_CMD_GET_SOCK,
            RDS_TCP_CMD_EVENT,
        );
        // The last attribute of each set is the last one the header has.
        for (max, last) in [
            ("RDS_TCP_CONFIG_A_MAX", super::RDS_TCP_CONFIG_A_STALL_MS),
            ("RDS_TCP_CONN_A_MAX", super::RDS_TCP_CONN_A_PATHS),
            ("RDS_TCP_PATH_A_MAX", super::RDS_TCP_PATH_A_LAT_HIST),
            ("RDS_TCP_LAT_A_MAX", super::RDS_TCP_LAT_A_COUNT),
            ("RDS_TCP_SOCK_A_MAX", super::RDS_TCP_SOCK_A_ENOBUFS),
            ("RDS_TCP_EVENT_A_MAX", super::RDS_TCP_EVENT_A_ERROR),
            ("RDS_TCP_CMD_MAX", super::RDS_TCP_CMD_EVENT as u16),
        ] {
            check(max, last as i64);
        }
        let header = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../include/uapi/linux/rds_tcp_nl.h"
        ))
        .unwrap();
        assert!(header.contains("#define RDS_TCP_GENL_NAME\t\"rds_tcp\""));
        assert!(header.contains("#define RDS_TCP_MCGRP_EVENTS\t\"events\""));
    }
}
