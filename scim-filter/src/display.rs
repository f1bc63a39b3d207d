//! The canonical text form of the AST (RFC 7644 §3.4.2.2, §3.5.2).
//!
//! Operators and literals are lower-case, tokens are separated by single spaces, strings
//! are JSON-escaped (RFC 7159 §7) and parentheses appear only where the tree needs them,
//! so that `parse_filter(&f.to_string()) == Ok(f)` for every `f` the parser produced.
//!
//! Left-leaning chains of one operator (`a and b and c …`, the shape the parser builds)
//! are printed iteratively, so long flat filters do not recurse once per operand.

use crate::ast::{AttrPath, CompValue, CompareOp, Filter, PatchPath};
use std::fmt::{self, Display, Formatter};

/// `[URI ":"] ATTRNAME *1subAttr` (RFC 7644 §3.4.2.2).
impl Display for AttrPath {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(uri) = &self.uri {
            write!(f, "{uri}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// The lower-case operator (RFC 7644 §3.4.2.2, Table 3).
impl Display for CompareOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The JSON literal (RFC 7159): `null`, `true`, `false`, the number, or the escaped string.
impl Display for CompValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(true) => f.write_str("true"),
            CompValue::Bool(false) => f.write_str("false"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::String(s) => {
                let quoted = serde_json::to_string(s).map_err(|_| fmt::Error)?;
                f.write_str(&quoted)
            }
        }
    }
}

/// Which logical operator a node is, for deciding on parentheses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Logic {
    And,
    Or,
}

impl Logic {
    fn of(filter: &Filter) -> Option<(Logic, &Filter, &Filter)> {
        match filter {
            Filter::And(l, r) => Some((Logic::And, l, r)),
            Filter::Or(l, r) => Some((Logic::Or, l, r)),
            _ => None,
        }
    }

    fn keyword(self) -> &'static str {
        match self {
            Logic::And => " and ",
            Logic::Or => " or ",
        }
    }
}

/// Writes `filter` in parentheses when `needed`.
fn write_operand(f: &mut Formatter<'_>, filter: &Filter, needed: bool) -> fmt::Result {
    if needed {
        write!(f, "({filter})")
    } else {
        write!(f, "{filter}")
    }
}

/// The canonical filter text (RFC 7644 §3.4.2.2): `and` binds tighter than `or`, both are
/// left-associative, and parentheses are added only where the tree differs from that
/// reading (an `or` under an `and`, or a right operand of the same operator).
impl Display for Filter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
            Filter::ElementTest { path, filter, test } => write!(f, "{path}[{filter}].{test}"),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::And(..) | Filter::Or(..) => {
                let Some((logic, mut left, right)) = Logic::of(self) else {
                    return Err(fmt::Error);
                };
                // Walk down the left spine of this operator, collecting right operands.
                let mut rights = vec![right];
                while let Some((inner, l, r)) = Logic::of(left) {
                    if inner != logic {
                        break;
                    }
                    rights.push(r);
                    left = l;
                }
                let left_needs_parens = logic == Logic::And && matches!(left, Filter::Or(..));
                write_operand(f, left, left_needs_parens)?;
                for right in rights.iter().rev() {
                    f.write_str(logic.keyword())?;
                    // A right operand of the same operator, or an `or` under an `and`.
                    let needs_parens = matches!(
                        (logic, right),
                        (_, Filter::Or(..)) | (Logic::And, Filter::And(..))
                    );
                    write_operand(f, right, needs_parens)?;
                }
                Ok(())
            }
        }
    }
}

/// `attrPath` or `valuePath [subAttr]` (RFC 7644 §3.5.2).
impl Display for PatchPath {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            PatchPath::Attr(path) => write!(f, "{path}"),
            PatchPath::Value {
                path,
                filter,
                sub_attr,
            } => {
                write!(f, "{path}[{filter}]")?;
                if let Some(sub) = sub_attr {
                    write!(f, ".{sub}")?;
                }
                Ok(())
            }
        }
    }
}
