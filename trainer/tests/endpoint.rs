//! The OpenAI-compatible endpoint client against a mock server (a thread answering canned
//! HTTP/1.1 responses on 127.0.0.1 and recording each request), and — `#[ignore]`d, run by
//! `scripts/endpoint_check.sh` — against a real server given by `EERD_ENDPOINT_URL`.

use eerd_trainer::endpoint::{
    normalize_base_url, Api, Endpoint, EndpointConfig, SampleOptions, MAX_RETRIES,
};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the mock does with one connection.
enum Reply {
    /// Answer with this status and JSON body (`Connection: close`).
    Json(u16, String),
    /// Read the request, then close the connection without answering.
    Close,
    /// Read the request, then say nothing for this long.
    Hang(Duration),
}

/// One request as the mock received it.
#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }
}

/// A mock server answering one connection per reply, in order; afterwards it stops listening.
struct Mock {
    base: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Mock {
    fn start(replies: Vec<Reply>) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        std::thread::spawn(move || {
            for reply in replies {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let Some(request) = read_request(&stream) else {
                    continue;
                };
                log.lock().unwrap().push(request);
                answer(stream, reply);
            }
        });
        Mock { base, requests }
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    fn endpoint(&self, api: Api) -> Endpoint {
        Endpoint::new(EndpointConfig {
            url: self.base.clone(),
            model: None,
            api,
            api_key: None,
            timeout_s: 10,
            extra: Default::default(),
        })
        .unwrap()
    }
}

fn read_request(stream: &TcpStream) -> Option<Recorded> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap_or(0));
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Recorded {
        method,
        path,
        headers,
        body,
    })
}

fn answer(mut stream: TcpStream, reply: Reply) {
    match reply {
        Reply::Json(status, body) => {
            let reason = match status {
                200 => "OK",
                404 => "Not Found",
                500 => "Internal Server Error",
                503 => "Service Unavailable",
                _ => "Whatever",
            };
            let head = format!(
                "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
            let _ = stream.flush();
        }
        Reply::Close => drop(stream),
        Reply::Hang(t) => {
            std::thread::sleep(t);
            drop(stream);
        }
    }
}

fn ok(body: Value) -> Reply {
    Reply::Json(200, body.to_string())
}

fn completions_answer(text: &str) -> Reply {
    ok(json!({
        "id": "cmpl-1",
        "object": "text_completion",
        "choices": [{"index": 0, "text": text, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}
    }))
}

fn chat_answer(content: Value) -> Reply {
    ok(json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "length"}]
    }))
}

fn sampled() -> SampleOptions {
    SampleOptions {
        max_tokens: 32,
        temperature: 0.5,
        top_p: 0.75,
        seed: Some(7),
        stop: vec!["<|eos|>".into(), "\n\n".into()],
    }
}

#[test]
fn completions_request_and_text() {
    let mock = Mock::start(vec![completions_answer("EMPLOYEE has 2 attributes")]);
    let endpoint = Endpoint::new(EndpointConfig {
        url: format!("{}/v1/", mock.base),
        model: Some("tiny".into()),
        api: Api::Completions,
        api_key: Some("sk-test".into()),
        timeout_s: 10,
        extra: Default::default(),
    })
    .unwrap();
    assert_eq!(endpoint.base_url(), mock.base);
    let prompt = "entity EMPLOYEE { id name }<|prompt_end|>";
    let got = endpoint.complete_detailed(prompt, &sampled()).unwrap();
    assert_eq!(got.text, "EMPLOYEE has 2 attributes");
    assert_eq!(got.finish_reason.as_deref(), Some("stop"));
    assert_eq!(
        (got.prompt_tokens, got.completion_tokens),
        (Some(9), Some(4))
    );

    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/v1/completions")
    );
    assert_eq!(r.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json(),
        json!({
            "model": "tiny",
            "prompt": prompt,
            "max_tokens": 32,
            "temperature": 0.5,
            "top_p": 0.75,
            "seed": 7,
            "stop": ["<|eos|>", "\n\n"],
            "stream": false
        })
    );
}

