//! Sockets for mDNS over IPv4: which interfaces to use, one port-5353 responder socket per
//! interface (address and port reuse, so several processes on one host each run a responder,
//! go-micro's among them), and per-interface sockets that send queries from an ephemeral port.

use crate::errors::{Error, Result};
use socket2::{Domain, Protocol, Socket, Type};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::num::NonZeroU32;
use tokio::net::UdpSocket;

/// The mDNS IPv4 group.
pub(crate) const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 251);

/// The environment variable naming the interfaces mDNS may use.
pub(crate) const INTERFACES_ENV: &str = "MICRO_MDNS_INTERFACES";

/// One network interface mDNS runs on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Interface {
    /// An IPv4 address of it: where the group is joined and multicast leaves from.
    pub addr: Ipv4Addr,
    /// Its index, which the responder socket is bound to.
    pub index: NonZeroU32,
}

/// The interfaces to use, from names (`lo`, `eth0`) or IPv4 addresses. Nothing given means
/// loopback only.
pub(crate) fn interfaces(wanted: &[String]) -> Result<Vec<Interface>> {
    let wanted: Vec<&str> = wanted
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    let all = if_addrs::get_if_addrs().map_err(|e| {
        Error::internal(
            "micro.registry.mdns",
            format!("could not list network interfaces for mDNS: {e}"),
        )
    })?;
    if wanted.is_empty() {
        return by_address(&all, Ipv4Addr::LOCALHOST).map(|lo| vec![lo]).ok_or_else(|| {
            bad(format!(
                "mDNS runs on loopback unless told otherwise, but no interface holds 127.0.0.1; \
                 bring loopback up (ip link set lo up) or choose interfaces with {INTERFACES_ENV}"
            ))
        });
    }
    let mut found: Vec<Interface> = Vec::new();
    for want in wanted {
        let iface = match want.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => by_address(&all, ip),
            Ok(IpAddr::V6(_)) => {
                return Err(bad(format!(
                    "mDNS interface {want:?} is an IPv6 address; mDNS here runs over IPv4, give an IPv4 address or an interface name"
                )));
            }
            Err(_) => by_name(&all, want),
        };
        let iface = iface.ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|i| i.name.as_str()).collect();
            bad(format!(
                "mDNS interface {want:?} is not an interface with an IPv4 address, nor the IPv4 \
                 address of one (interfaces: {}); fix {INTERFACES_ENV} or the interfaces option",
                names.join(", ")
            ))
        })?;
        // Two addresses of one interface would give it two responders answering twice.
        if !found.iter().any(|f| f.index == iface.index) {
            found.push(iface);
        }
    }
    Ok(found)
}

fn by_name(all: &[if_addrs::Interface], name: &str) -> Option<Interface> {
    all.iter()
        .filter(|i| i.name == name)
        .find_map(|i| interface(i, |_| true))
}

fn by_address(all: &[if_addrs::Interface], addr: Ipv4Addr) -> Option<Interface> {
    all.iter().find_map(|i| interface(i, |ip| ip == addr))
}

/// The interface, when it has an index and an IPv4 address that `wanted` accepts.
fn interface(i: &if_addrs::Interface, wanted: impl Fn(Ipv4Addr) -> bool) -> Option<Interface> {
    let index = NonZeroU32::new(i.index?)?;
    match i.ip() {
        IpAddr::V4(addr) if wanted(addr) => Some(Interface { addr, index }),
        _ => None,
    }
}

fn bad(detail: String) -> Error {
    Error::bad_request("micro.registry.mdns", detail)
}

/// The responder socket of one interface: `0.0.0.0:port` with address and port reuse, bound to
/// the interface, joined to the group there, sending multicast there and hearing its own.
/// Call inside a tokio runtime.
///
/// Binding to the interface is what keeps mDNS on the interfaces it was given: the kernel hands
/// the socket only what arrives on that interface, multicast or unicast, and its replies leave
/// by it. Filtering in user space instead (IP_PKTINFO on one shared socket) would mean parsing
/// control messages on every packet, and a socket on `0.0.0.0:5353` still receives group traffic
/// from any interface where another program (avahi, say) joined the group.
pub(crate) fn responder(port: u16, iface: Interface) -> Result<UdpSocket> {
    let Interface { addr, index } = iface;
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
    bind_to_interface(&socket, index)
        .map_err(|e| fail(&format!("bind a socket to the interface of {addr}"), e))?;
    let bind = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port));
    socket
        .bind(&bind.into())
        .map_err(|e| fail(&format!("bind {bind}"), e))?;
    socket
        .join_multicast_v4(&GROUP, &addr)
        .map_err(|e| fail(&format!("join {GROUP} on {addr}"), e))?;
    socket
        .set_multicast_if_v4(&addr)
        .map_err(|e| fail(&format!("send multicast from {addr}"), e))?;
    socket
        .set_multicast_loop_v4(true)
        .map_err(|e| fail("enable multicast loopback", e))?;
    socket
        .set_multicast_ttl_v4(255)
        .map_err(|e| fail("set the multicast TTL", e))?;
    into_tokio(socket).map_err(|e| fail("register the socket with tokio", e))
}

#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_vendor = "apple",
    target_os = "illumos",
    target_os = "solaris"
))]
fn bind_to_interface(socket: &Socket, index: NonZeroU32) -> std::io::Result<()> {
    socket.bind_device_by_index_v4(Some(index))
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_vendor = "apple",
    target_os = "illumos",
    target_os = "solaris"
)))]
fn bind_to_interface(_: &Socket, _: NonZeroU32) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "this platform cannot bind a socket to one interface, which mDNS needs to answer only there",
    ))
}

/// A socket sending queries out of one interface from an ephemeral port; replies to what it
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
