//! Clicking what a screen shows: the click point of a matched reference screen.
//!
//! The point comes from the screen's `.toml` (`click_point`) or an openQA needle's
//! `click_point`, moved by as much as its region was found away from where it was expected;
//! a screen without one is clicked in the centre of its first region as found (as openQA does).
//! The screen is checked with the cursor's rectangle left out, so the cursor resting on it
//! cannot make it fail.

use crate::screen::{MatchResult, Reference};

use super::converge::{MoveOptions, MoveReport, Pointer};
use super::error::Screenshot;
use super::{PointerDevice, PointerError};

/// Where to click on `reference` as matched in `result`.
pub fn click_point(reference: &Reference, result: &MatchResult) -> Option<(u32, u32)> {
    reference.click_point_in(result).or_else(|| {
        result
            .regions
            .first()
            .map(|r| (r.found.x + r.found.w / 2, r.found.y + r.found.h / 2))
    })
}

impl<D: PointerDevice> Pointer<D> {
    /// Checks that `reference` is on the screen now and clicks its click point with `button`.
    pub async fn click_screen(
        &mut self,
        reference: &Reference,
        button: u8,
        opts: &MoveOptions,
    ) -> Result<MoveReport, PointerError> {
        let frame = self.device().settled_frame().await?;
        let near = self.cursor_rect().map(|r| (r.x, r.y));
        let ignore = self.locator_mut().ignore_rects(&frame, near);
        let result = reference.check_ignoring(&frame.image, &ignore);
        let point = if result.matched {
            click_point(reference, &result)
        } else {
            None
        };
        let Some((x, y)) = point else {
            return Err(PointerError::ScreenNotShown {
                name: reference.name().to_string(),
                similarity: result.similarity,
                screenshot: Screenshot(frame.image.clone()),
            });
        };
        self.click(x, y, button, 1, opts).await
    }
}
