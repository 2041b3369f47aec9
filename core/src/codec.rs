//! Message body encodings, chosen by `Content-Type` as go-micro's RPC server chooses them.
//!
//! A [`Codec`] turns a body as it came off the wire into what a handler needs, and back:
//! [`Codec::unframe`] takes the payload out of a body and [`Codec::frame`] puts one back (the
//! server and client do this for every handler); typed (serde) handlers then read and write
//! payloads as JSON with [`Codec::decode`] and [`Codec::encode`], and raw handlers, which
//! bindings use to bring their own protobuf, take the payload as it is. The gRPC kinds wrap
//! each payload in gRPC's 5-byte prefix (one flag byte, then the length as a big-endian `u32`);
//! the others carry the payload as is.
//!
//! | Content-Type               | [`Codec`]     | framed | typed handlers |
//! |----------------------------|---------------|--------|----------------|
//! | `application/json`         | `Json`        | no     | yes            |
//! | `application/protobuf`     | `Protobuf`    | no     | no (raw only)  |
//! | `application/grpc`         | `Grpc`        | yes    | no (raw only)  |
//! | `application/grpc+json`    | `GrpcJson`    | yes    | yes            |
//! | `application/grpc+proto`   | `GrpcProto`   | yes    | no (raw only)  |
//! | `application/octet-stream` | `OctetStream` | no     | no (raw only)  |
//!
//! go-micro also knows `application/json-rpc` and `application/proto-rpc`, legacy envelopes
//! that put the method and id inside the body. libmicro does not speak them; they get a 415
//! naming the modern type to use instead.
//!
//! An empty body decodes the way go-micro leaves an unread request: at its zero value. go-micro's
//! server never hands an empty body to a codec, so a handler sees a request with every field
//! unset. [`Codec::decode`] reads an empty body as `{}` (or, for unit and `Option` types, as
//! `null`), so a request type whose fields are `Option`s or `#[serde(default)]` decodes to its
//! empty value, and one with required fields gets a 400 naming the first missing field.
//!
//! ```
//! use micro::codec::Codec;
//!
//! let codec = Codec::from_content_type("application/grpc+json; charset=utf-8").unwrap();
//! let body = codec.frame(codec.encode(&serde_json::json!({"name": "Alice"})).unwrap());
//! assert_eq!(&body[..5], &[0, 0, 0, 0, 16]);
//! let back: serde_json::Value = codec.decode(codec.unframe(body).unwrap()).unwrap();
//! assert_eq!(back["name"], "Alice");
//! ```

use crate::errors::{Error, Result};
use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;

/// The content type go-micro's server assumes when a request carries no `Content-Type`.
pub const DEFAULT_CONTENT_TYPE: &str = "application/protobuf";

/// The content types a [`Codec`] exists for, as listed in errors.
pub const SUPPORTED: [&str; 6] = [
    "application/json",
    "application/protobuf",
    "application/grpc",
    "application/grpc+json",
    "application/grpc+proto",
    "application/octet-stream",
];

/// The id on errors raised here.
const ID: &str = "micro.codec";

/// The length of gRPC's message prefix: one flag byte and a big-endian `u32` length.
const GRPC_PREFIX: usize = 5;

/// One body encoding go-micro's transport carries, named by its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// `application/json`: a JSON document; go-micro's client default.
    Json,
    /// `application/protobuf`: protobuf bytes, handed to raw handlers untouched.
    Protobuf,
    /// `application/grpc`: gRPC-framed protobuf.
    Grpc,
    /// `application/grpc+json`: gRPC-framed JSON.
    GrpcJson,
    /// `application/grpc+proto`: gRPC-framed protobuf.
    GrpcProto,
    /// `application/octet-stream`: bytes, handed to raw handlers untouched.
    OctetStream,
}

