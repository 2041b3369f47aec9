//! The providers and how one is chosen: by name, key, model and base URL, given or from the
//! environment.

use crate::errors::{Error, Result};
use genai::adapter::AdapterKind;
use serde::{Deserialize, Serialize};
use std::fmt;

use super::model::ID;

/// A model provider libmicro speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provider {
    /// Its name: `anthropic`, `openai`, ...
    pub name: &'static str,
    /// The variable holding its key when `MICRO_AI_API_KEY` is unset.
    pub key_var: &'static str,
    /// The model used when none is named (go-micro's default where it has the provider).
    pub default_model: &'static str,
    /// Its API's address, with the version path.
    pub base_url: &'static str,
    /// The version path appended to a base URL given without one (`v1`, gemini's `v1beta`).
    version: &'static str,
    /// Whether it can run without a key (a local ollama).
    pub needs_key: bool,
    pub(super) adapter: AdapterKind,
}

/// Every provider, by name.
pub const PROVIDERS: &[Provider] = &[
    provider(
        "anthropic",
        "ANTHROPIC_API_KEY",
        "claude-sonnet-4-20250514",
        "https://api.anthropic.com/v1/",
        "v1",
        AdapterKind::Anthropic,
    ),
    provider(
        "openai",
        "OPENAI_API_KEY",
        "gpt-4o",
        "https://api.openai.com/v1/",
        "v1",
        AdapterKind::OpenAI,
    ),
    provider(
        "gemini",
        "GEMINI_API_KEY",
        "gemini-2.5-flash",
        "https://generativelanguage.googleapis.com/v1beta/",
        "v1beta",
        AdapterKind::Gemini,
    ),
    provider(
        "groq",
        "GROQ_API_KEY",
        "llama-3.3-70b-versatile",
        "https://api.groq.com/openai/v1/",
        "v1",
        AdapterKind::Groq,
    ),
    provider(
        "mistral",
        "MISTRAL_API_KEY",
        "mistral-large-latest",
        "https://api.mistral.ai/v1/",
        "v1",
        AdapterKind::Mistral,
    ),
    provider(
        "together",
        "TOGETHER_API_KEY",
        "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        "https://api.together.xyz/v1/",
        "v1",
        AdapterKind::Together,
    ),
    provider(
        "atlascloud",
        "ATLASCLOUD_API_KEY",
        "deepseek-ai/DeepSeek-V3-0324",
        "https://api.atlascloud.ai/v1/",
        "v1",
        AdapterKind::AtlasCloud,
    ),
    Provider {
        needs_key: false,
        ..provider(
            "ollama",
            "OLLAMA_API_KEY",
            "llama3.2",
            "http://localhost:11434/",
            "",
            AdapterKind::Ollama,
        )
    },
    provider(
        "minimax",
        "MINIMAX_API_KEY",
        "MiniMax-M2",
        "https://api.minimax.io/anthropic/v1/",
        "v1",
        AdapterKind::MiniMax,
    ),
];

const fn provider(
    name: &'static str,
    key_var: &'static str,
    default_model: &'static str,
    base_url: &'static str,
    version: &'static str,
    adapter: AdapterKind,
) -> Provider {
    Provider {
        name,
        key_var,
        default_model,
        base_url,
        version,
        needs_key: true,
        adapter,
    }
}

