//! The go-micro compatible mDNS registry over real multicast sockets.
//!
//! No test here multicasts on a real interface. Each networked test re-runs this test binary,
//! filtered to itself, under `unshare -n`: a fresh network namespace holding only a loopback
//! interface, set up with `ip link set lo up`, `ip link set lo multicast on` and
//! `ip route add 224.0.0.0/4 dev lo`. The child sees the marker variable and runs the test body;
//! the parent asserts that it passed. This needs root (or CAP_SYS_ADMIN), `unshare` and `ip`.
//! The test of what another host sees adds a second namespace ([`OtherHost`]) joined to the
//! first by a veth pair.
//!
//! The go-micro interop test also needs the Go helper built (it is skipped otherwise):
//! `make go-tools` (or `cd tests/interop && GOFLAGS=-mod=mod go build -o bin/ ./cmd/...`), then
//! `cargo test -p micro --test registry_mdns go_micro`.

use micro::registry::{
    Action, Endpoint, Event, Mdns, MdnsOptions, Node, Registry, Service, Value, Watcher,
};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

mod support;
use support::{in_netns, in_netns_with};

/// A registry on loopback that waits long enough for answers on a busy test machine.
fn mdns() -> Mdns {
    Mdns::new(MdnsOptions {
        timeout: Duration::from_millis(400),
        ..Default::default()
    })
    .unwrap()
}

fn service(name: &str, version: &str, id: &str, port: u16) -> Service {
    Service {
        name: name.into(),
        version: version.into(),
        metadata: Default::default(),
        endpoints: vec![Endpoint {
            name: "Greeter.Hello".into(),
            request: Some(Value {
                name: "Request".into(),
                kind: "Request".into(),
                values: vec![Value {
                    name: "name".into(),
                    kind: "string".into(),
                    values: vec![],
                }],
            }),
            response: None,
            metadata: [("description".to_string(), "Greets".to_string())].into(),
        }],
        nodes: vec![Node {
            id: id.into(),
            address: format!("127.0.0.1:{port}"),
            metadata: [
                ("protocol".to_string(), "mucp".to_string()),
                ("transport".to_string(), "http".to_string()),
            ]
            .into(),
        }],
    }
}

/// The next event within a few seconds.
async fn next(watcher: &mut Watcher) -> Event {
    tokio::time::timeout(Duration::from_secs(5), watcher.next())
        .await
        .expect("no watch event within 5s")
        .unwrap()
}

/// Asserts no event arrives for a while.
async fn quiet(watcher: &mut Watcher, wait: Duration) {
    if let Ok(event) = tokio::time::timeout(wait, watcher.next()).await {
        panic!("unexpected event {event:?}");
    }
}

#[test]
fn registry_is_made_without_a_runtime_and_checks_its_options() {
    let registry = Mdns::new(MdnsOptions::default()).unwrap();
    assert_eq!(registry.name(), "mdns");
    let bad_iface = MdnsOptions {
        interfaces: vec!["no-such-interface0".into()],
        ..Default::default()
    };
    let err = Mdns::new(bad_iface).err().unwrap();
    assert_eq!(err.code, 400);
    assert!(err.detail.contains("no-such-interface0"), "{err}");
    let v6 = MdnsOptions {
        interfaces: vec!["::1".into()],
        ..Default::default()
    };
    assert!(Mdns::new(v6).err().unwrap().detail.contains("IPv6"));
    let no_domain = MdnsOptions {
        domain: "..".into(),
        ..Default::default()
    };
    assert!(Mdns::new(no_domain).is_err());
}

#[test]
fn registered_node_is_found_by_another_registry() {
    in_netns("registered_node_is_found_by_another_registry", async {
        let server = mdns();
        let client = mdns();
        let svc = service("greeter", "1.0.0", "greeter-1", 9001);
        server.register(&svc, None).await.unwrap();

        let found = client.get_service("greeter").await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "greeter");
        assert_eq!(found[0].version, "1.0.0");
        assert_eq!(found[0].endpoints, svc.endpoints);
        assert_eq!(found[0].nodes, svc.nodes);

        let err = client.get_service("nobody").await.unwrap_err();
        assert_eq!(err.code, 404);
    });
}

