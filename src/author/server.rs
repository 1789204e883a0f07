//! The HTTP and WebSocket server of the authoring page (axum on the caller's tokio runtime):
//! the page and its script and style (part of the binary), the live screen and the live check
//! over one WebSocket per page, freezing a frame and saving it as a reference.
//!
//! Routes, all under `/<token>/` (see the module docs of `author` for why):
//! `GET /` the page, `GET /author.js`, `GET /author.css`, `GET /ws` the WebSocket,
//! `GET /api/info`, `POST /api/freeze`, `GET /api/frozen.png`, `POST /api/save`,
//! `POST /api/edit` (an existing reference becomes the frozen frame, its shapes returned).

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::error::AuthorError;
use super::frames::{self, Ended};
use super::input::{Input, InputSender};
use super::live_check::{self, CheckReport, References};
use super::pause::PauseSlot;
use super::save::{self, Drawing};
use super::update;
use crate::display::Display;
use crate::rfb::{Frame, Rect};
use crate::screen::ScreenSet;

const INDEX_HTML: &str = include_str!("assets/index.html");
const AUTHOR_JS: &str = include_str!("assets/author.js");
const AUTHOR_CSS: &str = include_str!("assets/author.css");

/// How the page is served.
#[derive(Clone, Debug)]
pub struct AuthorOptions {
    /// Where to listen (port 0: any free port). Loopback unless there is a reason.
    pub listen: SocketAddr,
    /// The `screens` folder (or a project root holding one).
    pub screens_root: PathBuf,
    /// The set references are saved into and checked from; `None`: the page only shows and
    /// drives the screen.
    pub set: Option<String>,
    /// At most one screen update per this long per page.
    pub frame_interval: Duration,
}

impl AuthorOptions {
    pub fn new(listen: SocketAddr, screens_root: PathBuf, set: Option<String>) -> AuthorOptions {
        AuthorOptions {
            listen,
            screens_root,
            set,
            frame_interval: Duration::from_millis(100),
        }
    }
}

struct Shared {
    display: Arc<dyn Display>,
    frames: watch::Receiver<Arc<Frame>>,
    checks: watch::Receiver<Arc<CheckReport>>,
    frozen: Mutex<Option<Arc<Frame>>>,
    refs: Arc<References>,
    options: AuthorOptions,
    stopping: watch::Receiver<bool>,
    pause: Arc<PauseSlot>,
}

/// A running authoring server.
pub struct Author {
    url: String,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    stopping: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    ended: Ended,
    pause: Arc<PauseSlot>,
}

impl Author {
    /// Binds `options.listen` and serves the page for `display` on the current runtime.
    pub async fn start(
        display: Arc<dyn Display>,
        options: AuthorOptions,
    ) -> Result<Author, AuthorError> {
        let refs = match &options.set {
            Some(set) if save::set_dir(&options.screens_root, set).is_dir() => {
                ScreenSet::load(&options.screens_root, set)?.references()
            }
            _ => Vec::new(),
        };
        let refs = Arc::new(References::new(refs));
        let stop = Arc::new(AtomicBool::new(false));
        let (frames, ended) = frames::follow(display.clone(), stop.clone())?;
        let checks = live_check::start(display.clone(), refs.clone(), stop.clone())
            .map_err(|e| AuthorError::Invalid(format!("starting the live check: {e}")))?;
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|source| AuthorError::Bind {
                addr: options.listen.to_string(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| AuthorError::Bind {
            addr: options.listen.to_string(),
            source,
        })?;
        if !addr.ip().is_loopback() {
            tracing::warn!(
                "the authoring page listens on {addr}: anyone who can reach it and knows the URL drives the guest"
            );
        }
        let token = token()?;
        let (stopping_tx, stopping) = watch::channel(false);
        let pause = Arc::new(PauseSlot::new());
        let shared = Arc::new(Shared {
            display,
            frames,
            checks,
            frozen: Mutex::new(None),
            refs,
            options,
            stopping: stopping.clone(),
            pause: pause.clone(),
        });
        let at = |p: &str| format!("/{token}{p}");
        let app = Router::new()
            .route(
                &at("/"),
                get(|| async { page(INDEX_HTML, "text/html; charset=utf-8") }),
            )
            .route(
                &at("/author.js"),
                get(|| async { page(AUTHOR_JS, "text/javascript; charset=utf-8") }),
            )
            .route(
                &at("/author.css"),
                get(|| async { page(AUTHOR_CSS, "text/css; charset=utf-8") }),
            )
            .route(&at("/ws"), get(ws))
            .route(&at("/api/info"), get(info))
            .route(&at("/api/freeze"), post(freeze))
            .route(&at("/api/frozen.png"), get(frozen_png))
            .route(&at("/api/save"), post(save_reference))
            .route(&at("/api/edit"), post(edit_reference))
            .route(&at("/api/pause"), get(pause_view))
            .route(&at("/api/resume"), post(resume))
            .with_state(shared);
        let mut until = stopping.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = until.wait_for(|s| *s).await;
                })
                .await
        });
        Ok(Author {
            url: format!("http://{addr}/{token}/"),
            addr,
            stop,
            stopping: stopping_tx,
            task,
            ended,
            pause,
        })
    }

    /// Where a paused run shows why it paused and the page answers (developer mode).
    pub fn pause_slot(&self) -> Arc<PauseSlot> {
        self.pause.clone()
    }

    /// The page's address (with its token): give it to the browser, to nobody else.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits until the guest's screen goes away (the VNC session ended) and says why.
    pub async fn ended(&self) -> String {
        let mut ended = self.ended.clone();
        match ended.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone().unwrap_or_default(),
            Err(_) => "the live screen stopped".into(),
        }
    }

    /// Stops serving: closes the pages' connections and the server, ends the threads.
    pub async fn shutdown(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.stopping.send_replace(true);
        match tokio::time::timeout(Duration::from_secs(5), self.task).await {
            Ok(Ok(Err(e))) => tracing::warn!("authoring server: {e}"),
            Err(_) => tracing::warn!("authoring server did not stop within 5 s"),
            _ => {}
        }
    }
}

