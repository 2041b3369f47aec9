//! The records we answer with, shaped as go-micro's mDNS server shapes them.
//!
//! An [`Entry`] is one announced name: a node (instance `<nodeId>.<service>.<domain>`) or a
//! service's listing entry (instance `<service>._services.<domain>`, which makes "list services"
//! work). Asked about its names, an entry gives the same records a go-micro server gives: a PTR
//! from the service name to the instance, an SRV to the host name and port, A/AAAA records for the
//! host name and the TXT payload. Each entry's answer goes out as its own message, because
//! go-micro's querier takes only one instance from each message it reads.

use simple_dns::rdata::{A, AAAA, PTR, RData, SRV, TXT};
use simple_dns::{
    CLASS, CharacterString, Name, Packet, PacketFlag, QTYPE, Question, ResourceRecord, TYPE,
};
use std::net::{IpAddr, Ipv4Addr};

/// The DNS TTL go-micro gives every record, in seconds.
pub(crate) const TTL: u32 = 120;

/// The port go-micro gives listing entries' SRV records.
const LISTING_PORT: u16 = 9999;

/// The service label under which listing entries live.
pub(crate) const LISTING: &str = "_services";

/// What a question asks for, reduced to the types we answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ask {
    Ptr,
    Srv,
    Txt,
    A,
    Aaaa,
    Any,
    Other,
}

impl Ask {
    /// The kind of a question's type.
    pub(crate) fn of(qtype: QTYPE) -> Ask {
        match qtype {
            QTYPE::ANY => Ask::Any,
            QTYPE::TYPE(TYPE::PTR) => Ask::Ptr,
            QTYPE::TYPE(TYPE::SRV) => Ask::Srv,
            QTYPE::TYPE(TYPE::TXT) => Ask::Txt,
            QTYPE::TYPE(TYPE::A) => Ask::A,
            QTYPE::TYPE(TYPE::AAAA) => Ask::Aaaa,
            _ => Ask::Other,
        }
    }
}

/// One announced name and what it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// `<instance>.<service>.<domain>` as written in records, no trailing dot.
    instance: String,
    /// `<service>.<domain>`.
    service: String,
    /// `_services._dns-sd._udp.<domain>`, the DNS-SD service-type enumeration name.
    enumeration: String,
    /// The SRV target: the host name.
    host: String,
    port: u16,
    ips: Vec<IpAddr>,
    /// TXT strings; none gives an empty TXT record, as go-micro's listing entries have.
    txt: Vec<String>,
}

impl Entry {
    /// A node entry: instance `<node_id>.<service>.<domain>`.
    pub(crate) fn node(
        node_id: &str,
        service: &str,
        domain: &str,
        host: &str,
        ip: IpAddr,
        port: u16,
        txt: Vec<String>,
    ) -> Entry {
        Entry::new(node_id, service, domain, host, port, vec![ip], txt)
    }

    /// A service's listing entry: instance `<service>._services.<domain>`.
    pub(crate) fn listing(service: &str, domain: &str, host: &str) -> Entry {
        let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        Entry::new(
            service,
            LISTING,
            domain,
            host,
            LISTING_PORT,
            vec![any],
            vec![],
        )
    }

    fn new(
        instance: &str,
        service: &str,
        domain: &str,
        host: &str,
        port: u16,
        ips: Vec<IpAddr>,
        txt: Vec<String>,
    ) -> Entry {
        Entry {
            instance: format!("{instance}.{service}.{domain}"),
            service: format!("{service}.{domain}"),
            enumeration: format!("_services._dns-sd._udp.{domain}"),
            host: host.to_string(),
            port,
            ips,
            txt,
        }
    }

    /// Checks that every name fits DNS limits (63-byte labels, 255-byte names), so a bad node
    /// is refused at register time rather than failing silently on the wire.
    pub(crate) fn check(&self) -> Result<(), String> {
        for name in [&self.instance, &self.service, &self.host] {
            Name::new(name).map_err(|_| {
                format!(
                    "{name:?} is not a valid DNS name (labels between dots at most 63 bytes, \
                     255 bytes in all)"
                )
            })?;
        }
        self.txt
            .iter()
            .try_for_each(|s| CharacterString::new(s.as_bytes()).map(drop))
            .map_err(|_| "a TXT string is longer than 255 bytes".to_string())
    }

