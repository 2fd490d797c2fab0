//! The diagram drawing: Chen-notation shapes placed by a layered graph layout (`layout-rs`, a
//! Sugiyama-style layout with crossing reduction and Brandes–Köpf placement), returned as plain
//! geometry that the page turns into SVG elements with `textContent` (never markup).
//!
//! Every node and edge carries the element path it draws (`EMPLOYEE`, `EMPLOYEE.Name.Fname`,
//! `WORKS_FOR/EMPLOYEE`, `EMPLOYEE>ENGINEER,SECRETARY`…), so a finding can highlight it.

use eerd::model::{Attribute, Diagram, Disjointness, KeyKind};
use eerd::path::ElementPath;
use layout::core::base::Orientation;
use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::{Point, Position};
use layout::core::style::StyleAttr;
use layout::std_shapes::shapes::{Arrow, Element, ShapeKind};
use layout::topo::layout::VisualGraph;
use serde::Serialize;
use std::collections::HashMap;

/// What a node is drawn as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// A rectangle (double for a weak entity).
    Entity,
    /// A diamond (double for an identifying relationship).
    Relationship,
    /// An ellipse.
    Attribute,
    /// The small circle of a specialization (`d`, `o`) or union (`U`).
    Junction,
}

/// A placed node.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    /// The element path it draws.
    pub path: String,
    /// Its shape.
    pub kind: NodeKind,
    /// The text inside it.
    pub label: String,
    /// Centre and size.
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    /// Double outline: weak entity, identifying relationship, multivalued attribute.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub double: bool,
    /// Dashed outline: derived attribute.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dashed: bool,
    /// `key` (solid underline) or `partial` (dashed underline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub underline: Option<&'static str>,
}

/// A placed edge: a polyline from border to border.
#[derive(Debug, Clone, Serialize)]
pub struct Edge {
    /// The element path it draws (a relationship side, an attribute, a specialization…).
    pub path: String,
    /// Points of the polyline.
    pub points: Vec<[f64; 2]>,
    /// Total participation / total specialization: a double line.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub double: bool,
    /// Label near the end point (cardinality and role).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub label: String,
}

/// The whole drawing.
#[derive(Debug, Clone, Serialize)]
pub struct Drawing {
    pub width: f64,
    pub height: f64,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

const FONT_W: f64 = 7.4;
/// Ranks run left to right: a diagram grows downwards (scrolls naturally) instead of sideways.
const ORIENTATION: Orientation = Orientation::LeftToRight;
/// Space kept around each shape.
const HALO_X: f64 = 28.0;
const HALO_Y: f64 = 10.0;
const MARGIN: f64 = 16.0;

fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * FONT_W
}

struct Builder {
    graph: VisualGraph,
    nodes: Vec<Node>,
    /// Edges to draw: (path, from node, to node, double, label).
    edges: Vec<(String, usize, usize, bool, String)>,
    handles: Vec<layout::adt::dag::NodeHandle>,
    by_name: HashMap<String, usize>,
}

impl Builder {
    fn node(&mut self, node: Node) -> usize {
        let index = self.nodes.len();
        let mut element = Element::create_with_properties(
            ShapeKind::Box(String::new()),
            StyleAttr::simple(),
            ORIENTATION,
            Point::new(node.w, node.h),
            format!("n{index}"),
        );
        element.pos = Position::new(
            Point::zero(),
            Point::new(node.w, node.h),
            Point::zero(),
            Point::new(HALO_X, HALO_Y),
        );
        self.handles.push(self.graph.add_node(element));
        self.nodes.push(node);
        index
    }

    fn edge(&mut self, path: String, from: usize, to: usize, double: bool, label: String) {
        let index = self.edges.len();
        let arrow = Arrow::simple_with_properties("", format!("e{index}"));
        self.graph
            .add_edge(arrow, self.handles[from], self.handles[to]);
        self.edges.push((path, from, to, double, label));
    }

    fn named(&mut self, name: &str, make: impl FnOnce() -> Node) -> usize {
        let key = name.to_lowercase();
        if let Some(&i) = self.by_name.get(&key) {
            return i;
        }
        let i = self.node(make());
        self.by_name.insert(key, i);
        i
    }

