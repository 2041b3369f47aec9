//! Reading received mDNS messages: a cheap sanity check before parsing (so a 12-byte packet
//! claiming 65535 records cannot make the parser allocate for them), then the instances a
//! response describes, joined as go-micro's querier joins them: the SRV gives port and host
//! name, the host name's A/AAAA records give the address, the TXT gives the payload.

use super::txt::{self, Txt};
use crate::errors::{Error, Result};
use crate::registry::{Node, Service};
use simple_dns::rdata::RData;
use simple_dns::{Packet, ResourceRecord, TYPE};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

/// The DNS header size.
const HEADER: usize = 12;
/// The smallest question: a root name (1 byte), type and class.
const MIN_QUESTION: usize = 5;
/// The smallest record: a root name, type, class, TTL and rdata length.
const MIN_RECORD: usize = 11;

/// Parses a received packet, or logs why it was dropped and returns `None`.
pub(crate) fn parse(bytes: &[u8]) -> Option<Packet<'_>> {
    if let Err(why) = plausible(bytes) {
        tracing::debug!(len = bytes.len(), "mdns: dropped a packet: {why}");
        return None;
    }
    match Packet::parse(bytes) {
        Ok(packet) => Some(packet),
        Err(e) => {
            tracing::debug!(len = bytes.len(), error = %e, "mdns: dropped a malformed packet");
            None
        }
    }
}

/// Checks the header's counts against the packet's size.
fn plausible(bytes: &[u8]) -> std::result::Result<(), String> {
    if bytes.len() < HEADER {
        return Err(format!(
            "{} bytes is shorter than a DNS header",
            bytes.len()
        ));
    }
    let count = |at: usize| u16::from_be_bytes([bytes[at], bytes[at + 1]]) as usize;
    let questions = count(4);
    let records = count(6) + count(8) + count(10);
    let least = questions * MIN_QUESTION + records * MIN_RECORD;
    if least > bytes.len() - HEADER {
        return Err(format!(
            "the header claims {questions} questions and {records} records, which cannot fit in {} bytes",
            bytes.len()
        ));
    }
    Ok(())
}

/// The lower-case text of a name, without a trailing dot.
pub(crate) fn text(name: &simple_dns::Name<'_>) -> String {
    name.to_string().trim_end_matches('.').to_ascii_lowercase()
}

/// One instance a response describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Instance {
    /// The instance name, no trailing dot, case kept.
    pub name: String,
    /// The address to reach it: an IPv4 one when there is one, as go-micro prefers.
    pub addr: SocketAddr,
    /// The TXT strings, joined.
    pub txt: Vec<u8>,
    /// The smallest TTL of its SRV and TXT records; 0 means the instance is leaving.
    pub ttl: u32,
}

struct Srv {
    name: String,
    target: String,
    port: u16,
    ttl: u32,
}

/// The complete instances (SRV, TXT and an address) in a message's answers and additionals.
pub(crate) fn instances(packet: &Packet<'_>) -> Vec<Instance> {
    let mut srvs: HashMap<String, Srv> = HashMap::new();
    let mut txts: HashMap<String, (Vec<u8>, u32)> = HashMap::new();
    let mut ips: HashMap<String, Vec<IpAddr>> = HashMap::new();
    for rr in records(packet) {
        let owner = text(&rr.name);
        match &rr.rdata {
            RData::SRV(srv) => {
                let name = rr.name.to_string().trim_end_matches('.').to_string();
                let (target, port, ttl) = (text(&srv.target), srv.port, rr.ttl);
                srvs.insert(
                    owner,
                    Srv {
                        name,
                        target,
                        port,
                        ttl,
                    },
                );
            }
            RData::TXT(t) => {
                let joined = String::try_from(t.clone()).map(String::into_bytes);
                // Text that is not UTF-8 cannot be hex; keep it so decoding reports it.
                txts.insert(owner, (joined.unwrap_or_else(|e| e.into_bytes()), rr.ttl));
            }
            RData::Empty(TYPE::TXT) => {
                txts.insert(owner, (Vec::new(), rr.ttl));
            }
            RData::A(a) => ips
                .entry(owner)
                .or_default()
                .push(IpAddr::V4(a.address.into())),
            RData::AAAA(a) => ips
                .entry(owner)
                .or_default()
                .push(IpAddr::V6(a.address.into())),
            _ => {}
        }
    }
    let mut found = Vec::new();
    for (owner, (txt, txt_ttl)) in txts {
        let Some(srv) = srvs.get(&owner) else {
            continue;
        };
        let addrs = ips.get(&srv.target).or_else(|| ips.get(&owner));
        let Some(ip) = addrs.and_then(|a| preferred(a)) else {
            continue;
        };
        if srv.port == 0 {
            continue;
        }
        found.push(Instance {
            name: srv.name.clone(),
            addr: SocketAddr::new(ip, srv.port),
            txt,
            ttl: srv.ttl.min(txt_ttl),
        });
    }
    found
}

/// The PTR targets (no trailing dot, case kept) with their TTLs for records owned by `owner`.
pub(crate) fn pointers(packet: &Packet<'_>, owner: &str) -> Vec<(String, u32)> {
    records(packet)
        .filter(|rr| text(&rr.name) == owner)
        .filter_map(|rr| match &rr.rdata {
            RData::PTR(ptr) => Some((ptr.0.to_string().trim_end_matches('.').to_string(), rr.ttl)),
            _ => None,
        })
        .collect()
}