#[test]
fn chat_request_and_text() {
    let mock = Mock::start(vec![chat_answer(json!("DEPARTMENT has 1 attributes"))]);
    let endpoint = mock.endpoint(Api::Chat);
    let prompt = "entity DEPARTMENT { id }";
    let got = endpoint
        .complete_detailed(prompt, &SampleOptions::greedy(16))
        .unwrap();
    assert_eq!(got.text, "DEPARTMENT has 1 attributes");
    assert_eq!(got.finish_reason.as_deref(), Some("length"));
    assert_eq!(got.completion_tokens, None);

    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/v1/chat/completions")
    );
    // No model, seed or stop configured: the fields are left out.
    assert_eq!(
        r.json(),
        json!({
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": 16,
            "temperature": 0.0,
            "top_p": 1.0,
            "stream": false
        })
    );
}

#[test]
fn chat_with_model_seed_and_stop() {
    let mock = Mock::start(vec![chat_answer(json!("x"))]);
    let endpoint = Endpoint::new(EndpointConfig {
        model: Some("qwen2.5:0.5b".into()),
        api: Api::Chat,
        ..EndpointConfig::new(format!("{}/v1/chat/completions", mock.base))
    })
    .unwrap();
    assert_eq!(endpoint.complete("p", &sampled()).unwrap(), "x");
    let body = mock.requests()[0].json();
    assert_eq!(mock.requests()[0].path, "/v1/chat/completions");
    assert_eq!(body["model"], "qwen2.5:0.5b");
    assert_eq!(body["messages"], json!([{"role": "user", "content": "p"}]));
    assert_eq!(body["seed"], 7);
    assert_eq!(body["stop"], json!(["<|eos|>", "\n\n"]));
    assert_eq!(
        (body["temperature"].as_f64(), body["top_p"].as_f64()),
        (Some(0.5), Some(0.75))
    );
}

#[test]
fn extra_fields_are_merged() {
    let mock = Mock::start(vec![completions_answer("x")]);
    let extra = json!({"repeat_penalty": 1.0, "top_k": 0, "max_tokens": 5});
    let endpoint = Endpoint::new(EndpointConfig {
        extra: extra.as_object().unwrap().clone(),
        ..EndpointConfig::new(mock.base.clone())
    })
    .unwrap();
    endpoint.complete("p", &SampleOptions::greedy(9)).unwrap();
    let body = mock.requests()[0].json();
    assert_eq!(body["repeat_penalty"], 1.0);
    assert_eq!(body["top_k"], 0);
    assert_eq!(body["max_tokens"], 5, "extra overrides");
    assert_eq!(body["prompt"], "p");
}

