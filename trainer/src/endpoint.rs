//! A blocking client for OpenAI-compatible completion endpoints (llama.cpp server,
//! llama-cpp-python, Ollama, vLLM, …): `eerd draft` sends its prompts here when the drafts
//! come from a server instead of a local model.
//!
//! Two APIs are supported ([`Api`]):
//!
//! - [`Api::Completions`] (the default): `POST {base}/v1/completions` with the raw prompt text,
//!   answer in `choices[0].text`. The server tokenizes the text as is (llama.cpp parses special
//!   tokens such as `<|prompt_end|>` in it and adds `<|bos|>` itself when the GGUF says
//!   `add_bos_token`), so this is the right API for our own models, which have no chat template;
//! - [`Api::Chat`]: `POST {base}/v1/chat/completions` with one user message holding the prompt,
//!   answer in `choices[0].message.content`; the server wraps the message in its chat template.
//!
//! The base URL may be given with or without a trailing `/v1` or `/` (and even as a full
//! `…/v1/completions` URL); a URL without a scheme means `http://`. Plain HTTP only unless the
//! crate is built with the `endpoint-tls` feature (rustls); an `https` URL otherwise fails in
//! [`Endpoint::new`] with a clear error.
//!
//! Failures are errors that name the request URL: connection refused ("is the server running?"),
//! timeout, a non-2xx status (with the first 300 bytes of the body), a body that is not JSON or
//! lacks the expected field (named by its path, e.g. `choices[0].text`). A reset connection or a
//! 5xx status is retried at most [`MAX_RETRIES`] times with a short backoff.
//!
//! ```no_run
//! use eerd_trainer::endpoint::{Endpoint, EndpointConfig, SampleOptions};
//! let endpoint = Endpoint::new(EndpointConfig::new("http://127.0.0.1:8080"))?;
//! let text = endpoint.complete("entity A { id }<|prompt_end|>", &SampleOptions::greedy(64))?;
//! # Ok::<(), anyhow::Error>(())
//! ```

use anyhow::{anyhow, bail, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::fmt;
use std::io;
use std::str::FromStr;
use std::time::Duration;

/// How many times a request is repeated after a reset connection or a 5xx status.
pub const MAX_RETRIES: u32 = 2;

/// The wait before the first retry; doubled before the second.
const BACKOFF: Duration = Duration::from_millis(200);

/// How many bytes of an error body go into the error message.
const SNIPPET_BYTES: usize = 300;

/// The largest response body read (a completion is a few KB).
const BODY_LIMIT: u64 = 64 << 20;

/// Which OpenAI API an [`Endpoint`] calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    /// `POST /v1/chat/completions` with the prompt as the single user message.
    Chat,
    /// `POST /v1/completions` with the raw prompt (the default: our models have no chat
    /// template).
    #[default]
    Completions,
}

impl Api {
    /// The path after the base URL: `/v1/chat/completions` or `/v1/completions`.
    pub fn path(self) -> &'static str {
        match self {
            Api::Chat => "/v1/chat/completions",
            Api::Completions => "/v1/completions",
        }
    }

    /// The JSON path of the generated text in a response, as named in errors.
    pub fn text_field(self) -> &'static str {
        match self {
            Api::Chat => "choices[0].message.content",
            Api::Completions => "choices[0].text",
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Api::Chat => "chat",
            Api::Completions => "completions",
        })
    }
}

impl FromStr for Api {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Api> {
        match s.trim().to_ascii_lowercase().as_str() {
            "chat" => Ok(Api::Chat),
            "completions" | "completion" => Ok(Api::Completions),
            other => bail!("unknown endpoint API {other:?}: use \"chat\" or \"completions\""),
        }
    }
}

/// Where and how to reach an endpoint; fits in a TOML or JSON config (`[endpoint]` with `url`
/// and optional `model`, `api`, `api_key`, `timeout_s`, `extra`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// The base URL, e.g. `http://127.0.0.1:8080` or `http://127.0.0.1:8080/v1`.
    pub url: String,
    /// The model name sent as `model`; omitted when `None` (llama.cpp serves its one model
    /// anyway; Ollama and vLLM need the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The API to call.
    #[serde(default)]
    pub api: Api,
    /// The bearer token; `None` uses the environment variable `OPENAI_API_KEY` when it is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// Seconds a whole request (connect, send, answer) may take; 0 waits forever.
    #[serde(default = "default_timeout_s")]
    pub timeout_s: u64,
    /// More top-level fields for every request body, overriding the client's own: the
    /// server-specific sampling settings the OpenAI API lacks. llama-cpp-python's server, for
    /// one, applies `repeat_penalty` 1.1, `top_k` 40 and `min_p` 0.05 unless told otherwise;
    /// `{"repeat_penalty": 1.0, "top_k": 0, "min_p": 0.0}` turns them off, so that greedy output
    /// matches `eerd generate` (sampling still differs unless `top_p` is 1: llama.cpp cuts
    /// top-p before applying the temperature).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

