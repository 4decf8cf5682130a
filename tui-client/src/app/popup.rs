//! Popups over the chat screen: key help, channel browser, user picker, quick switcher.

use zchat_protocol::{ChannelInfo, Target, UserInfo};

/// One selectable row of a picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickItem {
    /// What choosing it opens.
    pub target: Target,
    /// Main text (`#rust`, `alice`).
    pub label: String,
    /// Secondary text (description, member count, "joined").
    pub detail: String,
}

/// A filterable list.
#[derive(Debug, Clone, Default)]
pub struct Picker {
    /// All items.
    pub items: Vec<PickItem>,
    /// Typed filter (matches label and detail, case-insensitive, in order).
    pub filter: String,
    /// Index into `visible()`.
    pub selected: usize,
    /// Items are being fetched.
    pub loading: bool,
}

impl Picker {
    /// A picker with items.
    pub fn new(items: Vec<PickItem>) -> Self {
        Picker {
            items,
            ..Default::default()
        }
    }

    /// A picker waiting for its items.
    pub fn loading() -> Self {
        Picker {
            loading: true,
            ..Default::default()
        }
    }

    /// The items the filter lets through: names matching the filter (as a subsequence)
    /// first, then items whose description contains it.
    pub fn visible(&self) -> Vec<&PickItem> {
        let f = self.filter.to_lowercase();
        let by_name = self
            .items
            .iter()
            .filter(|i| fuzzy(&i.label.to_lowercase(), &f));
        let by_detail = self.items.iter().filter(|i| {
            !fuzzy(&i.label.to_lowercase(), &f)
                && f.len() >= 2
                && i.detail.to_lowercase().contains(&f)
        });
        by_name.chain(by_detail).collect()
    }

    /// The highlighted item.
    pub fn current(&self) -> Option<&PickItem> {
        self.visible().get(self.selected).copied()
    }

    /// Moves the highlight.
    pub fn step(&mut self, delta: isize) {
        let n = self.visible().len();
        if n == 0 {
            self.selected = 0;
            return;
        }
        self.selected = (self.selected as isize + delta).rem_euclid(n as isize) as usize;
    }

    /// Types into the filter.
    pub fn push(&mut self, c: char) {
        self.filter.push(c);
        self.selected = 0;
    }

    /// Backspace in the filter.
    pub fn pop(&mut self) {
        self.filter.pop();
        self.selected = 0;
    }
}

/// Subsequence match: "gnl" matches "#general".
fn fuzzy(hay: &str, needle: &str) -> bool {
    let mut chars = hay.chars();
    needle.chars().all(|n| chars.any(|h| h == n))
}

/// Which popup is open.
#[derive(Debug, Clone)]
pub enum Popup {
    /// Keys and commands.
    Help,
    /// `/channels`: all channels; Enter joins and opens.
    Channels(Picker),
    /// `/users`: all users; Enter opens a DM.
    Users(Picker),
    /// Ctrl+K: jump to any open conversation.
    Switcher(Picker),
}

impl Popup {
    /// The picker inside, if any.
    pub fn picker_mut(&mut self) -> Option<&mut Picker> {
        match self {
            Popup::Help => None,
            Popup::Channels(p) | Popup::Users(p) | Popup::Switcher(p) => Some(p),
        }
    }
}

/// Picker rows for the channel browser.
pub fn channel_items(channels: &[ChannelInfo]) -> Vec<PickItem> {
    channels
        .iter()
        .map(|c| PickItem {
            target: Target::Channel(c.name.clone()),
            label: format!("#{}", c.name),
            detail: format!(
                "{}{} member{}{}",
                if c.description.is_empty() {
                    String::new()
                } else {
                    format!("{} · ", c.description)
                },
                c.members,
                if c.members == 1 { "" } else { "s" },
                if c.joined { " · joined" } else { "" }
            ),
        })
        .collect()
}

/// Picker rows for the user picker (without me).
pub fn user_items(users: &[UserInfo], me: &str) -> Vec<PickItem> {
    users
        .iter()
        .filter(|u| !u.name.eq_ignore_ascii_case(me))
        .map(|u| PickItem {
            target: Target::User(u.name.clone()),
            label: u.name.clone(),
            detail: String::new(),
        })
        .collect()
}
