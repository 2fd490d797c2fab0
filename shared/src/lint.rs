//! Well-formedness checks on a parsed diagram, apart from parsing.
//!
//! Each finding is a [`Diagnostic`] with the place of the element it is about, usable on its own
//! as instant feedback before any model runs. Errors make a diagram ill-formed; warnings point at
//! likely slips that are still a valid diagram.

use crate::model::{same_name, Attribute, Cardinality, Diagram, KeyKind, Span};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A likely slip; the diagram is still well-formed.
    Warning,
    /// The diagram is not well-formed.
    Error,
}

/// One lint finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable kebab-case identifier of the check (`undeclared-name`).
    pub code: &'static str,
    /// 1-based line of the element concerned.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong, in one sentence.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}: {severity}[{}]: {}",
            self.line, self.column, self.code, self.message
        )
    }
}

/// Whether any diagnostic is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(|d| d.severity == Severity::Error)
}

/// Parses and lints `text` in one go, for instant feedback: the parser's warnings
/// (`unknown-stereotype`, `style-ignored`, `letter-range`, `free-text-label`), then syntax errors as `syntax` diagnostics or, for a
/// text that parses, the lint diagnostics; sorted by place.
pub fn check_text(text: &str) -> Vec<Diagnostic> {
    let (parsed, warnings) = crate::parse::parse_with_warnings(text);
    let mut diagnostics: Vec<Diagnostic> = warnings
        .into_iter()
        .map(|w| Diagnostic {
            severity: Severity::Warning,
            code: w.code,
            line: w.line,
            column: w.column,
            message: w.message,
        })
        .collect();
    match parsed {
        Ok(diagram) => diagnostics.extend(lint(&diagram)),
        Err(errors) => diagnostics.extend(errors.0.into_iter().map(|e| Diagnostic {
            severity: Severity::Error,
            code: "syntax",
            line: e.line,
            column: e.column,
            message: format!("expected {}, found {}", e.expected, e.found),
        })),
    }
    diagnostics.sort_by_key(|d| (d.line, d.column, d.severity));
    diagnostics
}

/// Runs every check; diagnostics come sorted by place.
pub fn lint(diagram: &Diagram) -> Vec<Diagnostic> {
    let mut out = Lint {
        diagram,
        diagnostics: Vec::new(),
    };
    out.duplicate_names();
    out.duplicate_attributes();
    out.links();
    out.contradictory_participation();
    out.weak_entities();
    out.identifying_relationships();
    out.relationship_degree();
    out.specializations();
    out.specialization_cycles();
    out.duplicate_specializations();
    out.partial_keys_in_strong_entities();
    out.dotted_names();
    let mut diagnostics = out.diagnostics;
    diagnostics.sort_by_key(|d| (d.line, d.column, d.severity));
    diagnostics
}

struct Lint<'a> {
    diagram: &'a Diagram,
    diagnostics: Vec<Diagnostic>,
}

#[derive(PartialEq)]
enum Kind {
    Entity,
    Relationship,
}

impl<'a> Lint<'a> {
    fn push(&mut self, severity: Severity, code: &'static str, span: Span, message: String) {
        self.diagnostics.push(Diagnostic {
            severity,
            code,
            line: span.line,
            column: span.column,
            message,
        });
    }

    fn kind_of(&self, name: &str) -> Option<Kind> {
        if self.diagram.entities.iter().any(|e| e.name == name) {
            Some(Kind::Entity)
        } else if self.diagram.relationships.iter().any(|r| r.name == name) {
            Some(Kind::Relationship)
        } else {
            None
        }
    }

    /// "undeclared name X" plus a hint when only the case differs.
    fn undeclared(&mut self, name: &str, span: Span) {
        let near = self
            .diagram
            .entities
            .iter()
            .map(|e| &e.name)
            .chain(self.diagram.relationships.iter().map(|r| &r.name))
            .find(|n| same_name(n, name));
        let hint = match near {
            Some(n) => format!(" (names are case-sensitive: did you mean {n}?)"),
            None => String::new(),
        };
        self.push(
            Severity::Error,
            "undeclared-name",
            span,
            format!("{name} is not declared{hint}"),
        );
    }

