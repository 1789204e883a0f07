//! A live VNC session: one reader task decodes server messages into frames, one writer task
//! owns the socket's write half; [`Session`] is a cheap handle to both.
//!
//! Why two tasks and not one `select!`: a server message is read with many awaits, and
//! abandoning one half-way (as `select!` does to the losing branch) would desynchronise the
//! stream. The writer task serialises all client messages (ours and the reader's update
//! requests) through one channel, so input never waits for a screen update to finish.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::AbortHandle;

use super::RfbError;
use super::addr::Addr;
use super::auth::Secret;
use super::encodings::{Decoders, code};
use super::frame::{Frame, Rect};
use super::framebuffer::Framebuffer;
use super::handshake::{ServerInit, handshake};
use super::keys::{self, Combo};
use super::stream::{FrameStream, Published, merge_damage};
use super::update::{PointerMode, read_message};
use super::wire::{WireReader, msg};

/// How to connect.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// For VNC authentication; `None` means security type None only.
    pub password: Option<Secret>,
    /// Bounds everything up to the first complete frame: TCP connect, handshake, first update.
    pub connect_timeout: Duration,
    /// The server sending nothing for this long in the middle of a message, or not answering a
    /// probe after an idle period this long, ends the session with [`RfbError::Stalled`].
    pub stall_timeout: Duration,
    /// Pixel encodings in order of preference (see [`code`]); pseudo-encodings are added.
    pub encodings: Vec<i32>,
    /// Allow lossy Tight JPEG at this quality (0–9). `None` (the default) keeps pixels exact,
    /// which reference matching needs.
    pub jpeg_quality: Option<u8>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            password: None,
            connect_timeout: Duration::from_secs(15),
            stall_timeout: Duration::from_secs(30),
            encodings: vec![code::ZRLE, code::TIGHT, code::COPY_RECT, code::RAW],
            jpeg_quality: None,
        }
    }
}

trait Connection: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Connection for T {}

enum Command {
    Send(Vec<u8>, Option<oneshot::Sender<Result<(), RfbError>>>),
}

/// A connected VNC session. Clone freely: all clones drive the same connection, which closes
/// when the last clone is dropped or [`Session::close`] is called.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    published: Arc<Published>,
    control: Arc<Control>,
    commands: mpsc::Sender<Command>,
    server: ServerInit,
    tasks: Vec<AbortHandle>,
}

/// The reason recorded when this side ends the session (`close`, or the last handle dropped):
/// an orderly close, logged at debug level, not as a warning.
const CLOSED_BY_CLIENT: &str = "closed by the client";

