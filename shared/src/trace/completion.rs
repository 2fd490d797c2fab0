//! Rendering a [`Trace`] as completion text and parsing completion text back.

use super::{Claim, Step, StepKind, Trace};
use crate::finding::{Category, Finding};
use crate::path::ElementPath;
use std::fmt::{self, Write};

/// Text that must not appear inside a field: the separator and line breaks.
fn field(text: &str) -> String {
    text.replace(['\n', '\r'], " ").replace(" | ", " / ")
}

pub(super) fn render(trace: &Trace) -> String {
    let mut out = String::from("Steps:\n");
    for (i, step) in trace.steps.iter().enumerate() {
        let _ = write!(
            out,
            "{}. {} {} | {} | ",
            i + 1,
            step.kind,
            step.reference,
            step.student.as_deref().map(field).unwrap_or("-".into())
        );
        if step.claims.is_empty() {
            out.push_str("ok");
        } else {
            let claims: Vec<String> = step.claims.iter().map(Claim::to_string).collect();
            out.push_str(&claims.join("; "));
        }
        out.push('\n');
    }
    out.push_str(&render_findings(&trace.findings));
    out
}

/// The findings block: `Findings: none` or `Findings:` and one line per finding.
pub(super) fn render_findings(findings: &[Finding]) -> String {
    let mut out = String::new();
    if findings.is_empty() {
        out.push_str("Findings: none\n");
    } else {
        out.push_str("Findings:\n");
        for f in findings {
            let _ = writeln!(
                out,
                "- {} | {} | {} | {}",
                f.category,
                f.element,
                f.student.as_deref().map(field).unwrap_or("-".into()),
                field(f.explanation.trim())
            );
        }
    }
    out
}

/// A malformed part of a completion.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TraceError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// What [`parse_completion`] read: every well-formed step and finding, and an error for every
/// malformed line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedTrace {
    /// The well-formed steps and findings.
    pub trace: Trace,
    /// One error per malformed line (and one if the findings block is missing).
    pub errors: Vec<TraceError>,
    /// Whether the findings block was reached (a cut-off completion has no final answer).
    pub has_findings_block: bool,
    /// The reference paths of step lines whose header reads but whose verdict does not (the
    /// step is not among the trace's steps; its error is among `errors`).
    pub malformed_steps: Vec<ElementPath>,
}

impl ParsedTrace {
    /// Whether the completion followed the grammar everywhere.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty() && self.has_findings_block
    }
}

#[derive(PartialEq)]
enum Section {
    Start,
    Steps,
    Findings,
}

/// Parses a completion (see the grammar in the [module docs](super)). Never fails: malformed
/// lines become [`TraceError`]s and are skipped.
pub fn parse_completion(text: &str) -> ParsedTrace {
    let mut parsed = ParsedTrace::default();
    let mut section = Section::Start;
    let mut expected_number = 1;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        let mut error = |column: usize, message: String| {
            parsed.errors.push(TraceError {
                line: line_no,
                column,
                message,
            })
        };
        if line == "Steps:" {
            if section != Section::Start {
                error(1, "a second 'Steps:' header".into());
            }
            section = Section::Steps;
            continue;
        }
        if let Some(rest) = line.strip_prefix("Findings:") {
            match section {
                Section::Findings => error(1, "a second 'Findings:' header".into()),
                Section::Start => error(1, "'Findings:' before 'Steps:'".into()),
                Section::Steps => {}
            }
            section = Section::Findings;
            parsed.has_findings_block = true;
            match rest.trim() {
                "" => {}
                "none" => {}
                other => error(
                    11,
                    format!("expected 'none' or a line break, found '{other}'"),
                ),
            }
            continue;
        }
        match section {
            Section::Start => error(1, "expected 'Steps:'".into()),
            Section::Steps => match parse_step_header(line) {
                Ok((number, header)) => {
                    if number != expected_number {
                        error(
                            1,
                            format!("step {number} where step {expected_number} was due"),
                        );
                    }
                    expected_number = number + 1;
                    match parse_verdict(header.verdict_column, header.verdict) {
                        Ok(claims) => parsed.trace.steps.push(Step {
                            kind: header.kind,
                            reference: header.reference,
                            student: header.student,
                            claims,
                        }),
                        Err((column, message)) => {
                            error(column, message);
                            parsed.malformed_steps.push(header.reference);
                        }
                    }
                }
                Err((column, message)) => {
                    error(column, message);
                    // A step whose number reads keeps the numbering going.
                    if let (_, Some(number)) = leading_number(line) {
                        expected_number = number + 1;
                    }
                }
            },
            Section::Findings => match parse_finding(line) {
                Ok(finding) => parsed.trace.findings.push(finding),
                Err((column, message)) => error(column, message),
            },
        }
    }
    if !parsed.has_findings_block {
        parsed.errors.push(TraceError {
            line: text.lines().count().max(1),
            column: 1,
            message: "the completion ends without a 'Findings:' block".into(),
        });
    }
    parsed
}