    fn duplicate_names(&mut self) {
        let mut seen: HashMap<String, (&str, usize)> = HashMap::new();
        let declared = self
            .diagram
            .entities
            .iter()
            .map(|e| ("entity", &e.name, e.span))
            .chain(
                self.diagram
                    .relationships
                    .iter()
                    .map(|r| ("relationship", &r.name, r.span)),
            );
        let mut found = Vec::new();
        for (kind, name, span) in declared {
            match seen.get(&name.to_lowercase()) {
                Some((other_kind, line)) => found.push((
                    span,
                    format!(
                        "{kind} {name} has the name of the {other_kind} declared on line {line}"
                    ),
                )),
                None => {
                    seen.insert(name.to_lowercase(), (kind, span.line));
                }
            }
        }
        for (span, message) in found {
            self.push(Severity::Error, "duplicate-name", span, message);
        }
    }

    fn duplicate_attributes(&mut self) {
        let mut found = Vec::new();
        let owners = self
            .diagram
            .entities
            .iter()
            .map(|e| (&e.name, &e.attributes))
            .chain(
                self.diagram
                    .relationships
                    .iter()
                    .map(|r| (&r.name, &r.attributes)),
            );
        for (owner, attributes) in owners {
            collect_duplicate_attributes(owner, attributes, &mut found);
        }
        for (span, message) in found {
            self.push(Severity::Error, "duplicate-attribute", span, message);
        }
    }

    fn links(&mut self) {
        for link in &self.diagram.links {
            let r = self.kind_of(&link.relationship);
            let e = self.kind_of(&link.entity);
            match (r, e) {
                (Some(Kind::Relationship), Some(Kind::Entity)) => {}
                (Some(Kind::Entity), Some(Kind::Entity)) => self.push(
                    Severity::Error,
                    "link-between-entities",
                    link.span,
                    format!(
                        "{} and {} are both entities; a link joins a relationship and an entity",
                        link.relationship, link.entity
                    ),
                ),
                (Some(Kind::Relationship), Some(Kind::Relationship)) => self.push(
                    Severity::Error,
                    "link-between-relationships",
                    link.span,
                    format!(
                        "{} and {} are both relationships; a link joins a relationship and an entity",
                        link.relationship, link.entity
                    ),
                ),
                (r, e) => {
                    if r.is_none() {
                        self.undeclared(&link.relationship, link.span);
                    }
                    if e.is_none() {
                        self.undeclared(&link.entity, link.span);
                    }
                }
            }
        }
    }

    fn contradictory_participation(&mut self) {
        let mut found = Vec::new();
        for link in &self.diagram.links {
            if let Some(Cardinality::MinMax { min: 0, .. }) = link.cardinality {
                if link.total {
                    found.push((
                        link.span,
                        format!(
                            "'=' says every {} takes part in {}, but the minimum is 0",
                            link.entity, link.relationship
                        ),
                    ));
                }
            }
        }
        for (span, message) in found {
            self.push(
                Severity::Warning,
                "contradictory-participation",
                span,
                message,
            );
        }
    }

    fn weak_entities(&mut self) {
        for entity in self.diagram.entities.iter().filter(|e| e.weak) {
            let identified = self.diagram.links.iter().any(|l| {
                l.entity == entity.name
                    && self
                        .diagram
                        .relationships
                        .iter()
                        .any(|r| r.identifying && r.name == l.relationship)
            });
            if !identified {
                self.push(
                    Severity::Error,
                    "weak-without-identifying",
                    entity.span,
                    format!(
                        "weak entity {} takes part in no <<identifying>> relationship",
                        entity.name
                    ),
                );
            }
            if !has_partial_key(&entity.attributes) {
                self.push(
                    Severity::Error,
                    "weak-without-partial-key",
                    entity.span,
                    format!(
                        "weak entity {} has no partial key (mark one attribute <<partial>>)",
                        entity.name
                    ),
                );
            }
        }
    }

