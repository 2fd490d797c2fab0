//! The diagram model: what a parsed `@startchen` file says, independent of its text.
//!
//! Names keep the case the author wrote; grading compares them case-insensitively
//! ([`same_name`]). Every element carries the [`Span`] of the line that declared it, so lint
//! diagnostics and grading findings can point back into the file.

use serde::{Deserialize, Serialize};

/// A 1-based line and column (counted in characters) in the diagram text.
///
/// Spans are *where* an element was written, not *what* it is: all spans compare equal, so two
/// diagrams with the same content are equal wherever their elements stand in the text.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Span {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl PartialEq for Span {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Eq for Span {}

impl Span {
    /// A span at `line`, `column` (both 1-based).
    pub fn new(line: usize, column: usize) -> Self {
        Span { line, column }
    }
}

/// Whether two names denote the same element: names compare case-insensitively.
pub fn same_name(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// A whole diagram: one `@startchen` … `@endchen` block.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Diagram {
    /// The name after `@startchen`, if any.
    pub name: Option<String>,
    /// Comments after the last element, before `@endchen`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<String>,
    /// PlantUML layout and style lines kept verbatim (`skinparam …`, `left to right direction`,
    /// `title …`); they do not change the diagram's meaning.
    pub directives: Vec<String>,
    /// Entity types, in declaration order.
    pub entities: Vec<Entity>,
    /// Relationship types, in declaration order.
    pub relationships: Vec<Relationship>,
    /// Participation links, grouped by relationship (see [`Diagram::canonicalize_order`]).
    pub links: Vec<Link>,
    /// Specializations (`SUPER ->- d { A, B }`, `SUPER ->- SUB`).
    pub specializations: Vec<Specialization>,
    /// Union types, also called categories (`CAT =>= U { A, B }`).
    pub unions: Vec<UnionType>,
}

/// An entity type.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Entity {
    /// The code used to refer to the entity (`EMPLOYEE`).
    pub name: String,
    /// The shown name from `entity "Shown name" as CODE`, if any.
    pub display: Option<String>,
    /// `<<weak>>`.
    pub weak: bool,
    /// Attributes, in order.
    pub attributes: Vec<Attribute>,
    /// Other stereotypes as written (`<<red>>`): kept for printing, no meaning for grading.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stereotypes: Vec<String>,
    /// The comments (`' …` lines and `/' … '/` blocks, as written) right before it: kept for
    /// printing, no meaning for grading.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<String>,
    /// The PlantUML colour as written (`#lightblue;line:blue`): kept for printing, no meaning
    /// for grading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Where it was declared.
    pub span: Span,
}

/// A relationship type.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Relationship {
    /// The code used to refer to the relationship (`WORKS_FOR`).
    pub name: String,
    /// The shown name, if any.
    pub display: Option<String>,
    /// `<<identifying>>`: the identifying relationship of a weak entity.
    pub identifying: bool,
    /// Attributes of the relationship itself (`Hours` of `WORKS_ON`).
    pub attributes: Vec<Attribute>,
    /// Other stereotypes as written: kept for printing, no meaning for grading.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stereotypes: Vec<String>,
    /// The comments (`' …` lines and `/' … '/` blocks, as written) right before it: kept for
    /// printing, no meaning for grading.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<String>,
    /// The PlantUML colour as written (`#lightblue;line:blue`): kept for printing, no meaning
    /// for grading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Where it was declared.
    pub span: Span,
}

/// What kind of key an attribute is, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// Not part of a key.
    #[default]
    None,
    /// `<<key>>` on a strong entity: a (candidate) key.
    Key,
    /// `<<partial>>` (or `<<discriminator>>`, or `<<key>>` inside a weak entity): a weak entity's
    /// partial key.
    Partial,
}

/// An attribute of an entity, a relationship, or (as a part) a composite attribute.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Attribute {
    /// The attribute's name (`Salary`; may contain inner spaces, as PlantUML allows).
    pub name: String,
    /// The shown name from `"Shown" as name`, if any.
    pub display: Option<String>,
    /// The data type after `:` (`TEXT`), if any.
    pub data_type: Option<String>,
    /// Key marking.
    pub key: KeyKind,
    /// `<<multi>>`: multivalued.
    pub multivalued: bool,
    /// `<<derived>>`.
    pub derived: bool,
    /// The parts of a composite attribute; empty for a simple attribute.
    pub parts: Vec<Attribute>,
    /// Other stereotypes as written (`<<FK>>`, `<<unique>>`): kept for printing, no meaning for
    /// grading.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stereotypes: Vec<String>,
    /// The comments (`' …` lines and `/' … '/` blocks, as written) right before it: kept for
    /// printing, no meaning for grading.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<String>,
    /// The PlantUML colour as written (`#lightblue;line:blue`): kept for printing, no meaning
    /// for grading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Where it was declared.
    pub span: Span,
}

