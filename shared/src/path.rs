//! Element paths: how findings and labels name an element of a diagram (`mistakes.md`).
//!
//! | element | text |
//! |---|---|
//! | entity or relationship | `EMPLOYEE`, `WORKS_ON` |
//! | attribute (parts nest) | `EMPLOYEE.Name.Fname`, `WORKS_ON.Hours` |
//! | one side of a relationship | `WORKS_FOR/DEPARTMENT`, `SUPERVISION/EMPLOYEE:supervisor` |
//! | specialization | `EMPLOYEE>ENGINEER,SECRETARY` (subclasses sorted) |
//! | union type | `OWNER<BANK,PERSON` (superclasses sorted) |
//!
//! Paths compare case-insensitively; [`ElementPath`]'s `PartialEq` and [`ElementPath::key`]
//! both do.

use crate::model::{
    same_name, Attribute, Diagram, Entity, Link, Relationship, Specialization, UnionType,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A parsed element path.
#[derive(Debug, Clone, Eq)]
pub enum ElementPath {
    /// An entity or a relationship (the text does not say which; [`resolve`] does).
    Named(String),
    /// An attribute: its owner (entity or relationship), then the names down the composite parts.
    Attribute {
        /// The entity or relationship owning the top attribute.
        owner: String,
        /// Attribute names from the top attribute down to the one meant (never empty).
        names: Vec<String>,
    },
    /// One side (participation link) of a relationship.
    Side {
        /// The relationship.
        relationship: String,
        /// The entity on that side.
        entity: String,
        /// The role, for a relationship that joins an entity more than once.
        role: Option<String>,
    },
    /// A specialization, by superclass and its set of subclasses (kept sorted).
    Specialization {
        /// The superclass.
        superclass: String,
        /// The subclasses, sorted case-insensitively.
        subclasses: Vec<String>,
    },
    /// A union type, by category and its set of superclasses (kept sorted).
    Union {
        /// The category.
        category: String,
        /// The superclasses, sorted case-insensitively.
        superclasses: Vec<String>,
    },
}

/// Why a path text is not a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathSyntaxError {
    /// The text given.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for PathSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad element path '{}': {}", self.text, self.reason)
    }
}

impl std::error::Error for PathSyntaxError {}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort_by_key(|n| n.to_lowercase());
    names
}

impl ElementPath {
    /// The path of a specialization, with its subclasses sorted.
    pub fn specialization(superclass: &str, subclasses: &[String]) -> Self {
        ElementPath::Specialization {
            superclass: superclass.to_string(),
            subclasses: sorted(subclasses.to_vec()),
        }
    }

    /// The path of a union type, with its superclasses sorted.
    pub fn union(category: &str, superclasses: &[String]) -> Self {
        ElementPath::Union {
            category: category.to_string(),
            superclasses: sorted(superclasses.to_vec()),
        }
    }

    /// The path of a relationship side.
    pub fn side(link: &Link) -> Self {
        ElementPath::Side {
            relationship: link.relationship.clone(),
            entity: link.entity.clone(),
            role: link.role.clone(),
        }
    }

    /// The lowercase text of the path: equal keys mean equal paths.
    pub fn key(&self) -> String {
        self.to_string().to_lowercase()
    }
}

impl PartialEq for ElementPath {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl std::hash::Hash for ElementPath {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl fmt::Display for ElementPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElementPath::Named(name) => write!(f, "{name}"),
            ElementPath::Attribute { owner, names } => write!(f, "{owner}.{}", names.join(".")),
            ElementPath::Side {
                relationship,
                entity,
                role,
            } => {
                write!(f, "{relationship}/{entity}")?;
                match role {
                    Some(role) => write!(f, ":{role}"),
                    None => Ok(()),
                }
            }
            ElementPath::Specialization {
                superclass,
                subclasses,
            } => write!(f, "{superclass}>{}", subclasses.join(",")),
            ElementPath::Union {
                category,
                superclasses,
            } => write!(f, "{category}<{}", superclasses.join(",")),
        }
    }
}

fn segment(text: &str, part: &str, what: &str) -> Result<String, PathSyntaxError> {
    let part = part.trim();
    let valid = !part.is_empty()
        && part
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == ' ');
    if valid {
        Ok(part.to_string())
    } else {
        Err(PathSyntaxError {
            text: text.to_string(),
            reason: format!("{what} '{part}' must be a non-empty name (letters, digits, '_')"),
        })
    }
}

fn name_list(text: &str, list: &str, what: &str) -> Result<Vec<String>, PathSyntaxError> {
    list.split(',').map(|n| segment(text, n, what)).collect()
}

impl FromStr for ElementPath {
    type Err = PathSyntaxError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let t = text.trim();
        if let Some((relationship, rest)) = t.split_once('/') {
            let (entity, role) = match rest.split_once(':') {
                Some((e, r)) => (e, Some(segment(text, r, "role")?)),
                None => (rest, None),
            };
            return Ok(ElementPath::Side {
                relationship: segment(text, relationship, "relationship")?,
                entity: segment(text, entity, "entity")?,
                role,
            });
        }
        if let Some((superclass, subs)) = t.split_once('>') {
            return Ok(ElementPath::Specialization {
                superclass: segment(text, superclass, "superclass")?,
                subclasses: sorted(name_list(text, subs, "subclass")?),
            });
        }
        if let Some((category, supers)) = t.split_once('<') {
            return Ok(ElementPath::Union {
                category: segment(text, category, "category")?,
                superclasses: sorted(name_list(text, supers, "superclass")?),
            });
        }
        let mut parts = t.split('.');
        let owner = segment(text, parts.next().unwrap_or(""), "name")?;
        let names = parts
            .map(|p| segment(text, p, "attribute"))
            .collect::<Result<Vec<_>, _>>()?;
        if names.is_empty() {
            Ok(ElementPath::Named(owner))
        } else {
            Ok(ElementPath::Attribute { owner, names })
        }
    }
}