    fn attributes(&mut self, owner: usize, path: &[String], attributes: &[Attribute]) {
        for attribute in attributes {
            let mut names = path.to_vec();
            names.push(attribute.name.clone());
            let label = attribute
                .display
                .clone()
                .unwrap_or_else(|| attribute.name.clone());
            let text_path = ElementPath::Attribute {
                owner: names[0].clone(),
                names: names[1..].to_vec(),
            }
            .to_string();
            let w = (text_width(&label) + 28.0).max(60.0);
            let i = self.node(Node {
                path: text_path.clone(),
                kind: NodeKind::Attribute,
                label,
                x: 0.0,
                y: 0.0,
                w,
                h: 30.0,
                double: attribute.multivalued,
                dashed: attribute.derived,
                underline: match attribute.key {
                    KeyKind::None => None,
                    KeyKind::Key => Some("key"),
                    KeyKind::Partial => Some("partial"),
                },
            });
            self.edge(text_path, owner, i, false, String::new());
            self.attributes(i, &names, &attribute.parts);
        }
    }
}

fn entity_node(name: &str, label: String, weak: bool) -> Node {
    Node {
        path: name.to_string(),
        kind: NodeKind::Entity,
        w: (text_width(&label) + 24.0).max(80.0),
        h: 36.0,
        label,
        x: 0.0,
        y: 0.0,
        double: weak,
        dashed: false,
        underline: None,
    }
}

/// Lays out `diagram`.
pub fn draw(diagram: &Diagram) -> Drawing {
    let mut b = Builder {
        graph: VisualGraph::new(ORIENTATION),
        nodes: Vec::new(),
        edges: Vec::new(),
        handles: Vec::new(),
        by_name: HashMap::new(),
    };
    for entity in &diagram.entities {
        let label = entity
            .display
            .clone()
            .unwrap_or_else(|| entity.name.clone());
        let i = b.named(&entity.name, || {
            entity_node(&entity.name, label, entity.weak)
        });
        b.attributes(i, std::slice::from_ref(&entity.name), &entity.attributes);
    }
    // Relationships declared, then those only linked.
    let mut relationships: Vec<(String, String, bool, &[Attribute])> = diagram
        .relationships
        .iter()
        .map(|r| {
            (
                r.name.clone(),
                r.display.clone().unwrap_or_else(|| r.name.clone()),
                r.identifying,
                r.attributes.as_slice(),
            )
        })
        .collect();
    for link in &diagram.links {
        if !relationships
            .iter()
            .any(|(n, ..)| n.eq_ignore_ascii_case(&link.relationship))
        {
            relationships.push((
                link.relationship.clone(),
                link.relationship.clone(),
                false,
                &[],
            ));
        }
    }
    for (name, label, identifying, attributes) in &relationships {
        let i = b.named(name, || Node {
            path: name.clone(),
            kind: NodeKind::Relationship,
            w: (text_width(label) * 1.25 + 40.0).max(90.0),
            h: 50.0,
            label: label.clone(),
            x: 0.0,
            y: 0.0,
            double: *identifying,
            dashed: false,
            underline: None,
        });
        // The first side points into the relationship, the others out of it, so the
        // relationship sits between its entities in the layered layout.
        let links: Vec<_> = diagram
            .links
            .iter()
            .filter(|l| l.relationship.eq_ignore_ascii_case(name))
            .collect();
        for (n, link) in links.iter().enumerate() {
            let e = b.named(&link.entity, || {
                entity_node(&link.entity, link.entity.clone(), false)
            });
            let mut label = link
                .cardinality
                .map(eerd::print::cardinality_label)
                .unwrap_or_default();
            if let Some(role) = &link.role {
                if !label.is_empty() {
                    label.push(' ');
                }
                label.push_str(role);
            }
            let path = ElementPath::side(link).to_string();
            if n == 0 {
                b.edge(path, e, i, link.is_total(), label);
            } else {
                b.edge(path, i, e, link.is_total(), label);
            }
        }
        b.attributes(i, std::slice::from_ref(name), attributes);
    }
    for s in &diagram.specializations {
        let path = ElementPath::specialization(&s.superclass, &s.subclasses).to_string();
        let sup = b.named(&s.superclass, || {
            entity_node(&s.superclass, s.superclass.clone(), false)
        });
        let subs: Vec<usize> = s
            .subclasses
            .iter()
            .map(|n| b.named(n, || entity_node(n, n.clone(), false)))
            .collect();
        match s.disjointness {
            None => {
                for sub in subs {
                    b.edge(path.clone(), sup, sub, s.total, String::new());
                }
            }
            Some(d) => {
                let label = match d {
                    Disjointness::Disjoint => "d",
                    Disjointness::Overlapping => "o",
                };
                let j = b.node(Node {
                    path: path.clone(),
                    kind: NodeKind::Junction,
                    label: label.to_string(),
                    x: 0.0,
                    y: 0.0,
                    w: 28.0,
                    h: 28.0,
                    double: false,
                    dashed: false,
                    underline: None,
                });
                b.edge(path.clone(), sup, j, s.total, String::new());
                for sub in subs {
                    b.edge(path.clone(), j, sub, false, String::new());
                }
            }
        }
    }
    for u in &diagram.unions {
        let path = ElementPath::union(&u.category, &u.superclasses).to_string();
        let j = b.node(Node {
            path: path.clone(),
            kind: NodeKind::Junction,
            label: "U".to_string(),
            x: 0.0,
            y: 0.0,
            w: 28.0,
            h: 28.0,
            double: false,
            dashed: false,
            underline: None,
        });
        for sup in &u.superclasses {
            let s = b.named(sup, || entity_node(sup, sup.clone(), false));
            b.edge(path.clone(), s, j, false, String::new());
        }
        let c = b.named(&u.category, || {
            entity_node(&u.category, u.category.clone(), false)
        });
        b.edge(path, j, c, u.total, String::new());
    }
    finish(b)
}

