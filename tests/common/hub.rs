//! A Hugging Face Hub on 127.0.0.1 for the download tests: it serves model repositories made
//! from the project's fixture models in the Hub's layout, as hf-hub reads it:
//!
//! - `GET /api/models/{org}/{name}/revision/{rev}`: the repo's commit and file list;
//! - `GET /{org}/{name}/resolve/{rev}/{file}`: the file, with `X-Repo-Commit`, `ETag` (its git
//!   blob SHA-1, as the Hub's small files have), `Content-Length`, and `Range`
//!   requests (`bytes=A-B`, `bytes=A-`) answered 206 with `Content-Range`. Files over
//!   [`LARGE`] bytes are redirected, as the Hub sends LFS files to its CDN: a 302 to an
//!   absolute `/cdn/{sha256}` URL carrying `X-Linked-Etag` (the SHA-256), `X-Linked-Size` and
//!   the commit.
//!
//! and, for the failure paths: an unknown repo or revision is a 404 (`X-Error-Code:
//! RepoNotFound`/`RevisionNotFound`), a gated repo a 401 unless the request has its token,
//! a broken repo a 500, and a file can be cut: the server declares its whole length, sends the
//! first N bytes and drops the connection. Every request is logged, so a test can count them.
//! tiny_http does the HTTP; one thread answers, one request at a time.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

/// Files at least this large are redirected to the "CDN", as LFS files are on the Hub.
pub const LARGE: usize = 64 * 1024;

/// One repository: its commit and its files.
#[derive(Clone, Default)]
pub struct Repo {
    pub commit: String,
    pub files: BTreeMap<String, Vec<u8>>,
    /// Answer 401 unless `Authorization: Bearer TOKEN`.
    pub token: Option<String>,
    /// Answer 500 to everything.
    pub broken: bool,
}

impl Repo {
    /// The files of a fixture model directory (not its subdirectories), under a commit made
    /// from their contents.
    pub fn from_dir(dir: &Path) -> Repo {
        let mut files = BTreeMap::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                files.insert(
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
        let mut h = Sha256::new();
        for (name, bytes) in &files {
            h.update(name.as_bytes());
            h.update(bytes);
        }
        let commit = hex(&h.finalize())[..40].to_string();
        Repo {
            commit,
            files,
            ..Repo::default()
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[derive(Default)]
struct State {
    repos: BTreeMap<String, Repo>,
    log: Vec<String>,
    /// file name → bytes to send before dropping the connection, once.
    cut: BTreeMap<String, usize>,
}

/// The server; stops when dropped.
pub struct Hub {
    pub url: String,
    state: Arc<Mutex<State>>,
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A reader that gives `n` bytes of `data`, then fails: the connection is dropped mid-body.
struct Cut {
    data: std::io::Cursor<Vec<u8>>,
    left: usize,
}

impl Read for Cut {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "cut"));
        }
        let k = buf.len().min(self.left);
        let n = self.data.read(&mut buf[..k])?;
        self.left -= n;
        Ok(n)
    }
}

fn header(k: &str, v: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap()
}

impl Hub {
    pub fn start(repos: &[(&str, Repo)]) -> Hub {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let url = format!("http://127.0.0.1:{port}");
        let state = Arc::new(Mutex::new(State {
            repos: repos.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            ..State::default()
        }));
        let (s, st, base) = (Arc::clone(&server), Arc::clone(&state), url.clone());
        let thread = std::thread::spawn(move || {
            for rq in s.incoming_requests() {
                answer(rq, &st, &base);
            }
        });
        Hub {
            url,
            state,
            server,
            thread: Some(thread),
        }
    }

    /// Requests so far, as `METHOD /path`, with the `Range` asked for if any (`bytes=N-`).
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }

    /// The next download of `file` (any repo) is cut after `bytes`.
    pub fn cut_next(&self, file: &str, bytes: usize) {
        self.state.lock().unwrap().cut.insert(file.to_string(), bytes);
    }

