//! A small static file server for the built page (std only): 127.0.0.1, one thread per
//! connection, GET and HEAD, the page's security headers on every response. The files are public
//! and may be embedded by other sites (the widget): CORS `*` and CORP `cross-origin`; the page
//! itself is cross-origin isolated (COOP + COEP) so its Stop flag can be shared memory.

use anyhow::{Context, Result};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};

/// The Content-Security-Policy sent with every response (the page also has it as a meta tag).
pub const CSP: &str =
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'self'";

/// The benchmark pages only: `@wllama/wllama` starts its workers from `blob:` URLs.
pub const BENCH_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' blob:; \
     worker-src 'self' blob:; connect-src 'self' blob: data:; object-src 'none'; base-uri 'none'";

/// The demo pages (`/demo/…`): like [`CSP`], plus the widget's files from another local origin
/// (`localhost` ↔ `127.0.0.1`, used to test embedding across origins) and its blob worker shim.
pub const DEMO_CSP: &str = "default-src 'self' http://127.0.0.1:* http://localhost:*; \
     script-src 'self' 'wasm-unsafe-eval' http://127.0.0.1:* http://localhost:*; \
     worker-src 'self' blob: http://127.0.0.1:* http://localhost:*; object-src 'none'; base-uri 'none'; \
     frame-ancestors 'self'";

fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
        .as_str()
    {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "puml" | "md" | "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The file a request path names under `root`, refusing anything that leaves it.
pub fn resolve(root: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let decoded = percent_decode(path)?;
    let relative = Path::new(decoded.trim_start_matches('/'));
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return None;
    }
    let mut file = root.join(relative);
    if file.is_dir() {
        file = file.join("index.html");
    }
    file.is_file().then_some(file)
}

fn respond(stream: &mut TcpStream, root: &Path) -> Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let csp = if target.starts_with("/bench/") {
        BENCH_CSP
    } else if target.starts_with("/demo/") {
        DEMO_CSP
    } else {
        CSP
    };
    let common = format!(
        "Content-Security-Policy: {csp}\r\nCross-Origin-Opener-Policy: same-origin\r\n\
         Cross-Origin-Embedder-Policy: require-corp\r\n\
         Cross-Origin-Resource-Policy: cross-origin\r\nAccess-Control-Allow-Origin: *\r\n\
         X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n\
         Cache-Control: no-cache\r\nConnection: close\r\n"
    );
    if method != "GET" && method != "HEAD" {
        write!(
            stream,
            "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n{common}Content-Length: 0\r\n\r\n"
        )?;
        return Ok(());
    }
    let Some(file) = resolve(root, target) else {
        let body = "not found\n";
        write!(
            stream,
            "HTTP/1.1 404 Not Found\r\n{common}Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )?;
        return Ok(());
    };
    let mut data = Vec::new();
    std::fs::File::open(&file)?.read_to_end(&mut data)?;
    write!(
        stream,
        "HTTP/1.1 200 OK\r\n{common}Content-Type: {}\r\nContent-Length: {}\r\n\r\n",
        content_type(&file),
        data.len()
    )?;
    if method == "GET" {
        stream.write_all(&data)?;
    }
    stream.flush()?;
    Ok(())
}

/// Binds 127.0.0.1:`port` (0: any free port) and returns the listener and its port.
pub fn bind(port: u16) -> Result<(TcpListener, u16)> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
    let port = listener.local_addr()?.port();
    Ok((listener, port))
}

/// Serves `root` forever on `listener`.
pub fn serve(listener: TcpListener, root: PathBuf) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let root = root.clone();
        std::thread::spawn(move || {
            let _ = respond(&mut stream, &root);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_inside_the_root_only() {
        let root = std::env::temp_dir().join(format!("xtask-serve-{}", std::process::id()));
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::write(root.join("index.html"), "x").unwrap();
        std::fs::write(root.join("a/b c.js"), "x").unwrap();
        assert_eq!(resolve(&root, "/"), Some(root.join("index.html")));
        assert_eq!(
            resolve(&root, "/a/b%20c.js?v=1"),
            Some(root.join("a/b c.js"))
        );
        assert_eq!(resolve(&root, "/../etc/passwd"), None);
        assert_eq!(resolve(&root, "/a/%2e%2e/%2e%2e/x"), None);
        assert_eq!(resolve(&root, "/missing"), None);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn serves_files_with_security_headers() {
        let root = std::env::temp_dir().join(format!("xtask-serve2-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("m.wasm"), b"\0asm").unwrap();
        let (listener, port) = bind(0).unwrap();
        let r = root.clone();
        std::thread::spawn(move || serve(listener, r));
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(b"GET /m.wasm HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("HTTP/1.1 200"));
        assert!(text.contains("Content-Type: application/wasm"));
        assert!(text.contains("Cross-Origin-Embedder-Policy: require-corp"));
        assert!(text.contains("Content-Security-Policy: default-src 'self'"));
        assert!(text.ends_with("\0asm"));
        std::fs::remove_dir_all(root).unwrap();
    }
}
