//! Hostile and broken VNC servers: a tiny fake server in the test speaks just enough RFB to
//! misbehave in one precise way. Each must end in a clear error — never a panic, a hang or an
//! allocation the size of whatever the server announced.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vncpilot::rfb::{Addr, ConnectOptions, RfbError, Secret, Session};

/// Runs `server` on one accepted connection of a fresh loopback listener, connects a client
/// with `opts`, and returns what connecting gave.
async fn against<F, Fut>(opts: ConnectOptions, server: F) -> Result<Session, RfbError>
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        server(sock).await;
    });
    let addr = Addr::parse(&format!("127.0.0.1::{port}")).unwrap();
    Session::connect(&addr, opts).await
}

fn quick() -> ConnectOptions {
    ConnectOptions {
        connect_timeout: Duration::from_secs(5),
        stall_timeout: Duration::from_secs(2),
        ..ConnectOptions::default()
    }
}

/// RFB 3.8 with security None, then ServerInit for a `w`×`h` 32bpp screen; reads (and drops)
/// what the client sends so far.
async fn open(s: &mut TcpStream, w: u16, h: u16) {
    s.write_all(b"RFB 003.008\n").await.unwrap();
    let mut v = [0u8; 12];
    s.read_exact(&mut v).await.unwrap();
    s.write_all(&[1, 1]).await.unwrap(); // one security type: None
    let mut choice = [0u8; 1];
    s.read_exact(&mut choice).await.unwrap();
    s.write_all(&0u32.to_be_bytes()).await.unwrap(); // SecurityResult OK
    let mut shared = [0u8; 1];
    s.read_exact(&mut shared).await.unwrap();
    let mut init = Vec::new();
    init.extend(w.to_be_bytes());
    init.extend(h.to_be_bytes());
    // 32 bpp, depth 24, little endian, true colour, max 255, shifts 16/8/0.
    init.extend([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]);
    init.extend(4u32.to_be_bytes());
    init.extend(b"fake");
    s.write_all(&init).await.unwrap();
}

/// A FramebufferUpdate header with one rectangle header.
fn update_header(x: u16, y: u16, w: u16, h: u16, encoding: i32) -> Vec<u8> {
    let mut m = vec![0u8, 0];
    m.extend(1u16.to_be_bytes());
    for v in [x, y, w, h] {
        m.extend(v.to_be_bytes());
    }
    m.extend(encoding.to_be_bytes());
    m
}

/// Drains the client's messages until it hangs up, so our writes never block.
async fn drain(mut s: TcpStream) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

#[tokio::test]
async fn wrong_password_is_an_authentication_error() {
    let r = against(
        ConnectOptions {
            password: Some(Secret::new("wrong")),
            ..quick()
        },
        |mut s| async move {
            s.write_all(b"RFB 003.008\n").await.unwrap();
            let mut v = [0u8; 12];
            s.read_exact(&mut v).await.unwrap();
            s.write_all(&[1, 2]).await.unwrap(); // VNC authentication
            let mut choice = [0u8; 1];
            s.read_exact(&mut choice).await.unwrap();
            s.write_all(&[7u8; 16]).await.unwrap(); // challenge
            let mut response = [0u8; 16];
            s.read_exact(&mut response).await.unwrap();
            s.write_all(&1u32.to_be_bytes()).await.unwrap(); // failed
            let reason = b"Authentication failure";
            s.write_all(&(reason.len() as u32).to_be_bytes())
                .await
                .unwrap();
            s.write_all(reason).await.unwrap();
        },
    )
    .await;
    assert_refused(
        r,
        |e| matches!(e, RfbError::AuthFailed(reason) if reason.contains("Authentication failure")),
    );
}

/// Opens a `w`×`h` session, sends `message` (may be empty), and reads until the client hangs up.
async fn after_open(w: u16, h: u16, message: Vec<u8>) -> Result<Session, RfbError> {
    against(quick(), move |mut s| async move {
        open(&mut s, w, h).await;
        s.write_all(&message).await.unwrap();
        drain(s).await;
    })
    .await
}

