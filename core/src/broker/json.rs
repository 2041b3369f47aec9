//! go-micro's broker message on the wire, as the HTTP and NATS brokers send it: its
//! `broker.Message` through Go's `encoding/json`, `{"Header":{..},"Body":"<base64>"}`.

use super::Message;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The message as sent: Go's keys are capitalised and the body is standard base64.
#[derive(Serialize)]
struct Out<'a> {
    #[serde(rename = "Header")]
    header: &'a HashMap<String, String>,
    #[serde(rename = "Body")]
    body: String,
}

/// The message as received. Go matches keys without regard to case; we take both spellings
/// go-micro peers use. Absent or `null` fields are empty, as in Go.
#[derive(Deserialize)]
struct In {
    #[serde(rename = "Header", alias = "header", default)]
    header: Option<HashMap<String, String>>,
    #[serde(rename = "Body", alias = "body", default)]
    body: Option<String>,
}

/// The JSON a publisher sends.
pub(crate) fn encode(message: &Message) -> Bytes {
    let wire = Out {
        header: &message.header,
        body: BASE64.encode(&message.body),
    };
    Bytes::from(serde_json::to_vec(&wire).expect("string maps always serialize"))
}

/// The message in `json`, or what is wrong with it.
pub(crate) fn decode(json: &[u8]) -> Result<Message, String> {
    let wire: In = serde_json::from_slice(json).map_err(|err| {
        format!(r#"the body is not a broker message {{"Header":{{..}},"Body":"<base64>"}}: {err}"#)
    })?;
    let body = match wire.body {
        Some(text) => BASE64
            .decode(text)
            .map_err(|err| format!("the message Body is not standard base64: {err}"))?,
        None => Vec::new(),
    };
    Ok(Message {
        header: wire.header.unwrap_or_default(),
        body: Bytes::from(body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_go_encoding_json() {
        let message = Message {
            header: HashMap::from([("Micro-Topic".to_string(), "events".to_string())]),
            body: Bytes::from_static(b"{\"name\":\"John\"}"),
        };
        assert_eq!(
            encode(&message),
            r#"{"Header":{"Micro-Topic":"events"},"Body":"eyJuYW1lIjoiSm9obiJ9"}"#
        );
    }

    #[test]
    fn decodes_either_key_case_and_null_fields() {
        let message = decode(br#"{"header":{"Micro-Topic":"t"},"body":null}"#).unwrap();
        assert_eq!(message.header["Micro-Topic"], "t");
        assert!(message.body.is_empty());
        let message = decode(br#"{"Header":null,"Body":"aGk=","Extra":1}"#).unwrap();
        assert_eq!(message.body, "hi");
        assert!(decode(b"null").is_err());
        assert!(decode(br#"{"Body":"not base64!"}"#).is_err());
    }
}
