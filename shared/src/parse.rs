//! The parser for PlantUML Chen notation (`@startchen` … `@endchen`).
//!
//! The grammar is line-based, as PlantUML's is: each line is one declaration, attribute, link,
//! specialization, `}` or comment. The parser recovers at line boundaries, so one call reports
//! every bad line, each with line, column, what was expected and what was found. It never panics,
//! whatever the bytes (a fuzz target checks this).
//!
//! Beyond PlantUML it accepts roles on links (`REL -1- E : role`), a role comment line written
//! by the printer's renderable mode (`' role: supervisee` right before a link), and `{ }` on
//! one line for an empty block. Colours (`#red`, `#lightblue;line:blue`) on entities,
//! relationships, attributes, links, specializations and unions are kept as written and printed
//! back; they have no meaning for grading.
//!
//! What PlantUML accepts but grading cannot use is read with a **warning**
//! ([`parse_with_warnings`]; [`crate::check_text`] shows them):
//!
//! - `unknown-stereotype`: a stereotype that means nothing to grading (`<<FK>>`, `<<unique>>`, a
//!   style class such as `<<red>>`) is kept as written in the element's `stereotypes` and
//!   printed back; a typo of a known stereotype — the same first letter, one edit for a word
//!   of up to five letters and two for a longer one, a swap of neighbours counting as one
//!   (`<<multy>>`, `<<kye>>`, `<<dereived>>`, `<<week>>`, `<<KEY>>`; not `<<fkey>>` or
//!   `<<work>>`) — is read as that one, and the warning says so ("did you mean `<<multi>>`?").
//! - `style-ignored`: a `<style>` … `</style>` block or a `skinparam NAME {` … `}` block is kept
//!   verbatim among the directives (printed back as written) and has no meaning for grading.
//! - `letter-range`: a structural constraint with a letter for its minimum (`-(N,M)-`) is graded
//!   with minimum 0, so the line (`=` or `-`) decides participation; a letter other than `N`/`M`
//!   as its maximum is read as unbounded.
//! - `free-text-label`: text where a cardinality stands (`E -Nsupervised- R`) is graded as no
//!   label (partial, many); a role belongs after the link (`: supervised`).
//!
//! A label read with a caveat is kept as written in the link (`written`) and printed back so.
//! Comments (`'` lines, `/' … '/` blocks) between `@startchen` and `@endchen` are kept with the
//! element that follows them (or at the end of the diagram) and printed back before it; a
//! comment inside a style block stays in the block. `' role: x` right before a link is that
//! link's role; before anything else it is dropped (the printer's renderable roles are such
//! comments).

use crate::model::{
    Attribute, Cardinality, Diagram, Disjointness, Entity, KeyKind, Link, ManyLabel, Relationship,
    Span, Specialization, UnionType,
};
use std::fmt;

/// A syntax error at a place in the text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What the parser expected there.
    pub expected: String,
    /// What it found instead.
    pub found: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: expected {}, found {}",
            self.line, self.column, self.expected, self.found
        )
    }
}

impl std::error::Error for ParseError {}

/// Every syntax error of one text, in line order (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseErrors(pub Vec<ParseError>);

impl fmt::Display for ParseErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseErrors {}

/// Something PlantUML accepts that grading reads with a caveat (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ParseWarning {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// `unknown-stereotype`, `style-ignored`, `letter-range` or `free-text-label`.
    pub code: &'static str,
    /// What was read and how.
    pub message: String,
}

impl fmt::Display for ParseWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: warning[{}]: {}",
            self.line, self.column, self.code, self.message
        )
    }
}

/// Parses one diagram. On failure returns every error found.
pub fn parse(text: &str) -> Result<Diagram, ParseErrors> {
    parse_with_warnings(text).0
}

/// Parses one diagram, also returning the warnings (in line order) about what was read with a
/// caveat; there may be warnings whether or not there are errors.
pub fn parse_with_warnings(text: &str) -> (Result<Diagram, ParseErrors>, Vec<ParseWarning>) {
    let recovered = parse_recovered(text);
    if recovered.errors.is_empty() {
        (Ok(recovered.diagram), recovered.warnings)
    } else {
        (Err(ParseErrors(recovered.errors)), recovered.warnings)
    }
}

/// What the parser read of a text, errors or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The diagram of every line that parsed; a line with an error (and the block it opens) is
    /// left out.
    pub diagram: Diagram,
    /// Every syntax error, in line order.
    pub errors: Vec<ParseError>,
    /// Every warning, in line order.
    pub warnings: Vec<ParseWarning>,
}

/// Parses what it can: the page draws the rest of a diagram while one line is broken.
pub fn parse_recovered(text: &str) -> Recovered {
    let mut parser = Parser::default();
    parser.run(text);
    let mut diagram = parser.diagram;
    orient_links(&mut diagram);
    diagram.canonicalize_order();
    Recovered {
        diagram,
        errors: parser.errors,
        warnings: parser.warnings,
    }
}