/// Asserts that connecting failed with an error `expected` accepts.
fn assert_refused(r: Result<Session, RfbError>, expected: fn(&RfbError) -> bool) {
    match r {
        Err(e) if expected(&e) => {}
        Err(e) => panic!("refused for the wrong reason: {e:?}"),
        Ok(_) => panic!("the session was accepted"),
    }
}

#[tokio::test]
async fn an_absurd_screen_size_is_refused_without_allocating_it() {
    let r = after_open(65535, 65535, Vec::new()).await;
    assert_refused(r, |e| matches!(e, RfbError::TooLarge { .. }));
}

#[tokio::test]
async fn an_absurd_desktop_size_change_is_refused() {
    let r = after_open(64, 48, update_header(0, 0, 65535, 65535, -223)).await;
    assert_refused(r, |e| matches!(e, RfbError::TooLarge { .. }));
}

#[tokio::test]
async fn a_rectangle_outside_the_screen_is_a_protocol_error() {
    let r = after_open(64, 48, update_header(60, 40, 1000, 1000, 0)).await;
    assert_refused(r, |e| {
        matches!(e, RfbError::Protocol(_) | RfbError::TooLarge { .. })
    });
}

#[tokio::test]
async fn a_huge_zrle_length_is_refused() {
    let mut m = update_header(0, 0, 64, 48, 16);
    m.extend(u32::MAX.to_be_bytes());
    let r = after_open(64, 48, m).await;
    assert_refused(r, |e| {
        matches!(e, RfbError::Protocol(_) | RfbError::TooLarge { .. })
    });
}

#[tokio::test]
async fn an_unknown_encoding_is_a_protocol_error() {
    let r = after_open(64, 48, update_header(0, 0, 8, 8, 0x7777)).await;
    assert_refused(r, |e| matches!(e, RfbError::Protocol(_)));
}

#[tokio::test]
async fn a_server_hanging_up_mid_update_ends_the_session_with_a_reason() {
    // First a complete frame, then half of the next update, then the server hangs up.
    let session = against(quick(), |mut s| async move {
        open(&mut s, 16, 16).await;
        let mut m = update_header(0, 0, 16, 16, 0);
        m.extend(vec![0x40u8; 16 * 16 * 4]);
        s.write_all(&m).await.unwrap();
        let mut m = update_header(0, 0, 16, 16, 0);
        m.extend(vec![0x80u8; 16 * 8 * 4]);
        s.write_all(&m).await.unwrap();
        s.shutdown().await.unwrap();
    })
    .await
    .expect("the first frame was complete");
    assert_eq!(session.latest().serial, 1);
    let mut frames = session.subscribe();
    let r = frames.next(Duration::from_secs(5)).await;
    assert!(r.is_err(), "a frame came from a half update");
    let reason = session.ended().expect("the session should have ended");
    assert!(
        matches!(reason, RfbError::Closed(_)),
        "unexpected reason {reason:?}"
    );
    // Input on an ended session is an error too, not a hang.
    assert!(session.key("ret").await.is_err());
}

#[tokio::test]
async fn a_server_that_hangs_up_before_the_first_frame() {
    let r = against(quick(), |mut s| async move {
        open(&mut s, 32, 32).await;
        let mut m = update_header(0, 0, 32, 32, 0);
        m.extend(vec![0u8; 100]);
        s.write_all(&m).await.unwrap();
    })
    .await;
    assert_refused(r, |e| matches!(e, RfbError::Closed(_)));
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let started = Instant::now();
    let r = against(quick(), |s| async move {
        // Accepts, then says nothing at all.
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(s);
    })
    .await;
    assert_refused(r, |e| {
        matches!(e, RfbError::ConnectTimeout(_) | RfbError::Stalled(..))
    });
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn garbage_instead_of_a_version_is_a_protocol_error() {
    let r = against(quick(), |mut s| async move {
        s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            .await
            .unwrap();
        drain(s).await;
    })
    .await;
    assert_refused(r, |e| matches!(e, RfbError::Protocol(_)));
}