fn default_timeout_s() -> u64 {
    EndpointConfig::DEFAULT_TIMEOUT_S
}

impl EndpointConfig {
    /// The default [`EndpointConfig::timeout_s`].
    pub const DEFAULT_TIMEOUT_S: u64 = 120;

    /// A config for `url` with the defaults: no model name, the completions API, the key from
    /// `OPENAI_API_KEY`, a 120 s timeout, no extra fields.
    pub fn new(url: impl Into<String>) -> EndpointConfig {
        EndpointConfig {
            url: url.into(),
            model: None,
            api: Api::default(),
            api_key: None,
            timeout_s: EndpointConfig::DEFAULT_TIMEOUT_S,
            extra: Map::new(),
        }
    }
}

impl fmt::Debug for EndpointConfig {
    /// Like a derived `Debug`, with the API key redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointConfig")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("api", &self.api)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout_s", &self.timeout_s)
            .field("extra", &self.extra)
            .finish()
    }
}

/// Sampling settings of one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SampleOptions {
    /// Most tokens to generate (`max_tokens`).
    pub max_tokens: usize,
    /// Sampling temperature; 0 is greedy decoding on llama.cpp, Ollama and vLLM.
    pub temperature: f32,
    /// Nucleus mass (`top_p`).
    pub top_p: f32,
    /// The sampling seed; omitted from the request when `None`.
    pub seed: Option<u64>,
    /// Stop sequences; omitted from the request when empty.
    pub stop: Vec<String>,
}

impl Default for SampleOptions {
    /// Greedy decoding of at most 256 tokens.
    fn default() -> SampleOptions {
        SampleOptions::greedy(256)
    }
}

impl SampleOptions {
    /// Greedy decoding (temperature 0, top-p 1) of at most `max_tokens` tokens, no seed or stop.
    pub fn greedy(max_tokens: usize) -> SampleOptions {
        SampleOptions {
            max_tokens,
            temperature: 0.0,
            top_p: 1.0,
            seed: None,
            stop: Vec::new(),
        }
    }
}

/// One completion with what the server says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The generated text (`choices[0].text` or `choices[0].message.content`).
    pub text: String,
    /// `choices[0].finish_reason` (`"stop"`, `"length"`, …) when the server gives it.
    pub finish_reason: Option<String>,
    /// `usage.prompt_tokens` (the prompt length after the server's tokenization) when given.
    pub prompt_tokens: Option<usize>,
    /// `usage.completion_tokens` when the server gives it.
    pub completion_tokens: Option<usize>,
}

/// A client of one OpenAI-compatible endpoint; cheap to share between threads by reference
/// (requests reuse pooled connections).
pub struct Endpoint {
    config: EndpointConfig,
    base: String,
    api_key: Option<String>,
    agent: ureq::Agent,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("base", &self.base)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// A client for `config`: normalises the base URL (see [`normalize_base_url`]) and takes the
    /// key from `OPENAI_API_KEY` when the config has none. Fails on a malformed URL or an
    /// `https` URL in a build without TLS; does not contact the server.
    pub fn new(config: EndpointConfig) -> Result<Endpoint> {
        let base = normalize_base_url(&config.url)?;
        let api_key = config.api_key.clone().or_else(|| {
            std::env::var("OPENAI_API_KEY")
                .ok()
                .filter(|k| !k.trim().is_empty())
        });
        let timeout = (config.timeout_s > 0).then(|| Duration::from_secs(config.timeout_s));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(timeout)
            .http_status_as_error(false)
            .user_agent(format!("eerd/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Endpoint {
            config,
            base,
            api_key,
            agent,
        })
    }

    /// The config this client was made from.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// The normalised base URL, without a trailing `/v1` or `/` (e.g. `http://127.0.0.1:8080`).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The URL requests of the configured API go to, e.g. `http://127.0.0.1:8080/v1/completions`.
    pub fn request_url(&self) -> String {
        format!("{}{}", self.base, self.config.api.path())
    }

