// SPDX-License-Identifier: GPL-2.0

//! Congestion maps (net/rds/cong.c): one bit per port of an address, set
//! while the socket bound to that port has more than half its `SO_RCVBUF`
//! queued. A host sends its map for a local address to every peer connected
//! to that address, as the payload of a message flagged
//! `RDS_FLAG_CONG_BITMAP`; senders to a port whose bit is set get `ENOBUFS`
//! or wait.
//!
//! Wire format: `RDS_CONG_MAP_BYTES` (8 KiB) bytes, the bit of port `p` in
//! byte `p / 8` at bit `p % 8` (upstream's `set_bit_le()` on the map pages).

/// `RDS_CONG_MAP_BYTES`: 65536 ports, one bit each.
pub const MAP_BYTES: usize = 65536 / 8;

/// Whether port `port` is congested in `map` (`rds_cong_test_bit()`). A map
/// of the wrong size reports nothing congested.
pub fn test(map: &[u8], port: u16) -> bool {
    let p = usize::from(port);
    map.get(p / 8).is_some_and(|b| b & (1 << (p % 8)) != 0)
}

/// Sets or clears the bit of `port` in `map`.
pub fn set(map: &mut [u8], port: u16, congested: bool) {
    let p = usize::from(port);
    if let Some(b) = map.get_mut(p / 8) {
        if congested {
            *b |= 1 << (p % 8);
        } else {
            *b &= !(1 << (p % 8));
        }
    }
}

/// `RDS_CONG_MONITOR_MASK()`: the bit of `RDS_CMSG_CONG_UPDATE` masks that
/// stands for `port` (ports share the 64 bits modulo 64).
pub const fn monitor_mask(port: u16) -> u64 {
    1u64 << (port % 64)
}

/// The ports whose bit differs between maps `old` and `new`, in port
/// order, with their state in `new`: written to `out` until it is full;
/// returns how many were written.
pub fn changed(old: &[u8], new: &[u8], out: &mut [(u16, bool)]) -> usize {
    let mut n = 0;
    for (i, (&now, &was)) in new.iter().zip(old.iter()).enumerate().take(MAP_BYTES) {
        let mut diff = now ^ was;
        while diff != 0 {
            let Some(slot) = out.get_mut(n) else {
                return n;
            };
            // CAST: below 8.
            let bit = diff.trailing_zeros() as usize;
            diff &= diff - 1;
            // CAST: i < MAP_BYTES (8192), so below 65536.
            *slot = ((i * 8 + bit) as u16, now & (1 << bit) != 0);
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// `changed` lists exactly the ports whose bit differs, in order,
        /// with their new state, as far as `out` has room.
        #[test]
        fn changed_ports_are_the_differing_bits(
            flips in proptest::collection::btree_set(any::<u16>(), 0..200),
            set_before in any::<bool>(),
            room in 0usize..300,
        ) {
            let mut old = [0u8; MAP_BYTES];
            let mut new = [0u8; MAP_BYTES];
            for &p in &flips {
                set(if set_before { &mut old } else { &mut new }, p, true);
            }
            let mut out = [(0u16, false); 300];
            let n = changed(&old, &new, &mut out[..room]);
            prop_assert_eq!(n, flips.len().min(room));
            for (got, &want) in out[..n].iter().zip(flips.iter()) {
                prop_assert_eq!(*got, (want, !set_before));
            }
        }
    }

    #[test]
    fn upstream_bit_layout() {
        let mut m = [0u8; MAP_BYTES];
        set(&mut m, 0, true);
        set(&mut m, 9, true);
        set(&mut m, 65535, true);
        assert_eq!(m[0], 0x01);
        assert_eq!(m[1], 0x02);
        assert_eq!(m[MAP_BYTES - 1], 0x80);
        assert!(test(&m, 9) && !test(&m, 8));
        set(&mut m, 9, false);
        assert_eq!(m[1], 0);
        assert!(!test(&[0u8; 3], 4000));
        assert_eq!(monitor_mask(4000), 1 << 32);
    }

    proptest! {
        #[test]
        fn set_then_test(ports in proptest::collection::vec(any::<u16>(), 0..64), probe: u16) {
            let mut m = vec![0u8; MAP_BYTES];
            for &p in &ports {
                set(&mut m, p, true);
            }
            prop_assert_eq!(test(&m, probe), ports.contains(&probe));
            for &p in &ports {
                set(&mut m, p, false);
            }
            prop_assert!(m.iter().all(|&b| b == 0));
        }
    }
}