#[test]
fn versions_and_nodes_from_several_registries_are_grouped() {
    in_netns(
        "versions_and_nodes_from_several_registries_are_grouped",
        async {
            let (a, b, client) = (mdns(), mdns(), mdns());
            a.register(&service("greeter", "1", "greeter-a", 9001), None)
                .await
                .unwrap();
            b.register(&service("greeter", "1", "greeter-b", 9002), None)
                .await
                .unwrap();
            b.register(&service("greeter", "2", "greeter-c", 9003), None)
                .await
                .unwrap();
            // Registering again changes nothing.
            a.register(&service("greeter", "1", "greeter-a", 9001), None)
                .await
                .unwrap();

            let mut found = client.get_service("greeter").await.unwrap();
            found.sort_by(|x, y| x.version.cmp(&y.version));
            assert_eq!(found.len(), 2);
            let mut ids: Vec<&str> = found[0].nodes.iter().map(|n| n.id.as_str()).collect();
            ids.sort();
            assert_eq!(ids, ["greeter-a", "greeter-b"]);
            assert_eq!(found[1].nodes[0].id, "greeter-c");
        },
    );
}

#[test]
fn list_services_names_every_registered_service() {
    in_netns("list_services_names_every_registered_service", async {
        let (a, b, client) = (mdns(), mdns(), mdns());
        a.register(&service("greeter", "1", "greeter-1", 9001), None)
            .await
            .unwrap();
        a.register(&service("billing", "1", "billing-1", 9002), None)
            .await
            .unwrap();
        b.register(&service("greeter", "1", "greeter-2", 9003), None)
            .await
            .unwrap();

        let names: Vec<String> = client
            .list_services()
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["billing", "greeter"]);
    });
}

#[test]
fn deregistered_node_is_gone_and_watchers_see_it_come_and_go() {
    in_netns(
        "deregistered_node_is_gone_and_watchers_see_it_come_and_go",
        async {
            let server = mdns();
            let client = mdns();
            let mut watcher = client.watch(Some("greeter")).await.unwrap();
            let mut everything = client.watch(None).await.unwrap();
            let svc = service("greeter", "1", "greeter-1", 9001);
            server.register(&svc, None).await.unwrap();
            server
                .register(&service("other", "1", "other-1", 9002), None)
                .await
                .unwrap();

            let created = next(&mut watcher).await;
            assert_eq!(created.action, Action::Create);
            assert_eq!(created.service.nodes, svc.nodes);
            assert_eq!(created.service.endpoints, svc.endpoints);
            assert_eq!(next(&mut everything).await.service.name, "greeter");
            assert_eq!(next(&mut everything).await.service.name, "other");
            // The second announcement a second later is not reported again.
            quiet(&mut watcher, Duration::from_millis(1500)).await;

            server.deregister(&svc).await.unwrap();
            let deleted = next(&mut watcher).await;
            assert_eq!(deleted.action, Action::Delete);
            assert_eq!(deleted.service.nodes[0].id, "greeter-1");
            assert_eq!(client.get_service("greeter").await.unwrap_err().code, 404);
            assert_eq!(client.get_service("other").await.unwrap().len(), 1);
            quiet(&mut watcher, Duration::from_millis(500)).await;
        },
    );
}

#[test]
fn node_whose_ttl_runs_out_stops_being_announced() {
    in_netns("node_whose_ttl_runs_out_stops_being_announced", async {
        let server = mdns();
        let client = mdns();
        let mut watcher = client.watch(Some("greeter")).await.unwrap();
        let ttl = Some(Duration::from_millis(1500));
        let kept = service("greeter", "1", "greeter-kept", 9001);
        let lapsed = service("greeter", "1", "greeter-lapsed", 9002);
        server.register(&kept, ttl).await.unwrap();
        server.register(&lapsed, ttl).await.unwrap();
        assert_eq!(next(&mut watcher).await.action, Action::Create);
        assert_eq!(next(&mut watcher).await.action, Action::Create);

        // Refresh one node's registration, as a running service does, and not the other's.
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            server.register(&kept, ttl).await.unwrap();
        }
        let deleted = next(&mut watcher).await;
        assert_eq!(deleted.action, Action::Delete);
        assert_eq!(deleted.service.nodes[0].id, "greeter-lapsed");
        let found = client.get_service("greeter").await.unwrap();
        let ids: Vec<&str> = found[0].nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["greeter-kept"]);
    });
}