fn records<'p, 'a>(packet: &'p Packet<'a>) -> impl Iterator<Item = &'p ResourceRecord<'a>> {
    packet.answers.iter().chain(&packet.additional_records)
}

fn preferred(addrs: &[IpAddr]) -> Option<IpAddr> {
    addrs
        .iter()
        .find(|ip| ip.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
}

/// The service an instance announces, with the instance as its one node. `domain` has no dots
/// at either end. Fails when the payload does not decode or the name does not fit the payload.
pub(crate) fn service(instance: &Instance, domain: &str) -> Result<Service> {
    let Txt {
        service,
        version,
        metadata,
        endpoints,
    } = txt::decode(&instance.txt)?;
    if service.is_empty() {
        return Err(bad(format!("{} announces no service name", instance.name)));
    }
    let suffix = format!(".{service}.{domain}");
    let name = &instance.name;
    if name.len() <= suffix.len()
        || !name
            .to_ascii_lowercase()
            .ends_with(&suffix.to_ascii_lowercase())
    {
        return Err(bad(format!(
            "instance {name} is not under {service}.{domain}, the service its TXT names"
        )));
    }
    let id = name[..name.len() - suffix.len()].to_string();
    Ok(Service {
        name: service,
        version,
        metadata: Default::default(),
        endpoints,
        nodes: vec![Node {
            id,
            address: instance.addr.to_string(),
            metadata,
        }],
    })
}

fn bad(detail: String) -> Error {
    Error::bad_request("micro.registry.mdns", detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET: &[u8] = include_bytes!("../../../tests/fixtures/mdns/get.bin");
    const LIST: &[u8] = include_bytes!("../../../tests/fixtures/mdns/list.bin");
    const ANNOUNCE: &[u8] = include_bytes!("../../../tests/fixtures/mdns/announce.bin");
    const GOODBYE: &[u8] = include_bytes!("../../../tests/fixtures/mdns/goodbye.bin");

    fn greeter(packet: &[u8]) -> (Instance, Service) {
        let packet = parse(packet).expect("go-micro's packet parses");
        let found = instances(&packet);
        assert_eq!(found.len(), 1, "{found:?}");
        let service = service(&found[0], "micro").unwrap();
        (found[0].clone(), service)
    }

    #[test]
    fn go_micro_answer_decodes_to_its_service() {
        let (instance, svc) = greeter(GET);
        assert_eq!(instance.ttl, 120);
        assert_eq!(svc.name, "greeter");
        assert_eq!(svc.version, "1.0.0");
        let node = &svc.nodes[0];
        assert_eq!(node.id, "greeter-go-1");
        assert_eq!(node.address, "127.0.0.1:9091");
        assert_eq!(node.metadata["protocol"], "mucp");
        assert_eq!(node.metadata["registry"], "mdns");
        let endpoint = &svc.endpoints[0];
        assert_eq!(endpoint.name, "Greeter.Hello");
        assert_eq!(endpoint.metadata["example"], r#"{"name":"Alice"}"#);
        assert_eq!(endpoint.request.as_ref().unwrap().values[0].name, "name");
        assert_eq!(endpoint.response.as_ref().unwrap().values[0].name, "msg");
    }

    #[test]
    fn go_micro_announcement_and_goodbye_differ_only_in_ttl() {
        let (hello, hello_svc) = greeter(ANNOUNCE);
        let (bye, bye_svc) = greeter(GOODBYE);
        assert_eq!((hello.ttl, bye.ttl), (120, 0));
        assert_eq!(hello_svc, bye_svc);
        assert_eq!(hello_svc, greeter(GET).1);
    }

    #[test]
    fn go_micro_listing_answer_names_the_service() {
        let packet = parse(LIST).unwrap();
        let ptrs = pointers(&packet, "_services.micro");
        assert_eq!(ptrs, vec![("greeter._services.micro".to_string(), 120)]);
        // The listing instance is complete (empty TXT, 0.0.0.0) but carries no payload.
        let found = instances(&packet);
        assert_eq!(found.len(), 1);
        assert!(found[0].txt.is_empty());
    }

    #[test]
    fn every_truncation_of_a_real_packet_is_dropped_without_panic() {
        for packet in [GET, LIST, ANNOUNCE] {
            for len in 0..packet.len() {
                if let Some(p) = parse(&packet[..len]) {
                    // A prefix that still parses must not yield a wrong instance.
                    for i in instances(&p) {
                        let _ = service(&i, "micro");
                    }
                }
            }
        }
    }

    #[test]
    fn giant_counts_are_refused_before_parsing() {
        let mut packet = GET.to_vec();
        packet[6] = 0xff;
        packet[7] = 0xff;
        assert!(plausible(&packet).unwrap_err().contains("cannot fit"));
        assert!(parse(&packet).is_none());
    }

    #[test]
    fn compression_loops_are_dropped() {
        // A question whose name is a pointer to itself, and one pointing forward at itself.
        let mut self_loop = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        self_loop.extend_from_slice(&[0xc0, 12, 0, 12, 0, 1]);
        assert!(parse(&self_loop).is_none());
        let mut two_step = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        two_step.extend_from_slice(&[1, b'a', 0xc0, 12, 0, 12, 0, 1]);
        assert!(parse(&two_step).is_none());
    }

    #[test]
    fn instance_outside_its_service_is_refused() {
        let (mut instance, _) = greeter(GET);
        instance.name = "greeter-go-1.other.micro".into();
        let err = service(&instance, "micro").unwrap_err();
        assert!(err.detail.contains("not under"), "{err}");
    }
}
