//! The message catalogue: every word the pages show, in Italian (the default) and
//! English, from `domain/messages/*.toml`. The dashboard and the case-app pages read
//! the same catalogue.

use std::collections::HashMap;
use std::sync::LazyLock;

/// A page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Italiano, the default.
    #[default]
    It,
    /// English.
    En,
}

impl Lang {
    /// `it` or `en`; anything else is Italian.
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("en") => Lang::En,
            _ => Lang::It,
        }
    }

    /// The language code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::It => "it",
            Lang::En => "en",
        }
    }
}

fn parse(text: &str) -> HashMap<String, String> {
    toml::from_str(text).unwrap_or_default()
}

static IT: LazyLock<HashMap<String, String>> = LazyLock::new(|| parse(include_str!("../messages/it.toml")));
static EN: LazyLock<HashMap<String, String>> = LazyLock::new(|| parse(include_str!("../messages/en.toml")));

/// The message `key` in `lang`; a missing key shows as itself, so it is noticed.
pub fn t(lang: Lang, key: &str) -> String {
    let cat = match lang {
        Lang::It => &*IT,
        Lang::En => &*EN,
    };
    cat.get(key).cloned().unwrap_or_else(|| key.to_owned())
}

/// The message with `{name}` placeholders filled.
pub fn tf(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    args.iter().fold(t(lang, key), |s, (k, v)| s.replace(&format!("{{{k}}}"), v))
}

/// Escapes text for HTML and SVG (element content and quoted attributes).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The message `key` in `lang`, escaped for HTML.
pub fn th(lang: Lang, key: &str) -> String {
    escape(&t(lang, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogues_have_the_same_keys() {
        let mut it: Vec<_> = IT.keys().collect();
        let mut en: Vec<_> = EN.keys().collect();
        it.sort();
        en.sort();
        assert!(it.len() > 20, "Italian catalogue did not parse");
        assert_eq!(it, en);
    }

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">O'Neil & co</a>"),
            "&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; co&lt;/a&gt;"
        );
    }

    #[test]
    fn placeholders_fill() {
        assert_eq!(tf(Lang::En, "legend_suppressed", &[("threshold", "5")]), "Fewer than 5: hidden to protect privacy");
    }
}
