//! Pattern 3, a service that asks a model: `Summary.Summarize` answers with a model's summary
//! of the text it is given. The model comes from MICRO_AI_PROVIDER, MICRO_AI_API_KEY (or the
//! provider's own key variable), MICRO_AI_MODEL and MICRO_AI_BASE_URL.

use micro::ai::{Model, Request, Settings};
use micro::server::Context;
use micro::{Result, Service};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What to summarize.
#[derive(Deserialize, JsonSchema)]
struct Text {
    /// The text.
    text: String,
}

/// The summary.
#[derive(Serialize, JsonSchema)]
struct Summary {
    /// Two or three sentences.
    summary: String,
}

#[tokio::main]
async fn main() -> Result<()> {
    let model = Model::new(&Settings::from_env())?;
    Service::new("summary")
        .handle("Summary.Summarize", move |_ctx: Context, req: Text| {
            let model = model.clone();
            async move {
                let request = Request::new(req.text)
                    .system("Summarize the user's text in two or three plain sentences.");
                let answer = model.generate(&request).await?;
                Ok(Summary {
                    summary: answer.text,
                })
            }
        })
        .describe(
            "Summary.Summarize",
            "Summarizes a text in two or three sentences.",
            r#"{"text":"The meeting moved to Tuesday; Bob brings the slides."}"#,
        )
        .run()
        .await
}
