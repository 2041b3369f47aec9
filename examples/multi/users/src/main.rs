//! The users service of the multi example: `Users.Get` finds a user by id, `Users.Greeting`
//! answers with the `GREETING` variable of the environment `micro run` selected.

use micro::server::Context;
use micro::{Error, Result, Service};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The users this service knows.
const USERS: &[(u32, &str)] = &[(1, "Alice"), (2, "Bob")];

/// Which user.
#[derive(Deserialize, JsonSchema)]
struct GetRequest {
    /// The user's id.
    id: u32,
}

/// A user.
#[derive(Serialize, JsonSchema)]
struct User {
    /// The user's id.
    id: u32,
    /// The user's name.
    name: String,
}

/// No fields.
#[derive(Deserialize, JsonSchema)]
struct Empty {}

/// The greeting of the environment.
#[derive(Serialize, JsonSchema)]
struct Greeting {
    /// `GREETING` from the environment, or `hello` without it.
    greeting: String,
}

async fn get(_ctx: Context, req: GetRequest) -> Result<User> {
    let (id, name) = USERS
        .iter()
        .find(|(id, _)| *id == req.id)
        .ok_or_else(|| Error::not_found("users", format!("no user with id {}", req.id)))?;
    Ok(User {
        id: *id,
        name: name.to_string(),
    })
}

async fn greeting(_ctx: Context, _req: Empty) -> Result<Greeting> {
    Ok(Greeting {
        greeting: std::env::var("GREETING").unwrap_or_else(|_| "hello".to_string()),
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    micro::log::init();
    Service::new("users")
        .handle("Users.Get", get)
        .handle("Users.Greeting", greeting)
        .run()
        .await
}