    fn identifying_relationships(&mut self) {
        for relationship in self.diagram.relationships.iter().filter(|r| r.identifying) {
            let ok = self.diagram.links_of(&relationship.name).any(|l| {
                l.is_total()
                    && l.relationship == relationship.name
                    && self
                        .diagram
                        .entities
                        .iter()
                        .any(|e| e.weak && e.name == l.entity)
            });
            if !ok {
                self.push(
                    Severity::Error,
                    "identifying-without-weak",
                    relationship.span,
                    format!(
                        "identifying relationship {} has no weak entity with total participation (link it with '=')",
                        relationship.name
                    ),
                );
            }
        }
    }

    fn relationship_degree(&mut self) {
        for relationship in &self.diagram.relationships {
            let links: Vec<_> = self
                .diagram
                .links
                .iter()
                .filter(|l| l.relationship == relationship.name)
                .collect();
            if links.len() < 2 {
                self.push(
                    Severity::Warning,
                    "relationship-degree",
                    relationship.span,
                    format!(
                        "relationship {} has {} participant link(s); a relationship joins at least two sides",
                        relationship.name,
                        links.len()
                    ),
                );
            }
            let mut counts: HashMap<&str, usize> = HashMap::new();
            for link in &links {
                *counts.entry(link.entity.as_str()).or_default() += 1;
            }
            for link in &links {
                if counts[link.entity.as_str()] > 1 && link.role.is_none() {
                    self.push(
                        Severity::Warning,
                        "recursive-without-role",
                        link.span,
                        format!(
                            "{} joins {} more than once; give each side a role (`: role`)",
                            relationship.name, link.entity
                        ),
                    );
                }
            }
            let mut roles = HashSet::new();
            for link in &links {
                if let Some(role) = &link.role {
                    if !roles.insert((link.entity.to_lowercase(), role.to_lowercase())) {
                        self.push(
                            Severity::Error,
                            "duplicate-role",
                            link.span,
                            format!(
                                "{} already has a side {} with role {role}",
                                relationship.name, link.entity
                            ),
                        );
                    }
                }
            }
        }
    }

    fn specializations(&mut self) {
        let mut checks = Vec::new();
        for spec in &self.diagram.specializations {
            for name in std::iter::once(&spec.superclass).chain(&spec.subclasses) {
                checks.push((name.clone(), spec.span));
            }
        }
        for union in &self.diagram.unions {
            for name in std::iter::once(&union.category).chain(&union.superclasses) {
                checks.push((name.clone(), union.span));
            }
        }
        for (name, span) in checks {
            match self.kind_of(&name) {
                Some(Kind::Entity) => {}
                Some(Kind::Relationship) => self.push(
                    Severity::Error,
                    "specialization-of-relationship",
                    span,
                    format!("{name} is a relationship; only entities take part in specializations and unions"),
                ),
                None => self.undeclared(&name, span),
            }
        }
    }

    fn specialization_cycles(&mut self) {
        let mut parents: HashMap<String, Vec<String>> = HashMap::new();
        for spec in &self.diagram.specializations {
            for sub in &spec.subclasses {
                parents
                    .entry(sub.to_lowercase())
                    .or_default()
                    .push(spec.superclass.to_lowercase());
            }
        }
        for union in &self.diagram.unions {
            parents
                .entry(union.category.to_lowercase())
                .or_default()
                .extend(union.superclasses.iter().map(|s| s.to_lowercase()));
        }
        let mut reported = HashSet::new();
        let mut found = Vec::new();
        for spec in &self.diagram.specializations {
            for sub in &spec.subclasses {
                let cyclic = sub.to_lowercase() == spec.superclass.to_lowercase()
                    || reaches(
                        &parents,
                        &spec.superclass.to_lowercase(),
                        &sub.to_lowercase(),
                    );
                if cyclic && reported.insert(sub.to_lowercase()) {
                    found.push((
                        spec.span,
                        format!(
                            "{sub} is its own superclass through {}: specializations form a cycle",
                            spec.superclass
                        ),
                    ));
                }
            }
        }
        for union in &self.diagram.unions {
            let category = union.category.to_lowercase();
            if union.superclasses.iter().any(|s| {
                s.to_lowercase() == category || reaches(&parents, &s.to_lowercase(), &category)
            }) && reported.insert(category.clone())
            {
                found.push((
                    union.span,
                    format!(
                        "{} is its own superclass through this union: specializations form a cycle",
                        union.category
                    ),
                ));
            }
        }
        for (span, message) in found {
            self.push(Severity::Error, "specialization-cycle", span, message);
        }
    }