/// Links are written either way round (`R -1- E` or `E -1- R`); the parser first stores them as
/// written (relationship = left) and fixes the orientation once every declaration is known.
fn orient_links(diagram: &mut Diagram) {
    let is_relationship = |name: &str| diagram.relationships.iter().any(|r| r.name == name);
    let flips: Vec<bool> = diagram
        .links
        .iter()
        .map(|l| !is_relationship(&l.relationship) && is_relationship(&l.entity))
        .collect();
    for (link, flip) in diagram.links.iter_mut().zip(flips) {
        if flip {
            std::mem::swap(&mut link.relationship, &mut link.entity);
        }
    }
}

/// Where attributes being read go.
#[derive(Debug, Clone, Copy)]
enum Owner {
    Entity(usize),
    Relationship(usize),
    /// A line that failed to parse but opened a block: skip until its `}`.
    Skipped,
}

#[derive(Default)]
struct Parser {
    diagram: Diagram,
    errors: Vec<ParseError>,
    warnings: Vec<ParseWarning>,
    /// The last link label as written, when grading reads it otherwise (`(N,M)`, free text).
    written_label: Option<String>,
    /// An open `<style>` or `skinparam NAME {` block: its lines so far and how it ends.
    style_block: Option<(Vec<String>, &'static str)>,
    /// The open blocks: an owner, then the path of composite attributes inside it.
    stack: Vec<(Owner, Vec<usize>)>,
    pending_role: Option<String>,
    /// Comments read since the last element (each a `'` line or a whole `/' … '/` block).
    pending_comments: Vec<String>,
    /// An open `/' … '/` block comment's lines.
    block_comment: Option<Vec<String>>,
}

/// A cursor over one line's characters.
struct Line {
    chars: Vec<char>,
    pos: usize,
    line: usize,
}

type LineResult<T> = Result<T, ParseError>;

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.'
}

fn describe(c: Option<char>) -> String {
    match c {
        None => "end of line".to_string(),
        Some(c) if c.is_control() => format!("character U+{:04X}", c as u32),
        Some(c) => format!("'{c}'"),
    }
}

impl Line {
    fn new(text: &str, line: usize) -> Self {
        Line {
            chars: text.chars().collect(),
            pos: 0,
            line,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn column(&self) -> usize {
        self.pos + 1
    }

    fn span(&self) -> Span {
        Span::new(self.line, self.column())
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(c) if c == ' ' || c == '\t') {
            self.pos += 1;
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn error(&self, expected: impl Into<String>) -> ParseError {
        let found = if self.at_end() {
            "end of line".to_string()
        } else {
            let rest: String = self.chars[self.pos..].iter().take(20).collect();
            if rest.chars().count() == 1 {
                describe(self.peek())
            } else {
                format!("'{rest}'")
            }
        };
        self.error_found(expected, found)
    }

    fn error_found(&self, expected: impl Into<String>, found: impl Into<String>) -> ParseError {
        ParseError {
            line: self.line,
            column: self.column(),
            expected: expected.into(),
            found: found.into(),
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> LineResult<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(format!("'{c}'")))
        }
    }

    /// Reads a keyword if it stands next, followed by a space or the end.
    fn eat_word(&mut self, word: &str) -> bool {
        let n = word.chars().count();
        let matches = self.chars[self.pos..]
            .iter()
            .take(n)
            .copied()
            .eq(word.chars());
        let boundary = !matches!(self.peek_at(n), Some(c) if is_name_char(c));
        if matches && boundary {
            self.pos += n;
            true
        } else {
            false
        }
    }

    fn name(&mut self, what: &str) -> LineResult<String> {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if is_name_char(c)) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error(what.to_string()));
        }
        Ok(self.chars[start..self.pos].iter().collect())
    }

    fn quoted(&mut self) -> LineResult<String> {
        let open = self.span();
        self.expect('"')?;
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == '"' {
                let text: String = self.chars[start..self.pos].iter().collect();
                self.pos += 1;
                if text.trim().is_empty() {
                    return Err(ParseError {
                        line: open.line,
                        column: open.column,
                        expected: "a non-empty shown name".into(),
                        found: "\"\"".into(),
                    });
                }
                return Ok(text);
            }
            self.pos += 1;
        }
        Err(ParseError {
            line: open.line,
            column: open.column,
            expected: "a closing '\"' for the shown name".into(),
            found: "end of line".into(),
        })
    }

    /// `"Shown" as CODE` or `CODE`.
    fn display_and_name(&mut self, what: &str) -> LineResult<(Option<String>, String)> {
        if self.peek() == Some('"') {
            let display = self.quoted()?;
            self.skip_spaces();
            if !self.eat_word("as") {
                return Err(self.error("'as' after the shown name"));
            }
            self.skip_spaces();
            let name = self.name(what)?;
            Ok((Some(display), name))
        } else {
            Ok((None, self.name(what)?))
        }
    }

    /// Zero or more `<<word>>`, each with the column where it starts.
    fn stereotypes(&mut self) -> LineResult<Vec<(String, usize)>> {
        let mut out = Vec::new();
        loop {
            self.skip_spaces();
            if !(self.peek() == Some('<') && self.peek_at(1) == Some('<')) {
                return Ok(out);
            }
            let column = self.column();
            self.pos += 2;
            let start = self.pos;
            while matches!(self.peek(), Some(c) if c != '>') {
                self.pos += 1;
            }
            let word: String = self.chars[start..self.pos].iter().collect();
            if !(self.eat('>') && self.eat('>')) {
                return Err(self.error("'>>' closing the stereotype"));
            }
            out.push((word.trim().to_string(), column));
        }
    }

    /// An optional PlantUML colour (`#red`, `#A0B0C0`, `#lightblue;line:blue`), as written.
    fn color(&mut self) -> Option<String> {
        self.skip_spaces();
        let start = self.pos;
        if !self.eat('#') {
            return None;
        }
        while matches!(self.peek(), Some(c) if c.is_alphanumeric() || c == '/' || c == '-' || c == '_' || c == '.' || c == ';' || c == ':' || c == '#')
        {
            self.pos += 1;
        }
        Some(self.chars[start..self.pos].iter().collect())
    }

    fn expect_end(&mut self) -> LineResult<()> {
        self.skip_spaces();
        if self.at_end() {
            Ok(())
        } else {
            Err(self.error("end of line"))
        }
    }

    fn rest(&self) -> String {
        self.chars[self.pos..].iter().collect()
    }
}

