//! The web service of the multi example: `Web.Home` puts together a home page from the
//! users service's greeting and the posts service's list.

use micro::config::Config;
use micro::server::Context;
use micro::{Client, Result, Service};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// No fields.
#[derive(Serialize, Deserialize, JsonSchema)]
struct Empty {}

/// The home page.
#[derive(Serialize, JsonSchema)]
struct Home {
    /// The users service's greeting.
    greeting: String,
    /// One line per post: `<title> by <author>`.
    posts: Vec<String>,
}

#[derive(Deserialize)]
struct Greeting {
    greeting: String,
}

#[derive(Deserialize)]
struct Post {
    title: String,
    author: String,
}

#[derive(Deserialize)]
struct Posts {
    posts: Vec<Post>,
}

async fn home(client: Client) -> Result<Home> {
    let greeting: Greeting = client.call("users", "Users.Greeting", &Empty {}).await?;
    let posts: Posts = client.call("posts", "Posts.List", &Empty {}).await?;
    Ok(Home {
        greeting: greeting.greeting,
        posts: posts
            .posts
            .into_iter()
            .map(|p| format!("{} by {}", p.title, p.author))
            .collect(),
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    micro::log::init();
    let client = Client::new(Config::from_env().registry()?);
    Service::new("web")
        .handle("Web.Home", move |_ctx: Context, _req: Empty| {
            home(client.clone())
        })
        .run()
        .await
}
