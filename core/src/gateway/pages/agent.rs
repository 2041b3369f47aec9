//! The agent playground page, `/agent`: the account's model settings as a form (posted back
//! here, the key never shown), what is still to set up, the tools offered, and the prompt,
//! whose reply `agent.js` streams from `/api/agent/prompt`.

use super::Visit;
use crate::ai::{PROVIDERS, Settings};
use crate::gateway::agent::Posted;
use crate::gateway::routes::Reply;
use axum::http::StatusCode;
use minijinja::context;

/// Answers `/agent`: shows the page, or saves the settings form and shows it again.
pub(super) async fn page(visit: &Visit<'_>) -> Reply {
    let Some(playground) = &visit.shared.pages.agent else {
        return visit.error_page(StatusCode::NOT_FOUND, "no such page");
    };
    let (status, saved, problem) = match &visit.form {
        None => (StatusCode::OK, false, None),
        Some(form) => {
            let field = |name| form.get(name).unwrap_or_default().to_string();
            let posted = Posted {
                settings: Settings {
                    provider: field("provider"),
                    model: field("model"),
                    api_key: field("api_key"),
                    base_url: field("base_url"),
                },
                forget_key: form.get("forget_key").is_some(),
            };
            match playground.save(&visit.caller, posted).await {
                Ok(()) => (StatusCode::OK, true, None),
                Err(failure) => (failure.status(), false, Some(failure.message().to_string())),
            }
        }
    };
    let view = match playground.view(&visit.caller).await {
        Ok(view) => view,
        Err(failure) => return visit.error_page(failure.status(), failure.message()),
    };
    let providers: Vec<_> = PROVIDERS
        .iter()
        .map(|p| context! { name => p.name, model => p.default_model, key_var => p.key_var })
        .collect();
    visit.render_with(
        status,
        "agent.html",
        context! {
            title => "Agent",
            view => view,
            providers => providers,
            saved => saved,
            problem => problem,
        },
    )
}