impl Drop for Inner {
    fn drop(&mut self) {
        self.published
            .end(RfbError::SessionEnded(CLOSED_BY_CLIENT.into()));
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// State the reader learns from the server and the handles read.
struct Control {
    qemu_keys: AtomicBool,
    pointer_mode: AtomicU8,
    pointer: Mutex<Option<(u32, u32)>>,
    size: Mutex<(u32, u32)>,
}

fn mode_to_u8(m: PointerMode) -> u8 {
    match m {
        PointerMode::Unknown => 0,
        PointerMode::Absolute => 1,
        PointerMode::Relative => 2,
    }
}

impl Session {
    /// Connects, authenticates, and waits for the first complete frame, all within
    /// `opts.connect_timeout`.
    pub async fn connect(addr: &Addr, opts: ConnectOptions) -> Result<Session, RfbError> {
        let limit = opts.connect_timeout;
        tokio::time::timeout(limit, Self::connect_inner(addr, opts))
            .await
            .map_err(|_| RfbError::ConnectTimeout(limit))?
    }

    async fn connect_inner(addr: &Addr, opts: ConnectOptions) -> Result<Session, RfbError> {
        let connect_err = |e: std::io::Error| RfbError::Connect {
            addr: addr.to_string(),
            source: Arc::new(e),
        };
        let mut conn: Box<dyn Connection> = match addr {
            Addr::Tcp { host, port } => {
                let s = tokio::net::TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(connect_err)?;
                s.set_nodelay(true).map_err(connect_err)?;
                Box::new(s)
            }
            Addr::Unix(path) => Box::new(
                tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(connect_err)?,
            ),
        };
        let server = handshake(&mut conn, opts.password.as_ref(), opts.stall_timeout).await?;
        tracing::info!(name = %server.name, width = server.width, height = server.height, minor = server.minor, "VNC connected");

        let mut encodings = opts.encodings.clone();
        if let Some(q) = opts.jpeg_quality {
            encodings.push(code::JPEG_QUALITY_0 + i32::from(q.min(9)));
        }
        encodings.extend([
            code::CURSOR,
            code::DESKTOP_SIZE,
            code::EXTENDED_DESKTOP_SIZE,
            code::LAST_RECT,
            code::QEMU_EXTENDED_KEY_EVENT,
            code::QEMU_POINTER_TYPE_CHANGE,
        ]);
        let mut hello = msg::set_pixel_format();
        hello.extend(msg::set_encodings(&encodings));
        hello.extend(msg::update_request(
            false,
            0,
            0,
            server.width as u16,
            server.height as u16,
        ));
        conn.write_all(&hello).await?;
        conn.flush().await?;

        let fb = Framebuffer::new(server.width, server.height)?;
        let placeholder = Frame {
            serial: 0,
            time: Instant::now(),
            image: fb.image().clone(),
            damage: Vec::new(),
            cursor: None,
            pointer: None,
        };
        let (published, tx) = Published::new(Arc::new(placeholder));
        let control = Arc::new(Control {
            qemu_keys: AtomicBool::new(false),
            pointer_mode: AtomicU8::new(0),
            pointer: Mutex::new(None),
            size: Mutex::new((server.width, server.height)),
        });
        let (read_half, write_half) = tokio::io::split(conn);
        let (cmd_tx, cmd_rx) = mpsc::channel(1024);
        let writer = tokio::spawn(write_loop(write_half, cmd_rx, published.clone()));
        let reader_state = Reader {
            wire: WireReader::new(
                BufReader::with_capacity(256 * 1024, read_half),
                opts.stall_timeout,
            ),
            fb,
            decoders: Decoders::default(),
            published: published.clone(),
            tx,
            control: control.clone(),
            commands: cmd_tx.clone(),
            serial: 0,
        };
        let reader = tokio::spawn(reader_state.run());
        let session = Session {
            inner: Arc::new(Inner {
                published,
                control,
                commands: cmd_tx,
                server,
                tasks: vec![reader.abort_handle(), writer.abort_handle()],
            }),
        };
        // Before the first frame, the reason the reader stopped is the connection's error
        // (a size too large, a protocol violation), not a generic "session ended".
        if let Err(e) = session.inner.published.wait_serial(0, Duration::MAX).await {
            return Err(session.ended().unwrap_or(e));
        }
        Ok(session)
    }

    /// The newest complete frame.
    pub fn latest(&self) -> Arc<Frame> {
        self.inner.published.latest()
    }

    /// Every frame from now on. Subscribe first, then look at [`Session::latest`], and no
    /// change can slip between the two.
    pub fn subscribe(&self) -> FrameStream {
        FrameStream::new(self.inner.published.clone())
    }

    /// Waits for a frame with serial greater than `after`.
    pub async fn wait_serial(&self, after: u64, timeout: Duration) -> Result<Arc<Frame>, RfbError> {
        self.inner.published.wait_serial(after, timeout).await
    }

    /// The framebuffer size as the reader last saw it.
    pub fn size(&self) -> (u32, u32) {
        *self
            .inner
            .control
            .size
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Where this client last put the pointer, if anywhere.
    pub fn pointer_position(&self) -> Option<(u32, u32)> {
        *self
            .inner
            .control
            .pointer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn set_pointer(&self, at: Option<(u32, u32)>) {
        *self
            .inner
            .control
            .pointer
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = at;
    }

    /// The desktop name from the server.
    pub fn desktop_name(&self) -> &str {
        &self.inner.server.name
    }

    /// Whether the server is QEMU with extended key events (layout-independent scancodes).
    pub fn is_qemu(&self) -> bool {
        self.inner.control.qemu_keys.load(Ordering::Relaxed)
    }

    pub fn pointer_mode(&self) -> PointerMode {
        match self.inner.control.pointer_mode.load(Ordering::Relaxed) {
            1 => PointerMode::Absolute,
            2 => PointerMode::Relative,
            _ => PointerMode::Unknown,
        }
    }

    /// Why the session ended, if it has.
    pub fn ended(&self) -> Option<RfbError> {
        self.inner.published.ended()
    }

    /// Presses and releases a key combo such as `ret`, `ctrl-alt-delete`, `shift-tab`.
    pub async fn key(&self, combo: &str) -> Result<(), RfbError> {
        let combo = keys::parse_combo(combo)?;
        self.send_and_wait(self.combo_bytes(&combo)).await
    }

    /// Presses (`down`) or releases one key without the other half (for holding modifiers).
    pub async fn key_state(&self, name: &str, down: bool) -> Result<(), RfbError> {
        let combo = keys::parse_combo(name)?;
        let mut bytes = Vec::new();
        for k in &combo.keys {
            bytes.extend(self.key_bytes(k, down));
        }
        self.send_and_wait(bytes).await
    }

    /// Types printable ASCII text (plus `\n` and `\t`), waiting `per_key_delay` after each
    /// character. Text that cannot be typed is rejected before anything is sent.
    pub async fn type_text(&self, text: &str, per_key_delay: Duration) -> Result<(), RfbError> {
        let combos = keys::text_combos(text)?;
        for combo in &combos {
            self.send_and_wait(self.combo_bytes(combo)).await?;
            if !per_key_delay.is_zero() {
                tokio::time::sleep(per_key_delay).await;
            }
        }
        Ok(())
    }

    /// Moves the pointer to (x, y) (clamped to the screen) with `buttons` held (bit 0 left,
    /// 1 middle, 2 right, 3/4 wheel up/down).
    pub async fn pointer_abs(&self, x: u32, y: u32, buttons: u8) -> Result<(), RfbError> {
        let (w, h) = self.size();
        let (x, y) = (x.min(w.saturating_sub(1)), y.min(h.saturating_sub(1)));
        self.set_pointer(Some((x, y)));
        self.send_and_wait(msg::pointer_event(buttons, x as u16, y as u16))
            .await
    }

    /// Moves the pointer by (dx, dy). With QEMU in relative mode this is true relative motion
    /// (QEMU's pointer-type-change convention: coordinates offset by 0x7fff); otherwise it
    /// moves relative to the last position sent (the screen centre if none).
    pub async fn pointer_rel(&self, dx: i32, dy: i32, buttons: u8) -> Result<(), RfbError> {
        if self.pointer_mode() == PointerMode::Relative {
            let mut bytes = Vec::new();
            let (mut dx, mut dy) = (dx, dy);
            loop {
                let sx = dx.clamp(-0x7fff, 0x7fff);
                let sy = dy.clamp(-0x7fff, 0x7fff);
                bytes.extend(msg::pointer_event(
                    buttons,
                    (0x7fff + sx) as u16,
                    (0x7fff + sy) as u16,
                ));
                dx -= sx;
                dy -= sy;
                if dx == 0 && dy == 0 {
                    break;
                }
            }
            return self.send_and_wait(bytes).await;
        }
        let (w, h) = self.size();
        let current = self.pointer_position();
        let (x, y) = current.unwrap_or((w / 2, h / 2));
        let nx = (i64::from(x) + i64::from(dx)).clamp(0, i64::from(w.saturating_sub(1))) as u32;
        let ny = (i64::from(y) + i64::from(dy)).clamp(0, i64::from(h.saturating_sub(1))) as u32;
        self.pointer_abs(nx, ny, buttons).await
    }

    /// Asks the server to send the whole screen again (a non-incremental update request).
    /// Use it when pixels may be stale; the answer arrives as an ordinary frame.
    pub async fn refresh(&self) -> Result<(), RfbError> {
        let (w, h) = self.size();
        self.send_and_wait(msg::update_request(false, 0, 0, w as u16, h as u16))
            .await
    }

    /// Closes the connection (for all clones).
    pub async fn close(self) {
        self.inner
            .published
            .end(RfbError::SessionEnded(CLOSED_BY_CLIENT.into()));
        for t in &self.inner.tasks {
            t.abort();
        }
    }

    fn key_bytes(&self, k: &keys::Key, down: bool) -> Vec<u8> {
        msg::key_events(&[keys::KeyEvent { key: *k, down }], self.is_qemu())
    }

    fn combo_bytes(&self, combo: &Combo) -> Vec<u8> {
        msg::key_events(&combo.events(), self.is_qemu())
    }

    /// Queues bytes for the writer and waits until they were written.
    async fn send_and_wait(&self, bytes: Vec<u8>) -> Result<(), RfbError> {
        let (tx, rx) = oneshot::channel();
        let ended = || {
            RfbError::SessionEnded(
                self.ended()
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "closed".into()),
            )
        };
        self.inner
            .commands
            .send(Command::Send(bytes, Some(tx)))
            .await
            .map_err(|_| ended())?;
        rx.await.map_err(|_| ended())?
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut w: W,
    mut rx: mpsc::Receiver<Command>,
    published: Arc<Published>,
) {
    while let Some(Command::Send(bytes, done)) = rx.recv().await {
        let result = async {
            w.write_all(&bytes).await?;
            w.flush().await
        }
        .await
        .map_err(RfbError::from);
        if let Err(e) = &result {
            published.end(e.clone());
        }
        let failed = result.is_err();
        if let Some(done) = done {
            let _ = done.send(result);
        }
        if failed {
            return;
        }
    }
}

struct Reader<R> {
    wire: WireReader<R>,
    fb: Framebuffer,
    decoders: Decoders,
    published: Arc<Published>,
    tx: watch::Sender<Arc<Frame>>,
    control: Arc<Control>,
    commands: mpsc::Sender<Command>,
    serial: u64,
}

impl<R: AsyncRead + Unpin> Reader<R> {
    async fn run(mut self) {
        let result = self.read_loop().await;
        let reason = match result {
            Ok(()) => RfbError::Closed(String::new()),
            Err(e) => e,
        };
        match self.published.ended() {
            // We closed it; the reader's last request then finds the writer gone.
            Some(RfbError::SessionEnded(why)) if why == CLOSED_BY_CLIENT => {
                tracing::debug!("VNC session closed by the client")
            }
            // The writer failed first: that is the reason.
            Some(first) => tracing::warn!(error = %first, "VNC session ended"),
            None => match &reason {
                RfbError::Closed(at) if at.is_empty() => {
                    tracing::info!("the VNC server closed the connection")
                }
                _ => tracing::warn!(error = %reason, "VNC session ended"),
            },
        }
        self.published.end(reason);
        // Dropping self.tx wakes every waiting subscriber.
    }

    async fn request(&self, bytes: Vec<u8>) -> Result<(), RfbError> {
        self.commands
            .send(Command::Send(bytes, None))
            .await
            .map_err(|_| RfbError::SessionEnded("writer stopped".into()))
    }

    fn full_request(&self, incremental: bool) -> Vec<u8> {
        msg::update_request(
            incremental,
            0,
            0,
            self.fb.width() as u16,
            self.fb.height() as u16,
        )
    }

    async fn next_message_type(&mut self) -> Result<u8, RfbError> {
        let stall = self.wire.stall;
        if let Ok(r) = tokio::time::timeout(stall, self.wire.first_byte()).await {
            return r;
        }
        // Idle for a whole stall period: a live server answers a non-incremental request.
        tracing::debug!("VNC server idle; probing");
        self.request(msg::update_request(false, 0, 0, 1, 1)).await?;
        match tokio::time::timeout(stall, self.wire.first_byte()).await {
            Ok(r) => r,
            Err(_) => Err(RfbError::Stalled(
                stall,
                "and it did not answer an update request",
            )),
        }
    }

    async fn read_loop(&mut self) -> Result<(), RfbError> {
        loop {
            let kind = self.next_message_type().await?;
            let out = read_message(kind, &mut self.wire, &mut self.fb, &mut self.decoders).await?;
            if out.qemu_keys {
                self.control.qemu_keys.store(true, Ordering::Relaxed);
            }
            if let Some(m) = out.pointer_mode {
                self.control
                    .pointer_mode
                    .store(mode_to_u8(m), Ordering::Relaxed);
            }
            if !out.update {
                continue;
            }
            if out.resized {
                *self.control.size.lock().unwrap_or_else(|e| e.into_inner()) =
                    (self.fb.width(), self.fb.height());
                tracing::info!(
                    width = self.fb.width(),
                    height = self.fb.height(),
                    "VNC desktop resized"
                );
                self.request(self.full_request(false)).await?;
            }
            let cursor_changed = match (&self.fb.cursor, &self.published.latest().cursor) {
                (Some(a), Some(b)) => !Arc::ptr_eq(a, b),
                (a, b) => a.is_some() != b.is_some(),
            };
            // An empty update (servers send them, e.g. to answer an incremental request)
            // changes nothing: publishing it would only make subscribers look again.
            if self.fb.is_complete()
                && (self.serial == 0 || !self.fb.damage.is_empty() || cursor_changed)
            {
                self.serial += 1;
                let bounds = Rect::full(self.fb.width(), self.fb.height());
                let damage = merge_damage(std::mem::take(&mut self.fb.damage).into_iter(), bounds);
                let frame = Frame {
                    serial: self.serial,
                    time: Instant::now(),
                    image: self.fb.image().clone(),
                    damage: if self.serial == 1 {
                        vec![bounds]
                    } else {
                        damage
                    },
                    cursor: self.fb.cursor.clone(),
                    pointer: *self
                        .control
                        .pointer
                        .lock()
                        .unwrap_or_else(|e| e.into_inner()),
                };
                self.published.publish(&self.tx, frame);
            }
            // Always keep one incremental request outstanding, so no change goes unseen.
            self.request(self.full_request(true)).await?;
        }
    }
}