/// 128 random bits, hex.
fn token() -> Result<String, AuthorError> {
    let path = "/dev/urandom";
    let mut bytes = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| AuthorError::io(path, e))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn page(body: &'static str, kind: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn invalid(e: AuthorError) -> Response {
    let status = match e {
        AuthorError::Invalid(_) | AuthorError::Screen(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, Json(json!({"error": e.to_string()}))).into_response()
}

async fn info(State(s): State<Arc<Shared>>) -> Response {
    let frame = s.frames.borrow().clone();
    Json(json!({
        "width": frame.width(),
        "height": frame.height(),
        "set": s.options.set,
        "screens": s.options.screens_root.display().to_string(),
    }))
    .into_response()
}

async fn freeze(State(s): State<Arc<Shared>>) -> Response {
    let frame = s.frames.borrow().clone();
    let reply = json!({"serial": frame.serial, "width": frame.width(), "height": frame.height()});
    if let Ok(mut f) = s.frozen.lock() {
        *f = Some(frame);
    }
    Json(reply).into_response()
}

async fn frozen_png(State(s): State<Arc<Shared>>) -> Response {
    let Some(frame) = s.frozen.lock().ok().and_then(|f| f.clone()) else {
        return invalid(AuthorError::Invalid("no frame is frozen".into()));
    };
    let png = tokio::task::spawn_blocking(move || {
        let image = &frame.image;
        let mut msg = update::encode(image, Rect::full(image.width(), image.height()));
        msg.split_off(update::HEADER_LEN)
    })
    .await
    .unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        png,
    )
        .into_response()
}

async fn save_reference(State(s): State<Arc<Shared>>, Json(drawing): Json<Drawing>) -> Response {
    let Some(set) = s.options.set.clone() else {
        return invalid(AuthorError::Invalid(
            "no screen set: start `vncpilot author` with --set NAME (or a harness)".into(),
        ));
    };
    let Some(frame) = s.frozen.lock().ok().and_then(|f| f.clone()) else {
        return invalid(AuthorError::Invalid("freeze a frame first".into()));
    };
    let root = s.options.screens_root.clone();
    let refs = s.refs.clone();
    let done = tokio::task::spawn_blocking(move || {
        let saved = save::save(&root, &set, &frame.image, &drawing)?;
        tracing::info!(
            "saved reference {} ({} region(s))",
            saved.name,
            saved.regions
        );
        // The live check goes on with the set as it now is on disk.
        let reloaded = ScreenSet::load(&root, &set).map(|s| s.references());
        if let Ok(r) = &reloaded {
            refs.replace(r.clone());
        }
        Ok::<_, AuthorError>((saved, reloaded.err().map(|e| e.to_string())))
    })
    .await;
    match done {
        Ok(Ok((saved, reload_error))) => Json(json!({
            "name": saved.name,
            "screen": saved.screen.display().to_string(),
            "mask": saved.mask.display().to_string(),
            "settings": saved.settings.display().to_string(),
            "regions": saved.regions,
            "reload_error": reload_error,
        }))
        .into_response(),
        Ok(Err(e)) => invalid(e),
        Err(e) => invalid(AuthorError::Invalid(format!("saving failed: {e}"))),
    }
}

/// `{"paused": false}`, or `{"paused": true, "step", "action", "screens", "reason"}`.
async fn pause_view(State(s): State<Arc<Shared>>) -> Response {
    match s.pause.current() {
        Some(view) => {
            let mut reply = serde_json::to_value(view).unwrap_or_default();
            reply["paused"] = json!(true);
            Json(reply).into_response()
        }
        None => Json(json!({"paused": false})).into_response(),
    }
}