    pub fn repo(&self, id: &str) -> Repo {
        self.state.lock().unwrap().repos[id].clone()
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn answer(rq: tiny_http::Request, state: &Mutex<State>, base: &str) {
    let path = rq.url().split('?').next().unwrap_or("").to_string();
    let get = |name: &'static str| {
        rq.headers()
            .iter()
            .find(|h| h.field.equiv(name))
            .map(|h| h.value.as_str().to_string())
    };
    let (range, auth) = (get("Range"), get("Authorization"));
    let mut st = state.lock().unwrap();
    st.log.push(match &range {
        Some(r) => format!("{} {path} {r}", rq.method()),
        None => format!("{} {path}", rq.method()),
    });
    let text = |code: u16, body: &str, extra: Vec<tiny_http::Header>| {
        let mut r = tiny_http::Response::from_string(body).with_status_code(code);
        for h in extra {
            r.add_header(h);
        }
        r
    };

    // /cdn/{sha256}: a blob by its hash.
    if let Some(sha) = path.strip_prefix("/cdn/") {
        let found = st
            .repos
            .values()
            .flat_map(|r| r.files.iter())
            .find(|(_, b)| hex(&Sha256::digest(b)) == sha)
            .map(|(n, b)| (n.clone(), b.clone()));
        let Some((name, bytes)) = found else {
            let _ = rq.respond(text(404, "no such blob", vec![]));
            return;
        };
        let cut = take_cut(&mut st, &name, range.as_deref(), bytes.len());
        drop(st);
        send_file(rq, bytes, range.as_deref(), cut, vec![]);
        return;
    }

    let Some((id, rev, file)) = repo_route(&path) else {
        let _ = rq.respond(text(404, "not found", vec![]));
        return;
    };
    let repo = match check(&st, &id, &rev, auth.as_deref()) {
        Ok(r) => r,
        Err((code, err, msg)) => {
            let _ = rq.respond(text(code, msg, vec![header("X-Error-Code", err)]));
            return;
        }
    };
    // The listing.
    let Some(file) = file else {
        let siblings: Vec<String> = repo
            .files
            .keys()
            .map(|f| format!("{{\"rfilename\":\"{f}\"}}"))
            .collect();
        let body = format!(
            "{{\"_id\":\"x\",\"id\":\"{id}\",\"modelId\":\"{id}\",\"sha\":\"{}\",\"siblings\":[{}]}}",
            repo.commit,
            siblings.join(",")
        );
        let _ = rq.respond(text(200, &body, vec![header("Content-Type", "application/json")]));
        return;
    };
    // A file.
    let Some(bytes) = repo.files.get(&file).cloned() else {
        let _ = rq.respond(text(
            404,
            "Entry not found",
            vec![header("X-Error-Code", "EntryNotFound")],
        ));
        return;
    };
    let sha = hex(&Sha256::digest(&bytes));
    let commit = header("X-Repo-Commit", &repo.commit);
    if bytes.len() >= LARGE {
        let r = text(
            302,
            "",
            vec![
                header("Location", &format!("{base}/cdn/{sha}")),
                header("X-Linked-Etag", &format!("\"{sha}\"")),
                header("X-Linked-Size", &bytes.len().to_string()),
                commit,
            ],
        );
        let _ = rq.respond(r);
        return;
    }
    // A small file's ETag is its git blob SHA-1, as on the Hub.
    let git = {
        use sha1::Digest as _;
        let mut h = sha1::Sha1::new();
        h.update(format!("blob {}\0", bytes.len()).as_bytes());
        h.update(&bytes);
        hex(&h.finalize())
    };
    let cut = take_cut(&mut st, &file, range.as_deref(), bytes.len());
    drop(st);
    send_file(
        rq,
        bytes,
        range.as_deref(),
        cut,
        vec![header("ETag", &format!("\"{git}\"")), commit],
    );
}

/// `/api/models/{org}/{name}/revision/{rev}` (the listing: no file) or
/// `/{org}/{name}/resolve/{rev}/{file}`, as (repo id, revision, file).
fn repo_route(path: &str) -> Option<(String, String, Option<String>)> {
    if let Some(rest) = path.strip_prefix("/api/models/") {
        let p: Vec<&str> = rest.split('/').collect();
        return (p.len() == 4 && p[2] == "revision").then(|| (format!("{}/{}", p[0], p[1]), p[3].to_string(), None));
    }
    let p: Vec<&str> = path.trim_start_matches('/').splitn(5, '/').collect();
    (p.len() == 5 && p[2] == "resolve")
        .then(|| (format!("{}/{}", p[0], p[1]), p[3].to_string(), Some(p[4].to_string())))
}

/// The bytes `Range: bytes=A-B` (or `A-`) asks for of `total`, as start..end; all without one.
fn span(range: Option<&str>, total: usize) -> (usize, usize) {
    let Some((a, b)) = range
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split_once('-'))
    else {
        return (0, total);
    };
    let start = a.parse::<usize>().unwrap_or(0).min(total);
    let end = if b.is_empty() {
        total
    } else {
        b.parse::<usize>().map_or(total, |b| b + 1).min(total)
    };
    (start, end.max(start))
}

/// The cut planned for `file`, used up by a request that asks for more than it lets through
/// (not by hf-hub's one-byte metadata request).
fn take_cut(st: &mut State, file: &str, range: Option<&str>, total: usize) -> Option<usize> {
    let n = *st.cut.get(file)?;
    let (start, end) = span(range, total);
    let asked = end - start;
    if asked <= n {
        return None;
    }
    st.cut.remove(file);
    Some(n)
}

/// The repo `id` at `rev`, or the error the Hub would answer.
fn check(st: &State, id: &str, rev: &str, auth: Option<&str>) -> Result<Repo, (u16, &'static str, &'static str)> {
    let Some(repo) = st.repos.get(id) else {
        return Err((404, "RepoNotFound", "Repository not found"));
    };
    if repo.broken {
        return Err((500, "", "Internal Error"));
    }
    if let Some(t) = &repo.token
        && auth != Some(format!("Bearer {t}").as_str())
    {
        return Err((
            401,
            "GatedRepo",
            "Access to this model is restricted: you must be authenticated",
        ));
    }
    if rev != "main" && rev != repo.commit {
        return Err((404, "RevisionNotFound", "Invalid rev id"));
    }
    Ok(repo.clone())
}

/// A file's bytes, whole or the range asked for; `cut`: send that many bytes of the body and
/// drop the connection.
fn send_file(
    rq: tiny_http::Request,
    bytes: Vec<u8>,
    range: Option<&str>,
    cut: Option<usize>,
    headers: Vec<tiny_http::Header>,
) {
    let total = bytes.len();
    let (start, end) = span(range, total);
    let body = bytes[start..end].to_vec();
    let len = body.len();
    let mut headers = headers;
    let code = if range.is_some() {
        headers.push(header(
            "Content-Range",
            &format!("bytes {start}-{}/{total}", end.saturating_sub(1)),
        ));
        206
    } else {
        200
    };
    let reader: Box<dyn Read + Send> = match cut {
        Some(n) if n < len => Box::new(Cut {
            data: std::io::Cursor::new(body),
            left: n,
        }),
        _ => Box::new(std::io::Cursor::new(body)),
    };
    let r = tiny_http::Response::new(tiny_http::StatusCode(code), headers, reader, Some(len), None);
    let _ = rq.respond(r);
}
