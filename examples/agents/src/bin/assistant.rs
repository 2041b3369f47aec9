//! Pattern 4, a model with tools: `assistant "<what to do>"` lets a model manage a task list
//! through two tools that this program runs itself, then prints the answer. The model comes
//! from MICRO_AI_PROVIDER, MICRO_AI_API_KEY, MICRO_AI_MODEL and MICRO_AI_BASE_URL.

use micro::ai::{Agent, Model, Request, Settings, ToolCall, ToolSpec, Tools};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

#[tokio::main]
async fn main() -> micro::Result<()> {
    let prompt = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "What is on my list?".into());
    let tasks: Arc<Mutex<Vec<Value>>> = Arc::default();
    let specs = vec![
        ToolSpec {
            name: "create_task".into(),
            description: "Adds a task with a title and the person it is for.".into(),
            parameters: json!({"type": "object", "properties": {
                "title": {"type": "string"}, "assignee": {"type": "string"}}, "required": ["title"]}),
        },
        ToolSpec {
            name: "list_tasks".into(),
            description: "Lists every task.".into(),
            parameters: json!({"type": "object", "properties": {}}),
        },
    ];
    // The handler runs the model's tool calls: here on a list in memory; it could as well
    // call services with a micro::Client.
    let handler = move |call: ToolCall| {
        let tasks = tasks.clone();
        async move {
            let mut tasks = tasks.lock().unwrap();
            match call.name.as_str() {
                "create_task" => {
                    tasks.push(call.arguments);
                    Ok(json!({"created": tasks.len()}))
                }
                "list_tasks" => Ok(json!({"tasks": *tasks})),
                other => Err(format!("no tool {other}")),
            }
        }
    };
    let agent = Agent::new(
        Model::new(&Settings::from_env())?,
        Tools::new(specs, Arc::new(handler)),
    );
    let answer = agent
        .generate(Request::new(prompt).system("You keep the user's task list with the tools."))
        .await?;
    for call in &answer.tool_calls {
        eprintln!(
            "{}({}) -> {}",
            call.name,
            call.arguments,
            call.result.clone().unwrap_or_default()
        );
    }
    println!("{}", answer.text);
    Ok(())
}
