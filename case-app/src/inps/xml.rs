//! A small XML writer for the flows: elements, attributes and text, escaped, indented
//! two spaces, UTF-8 with its declaration. No XML crate: the flows need elements and
//! attributes only, and escaping is a dozen lines.
//!
//! Characters that XML 1.0 cannot carry at all (C0 controls other than tab, line feed
//! and carriage return; U+FFFE, U+FFFF) cannot be escaped either. The rule checker
//! refuses records holding them ([`is_xml_char`]); should one reach the writer it
//! becomes U+FFFD, so the file stays well-formed.

/// Whether XML 1.0 allows `c` in a document.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Appends `s` to `out` as the value of a double-quoted attribute: markup characters
/// as entities, and tab, line feed and carriage return as character references so that
/// attribute-value normalisation keeps them.
pub fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

/// Appends `s` to `out` as character data.
pub fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

/// Writes one document. Open an element with [`Xml::start`], give its attributes with
/// [`Xml::attr`], then its children or text, and close it with [`Xml::end`]; an element
/// without content is written as `<Name …/>`.
#[derive(Debug)]
pub struct Xml {
    out: String,
    stack: Vec<&'static str>,
    /// The last start tag is still open (`<Name a="…"` without its `>`).
    open: bool,
    /// The current element has text content (its end tag follows on the same line).
    text: bool,
}

impl Default for Xml {
    fn default() -> Self {
        Self::new()
    }
}

impl Xml {
    /// A document, with its declaration.
    pub fn new() -> Self {
        Xml {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            stack: Vec::new(),
            open: false,
            text: false,
        }
    }

    fn close_start_tag(&mut self) {
        if self.open {
            self.out.push('>');
            self.open = false;
        }
    }

    fn indent(&mut self) {
        if !self.out.ends_with('\n') {
            self.out.push('\n');
        }
        for _ in 0..self.stack.len() {
            self.out.push_str("  ");
        }
    }

    /// Opens element `name`.
    pub fn start(&mut self, name: &'static str) -> &mut Self {
        self.close_start_tag();
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        self.stack.push(name);
        self.open = true;
        self.text = false;
        self
    }

    /// An attribute of the element just opened.
    pub fn attr(&mut self, name: &str, value: &str) -> &mut Self {
        debug_assert!(self.open, "attribute {name} outside a start tag");
        self.out.push(' ');
        self.out.push_str(name);
        self.out.push_str("=\"");
        escape_attr(value, &mut self.out);
        self.out.push('"');
        self
    }

    /// An attribute written only when there is a value.
    pub fn attr_opt(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        if let Some(v) = value {
            self.attr(name, v);
        }
        self
    }

    /// Text content of the current element.
    pub fn text(&mut self, t: &str) -> &mut Self {
        self.close_start_tag();
        escape_text(t, &mut self.out);
        self.text = true;
        self
    }

    /// Closes the current element.
    pub fn end(&mut self) -> &mut Self {
        let Some(name) = self.stack.pop() else { return self };
        if self.open {
            self.out.push_str("/>");
            self.open = false;
        } else {
            if !self.text {
                self.indent();
            }
            self.out.push_str("</");
            self.out.push_str(name);
            self.out.push('>');
        }
        self.text = false;
        self
    }

    /// An element holding only text: `<name>text</name>`.
    pub fn leaf(&mut self, name: &'static str, text: &str) -> &mut Self {
        self.start(name).text(text).end()
    }

    /// Closes what is still open and returns the document's bytes.
    pub fn finish(mut self) -> Vec<u8> {
        while !self.stack.is_empty() {
            self.end();
        }
        self.out.push('\n');
        self.out.into_bytes()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn attr(s: &str) -> String {
        let mut o = String::new();
        escape_attr(s, &mut o);
        o
    }

    #[test]
    fn attributes_escape_markup_quotes_and_whitespace_that_normalisation_would_eat() {
        assert_eq!(attr(r#"D'Angelo & "Figli" <srl>"#), "D&apos;Angelo &amp; &quot;Figli&quot; &lt;srl&gt;");
        assert_eq!(attr("a\tb\nc\rd"), "a&#9;b&#10;c&#13;d");
        assert_eq!(attr("Niccolò Śmigły 李"), "Niccolò Śmigły 李");
        // Not representable in XML 1.0: replaced, never written raw.
        assert_eq!(attr("a\u{1}b\u{FFFF}"), "a\u{FFFD}b\u{FFFD}");
    }

    #[test]
    fn text_escapes_markup_but_keeps_quotes() {
        let mut o = String::new();
        escape_text("A&B <C> \"q\" ]]>", &mut o);
        assert_eq!(o, "A&amp;B &lt;C&gt; \"q\" ]]&gt;");
    }

    #[test]
    fn xml_chars() {
        assert!(is_xml_char('\t') && is_xml_char('é') && is_xml_char('\u{1F600}'));
        assert!(!is_xml_char('\u{0}') && !is_xml_char('\u{1B}') && !is_xml_char('\u{FFFE}'));
    }

    #[test]
    fn documents_nest_and_close_empty_elements() {
        let mut x = Xml::new();
        x.start("Flusso").attr("xmlns", "http://inps.it/Casellario");
        x.start("Ente").attr("Codice", "A&B").end();
        x.start("Lista").leaf("Codice", "C1.01").leaf("Codice", "x<y");
        let doc = String::from_utf8(x.finish()).unwrap();
        assert_eq!(
            doc,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <Flusso xmlns=\"http://inps.it/Casellario\">\n  <Ente Codice=\"A&amp;B\"/>\n  <Lista>\n    \
             <Codice>C1.01</Codice>\n    <Codice>x&lt;y</Codice>\n  </Lista>\n</Flusso>\n"
        );
    }
}