impl Codec {
    /// The codec for a `Content-Type` header value. Parameters (`; charset=utf-8`) and case are
    /// ignored; an empty value means [`DEFAULT_CONTENT_TYPE`]. Anything else is a 415 listing
    /// the supported types.
    pub fn from_content_type(content_type: &str) -> Result<Codec> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        let media = if media.is_empty() {
            DEFAULT_CONTENT_TYPE
        } else {
            media
        };
        match media.to_ascii_lowercase().as_str() {
            "application/json" => Ok(Codec::Json),
            "application/protobuf" => Ok(Codec::Protobuf),
            "application/grpc" => Ok(Codec::Grpc),
            "application/grpc+json" => Ok(Codec::GrpcJson),
            "application/grpc+proto" => Ok(Codec::GrpcProto),
            "application/octet-stream" => Ok(Codec::OctetStream),
            "application/json-rpc" => Err(legacy(media, "application/json")),
            "application/proto-rpc" => Err(legacy(media, "application/protobuf")),
            _ => Err(unsupported(format!(
                "Content-Type {media:?} is not supported; use one of {}",
                SUPPORTED.join(", ")
            ))),
        }
    }

    /// The canonical `Content-Type` of this codec, e.g. `application/grpc+json`.
    pub fn content_type(&self) -> &'static str {
        match self {
            Codec::Json => "application/json",
            Codec::Protobuf => "application/protobuf",
            Codec::Grpc => "application/grpc",
            Codec::GrpcJson => "application/grpc+json",
            Codec::GrpcProto => "application/grpc+proto",
            Codec::OctetStream => "application/octet-stream",
        }
    }

    /// Whether the payload is JSON, so typed (serde) handlers can decode it.
    pub fn is_json(&self) -> bool {
        matches!(self, Codec::Json | Codec::GrpcJson)
    }

    /// Whether each payload carries gRPC's 5-byte prefix on the wire.
    pub fn is_framed(&self) -> bool {
        matches!(self, Codec::Grpc | Codec::GrpcJson | Codec::GrpcProto)
    }

    /// The payload inside a body as it came off the wire. For the gRPC kinds the 5-byte prefix
    /// is checked and stripped: a body too short for it, a length that does not match, or the
    /// compressed flag set is a 400. An empty body stays empty (go-micro sends an empty
    /// payload as no body at all). Other kinds return the body as is.
    pub fn unframe(&self, body: Bytes) -> Result<Bytes> {
        if !self.is_framed() || body.is_empty() {
            return Ok(body);
        }
        if body.len() < GRPC_PREFIX {
            return Err(Error::bad_request(
                ID,
                format!(
                    "{} body of {} bytes is shorter than gRPC's 5-byte message prefix (flag byte + u32 length)",
                    self.content_type(),
                    body.len()
                ),
            ));
        }
        match body[0] {
            0 => {}
            1 => {
                return Err(Error::bad_request(
                    ID,
                    format!(
                        "{} message is compressed (flag byte 1); compression is not supported, send it uncompressed",
                        self.content_type()
                    ),
                ));
            }
            flag => {
                return Err(Error::bad_request(
                    ID,
                    format!(
                        "{} message has flag byte {flag}; it must be 0 (uncompressed)",
                        self.content_type()
                    ),
                ));
            }
        }
        let declared = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        let carried = body.len() - GRPC_PREFIX;
        if declared != carried {
            return Err(Error::bad_request(
                ID,
                format!(
                    "{} prefix declares a {declared}-byte message but {carried} bytes follow it; send exactly one whole message per body",
                    self.content_type()
                ),
            ));
        }
        Ok(body.slice(GRPC_PREFIX..))
    }

    /// The body to put on the wire for a payload: for the gRPC kinds the payload behind gRPC's
    /// 5-byte prefix (an empty payload stays an empty body, as go-micro writes it), for the
    /// others the payload as is.
    ///
    /// # Panics
    /// For a gRPC kind, when the payload is 4 GiB or more: gRPC's length field is 32 bits.
    /// Bodies are capped far below that before they get here.
    pub fn frame(&self, payload: Bytes) -> Bytes {
        if !self.is_framed() || payload.is_empty() {
            return payload;
        }
        let len = u32::try_from(payload.len()).expect("a gRPC message is under 4 GiB");
        let mut body = BytesMut::with_capacity(GRPC_PREFIX + payload.len());
        body.put_u8(0);
        body.put_u32(len);
        body.put_slice(&payload);
        body.freeze()
    }

    /// Decodes a JSON payload (a body after [`Codec::unframe`]) into `T`.
    ///
    /// Only the JSON kinds decode: a bad body is a 400 naming `T` and serde's complaint; the
    /// other kinds are a 415, since typed handlers need JSON and protobuf goes to raw handlers.
    /// An empty body decodes as `{}`, or `null` for unit and `Option` types (see the module
    /// doc for why).
    pub fn decode<T: DeserializeOwned>(&self, payload: Bytes) -> Result<T> {
        self.require_json::<T>("decode a request into")?;
        if payload.is_empty() {
            return decode_empty();
        }
        serde_json::from_slice(&payload).map_err(|e| {
            Error::bad_request(
                ID,
                format!(
                    "cannot decode the {} body as {}: {e}",
                    self.content_type(),
                    std::any::type_name::<T>()
                ),
            )
        })
    }

    /// Encodes `value` as a JSON payload; [`Codec::frame`] makes it a body.
    ///
    /// Only the JSON kinds encode; the others are a 415. A value serde cannot write as JSON
    /// (a map with non-string keys, a failing `Serialize`) is a 500.
    pub fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Bytes> {
        self.require_json::<T>("encode a response from")?;
        let out = serde_json::to_vec(value).map_err(|e| {
            Error::internal(
                ID,
                format!("cannot encode {} as JSON: {e}", std::any::type_name::<T>()),
            )
        })?;
        Ok(Bytes::from(out))
    }

    /// A 415 unless this is a JSON kind; `action` says what the caller tried.
    fn require_json<T: ?Sized>(&self, action: &str) -> Result<()> {
        if self.is_json() {
            return Ok(());
        }
        Err(unsupported(format!(
            "cannot {action} {} with Content-Type {}: typed handlers need JSON (application/json or application/grpc+json); register a raw handler to take {} bodies",
            std::any::type_name::<T>(),
            self.content_type(),
            self.content_type()
        )))
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.content_type())
    }
}