impl Attribute {
    /// A simple attribute with only a name.
    pub fn named(name: impl Into<String>) -> Self {
        Attribute {
            name: name.into(),
            ..Attribute::default()
        }
    }

    /// Whether the attribute has parts.
    pub fn is_composite(&self) -> bool {
        !self.parts.is_empty()
    }
}

/// "Many" as a ratio label: the letter the author used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ManyLabel {
    /// `N`
    N,
    /// `M`
    M,
}

/// The label on a participation link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cardinality {
    /// Ratio label `1`.
    One,
    /// Ratio label `N` or `M`.
    Many(ManyLabel),
    /// `(min,max)`: how many relationship instances each entity instance takes part in.
    /// `max: None` is `N` (unbounded).
    MinMax {
        /// Minimum participation; `≥ 1` means total participation.
        min: u32,
        /// Maximum participation; `None` is unbounded (`N`).
        max: Option<u32>,
    },
}

/// A participation link between a relationship and one of its entities.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Link {
    /// The relationship's name (normally declared with `relationship`).
    pub relationship: String,
    /// The participating entity's name.
    pub entity: String,
    /// `=`: total participation; `-`: partial.
    pub total: bool,
    /// The label between the dashes, if any; no label is unconstrained (partial, many).
    pub cardinality: Option<Cardinality>,
    /// The role after `: role`, needed to tell apart the sides of a recursive relationship.
    pub role: Option<String>,
    /// The label as written when grading reads it otherwise (a letter range `(N,M)`, free text
    /// such as `Nsupervised`): printed back as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written: Option<String>,
    /// The comments (`' …` lines and `/' … '/` blocks, as written) right before it: kept for
    /// printing, no meaning for grading.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<String>,
    /// The PlantUML colour as written (`#lightblue;line:blue`): kept for printing, no meaning
    /// for grading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Where it was written.
    pub span: Span,
}

/// Disjointness of a specialization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disjointness {
    /// `d`: an entity belongs to at most one subclass.
    Disjoint,
    /// `o`: subclasses may overlap.
    Overlapping,
}

/// A specialization of a superclass into subclasses.
///
/// `disjointness: None` is the single-subclass form (`SUPER ->- SUB`) and then `subclasses` holds
/// exactly one name; the parser never builds another shape.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Specialization {
    /// The superclass.
    pub superclass: String,
    /// The subclasses, in the order written.
    pub subclasses: Vec<String>,
    /// `d` or `o`; `None` for a single subclass.
    pub disjointness: Option<Disjointness>,
    /// `=>=`: total specialization; `->-`: partial.
    pub total: bool,
    /// The comments (`' …` lines and `/' … '/` blocks, as written) right before it: kept for
    /// printing, no meaning for grading.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<String>,
    /// The PlantUML colour as written (`#lightblue;line:blue`): kept for printing, no meaning
    /// for grading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Where it was written.
    pub span: Span,
}

/// A union type (category): a subclass of the union of several superclasses.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UnionType {
    /// The category (`OWNER`).
    pub category: String,
    /// The superclasses it unites, in the order written.
    pub superclasses: Vec<String>,
    /// `=>=`: total category; `->-`: partial.
    pub total: bool,
    /// The comments (`' …` lines and `/' … '/` blocks, as written) right before it: kept for
    /// printing, no meaning for grading.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<String>,
    /// The PlantUML colour as written (`#lightblue;line:blue`): kept for printing, no meaning
    /// for grading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Where it was written.
    pub span: Span,
}

impl Link {
    /// Total participation: written `=`, or a `(min,max)` label with `min ≥ 1`.
    pub fn is_total(&self) -> bool {
        self.total || matches!(self.cardinality, Some(Cardinality::MinMax { min, .. }) if min >= 1)
    }
}

impl Diagram {
    /// The entity named `name` (case-insensitive).
    pub fn entity(&self, name: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| same_name(&e.name, name))
    }

    /// The relationship named `name` (case-insensitive).
    pub fn relationship(&self, name: &str) -> Option<&Relationship> {
        self.relationships.iter().find(|r| same_name(&r.name, name))
    }

    /// The links of the relationship named `name`, in order.
    pub fn links_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Link> + 'a {
        self.links
            .iter()
            .filter(move |l| same_name(&l.relationship, name))
    }

    /// Puts links in canonical order: grouped by relationship in declaration order (links of
    /// undeclared relationships last), keeping the written order within a group. The parser
    /// does this, so the printer can write each relationship followed by its links.
    pub fn canonicalize_order(&mut self) {
        let rank = |link: &Link| {
            self.relationships
                .iter()
                .position(|r| r.name == link.relationship)
                .unwrap_or(usize::MAX)
        };
        let mut ranked: Vec<(usize, Link)> = self.links.drain(..).map(|l| (rank(&l), l)).collect();
        ranked.sort_by_key(|(r, _)| *r);
        self.links = ranked.into_iter().map(|(_, l)| l).collect();
    }
}
