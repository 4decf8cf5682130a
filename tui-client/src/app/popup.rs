//! Popups over the chat screen: key help, channel browser, user picker, quick switcher.

use nucleo_matcher::pattern::{AtomKind, CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};
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
    /// Typed filter (matches the label fuzzily, or the detail as a substring).
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

    /// The items the filter lets through: names matching the filter fuzzily (each typed
    /// word, in order, case-insensitive: "gnl" finds "#general"), best match first, then
    /// items whose description contains it. With no filter, every item in its order.
    pub fn visible(&self) -> Vec<&PickItem> {
        if self.filter.trim().is_empty() {
            return self.items.iter().collect();
        }
        let pattern = Pattern::new(
            &self.filter,
            CaseMatching::Ignore,
            Normalization::Smart,
            AtomKind::Fuzzy,
        );
        let mut matcher = Matcher::new(Config::DEFAULT);
        let mut buf = Vec::new();
        let mut by_name: Vec<(u32, &PickItem)> = self
            .items
            .iter()
            .filter_map(|i| {
                let score = pattern.score(Utf32Str::new(&i.label, &mut buf), &mut matcher)?;
                Some((score, i))
            })
            .collect();
        // Stable: equal scores keep the items' order.
        by_name.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
        let f = self.filter.to_lowercase();
        let by_detail = self.items.iter().filter(|i| {
            f.chars().count() >= 2
                && !by_name.iter().any(|(_, n)| std::ptr::eq(*n, *i))
                && i.detail.to_lowercase().contains(&f)
        });
        by_name.iter().map(|(_, i)| *i).chain(by_detail).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn item(label: &str, detail: &str) -> PickItem {
        PickItem {
            target: Target::Channel(label.trim_start_matches('#').into()),
            label: label.into(),
            detail: detail.into(),
        }
    }

    fn labels(p: &Picker) -> Vec<&str> {
        p.visible().iter().map(|i| i.label.as_str()).collect()
    }

    #[test]
    fn best_match_first_then_descriptions() {
        let mut p = Picker::new(vec![
            item("#agenda", "what is next"),
            item("#general", "everything"),
            item("#random", "general chatter"),
            item("#gen", ""),
        ]);
        assert_eq!(labels(&p).len(), 4, "no filter: everything, in order");
        for c in "gen".chars() {
            p.push(c);
        }
        let got = labels(&p);
        let mut best = got[..2].to_vec();
        best.sort_unstable();
        assert_eq!(
            best,
            ["#gen", "#general"],
            "whole-word matches first: {got:?}"
        );
        assert_eq!(got[2], "#agenda", "a scattered match after them: {got:?}");
        assert_eq!(
            got.last(),
            Some(&"#random"),
            "description matches come last"
        );
        p.push('x');
        assert!(labels(&p).is_empty());
    }
}
