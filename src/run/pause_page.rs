//! Developer mode for a run (`vncpilot run --pause-on-fail`, `--pause-at`): the [`Pauser`] that
//! answers a pause through the authoring page. The page is started on the first pause (a run
//! that never pauses serves nothing), on the run's own display and screen set, so the author
//! sees the failed frame live, saves or fixes the reference, and presses Retry or Give up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

use crate::author::{Author, AuthorOptions, PauseView};
use crate::display::Display;
use crate::script::{PausePolicy, Paused, Pauser, Resume};

/// How a run pauses and where its page listens.
#[derive(Clone)]
pub struct PauseOptions {
    pub policy: PausePolicy,
    /// Where the page listens (port 0: any free port); loopback unless told otherwise.
    pub listen: SocketAddr,
    /// Told of every pause (the CLI prints it): the page's URL and why.
    pub notify: Arc<dyn Fn(&PauseNotice) + Send + Sync>,
}

impl PauseOptions {
    /// `policy` on 127.0.0.1, any free port, pauses told to nobody.
    pub fn new(policy: PausePolicy) -> PauseOptions {
        PauseOptions {
            policy,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            notify: Arc::new(|_| {}),
        }
    }
}

/// One pause, as told to the caller.
#[derive(Clone, Debug)]
pub struct PauseNotice {
    /// The authoring page (with its token).
    pub url: String,
    pub paused: Paused,
}

/// How often a paused run looks at its cancellation while it waits for the page.
const TICK: Duration = Duration::from_millis(200);

/// The pauser of one run; [`PagePauser::shutdown`] stops its page at the run's end.
pub(crate) struct PagePauser {
    options: PauseOptions,
    display: Arc<dyn Display>,
    screens_root: PathBuf,
    set: String,
    handle: Handle,
    author: Mutex<Option<Author>>,
}

impl PagePauser {
    pub fn new(
        options: PauseOptions,
        display: Arc<dyn Display>,
        screens_root: PathBuf,
        set: String,
    ) -> PagePauser {
        PagePauser {
            options,
            display,
            screens_root,
            set,
            handle: Handle::current(),
            author: Mutex::new(None),
        }
    }

    /// Stops the page, if one was started.
    pub async fn shutdown(&self) {
        let author = self.author.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(author) = author {
            author.shutdown().await;
        }
    }

    /// The running page, started on first use (called on the macro's blocking thread).
    fn page(&self) -> Result<(String, Arc<crate::author::PauseSlot>), String> {
        let mut author = self.author.lock().unwrap_or_else(|e| e.into_inner());
        if author.is_none() {
            let options = AuthorOptions::new(
                self.options.listen,
                self.screens_root.clone(),
                Some(self.set.clone()),
            );
            let started = self
                .handle
                .block_on(Author::start(self.display.clone(), options))
                .map_err(|e| format!("starting the authoring page: {e}"))?;
            *author = Some(started);
        }
        let a = author.as_ref().expect("started above");
        Ok((a.url().to_string(), a.pause_slot()))
    }
}

impl Pauser for PagePauser {
    fn pause(&self, paused: &Paused, cancel: &CancellationToken) -> Resume {
        let (url, slot) = match self.page() {
            Ok(page) => page,
            Err(e) => {
                // Nobody can answer: go on as if there were no developer mode.
                tracing::warn!("{e}; the step fails without pausing");
                return Resume::GiveUp;
            }
        };
        slot.ask(PauseView {
            step: paused.step,
            action: paused.action.clone(),
            screens: paused.screens.clone(),
            reason: paused.describe(),
        });
        (self.options.notify)(&PauseNotice {
            url,
            paused: paused.clone(),
        });
        loop {
            if let Some(retry) = slot.wait_answer(TICK) {
                return if retry { Resume::Retry } else { Resume::GiveUp };
            }
            if cancel.is_cancelled() {
                slot.withdraw();
                return Resume::GiveUp;
            }
        }
    }
}
