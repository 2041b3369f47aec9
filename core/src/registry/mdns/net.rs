//! Sockets for mDNS over IPv4: which interfaces to use, the shared port-5353 responder socket
//! (address and port reuse, so several processes on one host each run a responder, go-micro's
//! among them), and per-interface sockets that send multicast from an ephemeral port.

use crate::errors::{Error, Result};
use socket2::{Domain, Protocol, Socket, Type};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use tokio::net::UdpSocket;

/// The mDNS IPv4 group.
pub(crate) const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 251);

/// The environment variable naming the interfaces mDNS may use.
pub(crate) const INTERFACES_ENV: &str = "MICRO_MDNS_INTERFACES";

/// The IPv4 addresses of the interfaces to use, from names (`lo`, `eth0`) or addresses.
/// Nothing given means loopback only.
pub(crate) fn interfaces(wanted: &[String]) -> Result<Vec<Ipv4Addr>> {
    let wanted: Vec<&str> = wanted
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    if wanted.is_empty() {
        return Ok(vec![Ipv4Addr::LOCALHOST]);
    }
    let mut found = Vec::new();
    for want in wanted {
        let ip = match want.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => ip,
            Ok(IpAddr::V6(_)) => {
                return Err(bad(format!(
                    "mDNS interface {want:?} is an IPv6 address; mDNS here runs over IPv4, give an IPv4 address or an interface name"
                )));
            }
            Err(_) => by_name(want)?,
        };
        if !found.contains(&ip) {
            found.push(ip);
        }
    }
    Ok(found)
}

fn by_name(name: &str) -> Result<Ipv4Addr> {
    let all = if_addrs::get_if_addrs().map_err(|e| {
        Error::internal(
            "micro.registry.mdns",
            format!("could not list network interfaces to find {name:?}: {e}"),
        )
    })?;
    all.iter()
        .filter(|i| i.name == name)
        .find_map(|i| match i.ip() {
            IpAddr::V4(ip) => Some(ip),
            IpAddr::V6(_) => None,
        })
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|i| i.name.as_str()).collect();
            bad(format!(
                "mDNS interface {name:?} has no IPv4 address or does not exist (interfaces: {}); \
                 fix {INTERFACES_ENV} or the interfaces option",
                names.join(", ")
            ))
        })
}

fn bad(detail: String) -> Error {
    Error::bad_request("micro.registry.mdns", detail)
}

/// The responder socket: bound to `0.0.0.0:port` with address and port reuse, joined to the
/// group on each interface, hearing its own host's multicast. Call inside a tokio runtime.
pub(crate) fn responder(port: u16, interfaces: &[Ipv4Addr]) -> Result<UdpSocket> {
    let fail = |what: &str, e: std::io::Error| {
        Error::internal(
            "micro.registry.mdns",
            format!(
                "mDNS could not {what}: {e}; multicast must work on the chosen interfaces \
                 (for loopback: ip link set lo multicast on; ip route add 224.0.0.0/4 dev lo), \
                 or choose others with {INTERFACES_ENV}"
            ),
        )
    };
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))
        .map_err(|e| fail("open a UDP socket", e))?;
    socket
        .set_reuse_address(true)
        .map_err(|e| fail("set SO_REUSEADDR", e))?;
    #[cfg(unix)]
    socket
        .set_reuse_port(true)
        .map_err(|e| fail("set SO_REUSEPORT", e))?;
    let bind = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port));
    socket
        .bind(&bind.into())
        .map_err(|e| fail(&format!("bind {bind}"), e))?;
    for iface in interfaces {
        socket
            .join_multicast_v4(&GROUP, iface)
            .map_err(|e| fail(&format!("join {GROUP} on {iface}"), e))?;
    }
    socket
        .set_multicast_loop_v4(true)
        .map_err(|e| fail("enable multicast loopback", e))?;
    into_tokio(socket).map_err(|e| fail("register the socket with tokio", e))
}

/// A socket sending multicast out of one interface from an ephemeral port; replies to what it
/// sends come back to it. Call inside a tokio runtime.
pub(crate) fn sender(iface: Ipv4Addr) -> Result<UdpSocket> {
    let fail = |e: std::io::Error| {
        Error::internal(
            "micro.registry.mdns",
            format!("mDNS could not open a multicast socket on {iface}: {e}"),
        )
    };
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).map_err(fail)?;
    let bind = SocketAddr::V4(SocketAddrV4::new(iface, 0));
    socket.bind(&bind.into()).map_err(fail)?;
    socket.set_multicast_if_v4(&iface).map_err(fail)?;
    socket.set_multicast_loop_v4(true).map_err(fail)?;
    socket.set_multicast_ttl_v4(255).map_err(fail)?;
    into_tokio(socket).map_err(fail)
}

fn into_tokio(socket: Socket) -> std::io::Result<UdpSocket> {
    socket.set_nonblocking(true)?;
    UdpSocket::from_std(socket.into())
}