    /// The JSON body of a request for `prompt`: `model` (when configured), `messages` (chat) or
    /// `prompt` (completions), `max_tokens`, `temperature`, `top_p`, `seed` (when given), `stop`
    /// (when not empty), `stream: false`, then the config's [`EndpointConfig::extra`] fields.
    pub fn request_body(&self, prompt: &str, options: &SampleOptions) -> Value {
        let mut body = Map::new();
        if let Some(model) = &self.config.model {
            body.insert("model".into(), json!(model));
        }
        match self.config.api {
            Api::Chat => {
                body.insert(
                    "messages".into(),
                    json!([{"role": "user", "content": prompt}]),
                );
            }
            Api::Completions => {
                body.insert("prompt".into(), json!(prompt));
            }
        }
        body.insert("max_tokens".into(), json!(options.max_tokens));
        body.insert("temperature".into(), decimal(options.temperature));
        body.insert("top_p".into(), decimal(options.top_p));
        if let Some(seed) = options.seed {
            body.insert("seed".into(), json!(seed));
        }
        if !options.stop.is_empty() {
            body.insert("stop".into(), json!(options.stop));
        }
        body.insert("stream".into(), json!(false));
        for (key, value) in &self.config.extra {
            body.insert(key.clone(), value.clone());
        }
        Value::Object(body)
    }

    /// Completes `prompt` and returns the generated text.
    pub fn complete(&self, prompt: &str, options: &SampleOptions) -> Result<String> {
        Ok(self.complete_detailed(prompt, options)?.text)
    }

    /// Completes `prompt` and returns the text with the finish reason and token count.
    pub fn complete_detailed(&self, prompt: &str, options: &SampleOptions) -> Result<Completion> {
        let url = self.request_url();
        let body = self.request_body(prompt, options).to_string();
        let bytes = self.send(&url, Some(body.as_bytes()))?;
        let value = parse_json(&url, &bytes)?;
        let api = self.config.api;
        let text = match api {
            Api::Chat => field(&value, &["choices", "0", "message", "content"]),
            Api::Completions => field(&value, &["choices", "0", "text"]),
        };
        let text = match text {
            Some(Value::String(s)) => s.clone(),
            Some(other) => bail!(
                "{url}: `{}` is {} instead of a string; the response starts: {}",
                api.text_field(),
                kind(other),
                snippet(&bytes)
            ),
            None => bail!(
                "{url}: the response has no `{}`; it starts: {}",
                api.text_field(),
                snippet(&bytes)
            ),
        };
        let finish_reason = field(&value, &["choices", "0", "finish_reason"])
            .and_then(Value::as_str)
            .map(str::to_string);
        let usage = |name| {
            field(&value, &["usage", name])
                .and_then(Value::as_u64)
                .map(|n| n as usize)
        };
        Ok(Completion {
            text,
            finish_reason,
            prompt_tokens: usage("prompt_tokens"),
            completion_tokens: usage("completion_tokens"),
        })
    }

    /// The model ids the server lists at `GET {base}/v1/models` (`data[].id`).
    pub fn models(&self) -> Result<Vec<String>> {
        let url = format!("{}/v1/models", self.base);
        let bytes = self.send(&url, None)?;
        let value = parse_json(&url, &bytes)?;
        let Some(data) = value.get("data").and_then(Value::as_array) else {
            bail!(
                "{url}: the response has no `data` array; it starts: {}",
                snippet(&bytes)
            );
        };
        data.iter()
            .enumerate()
            .map(|(i, m)| match m.get("id") {
                Some(Value::String(id)) => Ok(id.clone()),
                _ => Err(anyhow!("{url}: `data[{i}].id` is not a string")),
            })
            .collect()
    }

    /// Sends one request (POST with a JSON `body`, or GET) with retries and returns the body of
    /// the 2xx answer.
    fn send(&self, url: &str, body: Option<&[u8]>) -> Result<Vec<u8>> {
        let mut retries: u32 = 0;
        loop {
            match self.send_once(url, body) {
                Ok(bytes) => return Ok(bytes),
                Err(failure) if failure.retryable && retries < MAX_RETRIES => {
                    std::thread::sleep(BACKOFF * (1 << retries));
                    retries += 1;
                }
                Err(failure) if retries > 0 => {
                    return Err(failure
                        .error
                        .context(format!("{url}: failed {} times in a row", retries + 1)))
                }
                Err(failure) => return Err(failure.error),
            }
        }
    }

    fn send_once(&self, url: &str, body: Option<&[u8]>) -> std::result::Result<Vec<u8>, Failure> {
        let auth = self.api_key.as_ref().map(|k| format!("Bearer {k}"));
        let sent = match body {
            Some(body) => {
                let mut request = self
                    .agent
                    .post(url)
                    .header("Content-Type", "application/json")
                    .header("Accept", "application/json");
                if let Some(auth) = &auth {
                    request = request.header("Authorization", auth);
                }
                request.send(body)
            }
            None => {
                let mut request = self.agent.get(url).header("Accept", "application/json");
                if let Some(auth) = &auth {
                    request = request.header("Authorization", auth);
                }
                request.call()
            }
        };
        let mut response = sent.map_err(|e| self.transport_failure(url, e))?;
        let status = response.status();
        let read = response
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .read_to_vec();
        if status.is_success() {
            return read.map_err(|e| self.transport_failure(url, e));
        }
        let bytes = read.unwrap_or_default();
        Err(Failure {
            retryable: status.is_server_error(),
            error: anyhow!(
                "{url} answered HTTP {status}: {}",
                if bytes.is_empty() {
                    "(empty body)".to_string()
                } else {
                    snippet(&bytes)
                }
            ),
        })
    }