/// Layout and style commands PlantUML accepts in any diagram; kept verbatim.
const DIRECTIVE_PREFIXES: &[&str] = &[
    "skinparam ",
    "title ",
    "caption ",
    "header ",
    "footer ",
    "scale ",
    "hide ",
    "show ",
    "!pragma ",
    "!theme ",
];
const DIRECTIVE_LINES: &[&str] = &["left to right direction", "top to bottom direction"];

/// Whether a top-level line is a layout or style command. A line whose second word starts a
/// link or specialization (`show =(1,1)= HALL`, with an entity named `show`) is not.
fn is_directive(trimmed: &str) -> bool {
    let second = trimmed.split_whitespace().nth(1).unwrap_or("");
    if second.starts_with(['-', '=']) {
        return false;
    }
    DIRECTIVE_LINES.contains(&trimmed) || DIRECTIVE_PREFIXES.iter().any(|p| trimmed.starts_with(p))
}

impl Parser {
    fn run(&mut self, text: &str) {
        let mut started = false;
        let mut ended = false;
        let mut in_block_comment = false;
        let mut start_line = 0;
        for (index, raw) in text.split('\n').enumerate() {
            let number = index + 1;
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            let trimmed = raw.trim();
            // Inside a style block every line is the block's, comments included.
            if let Some((lines, end)) = self.style_block.as_mut() {
                lines.push(raw.trim_end().to_string());
                if trimmed == *end {
                    let (lines, _) = self.style_block.take().unwrap_or_default();
                    self.diagram.directives.push(lines.join("\n"));
                }
                continue;
            }
            if in_block_comment {
                if let Some(lines) = self.block_comment.as_mut() {
                    lines.push(raw.trim_end().to_string());
                }
                if trimmed.ends_with("'/") {
                    in_block_comment = false;
                    if let Some(lines) = self.block_comment.take() {
                        self.pending_comments.push(lines.join("\n"));
                    }
                }
                continue;
            }
            if let Some(comment) = trimmed.strip_prefix("/'") {
                in_block_comment = !comment.ends_with("'/");
                // Kept between @startchen and @endchen (as written, the first line trimmed).
                if started && !ended {
                    if in_block_comment {
                        self.block_comment = Some(vec![trimmed.to_string()]);
                    } else {
                        self.pending_comments.push(trimmed.to_string());
                    }
                }
                continue;
            }
            if trimmed.is_empty() {
                continue;
            }
            let indent = raw.chars().take_while(|c| c.is_whitespace()).count();
            let column = indent + 1;
            if ended {
                self.push_error(number, column, "end of file after @endchen", quote(trimmed));
                break;
            }
            if !started {
                if let Some(rest) = trimmed.strip_prefix("@startchen") {
                    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
                        self.push_error(number, column, "'@startchen'", quote(trimmed));
                        return;
                    }
                    let name = rest.trim();
                    if !name.is_empty() {
                        self.diagram.name = Some(name.to_string());
                    }
                    started = true;
                    start_line = number;
                } else if !trimmed.starts_with('\'') {
                    self.push_error(number, column, "'@startchen'", quote(trimmed));
                    return;
                }
                continue;
            }
            if self.stack.is_empty() && self.opens_style_block(trimmed, number, column) {
                continue;
            }
            if trimmed == "@endchen" {
                ended = true;
                self.diagram.comments = self.take_comments();
                if let Some(what) = self.open_block_name() {
                    self.push_error(number, column, format!("'}}' closing {what}"), "@endchen");
                    self.stack.clear();
                }
                continue;
            }
            self.line(raw, number, indent);
        }
        let last_line = text.lines().count().max(1);
        if let Some((lines, end)) = self.style_block.take() {
            self.push_error(
                last_line,
                1,
                format!("'{end}' closing the `{}` block", lines[0]),
                "end of file",
            );
        }
        if in_block_comment {
            self.push_error(
                last_line,
                1,
                "\"'/\" closing the block comment",
                "end of file",
            );
        } else if !started {
            self.push_error(last_line, 1, "'@startchen'", "end of file");
        } else if !ended {
            if let Some(what) = self.open_block_name() {
                self.push_error(last_line, 1, format!("'}}' closing {what}"), "end of file");
            }
            self.push_error(
                last_line,
                1,
                format!("'@endchen' (the diagram opened on line {start_line})"),
                "end of file",
            );
        }
    }

    /// Names the innermost open block, if any: "entity EMPLOYEE (opened on line 3)".
    fn open_block_name(&self) -> Option<String> {
        let (owner, _) = self.stack.last()?;
        Some(match owner {
            Owner::Entity(i) => {
                let e = &self.diagram.entities[*i];
                format!("entity {} (opened on line {})", e.name, e.span.line)
            }
            Owner::Relationship(i) => {
                let r = &self.diagram.relationships[*i];
                format!("relationship {} (opened on line {})", r.name, r.span.line)
            }
            Owner::Skipped => "the block opened by a line with an error".to_string(),
        })
    }

    fn push_error(
        &mut self,
        line: usize,
        column: usize,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) {
        self.errors.push(ParseError {
            line,
            column,
            expected: expected.into(),
            found: found.into(),
        });
    }

    fn line(&mut self, raw: &str, number: usize, indent: usize) {
        let trimmed = raw.trim();
        if let Some(comment) = trimmed.strip_prefix('\'') {
            self.comment(comment);
            return;
        }
        let mut line = Line::new(raw, number);
        line.pos = indent;
        let opens_block = trimmed.ends_with('{');
        let result = if trimmed == "}" {
            self.close_block(&line)
        } else if self.stack.is_empty() {
            if is_directive(trimmed) {
                self.directive(trimmed)
            } else {
                self.top_level(&mut line)
            }
        } else {
            self.inside_block(&mut line)
        };
        if let Err(error) = result {
            self.errors.push(error);
            if opens_block {
                self.stack.push((Owner::Skipped, Vec::new()));
            }
        }
        self.pending_role = None;
    }

    /// A `'` comment line: a role for the next link (`' role: supervisee`, the printer's
    /// renderable form), else kept for the next element.
    fn comment(&mut self, comment: &str) {
        let role = comment
            .trim()
            .strip_prefix("role:")
            .map(str::trim)
            .filter(|r| !r.is_empty() && r.chars().all(is_name_char));
        match role {
            Some(role) => self.pending_role = Some(role.to_string()),
            None => self.pending_comments.push(format!("'{comment}")),
        }
    }

    /// The comments read since the last element, for the element being made.
    fn take_comments(&mut self) -> Vec<String> {
        std::mem::take(&mut self.pending_comments)
    }

    fn directive(&mut self, trimmed: &str) -> LineResult<()> {
        let mut text = self.take_comments().join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(trimmed);
        self.diagram.directives.push(text);
        Ok(())
    }

    /// Starts a `<style>` or `skinparam NAME {` block (kept verbatim, with a warning); whether
    /// `trimmed` opened one.
    fn opens_style_block(&mut self, trimmed: &str, number: usize, column: usize) -> bool {
        let end = if trimmed == "<style>" {
            "</style>"
        } else if trimmed.starts_with("skinparam ") && trimmed.ends_with('{') {
            "}"
        } else {
            return false;
        };
        self.style_block = Some((vec![trimmed.to_string()], end));
        self.warnings.push(ParseWarning {
            line: number,
            column,
            code: "style-ignored",
            message: format!(
                "the `{trimmed}` block sets only how PlantUML draws; it is kept as written and has no meaning for grading"
            ),
        });
        true
    }

    fn close_block(&mut self, line: &Line) -> LineResult<()> {
        let Some((_, parts)) = self.stack.last_mut() else {
            return Err(line.error_found(
                "a declaration, link or specialization",
                "'}' with no open block",
            ));
        };
        if parts.pop().is_none() {
            self.stack.pop();
        }
        Ok(())
    }

    fn top_level(&mut self, line: &mut Line) -> LineResult<()> {
        let span = line.span();
        if line.eat_word("entity") {
            line.skip_spaces();
            return self.entity(line, span);
        }
        if line.eat_word("relationship") {
            line.skip_spaces();
            return self.relationship(line, span);
        }
        if !matches!(line.peek(), Some(c) if is_name_char(c)) {
            return Err(
                line.error("'entity', 'relationship', a link, a specialization or a comment")
            );
        }
        let left = line.name("a name")?;
        line.skip_spaces();
        let first = match line.peek() {
            Some(c @ ('-' | '=')) => c,
            _ => {
                return Err(line.error(
                    "'-' or '=' starting a link or specialization (or a keyword: 'entity', 'relationship')",
                ))
            }
        };
        let total = first == '=';
        match line.peek_at(1) {
            Some('>') => {
                line.pos += 2;
                self.link_end(line, first)?;
                self.specialization(line, left, total, span)
            }
            Some('<') => {
                line.pos += 2;
                self.link_end(line, first)?;
                line.skip_spaces();
                let superclass = line.name("the superclass's name")?;
                let color = line.color();
                line.expect_end()?;
                self.diagram.specializations.push(Specialization {
                    superclass,
                    subclasses: vec![left],
                    disjointness: None,
                    total,
                    comments: std::mem::take(&mut self.pending_comments),
                    color,
                    span,
                });
                Ok(())
            }
            _ => {
                line.pos += 1;
                let cardinality = self.cardinality(line)?;
                self.link_end(line, first)?;
                line.skip_spaces();
                let right = line.name("the name of an entity or relationship")?;
                line.skip_spaces();
                let mut role = None;
                if line.eat(':') {
                    line.skip_spaces();
                    role = Some(line.name("a role name")?);
                }
                let color = line.color();
                line.expect_end()?;
                let role = role.or_else(|| self.pending_role.take());
                self.diagram.links.push(Link {
                    relationship: left,
                    entity: right,
                    total,
                    cardinality,
                    role,
                    written: self.written_label.take(),
                    comments: std::mem::take(&mut self.pending_comments),
                    color,
                    span,
                });
                Ok(())
            }
        }
    }

    /// The closing `-` or `=` of a link. As in PlantUML, participation is read from the opening
    /// one; the closing one may be either.
    fn link_end(&self, line: &mut Line, first: char) -> LineResult<()> {
        if matches!(line.peek(), Some('-' | '=')) {
            line.pos += 1;
            Ok(())
        } else {
            Err(line.error(format!(
                "'{first}' closing the link (labels are 1, N, M or (min,max))"
            )))
        }
    }

    fn cardinality(&mut self, line: &mut Line) -> LineResult<Option<Cardinality>> {
        self.written_label = None;
        let start = line.pos;
        let warnings = self.warnings.len();
        let read = self.cardinality_read(line)?;
        if self.warnings.len() > warnings {
            // Read with a caveat: keep the label as written for printing.
            let text: String = line.chars[start..line.pos].iter().collect();
            self.written_label = Some(text.trim().to_string());
        }
        Ok(read)
    }

    fn cardinality_read(&mut self, line: &mut Line) -> LineResult<Option<Cardinality>> {
        match line.peek() {
            Some('-' | '=') => Ok(None),
            Some('(') => {
                line.pos += 1;
                line.skip_spaces();
                let min_col = line.pos;
                let min = match number(line) {
                    Some(min) => min,
                    None if matches!(line.peek(), Some(c) if c.is_alphabetic()) => {
                        // A letter range, `(N,M)`: PlantUML draws it; grading has no number.
                        let letter = line.name("a minimum").unwrap_or_default();
                        self.warnings.push(ParseWarning {
                            line: line.line,
                            column: min_col + 1,
                            code: "letter-range",
                            message: format!(
                                "the minimum `{letter}` is not a number: graded as 0, so the line (`=` total, `-` partial) decides participation; write a number to be exact"
                            ),
                        });
                        0
                    }
                    None => {
                        line.pos = min_col;
                        return Err(line.error("a minimum (a number) in (min,max)"));
                    }
                };
                line.skip_spaces();
                line.expect(',')?;
                line.skip_spaces();
                let max = match line.peek() {
                    Some(c) if c.is_alphabetic() || c == '*' => {
                        // `N`, `M`, `*` or another letter: unbounded.
                        let letter = if c == '*' {
                            line.pos += 1;
                            "*".to_string()
                        } else {
                            line.name("a maximum").unwrap_or_default()
                        };
                        if !matches!(letter.as_str(), "N" | "n" | "M" | "m" | "*") {
                            self.warnings.push(ParseWarning {
                                line: line.line,
                                column: line.column() - letter.chars().count(),
                                code: "letter-range",
                                message: format!(
                                    "the maximum `{letter}` is read as unbounded (like N)"
                                ),
                            });
                        }
                        None
                    }
                    _ => {
                        let max_col = line.pos;
                        let max = number(line).ok_or_else(|| {
                            line.pos = max_col;
                            line.error("a maximum (a number, N or M) in (min,max)")
                        })?;
                        if max == 0 || max < min {
                            line.pos = max_col;
                            return Err(line.error_found(
                                format!("a maximum of at least max(1, min = {min})"),
                                max.to_string(),
                            ));
                        }
                        Some(max)
                    }
                };
                line.skip_spaces();
                line.expect(')')?;
                Ok(Some(Cardinality::MinMax { min, max }))
            }
            Some(c) if c.is_alphanumeric() => {
                let start = line.pos;
                while matches!(line.peek(), Some(c) if c.is_alphanumeric()) {
                    line.pos += 1;
                }
                let label: String = line.chars[start..line.pos].iter().collect();
                match label.as_str() {
                    "1" => Ok(Some(Cardinality::One)),
                    "N" | "n" => Ok(Some(Cardinality::Many(ManyLabel::N))),
                    "M" | "m" => Ok(Some(Cardinality::Many(ManyLabel::M))),
                    _ => {
                        // Free text where a label stands (`-Nsupervised-`): PlantUML draws it.
                        while matches!(line.peek(), Some(c) if c != '-' && c != '=') {
                            line.pos += 1;
                        }
                        let text: String = line.chars[start..line.pos].iter().collect();
                        self.warnings.push(ParseWarning {
                            line: line.line,
                            column: start + 1,
                            code: "free-text-label",
                            message: format!(
                                "`{}` is not a cardinality (1, N, M or (min,max)): graded as no label (partial, many); put a role after the link instead (`: {}`)",
                                text.trim(),
                                text.trim()
                            ),
                        });
                        Ok(None)
                    }
                }
            }
            _ => Err(line.error("a cardinality label (1, N, M or (min,max)) or '-'/'='")),
        }
    }

    fn specialization(
        &mut self,
        line: &mut Line,
        superclass: String,
        total: bool,
        span: Span,
    ) -> LineResult<()> {
        line.skip_spaces();
        let symbol_start = line.pos;
        let word = line.name("'d', 'o', 'U' or a subclass name")?;
        line.skip_spaces();
        let kind = match (word.as_str(), line.peek()) {
            ("d", Some('{')) => Some(Some(Disjointness::Disjoint)),
            ("o", Some('{')) => Some(Some(Disjointness::Overlapping)),
            ("U", Some('{')) => Some(None),
            (_, Some('{')) => {
                line.pos = symbol_start;
                return Err(line.error_found("'d', 'o' or 'U' before '{'", format!("'{word}'")));
            }
            _ => None,
        };
        let Some(kind) = kind else {
            let color = line.color();
            line.expect_end()?;
            self.diagram.specializations.push(Specialization {
                superclass,
                subclasses: vec![word],
                disjointness: None,
                total,
                comments: std::mem::take(&mut self.pending_comments),
                color,
                span,
            });
            return Ok(());
        };
        line.expect('{')?;
        let mut names = Vec::new();
        loop {
            line.skip_spaces();
            names.push(line.name("a class name")?);
            line.skip_spaces();
            if line.eat(',') {
                continue;
            }
            if line.eat('}') {
                break;
            }
            return Err(line.error("',' or '}'"));
        }
        let color = line.color();
        line.expect_end()?;
        match kind {
            Some(disjointness) => self.diagram.specializations.push(Specialization {
                superclass,
                subclasses: names,
                disjointness: Some(disjointness),
                total,
                comments: std::mem::take(&mut self.pending_comments),
                color,
                span,
            }),
            None => self.diagram.unions.push(UnionType {
                category: superclass,
                superclasses: names,
                total,
                comments: std::mem::take(&mut self.pending_comments),
                color,
                span,
            }),
        }
        Ok(())
    }

    /// `entity ["Shown" as] CODE [<<weak>>] [#color] {`
    fn entity(&mut self, line: &mut Line, span: Span) -> LineResult<()> {
        let head = self.declaration_head(line, "entity", "weak")?;
        self.diagram.entities.push(Entity {
            name: head.name,
            display: head.display,
            weak: head.marked,
            attributes: Vec::new(),
            stereotypes: head.stereotypes,
            comments: std::mem::take(&mut self.pending_comments),
            color: head.color,
            span,
        });
        self.stack
            .push((Owner::Entity(self.diagram.entities.len() - 1), Vec::new()));
        self.close_if_empty_block(line);
        Ok(())
    }

    /// `relationship ["Shown" as] CODE [<<identifying>>] [#color] {`
    fn relationship(&mut self, line: &mut Line, span: Span) -> LineResult<()> {
        let head = self.declaration_head(line, "relationship", "identifying")?;
        self.diagram.relationships.push(Relationship {
            name: head.name,
            display: head.display,
            identifying: head.marked,
            attributes: Vec::new(),
            stereotypes: head.stereotypes,
            comments: std::mem::take(&mut self.pending_comments),
            color: head.color,
            span,
        });
        self.stack.push((
            Owner::Relationship(self.diagram.relationships.len() - 1),
            Vec::new(),
        ));
        self.close_if_empty_block(line);
        Ok(())
    }

    /// `{ }` or `{}` on the declaration's own line closes the block at once.
    fn close_if_empty_block(&mut self, line: &mut Line) {
        if line.eat('}') {
            self.stack.pop();
        }
    }

    fn inside_block(&mut self, line: &mut Line) -> LineResult<()> {
        let Some((owner, _)) = self.stack.last() else {
            return Ok(());
        };
        if matches!(owner, Owner::Skipped) {
            if line.rest().trim_end().ends_with('{') {
                if let Some((_, parts)) = self.stack.last_mut() {
                    parts.push(0);
                }
            }
            return Ok(());
        }
        let span = line.span();
        if !matches!(line.peek(), Some(c) if is_name_char(c) || c == '"') {
            return Err(line.error("an attribute or '}'"));
        }
        let (display, name, data_type) = if line.peek() == Some('"') {
            let display = line.quoted()?;
            line.skip_spaces();
            if !line.eat_word("as") {
                return Err(line.error("'as' after the shown name"));
            }
            line.skip_spaces();
            let (name, data_type) = attribute_name_and_type(line)?;
            (Some(display), name, data_type)
        } else {
            let (name, data_type) = attribute_name_and_type(line)?;
            (None, name, data_type)
        };
        let mut attribute = Attribute {
            name,
            display,
            data_type,
            comments: std::mem::take(&mut self.pending_comments),
            span,
            ..Attribute::default()
        };
        let weak_owner = self.owner_is_weak();
        for (word, column) in line.stereotypes()? {
            let known = self.known_stereotype(&word, ATTRIBUTE_STEREOTYPES, line.line, column);
            match known.as_deref() {
                Some("key") if weak_owner => attribute.key = KeyKind::Partial,
                Some("key") => attribute.key = KeyKind::Key,
                Some("partial" | "discriminator") => attribute.key = KeyKind::Partial,
                Some("multi" | "multivalued") => attribute.multivalued = true,
                Some(_) => attribute.derived = true,
                None => attribute.stereotypes.push(word),
            }
        }
        attribute.color = line.color();
        line.skip_spaces();
        let composite = line.eat('{');
        let empty_composite = composite && {
            line.skip_spaces();
            line.eat('}')
        };
        line.expect_end()?;
        let index = self.add_attribute(attribute);
        if composite && !empty_composite {
            if let Some((_, parts)) = self.stack.last_mut() {
                parts.push(index);
            }
        }
        Ok(())
    }

    /// The known stereotype `word` stands for, among `known`: itself, or the one within two
    /// edits of a typo (with an `unknown-stereotype` warning saying so); `None` for a stereotype
    /// grading does not know (warned about, kept as written by the caller).
    fn known_stereotype(
        &mut self,
        word: &str,
        known: &[&str],
        line: usize,
        column: usize,
    ) -> Option<String> {
        if known.contains(&word) {
            return Some(word.to_string());
        }
        let lower = word.to_lowercase();
        let near = known
            .iter()
            .map(|k| {
                let (a, b): (Vec<char>, Vec<char>) = (lower.chars().collect(), k.chars().collect());
                (typo_distance(&a, &b), *k)
            })
            // A typo keeps the first letter (`<<multy>>`, `<<dereived>>`); a different word
            // does not (`<<fkey>>` is a foreign key, not `<<key>>`). Short words allow one
            // edit (`<<work>>` is not `<<weak>>`), longer ones two.
            .filter(|(d, k)| {
                let allowed = if k.chars().count() <= 5 { 1 } else { 2 };
                *d <= allowed
                    && lower.chars().count() >= 3
                    && lower.chars().next() == k.chars().next()
            })
            .min();
        let listed: Vec<String> = known.iter().map(|k| format!("<<{k}>>")).collect();
        let (message, read) = match near {
            Some((_, k)) => (
                format!("unknown stereotype <<{word}>>, read as <<{k}>>: did you mean <<{k}>>?"),
                Some(k.to_string()),
            ),
            None => (
                format!(
                    "stereotype <<{word}>> has no meaning for grading (known here: {}); it is kept as written",
                    listed.join(", ")
                ),
                None,
            ),
        };
        self.warnings.push(ParseWarning {
            line,
            column,
            code: "unknown-stereotype",
            message,
        });
        read
    }

    fn owner_is_weak(&self) -> bool {
        matches!(self.stack.last(), Some((Owner::Entity(i), _)) if self.diagram.entities[*i].weak)
    }

    /// Adds an attribute to the innermost open owner; returns its index among its siblings.
    fn add_attribute(&mut self, attribute: Attribute) -> usize {
        let Some((owner, path)) = self.stack.last() else {
            return 0;
        };
        let mut list = match owner {
            Owner::Entity(i) => &mut self.diagram.entities[*i].attributes,
            Owner::Relationship(i) => &mut self.diagram.relationships[*i].attributes,
            Owner::Skipped => return 0,
        };
        for &step in path {
            list = &mut list[step].parts;
        }
        list.push(attribute);
        list.len() - 1
    }
}

