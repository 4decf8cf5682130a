//! Layout shared by the state (`app`) and the view (`ui`): screen areas, the feed's rows at a
//! width, and text rules (time, mentions, colours). It depends on neither of them: `app` and
//! `ui` both import it, `ui` imports `app`, and nothing imports `ui` but the event loop.

pub mod feed;
pub mod graphemes;
pub mod help;
pub mod screen;
pub mod status;
pub mod text;
