//! The posts service of the multi example: `Posts.List` lists the posts with their authors'
//! names, which it asks the users service for.

use micro::config::Config;
use micro::server::Context;
use micro::{Client, Result, Service};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The posts: id, title, author id.
const POSTS: &[(u32, &str, u32)] = &[(1, "Hello, micro", 1), (2, "Services in Rust", 2)];

/// No fields.
#[derive(Deserialize, JsonSchema)]
struct Empty {}

/// A post.
#[derive(Serialize, JsonSchema)]
struct Post {
    /// The post's id.
    id: u32,
    /// Its title.
    title: String,
    /// Its author's name.
    author: String,
}

/// Every post.
#[derive(Serialize, JsonSchema)]
struct Posts {
    /// The posts, oldest first.
    posts: Vec<Post>,
}

#[derive(Serialize)]
struct UserRequest {
    id: u32,
}

#[derive(Deserialize)]
struct User {
    name: String,
}

async fn list(client: Client) -> Result<Posts> {
    let mut posts = Vec::new();
    for (id, title, author) in POSTS {
        let user: User = client
            .call("users", "Users.Get", &UserRequest { id: *author })
            .await?;
        posts.push(Post {
            id: *id,
            title: title.to_string(),
            author: user.name,
        });
    }
    Ok(Posts { posts })
}

#[tokio::main]
async fn main() -> Result<()> {
    micro::log::init();
    let client = Client::new(Config::from_env().registry()?);
    Service::new("posts")
        .handle("Posts.List", move |_ctx: Context, _req: Empty| {
            list(client.clone())
        })
        .run()
        .await
}