/// Collects what the layout draws: node boxes (by their `n<i>` property) and edge routes (by
/// `e<i>`).
#[derive(Default)]
struct Recorder {
    boxes: HashMap<usize, (Point, Point)>,
    routes: HashMap<usize, Vec<Point>>,
}

impl RenderBackend for Recorder {
    fn draw_rect(
        &mut self,
        xy: Point,
        size: Point,
        _look: &StyleAttr,
        properties: Option<String>,
        _clip: Option<ClipHandle>,
    ) {
        if let Some(i) = properties.and_then(|p| p.strip_prefix('n')?.parse().ok()) {
            self.boxes.insert(i, (xy, size));
        }
    }
    fn draw_line(&mut self, _: Point, _: Point, _: &StyleAttr, _: Option<String>) {}
    fn draw_circle(&mut self, _: Point, _: Point, _: &StyleAttr, _: Option<String>) {}
    fn draw_text(&mut self, _: Point, _: &str, _: &StyleAttr) {}
    fn draw_arrow(
        &mut self,
        path: &[(Point, Point)],
        _dashed: bool,
        _head: (bool, bool),
        _look: &StyleAttr,
        properties: Option<String>,
        _text: &str,
    ) {
        if let Some(i) = properties.and_then(|p| p.strip_prefix('e')?.parse().ok()) {
            // `path[0].0` starts the curve; each later pair is (control point, point passed).
            let through = path
                .iter()
                .take(1)
                .map(|p| p.0)
                .chain(path.iter().skip(1).map(|p| p.1));
            self.routes.insert(i, through.collect());
        }
    }
    fn create_clip(&mut self, _: Point, _: Point, _: usize) -> ClipHandle {
        0
    }
}

/// Where the segment from the centre of `node` towards `toward` leaves its outline.
fn border(node: &Node, toward: [f64; 2]) -> [f64; 2] {
    let (dx, dy) = (toward[0] - node.x, toward[1] - node.y);
    if dx.abs() < 1e-9 && dy.abs() < 1e-9 {
        return [node.x, node.y];
    }
    let (a, b) = (node.w / 2.0, node.h / 2.0);
    let t = match node.kind {
        NodeKind::Entity => 1.0 / (dx.abs() / a).max(dy.abs() / b),
        NodeKind::Relationship => 1.0 / (dx.abs() / a + dy.abs() / b),
        NodeKind::Attribute | NodeKind::Junction => {
            1.0 / ((dx / a).powi(2) + (dy / b).powi(2)).sqrt()
        }
    };
    [node.x + dx * t, node.y + dy * t]
}

