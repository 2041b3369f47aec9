//! What the backends on servers (the stores on MySQL, PostgreSQL and Redis, the broker on
//! RabbitMQ, the registry on etcd, the registry, broker and store on NATS)
//! say the same way: how their address is given, that the server cannot be reached, and that a
//! request to it failed. Where the server is appears as host, port and database (or virtual
//! host) only, never with a password.

use crate::errors::{Error, Kind};
use std::fmt::Display;

/// A kind of server a backend runs on, as its errors name it.
pub(crate) struct Server {
    /// The errors' id, e.g. `micro.store.postgres`.
    pub id: &'static str,
    /// What the backend is: `store` or `broker`, as in `MICRO_STORE_ADDRESS`.
    pub component: &'static str,
    /// `postgres`, `redis`, `rabbitmq`: the backend's name.
    pub name: &'static str,
    /// An address to copy, e.g. `postgres://user:password@host:5432/dbname`.
    pub example: &'static str,
}

impl Server {
    /// The environment variable giving the backend's address, e.g. `MICRO_STORE_ADDRESS`.
    fn variable(&self) -> String {
        format!("MICRO_{}_ADDRESS", self.component.to_uppercase())
    }

    /// The server's URL from the backend's address, or the error saying how to give it (for
    /// the backends that have no default address).
    #[cfg(any(feature = "mysql", feature = "postgres", feature = "redis"))]
    pub fn url<'a>(&self, address: Option<&'a str>) -> crate::errors::Result<&'a str> {
        address.ok_or_else(|| {
            Error::bad_request(
                self.id,
                format!(
                    "the {} {} needs the server's URL: set {}={}",
                    self.name,
                    self.component,
                    self.variable(),
                    self.example
                ),
            )
        })
    }

    /// The error for a URL the server's client refused.
    pub fn bad_url(&self, why: impl Display) -> Error {
        Error::bad_request(
            self.id,
            format!(
                "the {0} {1} address is not a valid URL ({why}); use {2}",
                self.name, self.component, self.example
            ),
        )
    }

    /// The 503 for a server that cannot be reached at `place`.
    pub fn unreachable(&self, place: &str, why: impl Display) -> Error {
        Error::of(
            Kind::Unavailable,
            self.id,
            format!(
                "{0} unavailable: cannot reach {1} at {place} ({why}); start the server or fix {2}, the {0} retries by itself",
                self.component,
                self.name,
                self.variable()
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

/// The value of `name` in the `?query` of `address`, if given.
pub(crate) fn option<'a>(address: Option<&'a str>, name: &str) -> Option<&'a str> {
    let (_, query) = address?.split_once('?')?;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

/// `address` without the option `name` in its `?query`, and that option's value if given.
#[cfg(any(feature = "mysql", feature = "postgres"))]
pub(crate) fn take_option<'a>(address: &'a str, name: &str) -> (String, Option<&'a str>) {
    let value = option(Some(address), name);
    let Some((base, query)) = address.split_once('?') else {
        return (address.to_string(), value);
    };
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| pair.split_once('=').map_or(*pair, |(key, _)| key) != name)
        .collect();
    if rest.is_empty() {
        (base.to_string(), value)
    } else {
        (format!("{base}?{}", rest.join("&")), value)
    }
}

#[cfg(all(test, any(feature = "mysql", feature = "postgres")))]
mod tests {
    use super::*;

    #[test]
    fn an_option_is_taken_out_of_the_query() {
        let url = "postgres://h/db?sslmode=require&sslrootcert=/ca.pem&x=1";
        assert_eq!(
            take_option(url, "sslrootcert"),
            (
                "postgres://h/db?sslmode=require&x=1".into(),
                Some("/ca.pem")
            )
        );
        assert_eq!(
            take_option("postgres://h/db?sslrootcert=/ca.pem", "sslrootcert"),
            ("postgres://h/db".into(), Some("/ca.pem"))
        );
        assert_eq!(
            take_option("postgres://h/db", "x"),
            ("postgres://h/db".into(), None)
        );
    }
}