    fn transport_failure(&self, url: &str, e: ureq::Error) -> Failure {
        let timeout = || {
            anyhow!(
                "{url} did not answer within {} s (timeout_s); is the model too slow or the \
                 server stuck?",
                self.config.timeout_s
            )
        };
        let (retryable, error) = match e {
            ureq::Error::Timeout(_) => (false, timeout()),
            ureq::Error::Io(e) => match e.kind() {
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => (false, timeout()),
                io::ErrorKind::ConnectionRefused => (
                    false,
                    anyhow!("cannot connect to {url}: connection refused (is the server running?)"),
                ),
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof => {
                    (true, anyhow!("{url}: the connection was closed: {e}"))
                }
                _ => (false, anyhow!("cannot reach {url}: {e}")),
            },
            ureq::Error::HostNotFound => (
                false,
                anyhow!("cannot reach {url}: the host name does not resolve"),
            ),
            ureq::Error::Protocol(e) => {
                (false, anyhow!("{url} did not answer valid HTTP/1.1: {e}"))
            }
            ureq::Error::BodyExceedsLimit(n) => (
                false,
                anyhow!("{url}: the response is larger than {n} bytes"),
            ),
            e => (false, anyhow!("request to {url} failed: {e}")),
        };
        Failure { retryable, error }
    }
}

/// A failed attempt and whether it is worth repeating.
struct Failure {
    retryable: bool,
    error: anyhow::Error,
}

/// Normalises a base URL: trims spaces and trailing `/`, removes a trailing `/v1`,
/// `/v1/completions` or `/v1/chat/completions`, and adds `http://` when there is no scheme.
/// Fails on an empty URL, a scheme other than http(s), or `https` in a build without TLS.
///
/// `http://127.0.0.1:8080/v1/` → `http://127.0.0.1:8080`.
pub fn normalize_base_url(url: &str) -> Result<String> {
    let trimmed = url.trim();
    if trimmed.is_empty() {
        bail!("the endpoint URL is empty (give e.g. http://127.0.0.1:8080)");
    }
    let (scheme, rest) = trimmed.split_once("://").unwrap_or(("http", trimmed));
    match scheme.to_ascii_lowercase().as_str() {
        "http" => {}
        "https" if cfg!(feature = "endpoint-tls") => {}
        "https" => bail!(
            "{trimmed}: https is not supported in this build (build eerd-trainer with \
             `--features endpoint-tls`, or use an http:// URL, e.g. through an SSH tunnel)"
        ),
        other => bail!("{trimmed}: unsupported URL scheme {other:?} (use http://)"),
    }
    if rest.contains(['?', '#']) {
        bail!("{trimmed}: the endpoint URL must not have a query or fragment");
    }
    let mut rest = rest.trim_end_matches('/');
    for suffixes in [&["/chat/completions", "/completions"][..], &["/v1"][..]] {
        for suffix in suffixes {
            if let Some(cut) = strip_suffix_ignore_case(rest, suffix) {
                rest = cut.trim_end_matches('/');
                break;
            }
        }
    }
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() {
        bail!("{trimmed}: the endpoint URL has no host");
    }
    Ok(format!("{scheme}://{rest}"))
}

/// `text` without `suffix` (ASCII, compared ignoring case) when it ends with it.
fn strip_suffix_ignore_case<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = text.len().checked_sub(suffix.len())?;
    let tail = text.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &text[..cut])
}

/// Parses a 2xx body as JSON, with an error naming the URL and showing the body's start.
fn parse_json(url: &str, bytes: &[u8]) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|e| {
        anyhow!(
            "{url}: the response is not JSON ({e}); it starts: {}",
            snippet(bytes)
        )
    })
}

/// An `f32` as the JSON number with its shortest decimal form (`0.7`, not `0.699999988…`);
/// `null` when not finite.
fn decimal(x: f32) -> Value {
    x.to_string()
        .parse::<f64>()
        .map_or(Value::Null, Value::from)
}

/// The value at a path of object keys and array indices (given as digits).
fn field<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| match v {
        Value::Array(items) => items.get(key.parse::<usize>().ok()?),
        Value::Object(map) => map.get(*key),
        _ => None,
    })
}

/// The JSON kind of a value, for error messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The first 300 bytes of a body as one line of text (control characters escaped), with `…`
/// when cut.
fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(SNIPPET_BYTES)]);
    let mut out = String::with_capacity(text.len() + 3);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    if bytes.len() > SNIPPET_BYTES {
        out.push('…');
    }
    out
}
