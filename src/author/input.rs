//! What the page sends to the guest: key combos (names of `rfb::keys`), text to type, and
//! pointer moves with the held buttons.

use std::sync::Arc;

use serde::Deserialize;

use super::error::AuthorError;
use crate::display::{Display, GuestPointer, Mode};

/// One message from the page, as JSON: `{"type": "key", "combo": "ctrl-alt-f2"}`,
/// `{"type": "text", "text": "root"}`, `{"type": "pointer", "x": 10, "y": 20, "buttons": 1}`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Input {
    Key { combo: String },
    Text { text: String },
    Pointer { x: u32, y: u32, buttons: u8 },
}

/// Sends input to the guest in the order it came, keeping the pointer between messages.
pub struct InputSender {
    display: Arc<dyn Display>,
    pointer: Option<Box<dyn GuestPointer>>,
    buttons: u8,
}

impl InputSender {
    pub fn new(display: Arc<dyn Display>) -> InputSender {
        InputSender {
            display,
            pointer: None,
            buttons: 0,
        }
    }

    /// Carries out `input`; keys and text go through the display's blocking calls on a
    /// blocking thread.
    pub async fn send(&mut self, input: Input) -> Result<(), AuthorError> {
        match input {
            Input::Key { combo } => {
                let d = self.display.clone();
                blocking(move || d.key(&combo)).await
            }
            Input::Text { text } => {
                let d = self.display.clone();
                blocking(move || d.type_text(&text)).await
            }
            Input::Pointer { x, y, buttons } => {
                if self.pointer.is_none() {
                    self.pointer = Some(self.display.pointer()?);
                }
                let Some(p) = self.pointer.as_mut() else {
                    return Ok(());
                };
                if p.mode() == Mode::Relative {
                    return Err(AuthorError::Invalid(
                        "this guest's mouse is relative: the page cannot point at a pixel \
                         (use `vncpilot mouse`, which converges by looking)"
                            .into(),
                    ));
                }
                p.move_abs(x, y).await?;
                if buttons != self.buttons {
                    p.set_buttons(buttons).await?;
                    self.buttons = buttons;
                }
                Ok(())
            }
        }
    }
}

async fn blocking(
    f: impl FnOnce() -> Result<(), crate::display::DisplayError> + Send + 'static,
) -> Result<(), AuthorError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AuthorError::Invalid(format!("input task failed: {e}")))?
        .map_err(AuthorError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_parse() {
        let k: Input = serde_json::from_str(r#"{"type":"key","combo":"ctrl-alt-f2"}"#).unwrap();
        assert_eq!(
            k,
            Input::Key {
                combo: "ctrl-alt-f2".into()
            }
        );
        let p: Input =
            serde_json::from_str(r#"{"type":"pointer","x":3,"y":4,"buttons":1}"#).unwrap();
        assert_eq!(
            p,
            Input::Pointer {
                x: 3,
                y: 4,
                buttons: 1
            }
        );
        assert!(serde_json::from_str::<Input>(r#"{"type":"exec","cmd":"x"}"#).is_err());
    }
}
