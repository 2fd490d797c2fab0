//! The compact prompt form, and the meaning of ratio and (min,max) labels.

use eerd::semantics::side_constraints;
use eerd::{compact, parse};

const SAMPLE: &str = "@startchen
entity EMPLOYEE {
  Ssn : TEXT <<key>>
  Name {
    Fname
    Lname
  }
  Age <<derived>>
  Phones <<multi>>
}
entity \"Dependent\" as DEPENDENT <<weak>> {
  Name <<partial>>
}
entity DEPARTMENT {
  Number <<key>>
}
relationship WORKS_FOR {
  Since
}
WORKS_FOR =N= EMPLOYEE
WORKS_FOR =1= DEPARTMENT
relationship DEP_OF <<identifying>> {
}
DEP_OF -1- EMPLOYEE
DEP_OF =N= DEPENDENT
relationship SUPERVISION {
}
SUPERVISION -(0,1)- EMPLOYEE : supervisee
SUPERVISION -(0,N)- EMPLOYEE : supervisor
EMPLOYEE ->- d { DEPARTMENT }
EMPLOYEE =>= DEPENDENT
DEPARTMENT ->- U { EMPLOYEE, DEPENDENT }
@endchen
";

#[test]
fn compact_form_is_as_documented() {
    let expected = "E EMPLOYEE: *Ssn, Name(Fname, Lname), /Age, +Phones
W DEPENDENT: ~Name
E DEPARTMENT: *Number
R WORKS_FOR: EMPLOYEE=N, DEPARTMENT=1; Since
I DEP_OF: EMPLOYEE-1, DEPENDENT=N
R SUPERVISION: EMPLOYEE-(0,1):supervisee, EMPLOYEE-(0,N):supervisor
S EMPLOYEE -d: DEPARTMENT
S EMPLOYEE =: DEPENDENT
U DEPARTMENT -: EMPLOYEE, DEPENDENT
";
    assert_eq!(compact(&parse(SAMPLE).unwrap()), expected);
}

#[test]
fn ratio_and_min_max_labels_mean_the_same() {
    let ratio = parse("@startchen\nentity E {\n}\nentity D {\n}\nrelationship W {\n}\nW =N= E\nW =1= D\n@endchen\n").unwrap();
    let minmax = parse("@startchen\nentity E {\n}\nentity D {\n}\nrelationship W {\n}\nW -(1,1)- E\nW -(1,N)- D\n@endchen\n").unwrap();
    let a: Vec<_> = side_constraints(&ratio, "W")
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    let b: Vec<_> = side_constraints(&minmax, "W")
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    assert_eq!(a, b);
    assert_eq!(a[0].max, Some(Some(1)), "each E works for one D");
    assert!(a[0].total() && a[1].total());
    assert_eq!(a[1].max, Some(None));
    assert_eq!(a[0].is_many(), Some(false));
}

#[test]
fn nary_ratio_labels_keep_the_ratio() {
    let d = parse("@startchen\nentity A {\n}\nentity B {\n}\nentity C {\n}\nrelationship S {\n}\nS -1- A\nS =N- B\nS -M- C\n@endchen\n").unwrap();
    let c: Vec<_> = side_constraints(&d, "S")
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    assert_eq!(c[0].ratio, Some(false));
    assert_eq!(c[1].ratio, Some(true));
    assert!(c[1].total());
    assert_eq!(c[0].max, None);
}