fn finish(mut b: Builder) -> Drawing {
    let mut recorder = Recorder::default();
    if !b.nodes.is_empty() {
        b.graph.do_it(false, false, false, &mut recorder);
    }
    for (i, node) in b.nodes.iter_mut().enumerate() {
        if let Some((xy, size)) = recorder.boxes.get(&i) {
            node.x = xy.x + size.x / 2.0;
            node.y = xy.y + size.y / 2.0;
        }
    }
    // Edges joining the same two shapes (a recursive relationship's sides) bend apart.
    let pair = |from: usize, to: usize| (from.min(to), from.max(to));
    let mut parallel: HashMap<(usize, usize), (usize, usize)> = HashMap::new();
    for (_, from, to, ..) in &b.edges {
        parallel.entry(pair(*from, *to)).or_default().0 += 1;
    }
    let mut edges = Vec::new();
    for (i, (path, from, to, double, label)) in b.edges.into_iter().enumerate() {
        let (f, t) = (&b.nodes[from], &b.nodes[to]);
        // Interior points of the layout's route (around other shapes), then clipped ends.
        let route = recorder.routes.get(&i).cloned().unwrap_or_default();
        let mut inner: Vec<[f64; 2]> = if route.len() > 2 {
            route[1..route.len() - 1]
                .iter()
                .map(|p| [p.x, p.y])
                .collect()
        } else {
            Vec::new()
        };
        let (count, seen) = parallel.get_mut(&pair(from, to)).expect("counted");
        if *count > 1 && inner.is_empty() {
            let offset = (*seen as f64 - (*count as f64 - 1.0) / 2.0) * 36.0;
            *seen += 1;
            let (dx, dy) = (t.x - f.x, t.y - f.y);
            let len = (dx * dx + dy * dy).sqrt().max(1e-9);
            inner.push([
                (f.x + t.x) / 2.0 - dy / len * offset,
                (f.y + t.y) / 2.0 + dx / len * offset,
            ]);
        }
        let first_target = inner.first().copied().unwrap_or([t.x, t.y]);
        let last_source = inner.last().copied().unwrap_or([f.x, f.y]);
        let mut points = vec![border(f, first_target)];
        points.extend(inner);
        points.push(border(t, last_source));
        edges.push(Edge {
            path,
            points,
            double,
            label,
        });
    }
    // Normalise to a margin around the bounding box.
    let (mut min_x, mut min_y, mut max_x, mut max_y) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for n in &b.nodes {
        min_x = min_x.min(n.x - n.w / 2.0);
        min_y = min_y.min(n.y - n.h / 2.0);
        max_x = max_x.max(n.x + n.w / 2.0);
        max_y = max_y.max(n.y + n.h / 2.0);
    }
    for e in &edges {
        for p in &e.points {
            min_x = min_x.min(p[0]);
            min_y = min_y.min(p[1]);
            max_x = max_x.max(p[0]);
            max_y = max_y.max(p[1]);
        }
    }
    if b.nodes.is_empty() {
        (min_x, min_y, max_x, max_y) = (0.0, 0.0, 0.0, 0.0);
    }
    let (ox, oy) = (MARGIN - min_x, MARGIN - min_y);
    for n in &mut b.nodes {
        n.x += ox;
        n.y += oy;
    }
    for e in &mut edges {
        for p in &mut e.points {
            p[0] += ox;
            p[1] += oy;
        }
    }
    Drawing {
        width: max_x - min_x + 2.0 * MARGIN,
        height: max_y - min_y + 2.0 * MARGIN,
        nodes: b.nodes,
        edges,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_every_element_with_its_path() {
        let text = "@startchen\nentity A {\n  Id <<key>>\n  N {\n    X\n  }\n}\n\
                    entity B <<weak>> {\n  K <<partial>>\n}\nentity C {\n}\n\
                    relationship R <<identifying>> {\n  H\n}\nR -1- A\nR =N= B\n\
                    A ->- d { B, C }\n@endchen\n";
        let d = draw(&eerd::parse(text).unwrap());
        let paths: Vec<&str> = d.nodes.iter().map(|n| n.path.as_str()).collect();
        for p in [
            "A", "A.Id", "A.N", "A.N.X", "B", "B.K", "C", "R", "R.H", "A>B,C",
        ] {
            assert!(paths.contains(&p), "{p} missing in {paths:?}");
        }
        let edges: Vec<&str> = d.edges.iter().map(|e| e.path.as_str()).collect();
        assert!(edges.contains(&"R/A") && edges.contains(&"R/B"));
        let total = d.edges.iter().find(|e| e.path == "R/B").unwrap();
        assert!(total.double && total.label == "N");
        // Nodes do not overlap and lie inside the canvas.
        for (i, a) in d.nodes.iter().enumerate() {
            assert!(a.x - a.w / 2.0 >= 0.0 && a.x + a.w / 2.0 <= d.width + 0.01);
            for b in &d.nodes[i + 1..] {
                let apart = (a.x - b.x).abs() >= (a.w + b.w) / 2.0 - 0.5
                    || (a.y - b.y).abs() >= (a.h + b.h) / 2.0 - 0.5;
                assert!(apart, "{} overlaps {}", a.path, b.path);
            }
        }
    }

    #[test]
    fn empty_diagram_draws_nothing() {
        let d = draw(&eerd::parse("@startchen\n@endchen\n").unwrap());
        assert!(d.nodes.is_empty() && d.edges.is_empty());
    }
}