#[test]
fn ipv6_node_address_travels_in_aaaa_records_and_own_watchers_hear_it() {
    in_netns(
        "ipv6_node_address_travels_in_aaaa_records_and_own_watchers_hear_it",
        async {
            let server = mdns();
            let client = mdns();
            let mut own = server.watch(None).await.unwrap();
            let mut svc = service("greeter", "1", "greeter-6", 9001);
            svc.nodes[0].address = "[::1]:9001".into();
            server.register(&svc, None).await.unwrap();

            let event = next(&mut own).await;
            assert_eq!(event.action, Action::Create);
            assert_eq!(event.service.nodes[0].address, "[::1]:9001");
            let found = client.get_service("greeter").await.unwrap();
            assert_eq!(found[0].nodes[0].address, "[::1]:9001");
            // Our own looped-back announcements are not reported twice.
            quiet(&mut own, Duration::from_millis(1500)).await;
        },
    );
}

#[test]
fn dropped_registry_says_goodbye_for_its_nodes() {
    in_netns("dropped_registry_says_goodbye_for_its_nodes", async {
        let server = mdns();
        let client = mdns();
        let mut watcher = client.watch(None).await.unwrap();
        server
            .register(&service("greeter", "1", "greeter-1", 9001), None)
            .await
            .unwrap();
        assert_eq!(next(&mut watcher).await.action, Action::Create);
        drop(server);
        let gone = next(&mut watcher).await;
        assert_eq!(gone.action, Action::Delete);
        assert_eq!(gone.service.nodes[0].id, "greeter-1");
        assert_eq!(client.get_service("greeter").await.unwrap_err().code, 404);
    });
}

#[test]
fn bad_registrations_are_refused_with_a_reason() {
    in_netns("bad_registrations_are_refused_with_a_reason", async {
        let registry = mdns();
        let mut svc = service("greeter", "1", "greeter-1", 9001);
        svc.nodes[0].address = "localhost:9001".into();
        let err = registry.register(&svc, None).await.unwrap_err();
        assert!(err.detail.contains("not ip:port"), "{err}");
        svc.nodes[0].address = "127.0.0.1:0".into();
        assert!(registry.register(&svc, None).await.is_err());
        let mut long = service("greeter", "1", &"x".repeat(70), 9001);
        let err = registry.register(&long, None).await.unwrap_err();
        assert!(err.detail.contains("63"), "{err}");
        long.nodes[0].id = String::new();
        assert!(registry.register(&long, None).await.is_err());
    });
}

#[test]
fn interfaces_come_from_the_environment_by_name_or_address() {
    in_netns_with(
        "interfaces_come_from_the_environment_by_name_or_address",
        &[
            "ip link add mdns0 type veth peer name mdns1",
            "ip addr add 10.253.0.1/24 dev mdns0",
            "ip link set mdns1 up",
            "ip link set mdns0 up",
        ],
        &[("MICRO_MDNS_INTERFACES", "mdns0")],
        async {
            // From the environment: one end of a veth pair inside the namespace, by name.
            let server = Mdns::new(MdnsOptions {
                timeout: Duration::from_millis(400),
                ..Default::default()
            })
            .unwrap();
            server
                .register(&service("greeter", "1", "greeter-1", 9001), None)
                .await
                .unwrap();
            // From the option: the same interface, by address.
            let client = Mdns::new(MdnsOptions {
                interfaces: vec!["10.253.0.1".into()],
                timeout: Duration::from_millis(400),
                ..Default::default()
            })
            .unwrap();
            let found = client.get_service("greeter").await.unwrap();
            assert_eq!(found[0].nodes[0].id, "greeter-1");
        },
    );
}