/// `T` from an empty body: `{}` first (structs with optional or defaulted fields), then `null`
/// (unit and `Option` types); when neither fits, the `{}` complaint, which names what is missing.
fn decode_empty<T: DeserializeOwned>() -> Result<T> {
    match serde_json::from_slice(b"{}") {
        Ok(value) => Ok(value),
        Err(e) => serde_json::from_slice(b"null").map_err(|_| {
            Error::bad_request(
                ID,
                format!(
                    "the body is empty but {} needs one: {e}",
                    std::any::type_name::<T>()
                ),
            )
        }),
    }
}

/// A 415 with the given detail.
fn unsupported(detail: String) -> Error {
    Error::new(ID, detail, 415)
}

/// The 415 for one of go-micro's legacy RPC envelopes.
fn legacy(media: &str, instead: &str) -> Error {
    unsupported(format!(
        "Content-Type {media} is go-micro's legacy RPC envelope, which libmicro does not speak; send {instead} instead"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::HashMap;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Request {
        name: String,
    }

    #[derive(Debug, PartialEq, Default, Serialize, Deserialize)]
    #[serde(default)]
    struct Lenient {
        name: String,
        count: i64,
    }

    #[test]
    fn every_supported_content_type_round_trips_through_its_name() {
        for ct in SUPPORTED {
            let codec = Codec::from_content_type(ct).unwrap();
            assert_eq!(codec.content_type(), ct);
            assert_eq!(codec.to_string(), ct);
        }
    }

    #[test]
    fn content_type_parameters_and_case_are_ignored() {
        let codec = Codec::from_content_type(" Application/JSON ; charset=utf-8").unwrap();
        assert_eq!(codec, Codec::Json);
    }

    #[test]
    fn missing_content_type_means_protobuf_like_go_micro() {
        assert_eq!(Codec::from_content_type("").unwrap(), Codec::Protobuf);
        assert_eq!(
            Codec::from_content_type(DEFAULT_CONTENT_TYPE).unwrap(),
            Codec::Protobuf
        );
    }

    #[test]
    fn unknown_content_type_is_415_listing_the_supported_ones() {
        let err = Codec::from_content_type("text/plain").unwrap_err();
        assert_eq!(
            (err.code, err.status.as_str()),
            (415, "Unsupported Media Type")
        );
        assert!(err.detail.contains("\"text/plain\""), "{}", err.detail);
        for ct in SUPPORTED {
            assert!(
                err.detail.contains(ct),
                "{} missing from {}",
                ct,
                err.detail
            );
        }
    }

    #[test]
    fn legacy_rpc_envelopes_are_415_pointing_at_the_modern_type() {
        let err = Codec::from_content_type("application/json-rpc").unwrap_err();
        assert_eq!(err.code, 415);
        assert!(err.detail.contains("legacy") && err.detail.contains("send application/json"));
        let err = Codec::from_content_type("application/proto-rpc").unwrap_err();
        assert!(
            err.detail.contains("send application/protobuf"),
            "{}",
            err.detail
        );
    }

    #[test]
    fn json_kinds_decode_and_encode() {
        for codec in [Codec::Json, Codec::GrpcJson] {
            assert!(codec.is_json());
            let body = codec
                .encode(&Request {
                    name: "Alice".into(),
                })
                .unwrap();
            let back: Request = codec.decode(body).unwrap();
            assert_eq!(back.name, "Alice");
        }
    }

    #[test]
    fn json_encoding_is_plain_json() {
        let body = Codec::Json
            .encode(&Request {
                name: "Alice".into(),
            })
            .unwrap();
        assert_eq!(&body[..], br#"{"name":"Alice"}"#);
    }

    #[test]
    fn go_micro_json_with_trailing_newline_decodes() {
        // go-micro's JSON codec writes with json.Encoder, which ends each document with '\n'.
        let req: Request = Codec::Json
            .decode(Bytes::from_static(b"{\"name\":\"Bob\"}\n"))
            .unwrap();
        assert_eq!(req.name, "Bob");
    }

    #[test]
    fn bad_json_is_400_naming_the_type_and_the_fault() {
        let err = Codec::Json
            .decode::<Request>(Bytes::from_static(br#"{"name": 5}"#))
            .unwrap_err();
        assert_eq!(err.code, 400);
        assert!(
            err.detail.contains("codec::tests::Request"),
            "{}",
            err.detail
        );
        assert!(
            err.detail.contains("invalid type: integer `5`"),
            "{}",
            err.detail
        );
    }

    #[test]
    fn empty_body_decodes_to_the_empty_value_when_the_type_allows() {
        let empty = Bytes::new();
        assert_eq!(
            Codec::Json.decode::<Lenient>(empty.clone()).unwrap(),
            Lenient::default()
        );
        assert_eq!(
            Codec::GrpcJson.decode::<Lenient>(empty.clone()).unwrap(),
            Lenient::default()
        );
        let map: HashMap<String, String> = Codec::Json.decode(empty.clone()).unwrap();
        assert!(map.is_empty());
        Codec::Json.decode::<()>(empty.clone()).unwrap();
        assert_eq!(Codec::Json.decode::<Option<Request>>(empty).unwrap(), None);
    }

    #[test]
    fn empty_body_for_a_type_with_required_fields_is_400_naming_the_field() {
        let err = Codec::Json.decode::<Request>(Bytes::new()).unwrap_err();
        assert_eq!(err.code, 400);
        assert!(err.detail.contains("body is empty"), "{}", err.detail);
        assert!(
            err.detail.contains("missing field `name`"),
            "{}",
            err.detail
        );
    }

    #[test]
    fn typed_use_of_a_binary_codec_is_415_pointing_at_raw_handlers() {
        for codec in [
            Codec::Protobuf,
            Codec::Grpc,
            Codec::GrpcProto,
            Codec::OctetStream,
        ] {
            assert!(!codec.is_json());
            let err = codec
                .decode::<Request>(Bytes::from_static(b"\x0a\x01a"))
                .unwrap_err();
            assert_eq!(err.code, 415);
            assert!(
                err.detail.contains("typed handlers need JSON"),
                "{}",
                err.detail
            );
            assert!(err.detail.contains("raw handler"), "{}", err.detail);
            let err = codec.encode(&Request { name: "a".into() }).unwrap_err();
            assert_eq!(err.code, 415);
        }
    }

    #[test]
    fn unencodable_value_is_500() {
        let mut map = HashMap::new();
        map.insert(vec![1u8], 1);
        let err = Codec::Json.encode(&map).unwrap_err();
        assert_eq!(err.code, 500);
        assert!(err.detail.contains("cannot encode"), "{}", err.detail);
    }

    #[test]
    fn grpc_frame_is_flag_byte_and_big_endian_length() {
        let body = Codec::Grpc.frame(Bytes::from_static(b"\x0a\x05Alice"));
        assert_eq!(&body[..], b"\x00\x00\x00\x00\x07\x0a\x05Alice");
        assert_eq!(&Codec::Grpc.unframe(body).unwrap()[..], b"\x0a\x05Alice");
    }

    #[test]
    fn grpc_json_encoding_is_framed_json() {
        let codec = Codec::GrpcJson;
        let body = codec.frame(codec.encode(&Request { name: "Al".into() }).unwrap());
        assert_eq!(&body[..], b"\x00\x00\x00\x00\x0d{\"name\":\"Al\"}");
    }

    #[test]
    fn unframed_codecs_pass_bodies_through() {
        let body = Bytes::from_static(b"\x00\x01raw");
        for codec in [Codec::Json, Codec::Protobuf, Codec::OctetStream] {
            assert!(!codec.is_framed());
            assert_eq!(codec.frame(body.clone()), body);
            assert_eq!(codec.unframe(body.clone()).unwrap(), body);
        }
    }

    #[test]
    fn empty_grpc_payload_is_an_empty_body_both_ways() {
        assert!(Codec::GrpcProto.frame(Bytes::new()).is_empty());
        assert!(Codec::GrpcProto.unframe(Bytes::new()).unwrap().is_empty());
        let zero = Bytes::from_static(b"\x00\x00\x00\x00\x00");
        assert!(Codec::GrpcProto.unframe(zero).unwrap().is_empty());
    }

    #[test]
    fn grpc_body_shorter_than_the_prefix_is_400() {
        let err = Codec::Grpc
            .unframe(Bytes::from_static(b"\x00\x00"))
            .unwrap_err();
        assert_eq!(err.code, 400);
        assert!(
            err.detail.contains("shorter than gRPC's 5-byte"),
            "{}",
            err.detail
        );
    }

    #[test]
    fn grpc_compressed_message_is_400() {
        let err = Codec::Grpc
            .unframe(Bytes::from_static(b"\x01\x00\x00\x00\x01x"))
            .unwrap_err();
        assert_eq!(err.code, 400);
        assert!(err.detail.contains("compressed"), "{}", err.detail);
        let err = Codec::Grpc
            .unframe(Bytes::from_static(b"\x07\x00\x00\x00\x01x"))
            .unwrap_err();
        assert!(err.detail.contains("flag byte 7"), "{}", err.detail);
    }

    #[test]
    fn grpc_length_mismatch_is_400() {
        let short = Codec::Grpc.unframe(Bytes::from_static(b"\x00\x00\x00\x00\x09abc"));
        assert!(
            short
                .unwrap_err()
                .detail
                .contains("declares a 9-byte message but 3 bytes")
        );
        let long = Codec::Grpc.unframe(Bytes::from_static(b"\x00\x00\x00\x00\x01abc"));
        assert_eq!(long.unwrap_err().code, 400);
        let bad = Codec::GrpcJson.unframe(Bytes::from_static(b"\x00\xff\xff\xff\xff{}"));
        assert_eq!(bad.unwrap_err().code, 400);
    }
}
