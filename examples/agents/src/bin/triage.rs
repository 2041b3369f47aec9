//! Pattern 5, a model run by events: for each message on `tasks.created` the model chooses who
//! should take the task, and the choice is published on `tasks.assigned`. The model comes from
//! MICRO_AI_PROVIDER, MICRO_AI_API_KEY, MICRO_AI_MODEL and MICRO_AI_BASE_URL.

use micro::ai::{Model, Request, Settings};
use micro::broker::{self, Message};
use micro::config::Config;
use micro::{Client, Service};
use serde_json::json;

const TEAM: &str = "alice (frontend), bob (backend), carol (operations)";

#[tokio::main]
async fn main() -> micro::Result<()> {
    let model = Model::new(&Settings::from_env())?;
    let client = Client::from_config(&Config::from_env())?;
    let assign = broker::handler(move |_topic: String, message: Message| {
        let (model, client) = (model.clone(), client.clone());
        async move {
            let task = String::from_utf8_lossy(&message.body).into_owned();
            let request = Request::new(format!("Task: {task}\nTeam: {TEAM}"))
                .system("Answer with only the name of the one person who should take the task.");
            let answer = model.generate(&request).await?;
            let assignee = answer.text.trim().to_lowercase();
            client
                .publish(
                    "tasks.assigned",
                    &json!({"task": task, "assignee": assignee}),
                )
                .await
        }
    });
    Service::new("triage")
        .subscribe("tasks.created", assign, Some("triage"))
        .run()
        .await
}
