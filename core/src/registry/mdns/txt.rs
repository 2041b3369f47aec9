//! The TXT payload go-micro puts on every mDNS node record: the JSON of
//! `{Service, Version, Metadata, Endpoints}` (capitalised keys; `Metadata` is the node's), zlib
//! compressed, written as lower-case hex and cut into DNS strings of at most 255 characters.
//! Decoding joins the strings and undoes each step, capping how far the zlib stream may inflate
//! so a small hostile packet cannot make us allocate without bound.

use crate::errors::{Error, Result};
use crate::registry::{Endpoint, Metadata, nullable};
use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

/// The longest string one DNS TXT character-string holds.
const MAX_STRING: usize = 255;

/// How large the inflated JSON may grow; real payloads are a few KiB.
pub(crate) const MAX_INFLATED: usize = 1 << 20;

/// The decoded payload of a node's TXT record.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct Txt {
    /// The service name.
    #[serde(
        rename = "Service",
        alias = "service",
        default,
        deserialize_with = "nullable::deserialize"
    )]
    pub service: String,
    /// The service version.
    #[serde(
        rename = "Version",
        alias = "version",
        default,
        deserialize_with = "nullable::deserialize"
    )]
    pub version: String,
    /// The node's metadata (go-micro puts node, not service, metadata here).
    #[serde(rename = "Metadata", alias = "metadata", default, with = "nullable")]
    pub metadata: Metadata,
    /// The service's endpoints, in the registry's lower-case JSON.
    #[serde(rename = "Endpoints", alias = "endpoints", default, with = "nullable")]
    pub endpoints: Vec<Endpoint>,
}

/// Encodes the payload into TXT strings.
pub(crate) fn encode(txt: &Txt) -> Result<Vec<String>> {
    let json = serde_json::to_vec(txt).map_err(|e| {
        Error::internal(
            "micro.registry.mdns",
            format!("could not encode the node's TXT record as JSON: {e}"),
        )
    })?;
    let mut zlib = ZlibEncoder::new(Vec::new(), Compression::default());
    let compressed = zlib
        .write_all(&json)
        .and_then(|_| zlib.finish())
        .map_err(|e| {
            Error::internal(
                "micro.registry.mdns",
                format!("could not compress the node's TXT record: {e}"),
            )
        })?;
    let hex = hex::encode(compressed);
    Ok(hex
        .as_bytes()
        .chunks(MAX_STRING)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect())
}

/// Decodes TXT strings (already joined) into the payload, with a clear error for each way the
/// data can be wrong.
pub(crate) fn decode(joined: &[u8]) -> Result<Txt> {
    let compressed = hex::decode(joined).map_err(|e| bad(format!("TXT is not hex: {e}")))?;
    let mut json = Vec::new();
    ZlibDecoder::new(compressed.as_slice())
        .take(MAX_INFLATED as u64 + 1)
        .read_to_end(&mut json)
        .map_err(|e| bad(format!("TXT is not a zlib stream: {e}")))?;
    if json.len() > MAX_INFLATED {
        return Err(bad(format!(
            "TXT inflates past the {MAX_INFLATED}-byte cap"
        )));
    }
    serde_json::from_slice(&json).map_err(|e| bad(format!("TXT JSON does not parse: {e}")))
}

fn bad(detail: String) -> Error {
    Error::bad_request("micro.registry.mdns", detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Value;

    fn sample() -> Txt {
        Txt {
            service: "greeter".into(),
            version: "1.0.0".into(),
            metadata: [("protocol".to_string(), "mucp".to_string())].into(),
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
                metadata: [("description".to_string(), "x".repeat(600))].into(),
            }],
        }
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
        z.write_all(data).unwrap();
        z.finish().unwrap()
    }

    #[test]
    fn payload_round_trips_through_split_lower_case_hex() {
        let strings = encode(&sample()).unwrap();
        assert!(strings.len() > 1, "a long payload spans several strings");
        assert!(strings.iter().all(|s| s.len() <= MAX_STRING));
        assert!(
            strings
                .concat()
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(decode(strings.concat().as_bytes()).unwrap(), sample());
    }

    #[test]
    fn json_keys_are_capitalised_on_the_wire() {
        let json = serde_json::to_value(sample()).unwrap();
        let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        for key in ["Service", "Version", "Metadata", "Endpoints"] {
            assert!(keys.contains(&key.to_string()), "{keys:?}");
        }
    }

    #[test]
    fn lower_case_keys_and_nulls_decode_too() {
        let json = br#"{"service":"greeter","version":null,"metadata":null,"endpoints":null}"#;
        let txt = decode(hex::encode(zlib(json)).as_bytes()).unwrap();
        assert_eq!(txt.service, "greeter");
        assert!(txt.version.is_empty() && txt.metadata.is_empty() && txt.endpoints.is_empty());
    }

    #[test]
    fn bad_hex_is_an_error() {
        assert!(decode(b"zz12").unwrap_err().detail.contains("not hex"));
        assert!(decode(b"abc").unwrap_err().detail.contains("not hex"));
    }

    #[test]
    fn bad_zlib_is_an_error() {
        let err = decode(hex::encode(b"not zlib at all").as_bytes()).unwrap_err();
        assert!(err.detail.contains("zlib"), "{err}");
        let mut cut = zlib(br#"{"Service":"greeter"}"#);
        cut.truncate(cut.len() - 6);
        assert!(decode(hex::encode(cut).as_bytes()).is_err());
    }

    #[test]
    fn zlib_bomb_is_capped() {
        let bomb = zlib(&vec![b' '; 64 * MAX_INFLATED]);
        assert!(bomb.len() < 100_000, "the bomb is small on the wire");
        let err = decode(hex::encode(bomb).as_bytes()).unwrap_err();
        assert!(err.detail.contains("cap"), "{err}");
    }

    #[test]
    fn json_that_does_not_parse_is_an_error() {
        for json in [&b"{not json"[..], b"[1,2,3]", br#"{"Service":5}"#] {
            let err = decode(hex::encode(zlib(json)).as_bytes()).unwrap_err();
            assert!(err.detail.contains("JSON"), "{err}");
        }
    }
}