    /// The same superclass and subclass set twice (PlantUML also refuses to draw it).
    fn duplicate_specializations(&mut self) {
        let mut seen = HashMap::new();
        let mut found = Vec::new();
        let key = |head: &str, list: &[String]| {
            let mut names: Vec<String> = list.iter().map(|n| n.to_lowercase()).collect();
            names.sort();
            (head.to_lowercase(), names)
        };
        for spec in &self.diagram.specializations {
            let k = (true, key(&spec.superclass, &spec.subclasses));
            if let Some(line) = seen.insert(k, spec.span.line) {
                found.push((
                    spec.span,
                    format!(
                        "{} is specialized into {} twice (also on line {line})",
                        spec.superclass,
                        spec.subclasses.join(", ")
                    ),
                ));
            }
        }
        for union in &self.diagram.unions {
            let k = (false, key(&union.category, &union.superclasses));
            if let Some(line) = seen.insert(k, union.span.line) {
                found.push((
                    union.span,
                    format!(
                        "the union {} of {} is declared twice (also on line {line})",
                        union.category,
                        union.superclasses.join(", ")
                    ),
                ));
            }
        }
        for (span, message) in found {
            self.push(Severity::Error, "duplicate-specialization", span, message);
        }
    }

    fn partial_keys_in_strong_entities(&mut self) {
        let mut found = Vec::new();
        for entity in self.diagram.entities.iter().filter(|e| !e.weak) {
            if let Some(a) = find_attribute(&entity.attributes, &|a| a.key == KeyKind::Partial) {
                found.push((
                    a.span,
                    format!(
                        "{} is a partial key, but {} is not <<weak>>",
                        a.name, entity.name
                    ),
                ));
            }
        }
        for (span, message) in found {
            self.push(
                Severity::Warning,
                "partial-key-in-strong-entity",
                span,
                message,
            );
        }
    }

    fn dotted_names(&mut self) {
        let mut found = Vec::new();
        for entity in &self.diagram.entities {
            if entity.name.contains('.') {
                found.push((entity.span, entity.name.clone()));
            }
        }
        for relationship in &self.diagram.relationships {
            if relationship.name.contains('.') {
                found.push((relationship.span, relationship.name.clone()));
            }
        }
        for (span, name) in found {
            self.push(
                Severity::Warning,
                "dotted-name",
                span,
                format!("{name} contains '.', which element paths use as a separator; use '_'"),
            );
        }
    }
}

/// Whether `target` is an ancestor of (or equal to) `from` following superclass edges.
fn reaches(parents: &HashMap<String, Vec<String>>, from: &str, target: &str) -> bool {
    let mut stack = vec![from.to_string()];
    let mut seen = HashSet::new();
    while let Some(node) = stack.pop() {
        if node == target {
            return true;
        }
        if seen.insert(node.clone()) {
            if let Some(ps) = parents.get(&node) {
                stack.extend(ps.iter().cloned());
            }
        }
    }
    false
}

fn has_partial_key(attributes: &[Attribute]) -> bool {
    find_attribute(attributes, &|a| a.key != KeyKind::None).is_some()
}

fn find_attribute<'a>(
    attributes: &'a [Attribute],
    predicate: &dyn Fn(&Attribute) -> bool,
) -> Option<&'a Attribute> {
    for a in attributes {
        if predicate(a) {
            return Some(a);
        }
        if let Some(found) = find_attribute(&a.parts, predicate) {
            return Some(found);
        }
    }
    None
}

fn collect_duplicate_attributes(
    owner: &str,
    attributes: &[Attribute],
    found: &mut Vec<(Span, String)>,
) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for a in attributes {
        if let Some(line) = seen.get(&a.name.to_lowercase()) {
            found.push((
                a.span,
                format!("{owner} already has an attribute {} (line {line})", a.name),
            ));
        } else {
            seen.insert(a.name.to_lowercase(), a.span.line);
        }
        collect_duplicate_attributes(&format!("{owner}.{}", a.name), &a.parts, found);
    }
}