#[derive(serde::Deserialize)]
struct ResumeRequest {
    /// true: retry the step with the references reloaded; false: give up (fail it).
    retry: bool,
}

async fn resume(State(s): State<Arc<Shared>>, Json(req): Json<ResumeRequest>) -> Response {
    if s.pause.answer(req.retry) {
        Json(json!({"resumed": true, "retry": req.retry})).into_response()
    } else {
        (
            StatusCode::CONFLICT,
            Json(json!({"error": "the run is not paused"})),
        )
            .into_response()
    }
}

#[derive(serde::Deserialize)]
struct EditRequest {
    name: String,
}

/// Freezes an existing reference's image and returns its shapes, to edit and save it again.
async fn edit_reference(State(s): State<Arc<Shared>>, Json(req): Json<EditRequest>) -> Response {
    let Some(set) = s.options.set.clone() else {
        return invalid(AuthorError::Invalid("no screen set".into()));
    };
    let root = s.options.screens_root.clone();
    let loaded =
        tokio::task::spawn_blocking(move || save::load_drawing(&root, &set, &req.name)).await;
    match loaded {
        Ok(Ok((image, drawing))) => {
            let (width, height) = image.dimensions();
            let frame = Arc::new(Frame {
                serial: 0,
                time: std::time::Instant::now(),
                image: Arc::new(image),
                damage: Vec::new(),
                cursor: None,
                pointer: None,
            });
            if let Ok(mut f) = s.frozen.lock() {
                *f = Some(frame);
            }
            Json(json!({"width": width, "height": height, "drawing": drawing})).into_response()
        }
        Ok(Err(e)) => invalid(e),
        Err(e) => invalid(AuthorError::Invalid(format!("loading failed: {e}"))),
    }
}

async fn ws(State(s): State<Arc<Shared>>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| connection(s, socket))
}

async fn send_json(socket: &mut WebSocket, value: serde_json::Value) -> bool {
    socket
        .send(Message::Text(value.to_string().into()))
        .await
        .is_ok()
}

/// One page: screen updates and check results out, input in (carried out in order by a task
/// of its own, so typing a long text does not hold back the screen).
async fn connection(s: Arc<Shared>, mut socket: WebSocket) {
    let (input_tx, mut input_rx) = mpsc::channel::<Input>(256);
    let (error_tx, mut error_rx) = mpsc::unbounded_channel::<String>();
    let display = s.display.clone();
    let input_task = tokio::spawn(async move {
        let mut sender = InputSender::new(display);
        while let Some(input) = input_rx.recv().await {
            if let Err(e) = sender.send(input).await {
                let _ = error_tx.send(e.to_string());
            }
        }
    });
    let mut frames = s.frames.clone();
    let mut checks = s.checks.clone();
    let mut stopping = s.stopping.clone();
    frames.mark_changed();
    checks.mark_changed();
    let first = frames.borrow().clone();
    let hello = json!({"type": "hello", "width": first.width(), "height": first.height(),
                       "set": s.options.set});
    if !send_json(&mut socket, hello).await {
        input_task.abort();
        return;
    }
    let mut sent: Option<Arc<image::RgbImage>> = None;
    let mut pending = false;
    let mut next_at = Instant::now();
    loop {
        tokio::select! {
            r = frames.changed(), if !pending => {
                if r.is_err() { break }
                pending = true;
            }
            _ = tokio::time::sleep_until(next_at), if pending => {
                pending = false;
                let frame = frames.borrow_and_update().clone();
                let previous = sent.replace(frame.image.clone());
                let image = frame.image.clone();
                let message = tokio::task::spawn_blocking(move || {
                    let rect = match previous {
                        Some(p) => update::changed_rect(&p, &image)?,
                        None => Rect::full(image.width(), image.height()),
                    };
                    Some(update::encode(&image, rect))
                })
                .await
                .ok()
                .flatten();
                if let Some(m) = message
                    && socket.send(Message::Binary(m.into())).await.is_err()
                {
                    break;
                }
                next_at = Instant::now() + s.options.frame_interval;
            }
            r = checks.changed() => {
                if r.is_err() { break }
                let report = checks.borrow_and_update().clone();
                let msg = json!({"type": "checks", "serial": report.serial, "results": report.results});
                if !send_json(&mut socket, msg).await { break }
            }
            Some(e) = error_rx.recv() => {
                if !send_json(&mut socket, json!({"type": "error", "message": e})).await { break }
            }
            _ = stopping.changed() => break,
            m = socket.recv() => match m {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<Input>(&text) {
                    Ok(input) => {
                        if input_tx.send(input).await.is_err() { break }
                    }
                    Err(e) => {
                        let msg = json!({"type": "error", "message": format!("bad message: {e}")});
                        if !send_json(&mut socket, msg).await { break }
                    }
                },
                Some(Ok(_)) => {}
            },
        }
    }
    input_task.abort();
}