impl Provider {
    /// The provider called `name`, or a 400 listing the names there are.
    pub fn named(name: &str) -> Result<&'static Provider> {
        PROVIDERS.iter().find(|p| p.name == name).ok_or_else(|| {
            Error::bad_request(
                ID,
                format!(
                    "unknown AI provider {name:?}; use one of {}",
                    PROVIDERS
                        .iter()
                        .map(|p| p.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
    }

    /// The API address for a base URL given as go-micro takes it (`https://api.openai.com`,
    /// without the version) or with the version path (`http://127.0.0.1:8080/v1`), always
    /// ending in `/`.
    pub(super) fn endpoint(&self, base_url: Option<&str>) -> String {
        let Some(base) = base_url
            .map(|b| b.trim_end_matches('/'))
            .filter(|b| !b.is_empty())
        else {
            return self.base_url.to_string();
        };
        let last = base.rsplit('/').next().unwrap_or_default();
        let versioned = last.strip_prefix('v').is_some_and(|v| {
            v.starts_with(|c: char| c.is_ascii_digit())
                && v.trim_start_matches(|c: char| c.is_ascii_digit())
                    .chars()
                    .all(|c| c.is_ascii_lowercase())
        });
        if versioned || self.version.is_empty() {
            format!("{base}/")
        } else {
            format!("{base}/{}/", self.version)
        }
    }
}

/// Which provider and model to use, with what key, at what address. Read from JSON with
/// any field left out; written to JSON without the key.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The provider's name; empty means `openai`, as in go-micro.
    pub provider: String,
    /// The model; empty means the provider's default.
    pub model: String,
    /// The API key; empty means the provider's own variable.
    #[serde(skip_serializing)]
    pub api_key: String,
    /// The API's address; empty means the provider's own.
    pub base_url: String,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("provider", &self.provider)
            .field("model", &self.model)
            .field("api_key", &if self.api_key.is_empty() { "" } else { "***" })
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl Settings {
    /// Settings from `MICRO_AI_PROVIDER`, `MICRO_AI_MODEL`, `MICRO_AI_API_KEY` and
    /// `MICRO_AI_BASE_URL` (each empty when unset).
    pub fn from_env() -> Settings {
        let var = |name: &str| std::env::var(name).unwrap_or_default();
        Settings {
            provider: var("MICRO_AI_PROVIDER"),
            model: var("MICRO_AI_MODEL"),
            api_key: var("MICRO_AI_API_KEY"),
            base_url: var("MICRO_AI_BASE_URL"),
        }
    }

    /// These settings with each empty field taken from `other`.
    pub fn or(self, other: Settings) -> Settings {
        let pick = |a: String, b: String| if a.is_empty() { b } else { a };
        Settings {
            provider: pick(self.provider, other.provider),
            model: pick(self.model, other.model),
            api_key: pick(self.api_key, other.api_key),
            base_url: pick(self.base_url, other.base_url),
        }
    }

    /// The provider these settings name, its model, and the key: the one given, else the
    /// provider's own variable; a 400 saying what to set when a provider needs a key and has
    /// none. A base URL of its own (a local server, a proxy) may need no key.
    pub(super) fn resolve(&self) -> Result<(&'static Provider, String, String)> {
        let provider = Provider::named(if self.provider.is_empty() {
            "openai"
        } else {
            &self.provider
        })?;
        let model = if self.model.is_empty() {
            provider.default_model.to_string()
        } else {
            self.model.clone()
        };
        let key = if self.api_key.is_empty() {
            std::env::var(provider.key_var).unwrap_or_default()
        } else {
            self.api_key.clone()
        };
        if key.is_empty() && provider.needs_key && self.base_url.is_empty() {
            return Err(Error::bad_request(
                ID,
                format!(
                    "no API key for {}: set MICRO_AI_API_KEY or {}, or give the key in the settings",
                    provider.name, provider.key_var
                ),
            ));
        }
        Ok((provider, model, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_with_and_without_the_version() {
        let openai = Provider::named("openai").unwrap();
        assert_eq!(openai.endpoint(None), "https://api.openai.com/v1/");
        assert_eq!(
            openai.endpoint(Some("http://127.0.0.1:9/")),
            "http://127.0.0.1:9/v1/"
        );
        assert_eq!(
            openai.endpoint(Some("http://127.0.0.1:9/v1")),
            "http://127.0.0.1:9/v1/"
        );
        assert_eq!(
            openai.endpoint(Some("https://api.groq.com/openai")),
            "https://api.groq.com/openai/v1/"
        );
        let gemini = Provider::named("gemini").unwrap();
        assert_eq!(gemini.endpoint(Some("http://h:1")), "http://h:1/v1beta/");
        assert_eq!(
            gemini.endpoint(Some("http://h:1/v1beta")),
            "http://h:1/v1beta/"
        );
        let ollama = Provider::named("ollama").unwrap();
        assert_eq!(ollama.endpoint(Some("http://h:1")), "http://h:1/");
    }

    #[test]
    fn keys_are_not_printed() {
        let settings = Settings {
            api_key: "sk-secret".into(),
            ..Settings::default()
        };
        assert!(!format!("{settings:?}").contains("sk-secret"));
    }

    #[test]
    fn an_unknown_provider_lists_the_known() {
        let err = Provider::named("nope").unwrap_err();
        assert!(err.detail.contains("anthropic, openai"), "{}", err.detail);
    }
}