impl Serialize for ElementPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ElementPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The element a path resolves to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Element<'a> {
    /// An entity type.
    Entity(&'a Entity),
    /// A relationship type.
    Relationship(&'a Relationship),
    /// An attribute, with the owner's name.
    Attribute {
        /// The owning entity or relationship's name.
        owner: &'a str,
        /// The attribute.
        attribute: &'a Attribute,
    },
    /// One side of a relationship.
    Side(&'a Link),
    /// A specialization.
    Specialization(&'a Specialization),
    /// A union type.
    Union(&'a UnionType),
}

/// Why a well-formed path names nothing in a diagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveError {
    /// The path.
    pub path: String,
    /// Why it does not resolve.
    pub reason: String,
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} does not resolve: {}", self.path, self.reason)
    }
}

impl std::error::Error for ResolveError {}

fn same_set(a: &[String], b: &[String]) -> bool {
    a.len() == b.len()
        && sorted(a.to_vec())
            .iter()
            .zip(sorted(b.to_vec()).iter())
            .all(|(x, y)| same_name(x, y))
}

/// Finds the element `path` names in `diagram` (names compared case-insensitively).
pub fn resolve<'a>(diagram: &'a Diagram, path: &ElementPath) -> Result<Element<'a>, ResolveError> {
    let fail = |reason: String| ResolveError {
        path: path.to_string(),
        reason,
    };
    match path {
        ElementPath::Named(name) => {
            if let Some(e) = diagram.entity(name) {
                Ok(Element::Entity(e))
            } else if let Some(r) = diagram.relationship(name) {
                Ok(Element::Relationship(r))
            } else {
                Err(fail(format!("no entity or relationship named {name}")))
            }
        }
        ElementPath::Attribute { owner, names } => {
            let (owner_name, mut list) = if let Some(e) = diagram.entity(owner) {
                (e.name.as_str(), &e.attributes)
            } else if let Some(r) = diagram.relationship(owner) {
                (r.name.as_str(), &r.attributes)
            } else {
                return Err(fail(format!("no entity or relationship named {owner}")));
            };
            let mut found = None;
            for name in names {
                let attribute = list
                    .iter()
                    .find(|a| same_name(&a.name, name))
                    .ok_or_else(|| fail(format!("no attribute {name} there")))?;
                list = &attribute.parts;
                found = Some(attribute);
            }
            let attribute = found.ok_or_else(|| fail("no attribute named".to_string()))?;
            Ok(Element::Attribute {
                owner: owner_name,
                attribute,
            })
        }
        ElementPath::Side {
            relationship,
            entity,
            role,
        } => {
            let candidates: Vec<&Link> = diagram
                .links
                .iter()
                .filter(|l| {
                    same_name(&l.relationship, relationship) && same_name(&l.entity, entity)
                })
                .collect();
            let chosen: Vec<&Link> = match role {
                Some(role) => candidates
                    .iter()
                    .copied()
                    .filter(|l| l.role.as_deref().is_some_and(|r| same_name(r, role)))
                    .collect(),
                None => candidates.clone(),
            };
            match chosen.as_slice() {
                [one] => Ok(Element::Side(one)),
                [] if candidates.is_empty() => {
                    Err(fail(format!("{relationship} has no side {entity}")))
                }
                [] => Err(fail("no side with that role".to_string())),
                _ => Err(fail(format!(
                    "{relationship} joins {entity} more than once: name the role"
                ))),
            }
        }
        ElementPath::Specialization {
            superclass,
            subclasses,
        } => diagram
            .specializations
            .iter()
            .find(|s| same_name(&s.superclass, superclass) && same_set(&s.subclasses, subclasses))
            .map(Element::Specialization)
            .ok_or_else(|| {
                fail("no specialization with that superclass and subclasses".to_string())
            }),
        ElementPath::Union {
            category,
            superclasses,
        } => diagram
            .unions
            .iter()
            .find(|u| same_name(&u.category, category) && same_set(&u.superclasses, superclasses))
            .map(Element::Union)
            .ok_or_else(|| fail("no union type with that category and superclasses".to_string())),
    }
}

/// Every element path of a diagram, in a stable order: entities with their attributes,
/// relationships with their attributes and sides, specializations, unions.
pub fn all_paths(diagram: &Diagram) -> Vec<ElementPath> {
    let mut out = Vec::new();
    fn attributes(out: &mut Vec<ElementPath>, owner: &str, prefix: &[String], list: &[Attribute]) {
        for a in list {
            let mut names = prefix.to_vec();
            names.push(a.name.clone());
            out.push(ElementPath::Attribute {
                owner: owner.to_string(),
                names: names.clone(),
            });
            attributes(out, owner, &names, &a.parts);
        }
    }
    for e in &diagram.entities {
        out.push(ElementPath::Named(e.name.clone()));
        attributes(&mut out, &e.name, &[], &e.attributes);
    }
    for r in &diagram.relationships {
        out.push(ElementPath::Named(r.name.clone()));
        attributes(&mut out, &r.name, &[], &r.attributes);
        for link in diagram.links.iter().filter(|l| l.relationship == r.name) {
            out.push(ElementPath::side(link));
        }
    }
    for s in &diagram.specializations {
        out.push(ElementPath::specialization(&s.superclass, &s.subclasses));
    }
    for u in &diagram.unions {
        out.push(ElementPath::union(&u.category, &u.superclasses));
    }
    out
}