/// Host B of the multi-host test: a network namespace of its own, joined to the test's own
/// namespace (host A) by a veth pair, `veth-a` (10.254.0.1/24) on A and `veth-b` (10.254.0.2/24)
/// on B. A handle to the namespace keeps it alive; threads enter it to run commands and open
/// sockets, and a socket stays in the namespace it was opened in.
struct OtherHost {
    netns: std::fs::File,
}

/// Host A's address on the veth pair.
const HOST_A: std::net::Ipv4Addr = std::net::Ipv4Addr::new(10, 254, 0, 1);
/// Host B's address on the veth pair.
const HOST_B: std::net::Ipv4Addr = std::net::Ipv4Addr::new(10, 254, 0, 2);

impl OtherHost {
    /// A fresh namespace, with the veth pair set up on both sides.
    fn joined() -> OtherHost {
        let netns = std::thread::spawn(|| {
            // SAFETY: unshare takes no pointers; it moves only this thread, which ends here.
            let moved = unsafe { libc::unshare(libc::CLONE_NEWNET) };
            assert_eq!(moved, 0, "unshare: {}", std::io::Error::last_os_error());
            std::fs::File::open("/proc/thread-self/ns/net").unwrap()
        })
        .join()
        .unwrap();
        let host = OtherHost { netns };
        let host_a = std::process::id();
        host.run(|| {
            sh(&format!(
                "ip link add veth-b type veth peer name veth-a netns {host_a}"
            ));
            sh(&format!("ip addr add {HOST_B}/24 dev veth-b"));
            sh("ip link set veth-b up");
        });
        sh(&format!("ip addr add {HOST_A}/24 dev veth-a"));
        sh("ip link set veth-a up");
        host
    }

    /// Runs `f` on a thread inside this host's namespace.
    fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        use std::os::fd::AsRawFd;
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    // SAFETY: the descriptor is open for the call; only this thread moves.
                    let entered =
                        unsafe { libc::setns(self.netns.as_raw_fd(), libc::CLONE_NEWNET) };
                    assert_eq!(entered, 0, "setns: {}", std::io::Error::last_os_error());
                    f()
                })
                .join()
                .unwrap()
        })
    }

    /// Asks for the service list the three ways a querier can, and returns the ways that got
    /// an answer naming `greeter`: a multicast query from an ephemeral port (answered by
    /// unicast), a unicast query straight to host A's address, and a multicast query from the
    /// mDNS port (answered by multicast).
    async fn ask_for_the_service_list(&self) -> Vec<&'static str> {
        let sockets = self.run(|| {
            let open = |port: u16| {
                let socket = socket2::Socket::new(
                    socket2::Domain::IPV4,
                    socket2::Type::DGRAM,
                    Some(socket2::Protocol::UDP),
                )
                .unwrap();
                socket.set_reuse_address(true).unwrap();
                let bind = std::net::SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, port);
                socket.bind(&bind.into()).unwrap();
                socket.set_multicast_if_v4(&HOST_B).unwrap();
                socket.set_nonblocking(true).unwrap();
                socket
            };
            let mdns_port = open(5353);
            mdns_port
                .join_multicast_v4(&"224.0.0.251".parse().unwrap(), &HOST_B)
                .unwrap();
            [open(0), open(0), mdns_port].map(std::net::UdpSocket::from)
        });
        let group = "224.0.0.251:5353".parse().unwrap();
        let host_a = std::net::SocketAddr::from((HOST_A, 5353));
        let ways = [
            ("multicast query", group),
            ("unicast query", host_a),
            ("query from the mDNS port", group),
        ];
        let query = listing_query();
        let probes = sockets.into_iter().zip(ways).map(|(socket, (way, to))| {
            let query = query.clone();
            async move {
                let socket = tokio::net::UdpSocket::from_std(socket).unwrap();
                let heard = async {
                    let mut buf = vec![0u8; 65_536];
                    loop {
                        let (n, _) = socket.recv_from(&mut buf).await.unwrap();
                        if names_greeter(&buf[..n]) {
                            return;
                        }
                    }
                };
                let asking = async {
                    // Asked a few times, in case the link was not yet passing packets.
                    for _ in 0..3 {
                        socket.send_to(&query, to).await.unwrap();
                        tokio::time::sleep(Duration::from_millis(400)).await;
                    }
                    std::future::pending::<()>().await
                };
                let answered = tokio::time::timeout(Duration::from_millis(1500), async {
                    tokio::select! { _ = heard => {}, _ = asking => {} }
                })
                .await
                .is_ok();
                answered.then_some(way)
            }
        });
        futures::future::join_all(probes)
            .await
            .into_iter()
            .flatten()
            .collect()
    }
}