pub(super) type FieldError = (usize, String);

/// Splits `line` at " | " into exactly `n` fields with their 1-based starting columns.
fn split_fields(line: &str, n: usize) -> Result<Vec<(usize, &str)>, FieldError> {
    let mut fields = Vec::with_capacity(n);
    let mut start = 0;
    for _ in 1..n {
        let Some(offset) = line[start..].find(" | ") else {
            return Err((
                line.chars().count() + 1,
                format!("expected {n} fields separated by ' | '"),
            ));
        };
        fields.push((start, &line[start..start + offset]));
        start += offset + 3;
    }
    fields.push((start, &line[start..]));
    Ok(fields
        .into_iter()
        .map(|(byte, text)| (line[..byte].chars().count() + 1, text))
        .collect())
}

fn parse_path(column: usize, text: &str) -> Result<ElementPath, FieldError> {
    text.trim()
        .parse::<ElementPath>()
        .map_err(|e| (column, e.to_string()))
}

fn parse_category(column: usize, text: &str) -> Result<Category, FieldError> {
    text.parse::<Category>().map_err(|e| (column, e))
}

fn parse_student(text: &str) -> Option<String> {
    match text.trim() {
        "-" | "" => None,
        name => Some(name.to_string()),
    }
}

/// The number a line starts with, and how many digits it has (`None`: no number).
fn leading_number(line: &str) -> (usize, Option<usize>) {
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    (digits, line[..digits].parse().ok())
}

/// A step line up to its verdict.
struct StepHeader<'a> {
    kind: StepKind,
    reference: ElementPath,
    student: Option<String>,
    /// The verdict's text and its 1-based column.
    verdict: &'a str,
    verdict_column: usize,
}

fn parse_step_header(line: &str) -> Result<(usize, StepHeader<'_>), FieldError> {
    let (digits, number) = leading_number(line);
    let number = number.ok_or((1, "expected a step number".to_string()))?;
    let rest = line[digits..].strip_prefix(". ").ok_or((
        digits + 1,
        "expected '. ' after the step number".to_string(),
    ))?;
    let offset = digits + 2;
    let fields = split_fields(rest, 3).map_err(|(c, m)| (c + offset, m))?;
    let (head_col, head) = fields[0];
    let (kind_word, reference) = head.split_once(' ').ok_or((
        head_col + offset,
        "expected KIND and a reference path".to_string(),
    ))?;
    let kind = StepKind::from_word(kind_word).ok_or((
        head_col + offset,
        format!("unknown element kind '{kind_word}': expected entity, relationship, specialization, union, attribute or side"),
    ))?;
    let reference = parse_path(head_col + offset + kind_word.len() + 1, reference)?;
    let (verdict_col, verdict) = fields[2];
    Ok((
        number,
        StepHeader {
            kind,
            reference,
            student: parse_student(fields[1].1),
            verdict,
            verdict_column: verdict_col + offset,
        },
    ))
}

/// Parses a step's verdict (`ok` or `CATEGORY PATH {"; " CATEGORY PATH}`) that starts at
/// `column`; errors carry the column of the faulty claim.
pub(super) fn parse_verdict(column: usize, verdict: &str) -> Result<Vec<Claim>, FieldError> {
    let mut claims = Vec::new();
    if verdict.trim() == "ok" {
        return Ok(claims);
    }
    let mut col = column;
    for part in verdict.split("; ") {
        let (category, path) = part.trim().split_once(' ').ok_or((
            col,
            format!("expected 'ok' or CATEGORY PATH, found '{part}'"),
        ))?;
        claims.push(Claim {
            category: parse_category(col, category)?,
            element: parse_path(col + category.len() + 1, path)?,
        });
        col += part.chars().count() + 2;
    }
    Ok(claims)
}

