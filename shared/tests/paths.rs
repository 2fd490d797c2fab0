//! Element paths: parse, print, compare case-insensitively, resolve against a diagram.

use eerd::parse;
use eerd::path::{all_paths, resolve, Element, ElementPath};

const COMPANY: &str = "@startchen
entity EMPLOYEE {
  Ssn <<key>>
  Name {
    Fname
    Lname
  }
}
entity DEPARTMENT {
  Number <<key>>
}
entity ENGINEER {
}
entity SECRETARY {
}
entity PERSON {
}
entity BANK {
}
entity OWNER {
}
relationship WORKS_FOR {
  Since
}
WORKS_FOR =N= EMPLOYEE
WORKS_FOR =1= DEPARTMENT
relationship SUPERVISION {
}
SUPERVISION -(0,1)- EMPLOYEE : supervisee
SUPERVISION -(0,N)- EMPLOYEE : supervisor
EMPLOYEE ->- d { SECRETARY, ENGINEER }
OWNER =>= U { PERSON, BANK }
@endchen
";

fn path(text: &str) -> ElementPath {
    text.parse().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn paths_print_as_parsed_with_sorted_lists() {
    for (text, printed) in [
        ("EMPLOYEE", "EMPLOYEE"),
        ("EMPLOYEE.Name.Fname", "EMPLOYEE.Name.Fname"),
        ("WORKS_FOR/DEPARTMENT", "WORKS_FOR/DEPARTMENT"),
        (
            "SUPERVISION/EMPLOYEE:supervisor",
            "SUPERVISION/EMPLOYEE:supervisor",
        ),
        ("EMPLOYEE>SECRETARY,ENGINEER", "EMPLOYEE>ENGINEER,SECRETARY"),
        ("OWNER<PERSON,BANK", "OWNER<BANK,PERSON"),
    ] {
        assert_eq!(path(text).to_string(), printed);
    }
    assert_eq!(path("employee.name.FNAME"), path("EMPLOYEE.Name.Fname"));
    assert_ne!(path("EMPLOYEE.Name"), path("EMPLOYEE.Name.Fname"));
    assert_ne!(path("WORKS_FOR/EMPLOYEE"), path("WORKS_FOR/DEPARTMENT"));
}

#[test]
fn bad_paths_are_errors() {
    for bad in ["", "A.", ".x", "R/", "R/E:", "A>", "A>B,,C", "A<", "A B!"] {
        assert!(bad.parse::<ElementPath>().is_err(), "{bad:?} parsed");
    }
}

#[test]
fn paths_resolve_case_insensitively() {
    let d = parse(COMPANY).unwrap();
    assert!(
        matches!(resolve(&d, &path("employee")), Ok(Element::Entity(e)) if e.name == "EMPLOYEE")
    );
    assert!(matches!(
        resolve(&d, &path("works_for")),
        Ok(Element::Relationship(_))
    ));
    assert!(matches!(resolve(&d, &path("EMPLOYEE.name.lname")),
        Ok(Element::Attribute { owner: "EMPLOYEE", attribute }) if attribute.name == "Lname"));
    assert!(matches!(
        resolve(&d, &path("WORKS_FOR.Since")),
        Ok(Element::Attribute { .. })
    ));
    assert!(
        matches!(resolve(&d, &path("WORKS_FOR/department")), Ok(Element::Side(l)) if l.entity == "DEPARTMENT")
    );
    assert!(
        matches!(resolve(&d, &path("SUPERVISION/EMPLOYEE:Supervisor")),
        Ok(Element::Side(l)) if l.role.as_deref() == Some("supervisor"))
    );
    assert!(matches!(
        resolve(&d, &path("EMPLOYEE>engineer,secretary")),
        Ok(Element::Specialization(_))
    ));
    assert!(matches!(
        resolve(&d, &path("OWNER<BANK,PERSON")),
        Ok(Element::Union(_))
    ));
}

#[test]
fn unresolvable_paths_say_why() {
    let d = parse(COMPANY).unwrap();
    for (bad, why) in [
        ("PROJECT", "no entity or relationship"),
        ("EMPLOYEE.Salary", "no attribute Salary"),
        ("EMPLOYEE.Name.Minit", "no attribute Minit"),
        ("WORKS_FOR/PROJECT", "no side"),
        ("SUPERVISION/EMPLOYEE", "name the role"),
        ("SUPERVISION/EMPLOYEE:boss", "role"),
        ("EMPLOYEE>ENGINEER", "no specialization"),
        ("OWNER<BANK", "no union"),
    ] {
        let error = resolve(&d, &path(bad)).unwrap_err();
        assert!(error.to_string().contains(why), "{bad}: {error}");
    }
}

#[test]
fn every_listed_path_resolves() {
    let d = parse(COMPANY).unwrap();
    let paths = all_paths(&d);
    assert_eq!(paths.len(), 7 + 5 + 2 + 1 + 4 + 2);
    for p in &paths {
        assert!(resolve(&d, p).is_ok(), "{p} does not resolve");
        assert_eq!(&path(&p.to_string()), p);
    }
}

#[test]
fn paths_serialize_as_strings() {
    let p = path("WORKS_FOR/DEPARTMENT");
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(json, "\"WORKS_FOR/DEPARTMENT\"");
    assert_eq!(serde_json::from_str::<ElementPath>(&json).unwrap(), p);
    assert!(serde_json::from_str::<ElementPath>("\"A>\"").is_err());
}
