//! Findings, mistake categories and the data-set record of `mistakes.md`.

use crate::path::ElementPath;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The eleven mistake categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// The student's diagram lacks an entity type the requirements call for.
    MissingEntity,
    /// It lacks a relationship type.
    MissingRelationship,
    /// It lacks an attribute of an entity or relationship.
    MissingAttribute,
    /// It marks the wrong key: key missing, or a non-identifying attribute marked key.
    WrongKey,
    /// It has the wrong cardinality ratio or maximum on one side.
    WrongCardinality,
    /// It has total where partial is right, or the reverse (or a wrong minimum).
    WrongParticipation,
    /// It models a weak entity as strong or the reverse, or its identifying relationship or
    /// partial key wrongly.
    WeakEntity,
    /// It gets an attribute's kind wrong: multivalued, composite or derived missing or added.
    AttributeKind,
    /// It puts an attribute on the wrong owner.
    MisplacedAttribute,
    /// It gets a specialization or union wrong.
    Specialization,
    /// It connects the wrong entity types, or has the wrong degree.
    RelationshipStructure,
}

impl Category {
    /// All categories, in the order of `mistakes.md`.
    pub const ALL: [Category; 11] = [
        Category::MissingEntity,
        Category::MissingRelationship,
        Category::MissingAttribute,
        Category::WrongKey,
        Category::WrongCardinality,
        Category::WrongParticipation,
        Category::WeakEntity,
        Category::AttributeKind,
        Category::MisplacedAttribute,
        Category::Specialization,
        Category::RelationshipStructure,
    ];

    /// The category's id (`missing_entity`).
    pub fn id(self) -> &'static str {
        match self {
            Category::MissingEntity => "missing_entity",
            Category::MissingRelationship => "missing_relationship",
            Category::MissingAttribute => "missing_attribute",
            Category::WrongKey => "wrong_key",
            Category::WrongCardinality => "wrong_cardinality",
            Category::WrongParticipation => "wrong_participation",
            Category::WeakEntity => "weak_entity",
            Category::AttributeKind => "attribute_kind",
            Category::MisplacedAttribute => "misplaced_attribute",
            Category::Specialization => "specialization",
            Category::RelationshipStructure => "relationship_structure",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Category {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.id() == s.trim())
            .ok_or_else(|| {
                let ids: Vec<&str> = Category::ALL.iter().map(|c| c.id()).collect();
                format!("unknown category '{s}': expected one of {}", ids.join(", "))
            })
    }
}

/// One mistake: its category, the reference element it is about, and an explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The mistake's category.
    pub category: Category,
    /// The path of the **reference** element concerned (or missing).
    pub element: ElementPath,
    /// The matching element of the student's diagram, for display, if there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub student: Option<String>,
    /// One sentence a student can act on.
    pub explanation: String,
    /// The sentence of the assignment's requirements the finding comes from, when the
    /// requirements are known and one is found ([`crate::requirements`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirement: Option<Citation>,
}

/// A sentence of the assignment's requirements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Citation {
    /// The number of the numbered requirement it is in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<u32>,
    /// The sentence, as the reader sees it.
    pub sentence: String,
}

impl Finding {
    /// Whether this finding scores against `label`: same category and same reference path.
    pub fn matches(&self, label: &Finding) -> bool {
        self.category == label.category && self.element == label.element
    }
}

/// One line of a data set (JSONL), as `mistakes.md` specifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Unique id (`company-0042`).
    pub id: String,
    /// The assignment's id.
    pub assignment: String,
    /// The reference diagram's text.
    pub reference: String,
    /// The student diagram's text.
    pub student: String,
    /// The true findings.
    pub findings: Vec<Finding>,
    /// The assignment's requirements text, if included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirements: Option<String>,
    /// The harmless renames in the student's diagram, by kind (generated records only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variations: Vec<Variation>,
}

/// One harmless rename in a generated record: its kind, the reference element and the
/// student's name for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variation {
    /// How the name was changed.
    pub kind: crate::mutate::RenameKind,
    /// The reference element's path.
    pub element: String,
    /// The student's name for it.
    pub name: String,
}