/// The edit distance of a typo: insertions, deletions and substitutions, and one swap of two
/// neighbouring letters counting as one edit (`<<kye>>` is one edit from `<<key>>`).
fn typo_distance(a: &[char], b: &[char]) -> usize {
    let swapped = a.len() == b.len()
        && (0..a.len().saturating_sub(1)).any(|i| {
            a[i] == b[i + 1] && a[i + 1] == b[i] && a[..i] == b[..i] && a[i + 2..] == b[i + 2..]
        });
    if swapped {
        1
    } else {
        crate::matching::names::edit_distance(a, b)
    }
}

/// The stereotypes grading reads on an attribute.
const ATTRIBUTE_STEREOTYPES: &[&str] = &[
    "key",
    "partial",
    "discriminator",
    "multi",
    "multivalued",
    "derived",
];

/// A declaration line read: its shown name, code, whether the one meaningful stereotype is
/// there, the other stereotypes and the colour.
struct Head {
    display: Option<String>,
    name: String,
    marked: bool,
    stereotypes: Vec<String>,
    color: Option<String>,
}

impl Parser {
    /// The rest of an `entity`/`relationship` line after the keyword: shown name, code, whether
    /// its one meaningful stereotype (`<<weak>>`, `<<identifying>>`) is there, the others kept
    /// as written (with a warning), and the opening `{`.
    fn declaration_head(
        &mut self,
        line: &mut Line,
        noun: &str,
        stereotype: &str,
    ) -> LineResult<Head> {
        let (display, name) = line.display_and_name(&format!("the {noun}'s name"))?;
        let mut marked = false;
        let mut others = Vec::new();
        for (word, column) in line.stereotypes()? {
            match self.known_stereotype(&word, &[stereotype], line.line, column) {
                Some(_) => marked = true,
                None => others.push(word),
            }
        }
        let color = block_open(line)?;
        Ok(Head {
            display,
            name,
            marked,
            stereotypes: others,
            color,
        })
    }
}