fn parse_finding(line: &str) -> Result<Finding, FieldError> {
    let rest = line
        .strip_prefix("- ")
        .ok_or((1, "expected a finding line starting with '- '".to_string()))?;
    let fields = split_fields(rest, 4).map_err(|(c, m)| (c + 2, m))?;
    let category = parse_category(fields[0].0 + 2, fields[0].1.trim())?;
    let element = parse_path(fields[1].0 + 2, fields[1].1)?;
    let explanation = fields[3].1.trim();
    if explanation.is_empty() {
        return Err((fields[3].0 + 2, "empty explanation".into()));
    }
    Ok(Finding {
        category,
        element,
        student: parse_student(fields[2].1),
        explanation: explanation.to_string(),
        requirement: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Trace {
        let cardinality = Claim {
            category: Category::WrongCardinality,
            element: "WORKS_FOR/DEPARTMENT".parse().unwrap(),
        };
        Trace {
            steps: vec![
                Step {
                    kind: StepKind::Entity,
                    reference: "EMPLOYEE".parse().unwrap(),
                    student: Some("Staff".into()),
                    claims: vec![],
                },
                Step {
                    kind: StepKind::Relationship,
                    reference: "WORKS_FOR".parse().unwrap(),
                    student: Some("Works_in".into()),
                    claims: vec![cardinality.clone()],
                },
                Step {
                    kind: StepKind::Specialization,
                    reference: "EMPLOYEE>ENGINEER,SECRETARY".parse().unwrap(),
                    student: None,
                    claims: vec![],
                },
            ],
            findings: vec![Finding {
                category: cardinality.category,
                element: cardinality.element,
                student: Some("Works_in/Dept".into()),
                explanation: "Each employee works for one department.".into(),
                requirement: None,
            }],
        }
    }

    #[test]
    fn renders_the_grammar() {
        assert_eq!(
            sample().render(),
            "Steps:\n\
             1. entity EMPLOYEE | Staff | ok\n\
             2. relationship WORKS_FOR | Works_in | wrong_cardinality WORKS_FOR/DEPARTMENT\n\
             3. specialization EMPLOYEE>ENGINEER,SECRETARY | - | ok\n\
             Findings:\n\
             - wrong_cardinality | WORKS_FOR/DEPARTMENT | Works_in/Dept | Each employee works for one department.\n"
        );
        let empty = Trace::default().render();
        assert_eq!(empty, "Steps:\nFindings: none\n");
    }

    #[test]
    fn round_trips() {
        let trace = sample();
        let parsed = parse_completion(&trace.render());
        assert!(parsed.is_clean(), "{:?}", parsed.errors);
        assert_eq!(parsed.trace, trace);
        assert!(trace.is_consistent());
    }

    #[test]
    fn malformed_lines_are_reported_with_their_place() {
        let text = "Steps:\n\
                    1. entity EMPLOYEE | Staff | ok\n\
                    2. entiti DEPT | - | ok\n\
                    3. relationship R | x | wrong_thing R\n\
                    garbage\n\
                    Findings:\n\
                    - missing_entity | DEPT | -\n\
                    - missing_entity | DEPT | - | Add it.\n";
        let parsed = parse_completion(text);
        assert_eq!(parsed.trace.steps.len(), 1);
        assert_eq!(parsed.trace.findings.len(), 1);
        // Step 3's header reads; only its verdict does not.
        assert_eq!(
            parsed.malformed_steps,
            ["R".parse::<ElementPath>().unwrap()]
        );
        let places: Vec<(usize, usize)> =
            parsed.errors.iter().map(|e| (e.line, e.column)).collect();
        assert_eq!(places, vec![(3, 4), (4, 25), (5, 1), (7, 28)]);
        assert!(parsed.errors[0]
            .message
            .contains("unknown element kind 'entiti'"));
        assert!(parsed.errors[1].message.contains("unknown category"));
    }

    #[test]
    fn a_cut_off_completion_has_no_findings_block() {
        let parsed = parse_completion("Steps:\n1. entity A | A | ok\n2. entity B | ");
        assert!(!parsed.has_findings_block);
        assert_eq!(parsed.trace.steps.len(), 1);
        assert!(!parsed.is_clean());
    }

    #[test]
    fn never_panics_on_odd_text() {
        for text in [
            "",
            "Findings:",
            "Steps:\n1. ",
            "Steps:\n99999999999999999999999. entity A | - | ok",
            "Steps:\n1. entity | | |\nFindings: maybe\n- | | | |",
            "Steps:\n1. entity A | é | wrong_key A; \nFindings:\n- wrong_key | A | - | ",
            "Steps:\n١. entity A | - | ok",
        ] {
            assert!(!parse_completion(text).is_clean(), "{text}");
        }
    }
}