/// Runs a shell command in the calling thread's namespace and insists it succeeds.
fn sh(command: &str) {
    let out = Command::new("sh").args(["-c", command]).output().unwrap();
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A PTR query for `_services.micro`, the name a go-micro querier asks to list services.
fn listing_query() -> Vec<u8> {
    use simple_dns::{CLASS, Name, Packet, QTYPE, Question, TYPE};
    let mut packet = Packet::new_query(0);
    packet.questions.push(Question::new(
        Name::new("_services.micro").unwrap(),
        QTYPE::TYPE(TYPE::PTR),
        CLASS::IN.into(),
        false,
    ));
    packet.build_bytes_vec().unwrap()
}

/// Whether a message answers that `greeter` is among the services.
fn names_greeter(bytes: &[u8]) -> bool {
    use simple_dns::rdata::RData;
    let Ok(packet) = simple_dns::Packet::parse(bytes) else {
        return false;
    };
    packet.answers.iter().any(|rr| {
        matches!(&rr.rdata, RData::PTR(ptr)
            if ptr.0.to_string().trim_end_matches('.') == "greeter._services.micro")
    })
}

#[test]
fn another_host_is_answered_only_on_the_interfaces_mdns_was_given() {
    in_netns(
        "another_host_is_answered_only_on_the_interfaces_mdns_was_given",
        async {
            let host_b = OtherHost::joined();
            // Another mDNS program on host A (avahi, say) listens on the veth, so its network
            // stack takes in multicast queries arriving there.
            let avahi = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
            avahi
                .join_multicast_v4(&"224.0.0.251".parse().unwrap(), &HOST_A)
                .unwrap();

            // Defaults: loopback only. Host A's own clients find the service; host B gets nothing.
            let on_loopback = mdns();
            let svc = service("greeter", "1", "greeter-1", 9001);
            on_loopback.register(&svc, None).await.unwrap();
            let names: Vec<String> = mdns()
                .list_services()
                .await
                .unwrap()
                .into_iter()
                .map(|s| s.name)
                .collect();
            assert_eq!(names, ["greeter"]);
            let answered = host_b.ask_for_the_service_list().await;
            assert!(answered.is_empty(), "host B was answered by: {answered:?}");
            drop(on_loopback);

            // Given the veth, the same questions from host B are answered, every way.
            let on_veth = Mdns::new(MdnsOptions {
                interfaces: vec!["veth-a".into()],
                ..Default::default()
            })
            .unwrap();
            on_veth.register(&svc, None).await.unwrap();
            let answered = host_b.ask_for_the_service_list().await;
            assert_eq!(
                answered,
                [
                    "multicast query",
                    "unicast query",
                    "query from the mDNS port"
                ]
            );
            drop(avahi);
        },
    );
}

mod hostile {
    //! Raw packets built by hand, sent to the responders' multicast group.

    use flate2::Compression;
    use flate2::write::ZlibEncoder;
    use simple_dns::rdata::{A, RData, SRV, TXT};
    use simple_dns::{CLASS, CharacterString, Name, Packet, PacketFlag, ResourceRecord};
    use std::io::Write;

    pub fn zlib(data: &[u8]) -> Vec<u8> {
        let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
        z.write_all(data).unwrap();
        z.finish().unwrap()
    }

    /// An announcement of `evil-1.greeter.micro.` whose TXT strings join to `txt`.
    pub fn announcement(txt: &str) -> Vec<u8> {
        let instance = Name::new("evil-1.greeter.micro").unwrap();
        let host = Name::new("evil").unwrap();
        let mut packet = Packet::new_reply(0);
        packet.set_flags(PacketFlag::AUTHORITATIVE_ANSWER);
        let srv = SRV {
            priority: 10,
            weight: 1,
            port: 6666,
            target: host.clone(),
        };
        packet.answers.push(ResourceRecord::new(
            instance.clone(),
            CLASS::IN,
            120,
            RData::SRV(srv),
        ));
        packet.answers.push(ResourceRecord::new(
            host,
            CLASS::IN,
            120,
            RData::A(A::from(std::net::Ipv4Addr::new(127, 0, 0, 66))),
        ));
        let mut record = TXT::new();
        for chunk in txt.as_bytes().chunks(255) {
            record.add_char_string(CharacterString::new(chunk).unwrap());
        }
        packet.answers.push(ResourceRecord::new(
            instance,
            CLASS::IN,
            120,
            RData::TXT(record),
        ));
        packet.build_bytes_vec_compressed().unwrap()
    }

    /// Every class of bad packet, named.
    pub fn packets(valid: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
        let mut giant = valid.to_vec();
        giant[4..12].copy_from_slice(&[0xff; 8]);
        let mut pointer_loop = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        pointer_loop.extend_from_slice(&[0xc0, 12, 0, 12, 0, 1]);
        let mut answer_loop = vec![0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0];
        answer_loop.extend_from_slice(&[0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 120, 0, 1, 0]);
        let bomb = hex::encode(zlib(&vec![0u8; 16 << 20]));
        let mut packets = vec![
            ("empty", vec![]),
            ("short header", vec![0, 0, 0x84]),
            ("truncated answer", valid[..valid.len() / 2].to_vec()),
            ("giant counts", giant),
            ("compression loop in a query", pointer_loop),
            ("compression loop in an answer", answer_loop),
            ("bad hex", announcement("zz-not-hex")),
            ("bad zlib", announcement(&hex::encode(b"plain bytes"))),
            ("zlib bomb", announcement(&bomb)),
            (
                "bad json",
                announcement(&hex::encode(zlib(b"{\"Service\": greeter"))),
            ),
            (
                "json of the wrong shape",
                announcement(&hex::encode(zlib(b"{\"Service\": 42}"))),
            ),
            (
                "payload naming another service",
                announcement(&hex::encode(zlib(
                    br#"{"Service":"billing","Version":"1"}"#,
                ))),
            ),
        ];
        for cut in [1, 13, 40, valid.len() - 1] {
            packets.push(("truncated", valid[..cut].to_vec()));
        }
        packets
    }
}

#[test]
fn hostile_packets_are_dropped_and_the_responder_keeps_answering() {
    in_netns(
        "hostile_packets_are_dropped_and_the_responder_keeps_answering",
        async {
            let server = mdns();
            let client = mdns();
            let svc = service("greeter", "1", "greeter-1", 9001);
            let mut watcher = client.watch(None).await.unwrap();
            server.register(&svc, None).await.unwrap();
            assert_eq!(next(&mut watcher).await.action, Action::Create);
            quiet(&mut watcher, Duration::from_millis(1500)).await; // let re-announcements pass

            let valid = hostile::announcement(&hex::encode(hostile::zlib(
                br#"{"Service":"greeter","Version":"1","Metadata":{"a":"b"}}"#,
            )));
            let sender = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            for (what, packet) in hostile::packets(&valid) {
                sender.send_to(&packet, "224.0.0.251:5353").await.unwrap();
                // Also straight at the port, as a unicast packet.
                sender.send_to(&packet, "127.0.0.1:5353").await.unwrap();
                println!("sent {what} ({} bytes)", packet.len());
            }
            quiet(&mut watcher, Duration::from_millis(500)).await;

            // State is intact: the real node is found, unchanged, and nothing else is.
            let found = client.get_service("greeter").await.unwrap();
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].nodes, svc.nodes);
            assert_eq!(found[0].endpoints, svc.endpoints);

            // And both ends still work: a well-formed announcement is still heard.
            sender.send_to(&valid, "224.0.0.251:5353").await.unwrap();
            let event = next(&mut watcher).await;
            assert_eq!(event.action, Action::Create);
            assert_eq!(event.service.nodes[0].id, "evil-1");
            assert_eq!(event.service.nodes[0].address, "127.0.0.66:6666");
            assert_eq!(event.service.nodes[0].metadata["a"], "b");
        },
    );
}