    /// The records answering `name`/`ask`, as go-micro's zone gives them; empty when the
    /// question is not about this entry.
    pub(crate) fn records(&self, name: &str, ask: Ask, ttl: u32) -> Vec<ResourceRecord<'static>> {
        let mut out = Vec::new();
        if name.eq_ignore_ascii_case(&self.enumeration) {
            if matches!(ask, Ask::Ptr | Ask::Any) {
                out.push(record(&self.enumeration, ttl, ptr(&self.service)));
            }
        } else if name.eq_ignore_ascii_case(&self.service) {
            if matches!(ask, Ask::Ptr | Ask::Any) {
                out.push(record(&self.service, ttl, ptr(&self.instance)));
                self.instance_records(Ask::Any, ttl, &mut out);
            }
        } else if name.eq_ignore_ascii_case(&self.instance)
            || (name.eq_ignore_ascii_case(&self.host) && matches!(ask, Ask::A | Ask::Aaaa))
        {
            self.instance_records(ask, ttl, &mut out);
        }
        out
    }

    fn instance_records(&self, ask: Ask, ttl: u32, out: &mut Vec<ResourceRecord<'static>>) {
        match ask {
            Ask::Any => {
                self.instance_records(Ask::Srv, ttl, out);
                self.instance_records(Ask::Txt, ttl, out);
            }
            Ask::Srv => {
                let srv = SRV {
                    priority: 10,
                    weight: 1,
                    port: self.port,
                    target: name(&self.host),
                };
                out.push(record(&self.instance, ttl, RData::SRV(srv)));
                self.instance_records(Ask::A, ttl, out);
                self.instance_records(Ask::Aaaa, ttl, out);
            }
            Ask::A => {
                for ip in &self.ips {
                    if let IpAddr::V4(v4) = ip {
                        out.push(record(&self.host, ttl, RData::A(A::from(*v4))));
                    }
                }
            }
            Ask::Aaaa => {
                for ip in &self.ips {
                    if let IpAddr::V6(v6) = ip {
                        out.push(record(&self.host, ttl, RData::AAAA(AAAA::from(*v6))));
                    }
                }
            }
            Ask::Txt => out.push(record(&self.instance, ttl, self.txt_rdata())),
            Ask::Ptr | Ask::Other => {}
        }
    }

    fn txt_rdata(&self) -> RData<'static> {
        if self.txt.is_empty() {
            return RData::Empty(TYPE::TXT);
        }
        let mut txt = TXT::new();
        for s in &self.txt {
            // Lengths were checked when the entry was registered.
            if let Ok(cs) = CharacterString::new(s.as_bytes()) {
                txt.add_char_string(cs.into_owned());
            }
        }
        RData::TXT(txt.into_owned())
    }

    /// The unsolicited announcement of this entry (SRV, A/AAAA, TXT), as go-micro multicasts
    /// after registering (`ttl` 120) and on deregistering (`ttl` 0).
    pub(crate) fn announcement(&self, ttl: u32) -> Option<Vec<u8>> {
        response(0, &[], self.records(&self.instance.clone(), Ask::Any, ttl))
    }
}

/// A response message: QR and AA set, the given questions echoed (go-micro's querier drops
/// answers whose first question is not the one it asked), the records as answers.
pub(crate) fn response(
    id: u16,
    questions: &[Question<'_>],
    answers: Vec<ResourceRecord<'static>>,
) -> Option<Vec<u8>> {
    let mut packet = Packet::new_reply(id);
    packet.set_flags(PacketFlag::AUTHORITATIVE_ANSWER);
    packet.questions = questions.iter().map(|q| q.clone().into_owned()).collect();
    packet.answers = answers;
    match packet.build_bytes_vec_compressed() {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            tracing::warn!(error = %e, "mdns: could not build a response message");
            None
        }
    }
}

/// A PTR question for `name`, as go-micro's querier sends it (id 0, no recursion).
pub(crate) fn query(name_text: &str) -> Option<Vec<u8>> {
    let qname = Name::new(name_text).ok()?;
    let mut packet = Packet::new_query(0);
    packet.questions.push(Question::new(
        qname,
        QTYPE::TYPE(TYPE::PTR),
        CLASS::IN.into(),
        false,
    ));
    packet.build_bytes_vec().ok()
}