#[test]
fn floats_are_sent_as_written() {
    let mock = Mock::start(vec![completions_answer("x")]);
    let options = SampleOptions {
        temperature: 0.7,
        top_p: 0.95,
        ..SampleOptions::greedy(4)
    };
    mock.endpoint(Api::Completions)
        .complete("p", &options)
        .unwrap();
    let body = String::from_utf8(mock.requests()[0].body.clone()).unwrap();
    assert!(body.contains(r#""temperature":0.7,"#), "{body}");
    assert!(body.contains(r#""top_p":0.95"#), "{body}");
}

#[test]
fn server_error_then_success_is_retried() {
    let mock = Mock::start(vec![
        Reply::Json(500, r#"{"error": "busy"}"#.into()),
        completions_answer("second time"),
    ]);
    let endpoint = mock.endpoint(Api::Completions);
    let got = endpoint.complete("p", &SampleOptions::greedy(4)).unwrap();
    assert_eq!(got, "second time");
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body);
}

#[test]
fn closed_connection_is_retried() {
    let mock = Mock::start(vec![Reply::Close, completions_answer("after reset")]);
    let endpoint = mock.endpoint(Api::Completions);
    assert_eq!(
        endpoint.complete("p", &SampleOptions::greedy(4)).unwrap(),
        "after reset"
    );
    assert_eq!(mock.requests().len(), 2);
}

#[test]
fn retries_stop_after_two() {
    let replies = (0..4)
        .map(|i| Reply::Json(503, format!(r#"{{"error": "loading {i}"}}"#)))
        .collect();
    let mock = Mock::start(replies);
    let endpoint = mock.endpoint(Api::Completions);
    let err = format!(
        "{:#}",
        endpoint
            .complete("p", &SampleOptions::greedy(4))
            .unwrap_err()
    );
    assert_eq!(mock.requests().len(), 1 + MAX_RETRIES as usize);
    assert!(err.contains("failed 3 times"), "{err}");
    assert!(err.contains("HTTP 503 Service Unavailable"), "{err}");
    assert!(err.contains("loading 2"), "{err}");
}

#[test]
fn not_found_names_url_status_and_body_start() {
    let body = format!(
        r#"{{"detail": "Not Found", "pad": "{}"}}"#,
        "x".repeat(1000)
    );
    let mock = Mock::start(vec![Reply::Json(404, body)]);
    let endpoint = mock.endpoint(Api::Chat);
    let err = format!(
        "{:#}",
        endpoint
            .complete("p", &SampleOptions::greedy(4))
            .unwrap_err()
    );
    assert_eq!(mock.requests().len(), 1, "a 404 is not retried");
    let url = format!("{}/v1/chat/completions", mock.base);
    assert!(err.contains(&url), "{err}");
    assert!(err.contains("HTTP 404 Not Found"), "{err}");
    assert!(err.contains(r#"{"detail": "Not Found""#), "{err}");
    assert!(err.ends_with('…'), "{err}");
    assert!(err.len() < url.len() + 400, "body cut to 300 bytes: {err}");
}

#[test]
fn malformed_json_is_an_error() {
    let mock = Mock::start(vec![Reply::Json(200, "this is not json".into())]);
    let err = format!(
        "{:#}",
        mock.endpoint(Api::Completions)
            .complete("p", &SampleOptions::greedy(4))
            .unwrap_err()
    );
    assert!(err.contains("/v1/completions"), "{err}");
    assert!(err.contains("not JSON"), "{err}");
    assert!(err.contains("this is not json"), "{err}");
}

#[test]
fn missing_fields_are_named() {
    let mock = Mock::start(vec![
        ok(json!({"choices": []})),
        ok(json!({"error": {"message": "model not loaded"}})),
        chat_answer(Value::Null),
    ]);
    let err = |api| {
        format!(
            "{:#}",
            mock.endpoint(api)
                .complete("p", &SampleOptions::greedy(4))
                .unwrap_err()
        )
    };
    let e = err(Api::Completions);
    assert!(e.contains("no `choices[0].text`"), "{e}");
    let e = err(Api::Chat);
    assert!(e.contains("no `choices[0].message.content`"), "{e}");
    assert!(e.contains("model not loaded"), "{e}");
    let e = err(Api::Chat);
    assert!(
        e.contains("`choices[0].message.content` is null instead of a string"),
        "{e}"
    );
}

#[test]
fn connection_refused_says_is_the_server_running() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let endpoint = Endpoint::new(EndpointConfig::new(format!("127.0.0.1:{port}"))).unwrap();
    let err = format!(
        "{:#}",
        endpoint
            .complete("p", &SampleOptions::greedy(4))
            .unwrap_err()
    );
    assert!(
        err.contains(&format!("http://127.0.0.1:{port}/v1/completions")),
        "{err}"
    );
    assert!(err.contains("connection refused"), "{err}");
    assert!(err.contains("is the server running?"), "{err}");
    assert!(!err.contains("in a row"), "not retried: {err}");
}

#[test]
fn timeout_names_the_limit() {
    let mock = Mock::start(vec![Reply::Hang(Duration::from_secs(5))]);
    let endpoint = Endpoint::new(EndpointConfig {
        timeout_s: 1,
        ..EndpointConfig::new(mock.base.clone())
    })
    .unwrap();
    let started = Instant::now();
    let err = format!(
        "{:#}",
        endpoint
            .complete("p", &SampleOptions::greedy(4))
            .unwrap_err()
    );
    assert!(started.elapsed() < Duration::from_secs(4), "not retried");
    assert!(!err.contains("in a row"), "not retried: {err}");
    assert!(err.contains("/v1/completions"), "{err}");
    assert!(err.contains("did not answer within 1 s"), "{err}");
}

#[test]
fn models_lists_ids() {
    let mock = Mock::start(vec![ok(json!({
        "object": "list",
        "data": [{"id": "model.gguf", "object": "model"}, {"id": "other"}]
    }))]);
    let models = mock.endpoint(Api::Chat).models().unwrap();
    assert_eq!(models, ["model.gguf", "other"]);
    let r = &mock.requests()[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/v1/models"));
}

#[test]
fn endpoint_is_shared_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Endpoint>();
    send_sync::<EndpointConfig>();
}

#[test]
fn base_urls_are_normalised() {
    for (given, base) in [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080"),
        (" http://127.0.0.1:8080/v1/ ", "http://127.0.0.1:8080"),
        (
            "http://127.0.0.1:8080/v1/completions",
            "http://127.0.0.1:8080",
        ),
        (
            "http://127.0.0.1:8080/v1/chat/completions",
            "http://127.0.0.1:8080",
        ),
        ("localhost:11434/v1", "http://localhost:11434"),
        ("HTTP://host/proxy/openai/V1//", "HTTP://host/proxy/openai"),
        ("http://hôst/v1", "http://hôst"),
    ] {
        assert_eq!(normalize_base_url(given).unwrap(), base, "{given}");
    }
    for (bad, says) in [
        ("", "empty"),
        ("ftp://host", "unsupported URL scheme"),
        ("http://", "no host"),
        ("http:///v1", "no host"),
        ("http://host/v1?x=1", "query"),
    ] {
        let err = normalize_base_url(bad).unwrap_err().to_string();
        assert!(err.contains(says), "{bad}: {err}");
    }
    for odd in [
        "://",
        "/",
        "é/v1",
        "http://é",
        "http:///chat/completions",
        " v1 ",
    ] {
        let _ = normalize_base_url(odd); // never panics
    }
}

#[cfg(not(feature = "endpoint-tls"))]
#[test]
fn https_needs_the_tls_feature() {
    let err = Endpoint::new(EndpointConfig::new("https://api.example.com/v1"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("https is not supported in this build"),
        "{err}"
    );
    assert!(err.contains("endpoint-tls"), "{err}");
}

#[test]
fn config_serde_defaults_and_api_names() {
    let config: EndpointConfig =
        serde_json::from_value(json!({"url": "http://127.0.0.1:8080"})).unwrap();
    assert_eq!(config, EndpointConfig::new("http://127.0.0.1:8080"));
    assert_eq!(config.api, Api::Completions);
    assert_eq!(config.timeout_s, 120);
    let config: EndpointConfig = serde_json::from_value(json!({
        "url": "http://h:1", "model": "m", "api": "chat", "api_key": "k", "timeout_s": 5,
        "extra": {"repeat_penalty": 1.0}
    }))
    .unwrap();
    assert_eq!(config.api, Api::Chat);
    assert_eq!(config.extra["repeat_penalty"], 1.0);
    assert!(!format!("{config:?}").contains("\"k\""), "key redacted");
    let back: EndpointConfig =
        serde_json::from_value(serde_json::to_value(&config).unwrap()).unwrap();
    assert_eq!(back, config);
    assert!(serde_json::from_value::<EndpointConfig>(json!({"url": "u", "modle": "m"})).is_err());
    assert_eq!("chat".parse::<Api>().unwrap(), Api::Chat);
    assert_eq!("Completions".parse::<Api>().unwrap(), Api::Completions);
    assert!("embeddings".parse::<Api>().is_err());
    let options: SampleOptions = serde_json::from_value(json!({"max_tokens": 8})).unwrap();
    assert_eq!(options, SampleOptions::greedy(8));
}

/// Against a real server (`scripts/endpoint_check.sh` starts llama-cpp-python on one of our
/// GGUFs): `EERD_ENDPOINT_URL` is the server; `EERD_ENDPOINT_CASES` a JSON array of
/// `{"prompt": P, "eerd": <eerd generate --json output>}`; `EERD_ENDPOINT_APIS` the APIs to try
/// (default `completions,chat`); `EERD_ENDPOINT_EXTRA` a JSON object for
/// [`EndpointConfig::extra`] (default none). Completions get `P<|prompt_end|>` (the server adds `<|bos|>`),
/// chat gets `P` (the server's template adds both). Prints per prompt and API how much of the
/// greedy continuation agrees with `eerd generate`, and fails unless the first tokens agree.
#[test]
#[ignore = "needs a running server: scripts/endpoint_check.sh"]
fn real_server() {
    let url = std::env::var("EERD_ENDPOINT_URL").expect("set EERD_ENDPOINT_URL");
    let cases_path = std::env::var("EERD_ENDPOINT_CASES").expect("set EERD_ENDPOINT_CASES");
    let apis = std::env::var("EERD_ENDPOINT_APIS").unwrap_or_else(|_| "completions,chat".into());
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&cases_path).unwrap()).unwrap();
    let extra = match std::env::var("EERD_ENDPOINT_EXTRA") {
        Ok(text) if !text.trim().is_empty() => serde_json::from_str(&text).unwrap(),
        _ => serde_json::Map::new(),
    };
    let mut failures = Vec::new();
    for api in apis.split(',') {
        let api: Api = api.parse().unwrap();
        let endpoint = Endpoint::new(EndpointConfig {
            api,
            timeout_s: 60,
            extra: extra.clone(),
            ..EndpointConfig::new(url.clone())
        })
        .unwrap();
        if api == Api::Completions {
            println!("models: {:?}", endpoint.models().unwrap());
        }
        for case in &cases {
            let prompt = case["prompt"].as_str().unwrap();
            let eerd = &case["eerd"];
            let want = eerd["text"].as_str().unwrap();
            let max_tokens = eerd["tokens"].as_array().unwrap().len();
            let sent = match api {
                Api::Completions => format!("{prompt}<|prompt_end|>"),
                Api::Chat => prompt.to_string(),
            };
            let got = endpoint
                .complete_detailed(&sent, &SampleOptions::greedy(max_tokens))
                .unwrap();
            let same: usize = got
                .text
                .chars()
                .zip(want.chars())
                .take_while(|(a, b)| a == b)
                .count();
            let prompt_ids = eerd["prompt_ids"].as_array().unwrap().len();
            println!(
                "{api} {prompt:?}: prompt tokens server {:?} / eerd {prompt_ids}; \
                 {} / {} tokens; {} ({same} of {} / {} chars agree)\n  server: {:?}\n  eerd:   {:?}",
                got.prompt_tokens,
                got.completion_tokens.map_or("?".into(), |n| n.to_string()),
                max_tokens,
                if got.text == want { "EQUAL" } else { "DIFFER" },
                got.text.chars().count(),
                want.chars().count(),
                got.text,
                want
            );
            let first = want.chars().count().min(8);
            if same < first || got.prompt_tokens.is_some_and(|n| n != prompt_ids) {
                failures.push(format!("{api} {prompt:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "disagree: {failures:?}");
}

/// Drafting from an endpoint sends one request per focused step (the step's prompt in the
/// template, one line wanted) and writes the verdicts into the usual completion text.
#[test]
fn drafts_from_an_endpoint_ask_once_per_step() {
    use eerd_trainer::r2ta::draft::{draft_all, focus_jobs, DraftOptions, DraftSource};
    let reference = include_str!("../../static/assignments/company/reference.puml");
    let record = eerd::finding::Record {
        id: "company-x".into(),
        assignment: "company".into(),
        reference: reference.into(),
        student: reference.into(),
        requirements: None,
        findings: Vec::new(),
        variations: Vec::new(),
    };
    let lexicon = eerd::lexicon::Lexicon::builtin();
    let jobs = focus_jobs(std::slice::from_ref(&record), &lexicon).unwrap();
    let steps = jobs[0].steps.len();
    let mut replies: Vec<Reply> = (0..steps - 1).map(|_| completions_answer("ok")).collect();
    replies.push(completions_answer("wrong_key EMPLOYEE\nextra text"));
    let mock = Mock::start(replies);
    let source = DraftSource::Endpoint(
        mock.endpoint(Api::Completions),
        "{prompt}<|prompt_end|>".into(),
    );
    let options = DraftOptions {
        temperature: 0.0,
        ..DraftOptions::default()
    };
    let drafts = draft_all(&source, &jobs, &options, &|_, _| {}).unwrap();
    let requests = mock.requests();
    assert_eq!(requests.len(), steps);
    let first = requests[0].json();
    assert_eq!(
        first["prompt"].as_str().unwrap(),
        format!("{}<|prompt_end|>", jobs[0].steps[0].prompt)
    );
    let parsed = eerd::trace::parse_completion(&drafts[0].completion);
    assert!(parsed.is_clean(), "{:?}", parsed.errors);
    assert_eq!(parsed.trace.steps.len(), steps);
    let last = parsed.trace.steps.last().unwrap();
    assert_eq!(last.claims.len(), 1, "{}", drafts[0].completion);
}