/// Runs the Go helper to completion and returns its stdout.
fn go(helper: &PathBuf, args: &[&str]) -> String {
    let out = Command::new(helper).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "mdnscapture {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn go_micro_finds_our_node_and_we_find_its_node() {
    let Some(helper) = support::go_program("mdnscapture") else {
        return;
    };
    in_netns("go_micro_finds_our_node_and_we_find_its_node", async move {
        let ours = mdns();

        // go-micro's node, seen by us: lookup, listing, and its coming and going.
        let mut watcher = ours.watch(Some("gogreeter")).await.unwrap();
        let mut child = Command::new(&helper)
            .args(["serve", "gogreeter", "127.0.0.1:9191"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        assert_eq!(lines.next().unwrap().unwrap(), "ready");
        let created = next(&mut watcher).await;
        assert_eq!(created.action, Action::Create);
        assert_eq!(created.service.nodes[0].id, "gogreeter-go-1");

        let found = ours.get_service("gogreeter").await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].version, "1.0.0");
        let node = &found[0].nodes[0];
        assert_eq!(node.id, "gogreeter-go-1");
        assert_eq!(node.address, "127.0.0.1:9191");
        assert_eq!(node.metadata["protocol"], "mucp");
        let endpoint = &found[0].endpoints[0];
        assert_eq!(endpoint.name, "Greeter.Hello");
        assert_eq!(endpoint.metadata["description"], "Greets a person by name");
        assert_eq!(endpoint.request.as_ref().unwrap().values[0].name, "name");
        let names: Vec<String> = ours
            .list_services()
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert!(names.contains(&"gogreeter".to_string()), "{names:?}");

        drop(child.stdin.take()); // go-micro deregisters on stdin EOF
        assert_eq!(lines.next().unwrap().unwrap(), "deregistered");
        assert!(child.wait().unwrap().success());
        loop {
            let event = next(&mut watcher).await;
            if event.action == Action::Delete {
                assert_eq!(event.service.nodes[0].id, "gogreeter-go-1");
                break;
            }
        }

        // Our node, seen by go-micro: its watcher, its lookup and its listing.
        let helper2 = helper.clone();
        let mut go_watch = Command::new(&helper2)
            .args(["watch", "rsgreeter"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut watch_lines = BufReader::new(go_watch.stdout.take().unwrap()).lines();
        assert_eq!(watch_lines.next().unwrap().unwrap(), "ready");
        let svc = service("rsgreeter", "2.0.0", "rsgreeter-1", 9292);
        ours.register(&svc, None).await.unwrap();

        let got: serde_json::Value =
            serde_json::from_str(&go(&helper, &["get", "rsgreeter"])).unwrap();
        assert_eq!(got[0]["name"], "rsgreeter");
        assert_eq!(got[0]["version"], "2.0.0");
        assert_eq!(got[0]["nodes"][0]["id"], "rsgreeter-1");
        assert_eq!(got[0]["nodes"][0]["address"], "127.0.0.1:9292");
        assert_eq!(got[0]["nodes"][0]["metadata"]["protocol"], "mucp");
        assert_eq!(got[0]["endpoints"][0]["name"], "Greeter.Hello");
        assert_eq!(got[0]["endpoints"][0]["metadata"]["description"], "Greets");
        assert_eq!(
            got[0]["endpoints"][0]["request"]["values"][0]["type"],
            "string"
        );
        let listed: serde_json::Value = serde_json::from_str(&go(&helper, &["list"])).unwrap();
        let listed: Vec<&str> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert!(listed.contains(&"rsgreeter"), "{listed:?}");

        ours.deregister(&svc).await.unwrap();
        let events: Vec<serde_json::Value> = watch_lines
            .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
            .collect();
        assert!(go_watch.wait().unwrap().success());
        assert_eq!(events.first().unwrap()["Action"], "create");
        assert_eq!(events.last().unwrap()["Action"], "delete");
        for event in &events {
            assert_eq!(event["Service"]["nodes"][0]["id"], "rsgreeter-1");
            assert_eq!(event["Service"]["nodes"][0]["address"], "127.0.0.1:9292");
        }
        let _ = std::io::stdout().flush();
    });
}