fn name(text: &str) -> Name<'static> {
    // Entries are checked before use, so the unchecked form only skips repeated validation.
    Name::new_unchecked(text).into_owned()
}

fn ptr(target: &str) -> RData<'static> {
    RData::PTR(PTR(name(target)))
}

fn record(owner: &str, ttl: u32, rdata: RData<'static>) -> ResourceRecord<'static> {
    ResourceRecord::new(name(owner), CLASS::IN, ttl, rdata)
}

#[cfg(test)]
mod tests {
    use super::super::{message, txt};
    use super::*;

    const GET: &[u8] = include_bytes!("../../../tests/fixtures/mdns/get.bin");
    const LIST: &[u8] = include_bytes!("../../../tests/fixtures/mdns/list.bin");

    fn node() -> Entry {
        let payload = txt::Txt {
            service: "greeter".into(),
            version: "1.0.0".into(),
            metadata: [("protocol".to_string(), "mucp".to_string())].into(),
            endpoints: vec![],
        };
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let strings = txt::encode(&payload).unwrap();
        Entry::node("greeter-1", "greeter", "micro", "vm", ip, 9091, strings)
    }

    /// The record types of a message's answers, its flags and its question names.
    fn shape(bytes: &[u8]) -> (Vec<u16>, bool, bool, Vec<String>) {
        let packet = message::parse(bytes).unwrap();
        let types = packet
            .answers
            .iter()
            .map(|rr| rr.rdata.type_code().into())
            .collect();
        let questions = packet
            .questions
            .iter()
            .map(|q| message::text(&q.qname))
            .collect();
        let qr = packet.has_flags(PacketFlag::RESPONSE);
        let aa = packet.has_flags(PacketFlag::AUTHORITATIVE_ANSWER);
        (types, qr, aa, questions)
    }

    fn answer(entry: &Entry, question: &str) -> Vec<u8> {
        let asked = Question::new(
            Name::new(question).unwrap(),
            QTYPE::TYPE(TYPE::PTR),
            CLASS::IN.into(),
            false,
        );
        let records = entry.records(question, Ask::Ptr, TTL);
        response(0, &[asked], records).unwrap()
    }

    #[test]
    fn node_answer_has_the_shape_of_go_micros() {
        assert!(node().check().is_ok());
        assert_eq!(shape(&answer(&node(), "greeter.micro")), shape(GET));
    }

    #[test]
    fn listing_answer_has_the_shape_of_go_micros() {
        let listing = Entry::listing("greeter", "micro", "vm");
        assert_eq!(shape(&answer(&listing, "_services.micro")), shape(LIST));
    }

    #[test]
    fn announcement_decodes_back_to_the_node() {
        for (ttl, want) in [(TTL, TTL), (0, 0)] {
            let bytes = node().announcement(ttl).unwrap();
            let packet = message::parse(&bytes).unwrap();
            let found = message::instances(&packet);
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].ttl, want);
            let service = message::service(&found[0], "micro").unwrap();
            assert_eq!(service.name, "greeter");
            assert_eq!(service.nodes[0].id, "greeter-1");
            assert_eq!(service.nodes[0].address, "127.0.0.1:9091");
            assert_eq!(service.nodes[0].metadata["protocol"], "mucp");
        }
    }

    #[test]
    fn questions_about_other_names_get_no_records() {
        let entry = node();
        assert!(entry.records("billing.micro", Ask::Ptr, TTL).is_empty());
        assert!(entry.records("greeter.micro", Ask::Srv, TTL).is_empty());
        assert!(entry.records("vm", Ask::Txt, TTL).is_empty());
        assert_eq!(
            entry
                .records("GREETER-1.greeter.MICRO", Ask::Any, TTL)
                .len(),
            3
        );
        assert_eq!(entry.records("vm", Ask::A, TTL).len(), 1);
    }

    #[test]
    fn over_long_labels_are_refused() {
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let entry = Entry::node(&"x".repeat(64), "greeter", "micro", "vm", ip, 1, vec![]);
        assert!(entry.check().unwrap_err().contains("63"));
    }
}
