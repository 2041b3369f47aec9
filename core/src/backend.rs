//! What the stores on servers (PostgreSQL, Redis) say the same way: how their address is
//! given, that the server cannot be reached, and that a request to it failed. Where the server
//! is appears as host, port and database only, never with a password.

use crate::errors::{Error, Kind, Result};
use std::fmt::Display;

/// A kind of server a store runs on, as its errors name it.
pub(crate) struct Server {
    /// The errors' id, e.g. `micro.store.postgres`.
    pub id: &'static str,
    /// `postgres`, `redis`: the store's name and its URL scheme.
    pub name: &'static str,
    /// An address to copy, e.g. `postgres://user:password@host:5432/dbname`.
    pub example: &'static str,
}

impl Server {
    /// The server's URL from the store's address, or the error saying how to give it.
    pub fn url<'a>(&self, address: Option<&'a str>) -> Result<&'a str> {
        address.ok_or_else(|| {
            Error::bad_request(
                self.id,
                format!(
                    "the {} store needs the server's URL: set MICRO_STORE_ADDRESS={}",
                    self.name, self.example
                ),
            )
        })
    }

    /// The error for a URL the server's client refused.
    pub fn bad_url(&self, why: impl Display) -> Error {
        Error::bad_request(
            self.id,
            format!(
                "the {0} store address is not a valid {0}:// URL ({why}); use {1}",
                self.name, self.example
            ),
        )
    }

    /// The 503 for a server that cannot be reached at `place`.
    pub fn unreachable(&self, place: &str, why: impl Display) -> Error {
        Error::of(
            Kind::Unavailable,
            self.id,
            format!(
                "store unavailable: cannot reach {} at {place} ({why}); start the server or fix MICRO_STORE_ADDRESS, the store retries by itself",
                self.name
            ),
        )
    }

    /// The error for a request to the server at `place` that could not `what`: a 503 when
    /// the connection is what `broke`, else a 500 with the server's reason.
    pub fn failed(&self, place: &str, what: &str, broke: bool, why: impl Display) -> Error {
        let kind = if broke {
            Kind::Unavailable
        } else {
            Kind::Internal
        };
        Error::of(
            kind,
            self.id,
            format!("{} at {place} could not {what}: {why}", self.name),
        )
    }
}
