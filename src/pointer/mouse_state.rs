//! The mouse of one run: the cursor pictures, the pointer made from the run's display on first
//! use, and where the cursor was last seen — which screen matching leaves out
//! ([`MouseState::ignore_rects`]).
//!
//! Why it is kept between calls: finding the cursor costs a search of the whole screen the first
//! time; after that the locator only looks where the screen changed and near where it was.

use std::path::PathBuf;

use crate::display::{Display, GuestPointer};
use crate::rfb::{Frame, Rect};

use super::{CursorSprite, Found, Locator, Pointer, PointerError};

/// The mouse a run drives: whatever pointer its display hands out (VNC or QMP).
pub type GuestMouse = Box<dyn GuestPointer>;

/// The run's mouse: the cursor pictures, and the pointer once a mouse function was called.
pub struct MouseState {
    cursors: PathBuf,
    /// Loaded on first use (`None` until then); moved into the pointer when it is made.
    locator: Option<Locator>,
    pointer: Option<Pointer<GuestMouse>>,
    /// Where the cursor was last seen while watching the screen.
    seen: Option<Found>,
    load_warned: bool,
}

impl MouseState {
    /// Cursor pictures from `cursors` (`<name>.png` + optional `<name>.toml`; an absent folder
    /// is no pictures: the pointer then detects the cursor by moving it).
    pub fn new(cursors: PathBuf) -> MouseState {
        MouseState {
            cursors,
            locator: None,
            pointer: None,
            seen: None,
            load_warned: false,
        }
    }

    pub fn cursors_dir(&self) -> &std::path::Path {
        &self.cursors
    }

    fn load(&mut self) -> Result<(), PointerError> {
        if self.locator.is_none() && self.pointer.is_none() {
            self.locator = Some(Locator::new(CursorSprite::load_dir(&self.cursors)?));
        }
        Ok(())
    }

    fn locator_mut(&mut self) -> Option<&mut Locator> {
        match &mut self.pointer {
            Some(p) => Some(p.locator_mut()),
            None => self.locator.as_mut(),
        }
    }

    /// What a screen comparison should leave out of `frame`: the cursor's rectangle, where a
    /// known cursor picture is drawn into the framebuffer (a software cursor); nothing where
    /// the server sends the cursor separately. `fresh` (the first frame of a wait) searches the
    /// whole frame; after that only where the screen changed and where the cursor was.
    pub fn ignore_rects(&mut self, frame: &Frame, fresh: bool) -> Vec<Rect> {
        if let Err(e) = self.load() {
            if !self.load_warned {
                tracing::warn!("cursor pictures: {e}; the cursor is not left out of matching");
                self.load_warned = true;
            }
            self.locator = Some(Locator::default());
        }
        let near = self.seen.map(|f| (f.x, f.y)).or_else(|| {
            self.pointer
                .as_ref()
                .and_then(|p| p.cursor_rect())
                .map(|r| (r.x, r.y))
        });
        let full = fresh || self.seen.is_some();
        let Some(locator) = self.locator_mut() else {
            return Vec::new();
        };
        if locator.sprites().is_empty() && frame.cursor.is_none() {
            return Vec::new();
        }
        let found = if full {
            locator.find_in_frame(frame, near)
        } else {
            locator.find_in_damage(frame, near)
        };
        self.seen = found;
        found.map(|f| f.rect).into_iter().collect()
    }

    /// The pointer of `display`, made on first use (blocking: call it off the async runtime).
    pub fn pointer(&mut self, display: &dyn Display) -> Result<&mut Pointer<GuestMouse>, String> {
        if self.pointer.is_none() {
            let device = display.pointer().map_err(|e| e.to_string())?;
            self.load().map_err(|e| e.to_string())?;
            let locator = self.locator.take().unwrap_or_default();
            self.pointer = Some(Pointer::new(device, locator));
        }
        Ok(self.pointer.as_mut().expect("made above"))
    }
}
