//! Harmless variations of the text that the model cannot express: link direction
//! (`E -1- R` for `R -1- E`), single-subclass direction (`SUB -<- SUPER`), and links written
//! after everything else. The result parses to the same [`Diagram`](crate::Diagram).

use crate::rng::Rng;

/// Probabilities of the text variations of [`scramble_text`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scramble {
    /// Each link line is written entity first with this probability.
    pub flip_link: f64,
    /// Each single-subclass specialization is written subclass first (`SUB -<- SUPER`).
    pub flip_subclass: f64,
    /// Each relationship's link lines move to the end of the diagram with this probability.
    pub move_links: f64,
}

impl Default for Scramble {
    fn default() -> Self {
        Scramble {
            flip_link: 0.25,
            flip_subclass: 0.3,
            move_links: 0.15,
        }
    }
}

/// What one top-level line of canonical text is.
enum Line<'a> {
    /// `REL -X- ENTITY [: role]`: relationship, arrow, entity, the rest (` : role`).
    Link(&'a str, &'a str, &'a str, &'a str),
    /// `SUPER ->- SUB` or `SUPER =>= SUB`.
    Subclass(&'a str, &'a str, &'a str),
    Other,
}

fn classify(line: &str) -> Line<'_> {
    if line.starts_with(' ') || line.starts_with('\'') || line.starts_with('@') {
        return Line::Other;
    }
    let tokens: Vec<&str> = line.split(' ').collect();
    if tokens.len() < 3 || matches!(tokens[0], "entity" | "relationship") {
        return Line::Other;
    }
    let arrow = tokens[1];
    let dashes = |c: char| c == '-' || c == '=';
    if !(arrow.len() >= 2 && arrow.starts_with(dashes) && arrow.ends_with(dashes)) {
        return Line::Other;
    }
    if arrow == "->-" || arrow == "=>=" {
        return if tokens.len() == 3 {
            Line::Subclass(tokens[0], arrow, tokens[2])
        } else {
            Line::Other
        };
    }
    if arrow.contains('<') || arrow.contains('>') {
        return Line::Other;
    }
    let head = tokens[0].len() + 1 + arrow.len() + 1 + tokens[2].len();
    Line::Link(tokens[0], arrow, tokens[2], &line[head..])
}

/// Rewrites canonical printed text (from [`crate::print`], roles inline) with harmless text-only
/// variations drawn from `rng`; the result parses to the same diagram.
pub fn scramble_text(text: &str, rng: &mut Rng, options: &Scramble) -> String {
    let lines: Vec<&str> = text.lines().collect();
    // Relationships whose links move to the end, decided once per relationship.
    let mut moving: Vec<(String, bool)> = Vec::new();
    let mut kept = Vec::new();
    let mut moved = Vec::new();
    for line in &lines {
        match classify(line) {
            Line::Link(rel, arrow, entity, rest) => {
                let goes = match moving.iter().find(|(r, _)| r == rel) {
                    Some((_, g)) => *g,
                    None => {
                        let g = rng.chance(options.move_links);
                        moving.push((rel.to_string(), g));
                        g
                    }
                };
                let out = if rng.chance(options.flip_link) {
                    format!("{entity} {arrow} {rel}{rest}")
                } else {
                    line.to_string()
                };
                if goes {
                    moved.push(out);
                } else {
                    kept.push(out);
                }
            }
            Line::Subclass(sup, arrow, sub) if rng.chance(options.flip_subclass) => {
                let back = if arrow == "=>=" { "=<=" } else { "-<-" };
                kept.push(format!("{sub} {back} {sup}"));
            }
            _ => kept.push(line.to_string()),
        }
    }
    let end = kept
        .iter()
        .rposition(|l| l.trim() == "@endchen")
        .unwrap_or(kept.len());
    let mut out: Vec<String> = kept[..end].to_vec();
    out.extend(moved);
    out.extend(kept[end..].iter().cloned());
    let mut text = out.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "@startchen
entity EMPLOYEE {
  Ssn <<key>>
}
entity DEPARTMENT {
  Number <<key>>
}
entity MANAGER {
}
relationship WORKS_FOR {
}
WORKS_FOR =N= EMPLOYEE
WORKS_FOR =(1,1)= DEPARTMENT
relationship SUPERVISION {
}
SUPERVISION -(0,1)- EMPLOYEE : supervisee
SUPERVISION -(0,N)- EMPLOYEE : supervisor
EMPLOYEE =>= MANAGER
@endchen
";

    #[test]
    fn scrambled_text_parses_to_the_same_diagram() {
        let d = crate::parse(SAMPLE).unwrap();
        let mut changed = 0;
        for seed in 0..200 {
            let mut rng = Rng::new(seed);
            let options = Scramble {
                flip_link: 0.5,
                flip_subclass: 0.5,
                move_links: 0.5,
            };
            let t = scramble_text(SAMPLE, &mut rng, &options);
            assert_eq!(crate::parse(&t).unwrap(), d, "seed {seed}:\n{t}");
            if t != SAMPLE {
                changed += 1;
            }
        }
        assert!(changed > 150);
        let all = Scramble {
            flip_link: 1.0,
            flip_subclass: 1.0,
            move_links: 0.0,
        };
        let t = scramble_text(SAMPLE, &mut Rng::new(1), &all);
        assert!(t.contains("EMPLOYEE =N= WORKS_FOR\n"));
        assert!(t.contains("EMPLOYEE -(0,1)- SUPERVISION : supervisee\n"));
        assert!(t.contains("MANAGER =<= EMPLOYEE\n"));
    }

    #[test]
    fn moved_links_go_last_in_order() {
        let all = Scramble {
            flip_link: 0.0,
            flip_subclass: 0.0,
            move_links: 1.0,
        };
        let t = scramble_text(SAMPLE, &mut Rng::new(3), &all);
        assert!(t.ends_with(
            "EMPLOYEE =>= MANAGER\nWORKS_FOR =N= EMPLOYEE\nWORKS_FOR =(1,1)= DEPARTMENT\nSUPERVISION -(0,1)- EMPLOYEE : supervisee\nSUPERVISION -(0,N)- EMPLOYEE : supervisor\n@endchen\n"
        ));
        assert_eq!(crate::parse(&t).unwrap(), crate::parse(SAMPLE).unwrap());
    }
}