/// The colour and the opening `{` of a declaration (`{ }` on the line closes it at once).
fn block_open(line: &mut Line) -> LineResult<Option<String>> {
    let color = line.color();
    line.skip_spaces();
    if !line.eat('{') {
        return Err(line.error("'{' opening the block (PlantUML needs it, even when empty)"));
    }
    line.skip_spaces();
    let empty = line.peek() == Some('}');
    if empty {
        let save = line.pos;
        line.pos += 1;
        line.expect_end()?;
        line.pos = save;
        return Ok(color);
    }
    line.expect_end()?;
    Ok(color)
}

/// An attribute's name (words joined by single spaces, as PlantUML allows) and `: TYPE`.
fn attribute_name_and_type(line: &mut Line) -> LineResult<(String, Option<String>)> {
    let name = spaced_words(line, "an attribute name")?;
    line.skip_spaces();
    if !line.eat(':') {
        return Ok((name, None));
    }
    line.skip_spaces();
    let data_type = spaced_words(line, "a data type (letters, digits, '_' and '.')")?;
    Ok((name, Some(data_type)))
}

fn spaced_words(line: &mut Line, what: &str) -> LineResult<String> {
    let mut words = vec![line.name(what)?];
    loop {
        let save = line.pos;
        line.skip_spaces();
        if matches!(line.peek(), Some(c) if is_name_char(c)) {
            words.push(line.name(what)?);
        } else {
            line.pos = save;
            return Ok(words.join(" "));
        }
    }
}

fn number(line: &mut Line) -> Option<u32> {
    let start = line.pos;
    while matches!(line.peek(), Some(c) if c.is_ascii_digit()) {
        line.pos += 1;
    }
    if line.pos == start {
        return None;
    }
    let digits: String = line.chars[start..line.pos].iter().collect();
    digits.parse().ok()
}

fn quote(text: &str) -> String {
    let short: String = text.chars().take(40).collect();
    if short.len() < text.len() {
        format!("'{short}…'")
    } else {
        format!("'{short}'")
    }
}

#[cfg(test)]
mod tests;
