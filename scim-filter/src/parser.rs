//! From text to [`Filter`] / [`PatchPath`]: limit checks, the pest grammar (`scim.pest`),
//! AST building and the translation of pest failures into [`FilterError`]s a client can act
//! on (RFC 7644 §3.4.2.2, §3.5.2, §3.12).
//!
//! Nothing here panics: every unexpected shape of the pest output becomes a `FilterError`.

use crate::Limits;
use crate::ast::{AttrPath, CompValue, CompareOp, Filter, PatchPath};
use crate::error::{FilterError, FilterErrorKind};
use pest::Parser;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;
use serde_json::Number;

#[derive(pest_derive::Parser)]
#[grammar = "scim.pest"]
struct ScimParser;

/// Deepest nesting accepted whatever [`Limits::max_depth`] says: the grammar, the AST
/// builder and the derived `Drop`/`Clone`/`Debug` of [`Filter`] recurse once per level.
pub(crate) const HARD_MAX_DEPTH: usize = 128;

/// Most `and`/`or` operators accepted in one input whatever [`Limits::max_length`] says:
/// a chain of `n` operators is a tree `n` levels deep, and the derived `Drop`/`Clone`/`Debug`
/// of [`Filter`] recurse once per level.
pub(crate) const HARD_MAX_OPERATORS: usize = 1024;

/// Which entry point is parsing; decides the error kind and wording.
#[derive(Clone, Copy)]
enum Mode {
    Filter,
    Path,
}

impl Mode {
    fn kind(self) -> FilterErrorKind {
        match self {
            Mode::Filter => FilterErrorKind::InvalidFilter,
            Mode::Path => FilterErrorKind::InvalidPath,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Mode::Filter => "filter",
            Mode::Path => "path",
        }
    }
}

/// Parses the `filter` query parameter (RFC 7644 §3.4.2.2).
pub(crate) fn parse_filter(input: &str, limits: &Limits) -> Result<Filter, FilterError> {
    let mode = Mode::Filter;
    prescan(input, limits, mode)?;
    if let Some(filter) = plain_comparison(input) {
        return Ok(filter);
    }
    parse_filter_pest(input, mode)
}

/// [`parse_filter`] through the grammar.
fn parse_filter_pest(input: &str, mode: Mode) -> Result<Filter, FilterError> {
    let pairs = ScimParser::parse(Rule::filter_input, input)
        .map_err(|e| translate_pest_error(input, &e, mode))?;
    let mut builder = Builder::new(mode);
    for pair in pairs.flatten() {
        if pair.as_rule() == Rule::filter {
            return builder.filter(pair, 0);
        }
    }
    Err(builder.shape_error(0))
}

/// Parses a PATCH `path` (RFC 7644 §3.5.2).
pub(crate) fn parse_path(input: &str, limits: &Limits) -> Result<PatchPath, FilterError> {
    let mode = Mode::Path;
    prescan(input, limits, mode)?;
    if let Some(path) = plain_attr_path(input) {
        return Ok(PatchPath::Attr(path));
    }
    parse_path_pest(input, mode)
}

/// [`parse_path`] through the grammar.
fn parse_path_pest(input: &str, mode: Mode) -> Result<PatchPath, FilterError> {
    let pairs = ScimParser::parse(Rule::path_input, input)
        .map_err(|e| translate_pest_error(input, &e, mode))?;
    let mut builder = Builder::new(mode);
    for pair in pairs.flatten() {
        if pair.as_rule() == Rule::PATH {
            return builder.patch_path(pair);
        }
    }
    Err(builder.shape_error(0))
}

/// The most common filter, `ATTRNAME [subAttr] SP compareOp SP string` without URI and
/// with a string free of escapes (e.g. `userName eq "bjensen"`), read without pest;
/// `None` for anything else. The result is what the grammar gives for such input (see
/// [`plain_attr_path`]; `compareOp` is followed by `SP`, so not by a `nameChar`).
fn plain_comparison(input: &str) -> Option<Filter> {
    let trimmed = trim_blanks(input);
    let (path, rest) = split_at_blank(trimmed)?;
    let path = plain_attr_path(path)?;
    let (op, rest) = split_at_blank(skip_blanks(rest))?;
    let [first, second] = op.as_bytes() else {
        return None;
    };
    let op = match [first.to_ascii_lowercase(), second.to_ascii_lowercase()] {
        [b'e', b'q'] => CompareOp::Eq,
        [b'n', b'e'] => CompareOp::Ne,
        [b'c', b'o'] => CompareOp::Co,
        [b's', b'w'] => CompareOp::Sw,
        [b'e', b'w'] => CompareOp::Ew,
        [b'g', b't'] => CompareOp::Gt,
        [b'l', b't'] => CompareOp::Lt,
        [b'g', b'e'] => CompareOp::Ge,
        [b'l', b'e'] => CompareOp::Le,
        _ => return None,
    };
    let literal = skip_blanks(rest);
    let value = literal.strip_prefix('"')?.strip_suffix('"')?;
    let plain = value
        .bytes()
        .fold(true, |ok, b| ok & (b >= 0x20) & (b != b'"') & (b != b'\\'));
    plain.then(|| Filter::Compare {
        path,
        op,
        value: CompValue::String(value.to_owned()),
    })
}

/// `s` split before its first space or tab; bytes, not characters, are looked at (both
/// are ASCII, so the cut is on a character boundary).
fn split_at_blank(s: &str) -> Option<(&str, &str)> {
    let at = s.bytes().position(|b| b == b' ' || b == b'\t')?;
    Some((s.get(..at)?, s.get(at..)?))
}

/// `s` without leading and trailing spaces and tabs, looked at as bytes.
fn trim_blanks(s: &str) -> &str {
    let is_blank = |b: &u8| *b == b' ' || *b == b'\t';
    let bytes = s.as_bytes();
    let Some(start) = bytes.iter().position(|b| !is_blank(b)) else {
        return "";
    };
    let end = bytes
        .iter()
        .rposition(|b| !is_blank(b))
        .map_or(start, |last| last + 1);
    s.get(start..end).unwrap_or_default()
}

/// `s` without leading spaces and tabs.
fn skip_blanks(s: &str) -> &str {
    let blanks = s.bytes().take_while(|&b| b == b' ' || b == b'\t').count();
    s.get(blanks..).unwrap_or_default()
}

/// The common PATCH path `ATTRNAME [subAttr]` without URI (e.g. `displayName`,
/// `name.givenName`), read without pest; `None` for anything else. The result is what the
/// grammar gives for such input: `PATH` tries `valuePath` (needs `[`), then `attrPath`,
/// whose `URI` needs a `:`.
fn plain_attr_path(input: &str) -> Option<AttrPath> {
    let trimmed = trim_blanks(input);
    let name_ok = |s: &str| {
        let mut bytes = s.bytes();
        bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let (name, sub_attr) = match trimmed.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (trimmed, None),
    };
    if !name_ok(name) || !sub_attr.is_none_or(name_ok) {
        return None;
    }
    Some(AttrPath {
        uri: None,
        name: name.to_owned(),
        sub_attr: sub_attr.map(str::to_owned),
    })
}

// ---------------------------------------------------------------------------------------
// Limits, checked before pest runs
// ---------------------------------------------------------------------------------------

/// Rejects empty, over-long and over-nested input without recursing, so that pest never
/// sees input that could exhaust the stack. Brackets inside string literals do not count.
fn prescan(input: &str, limits: &Limits, mode: Mode) -> Result<(), FilterError> {
    let kind = mode.kind();
    if input.len() > limits.max_length {
        return Err(FilterError::new(
            kind,
            limits.max_length,
            format!(
                "the {} is {} bytes long, over the limit of {} bytes",
                mode.noun(),
                input.len(),
                limits.max_length
            ),
        ));
    }
    if trim_blanks(input).is_empty() {
        return Err(FilterError::new(
            kind,
            0,
            format!("the {} is empty", mode.noun()),
        ));
    }
    // Without an opening bracket nothing nests (a quick scan; most filters are flat).
    if !input.bytes().any(|b| b == b'(' || b == b'[') {
        return Ok(());
    }
    let max_depth = limits.max_depth.min(HARD_MAX_DEPTH);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (offset, byte) in input.bytes().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'(' | b'[' => {
                depth += 1;
                if depth > max_depth {
                    return Err(FilterError::new(
                        kind,
                        offset,
                        format!(
                            "the {} is nested more than {max_depth} levels deep \
                             (parentheses, `not (…)` and `[…]` count)",
                            mode.noun()
                        ),
                    ));
                }
            }
            b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// AST building
// ---------------------------------------------------------------------------------------

struct Builder {
    mode: Mode,
    /// `and`/`or` operators seen so far (see [`HARD_MAX_OPERATORS`]).
    operators: usize,
}

impl Builder {
    fn new(mode: Mode) -> Self {
        Self { mode, operators: 0 }
    }

    fn error(&self, offset: usize, message: impl Into<String>) -> FilterError {
        FilterError::new(self.mode.kind(), offset, message)
    }

    /// The grammar produced something this builder does not expect: a bug, reported as an
    /// error rather than a panic.
    fn shape_error(&self, offset: usize) -> FilterError {
        self.error(offset, format!("could not read the {}", self.mode.noun()))
    }

    fn check_depth(&self, depth: usize, offset: usize) -> Result<(), FilterError> {
        if depth > HARD_MAX_DEPTH {
            Err(self.error(
                offset,
                format!("the {} is nested too deeply", self.mode.noun()),
            ))
        } else {
            Ok(())
        }
    }

    /// `filter` / `valFilter` → its single `orExp` / `valOrExp` child.
    fn filter(&mut self, pair: Pair<'_, Rule>, depth: usize) -> Result<Filter, FilterError> {
        let offset = pair.as_span().start();
        self.check_depth(depth, offset)?;
        match pair.into_inner().next() {
            Some(inner) if matches!(inner.as_rule(), Rule::orExp | Rule::valOrExp) => {
                self.logical(inner, depth)
            }
            _ => Err(self.shape_error(offset)),
        }
    }

    /// `orExp` / `andExp` (and their `val…` twins): folds the operands left-associatively,
    /// iteratively, so long flat chains do not recurse.
    fn logical(&mut self, pair: Pair<'_, Rule>, depth: usize) -> Result<Filter, FilterError> {
        let offset = pair.as_span().start();
        let is_or = matches!(pair.as_rule(), Rule::orExp | Rule::valOrExp);
        let mut acc: Option<Filter> = None;
        for child in pair.into_inner() {
            let operand = match child.as_rule() {
                Rule::SP => continue,
                Rule::and_op | Rule::or_op => {
                    self.operators += 1;
                    if self.operators > HARD_MAX_OPERATORS {
                        return Err(self.error(
                            child.as_span().start(),
                            format!(
                                "the {} has more than {HARD_MAX_OPERATORS} `and`/`or` operators",
                                self.mode.noun()
                            ),
                        ));
                    }
                    continue;
                }
                Rule::andExp | Rule::valAndExp => self.logical(child, depth)?,
                _ => self.term(child, depth)?,
            };
            acc = Some(match acc {
                None => operand,
                Some(left) if is_or => Filter::Or(Box::new(left), Box::new(operand)),
                Some(left) => Filter::And(Box::new(left), Box::new(operand)),
            });
        }
        acc.ok_or_else(|| self.shape_error(offset))
    }

    /// `notExp`, `groupExp`, `valuePath`, `attrExp` and their `val…` twins.
    fn term(&mut self, pair: Pair<'_, Rule>, depth: usize) -> Result<Filter, FilterError> {
        let offset = pair.as_span().start();
        match pair.as_rule() {
            Rule::notExp | Rule::valNotExp => {
                let inner = self.nested_filter(pair, depth)?;
                Ok(Filter::Not(Box::new(inner)))
            }
            Rule::groupExp | Rule::valGroupExp => self.nested_filter(pair, depth),
            Rule::valuePath => {
                let (path, filter) = self.value_path(pair, depth)?;
                Ok(Filter::ValuePath {
                    path,
                    filter: Box::new(filter),
                })
            }
            Rule::attrExp | Rule::attrTerm => self.attr_term(pair, depth),
            _ => Err(self.shape_error(offset)),
        }
    }

    /// The `filter` / `valFilter` between the parentheses of a `notExp` / `groupExp`.
    fn nested_filter(&mut self, pair: Pair<'_, Rule>, depth: usize) -> Result<Filter, FilterError> {
        let offset = pair.as_span().start();
        for child in pair.into_inner() {
            if matches!(child.as_rule(), Rule::filter | Rule::valFilter) {
                return self.filter(child, depth + 1);
            }
        }
        Err(self.shape_error(offset))
    }

    /// `valuePath = attrPath "[" valFilter "]"`.
    fn value_path(
        &mut self,
        pair: Pair<'_, Rule>,
        depth: usize,
    ) -> Result<(AttrPath, Filter), FilterError> {
        let offset = pair.as_span().start();
        let mut path = None;
        let mut filter = None;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::attrPath => {
                    let (attr, sub_offset) = self.attr_path(child)?;
                    if let Some(sub_offset) = sub_offset {
                        return Err(self.sub_attr_before_filter(&attr, sub_offset));
                    }
                    path = Some(attr);
                }
                Rule::valuePathFilter => filter = Some(self.value_path_filter(child, depth)?),
                _ => {}
            }
        }
        match (path, filter) {
            (Some(path), Some(filter)) => Ok((path, filter)),
            _ => Err(self.shape_error(offset)),
        }
    }

    /// The `valFilter` inside a `valuePathFilter` (`"[" valFilter "]"`).
    fn value_path_filter(
        &mut self,
        pair: Pair<'_, Rule>,
        depth: usize,
    ) -> Result<Filter, FilterError> {
        let offset = pair.as_span().start();
        for child in pair.into_inner() {
            if child.as_rule() == Rule::valFilter {
                return self.filter(child, depth + 1);
            }
        }
        Err(self.shape_error(offset))
    }

    /// `attrTerm` (`valuePath` / `attrExp` sharing their `attrPath`) and `attrExp =
    /// (attrPath SP "pr") / (attrPath SP compareOp SP compValue)`.
    fn attr_term(&mut self, pair: Pair<'_, Rule>, depth: usize) -> Result<Filter, FilterError> {
        let offset = pair.as_span().start();
        let mut path = None;
        let mut sub_offset = None;
        let mut op = None;
        let mut value = None;
        let mut present = false;
        let mut value_filter = None;
        let mut element_test = None;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::attrPath => {
                    let (attr, sub_at) = self.attr_path(child)?;
                    path = Some(attr);
                    sub_offset = sub_at;
                }
                Rule::elementTest => element_test = Some(self.element_test(child)?),
                Rule::present => present = true,
                Rule::compareOp => op = Some(self.compare_op(&child)?),
                Rule::compValue => value = Some(self.comp_value(child)?),
                Rule::valuePathFilter => {
                    if let (Some(attr), Some(sub_offset)) = (&path, sub_offset) {
                        return Err(self.sub_attr_before_filter(attr, sub_offset));
                    }
                    value_filter = Some(self.value_path_filter(child, depth)?);
                }
                _ => {}
            }
        }
        match (path, present, op, value, value_filter) {
            (Some(path), true, None, None, None) => Ok(Filter::Present(path)),
            (Some(path), false, Some(op), Some(value), None) => {
                Ok(Filter::Compare { path, op, value })
            }
            (Some(path), false, None, None, Some(filter)) => Ok(match element_test {
                None => Filter::ValuePath {
                    path,
                    filter: Box::new(filter),
                },
                Some(test) => Filter::ElementTest {
                    path,
                    filter: Box::new(filter),
                    test: Box::new(test),
                },
            }),
            _ => Err(self.shape_error(offset)),
        }
    }

    /// `elementTest = subAttr (SP "pr" / SP compareOp SP compValue)` (the Entra ID
    /// extension after a `valuePath`): the test as a `pr` or comparison on the sub-attribute.
    fn element_test(&mut self, pair: Pair<'_, Rule>) -> Result<Filter, FilterError> {
        let offset = pair.as_span().start();
        let (mut name, mut op, mut value, mut present) = (None, None, None, false);
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::subAttr => name = Some(self.sub_attr(child)?.0),
                Rule::present => present = true,
                Rule::compareOp => op = Some(self.compare_op(&child)?),
                Rule::compValue => value = Some(self.comp_value(child)?),
                _ => {}
            }
        }
        let path = AttrPath {
            uri: None,
            name: name.ok_or_else(|| self.shape_error(offset))?,
            sub_attr: None,
        };
        match (present, op, value) {
            (true, None, None) => Ok(Filter::Present(path)),
            (false, Some(op), Some(value)) => Ok(Filter::Compare { path, op, value }),
            _ => Err(self.shape_error(offset)),
        }
    }

    /// `emails.type[…]`: a value filter after a sub-attribute.
    fn sub_attr_before_filter(&self, attr: &AttrPath, sub_offset: usize) -> FilterError {
        let sub = attr.sub_attr.as_deref().unwrap_or_default();
        self.error(
            sub_offset,
            format!(
                "a value filter `[…]` must follow a multi-valued attribute, \
                 not the sub-attribute `{}.{sub}`; write `{}[…].{sub}` or \
                 use `{sub}` inside the brackets",
                attr.name, attr.name
            ),
        )
    }

    /// `attrPath = [URI ":"] ATTRNAME *1subAttr`; also returns the offset of the `subAttr`.
    fn attr_path(&self, pair: Pair<'_, Rule>) -> Result<(AttrPath, Option<usize>), FilterError> {
        let offset = pair.as_span().start();
        let mut uri = None;
        let mut name = None;
        let mut sub = None;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::URI => uri = Some(child.as_str().to_owned()),
                Rule::ATTRNAME => name = Some(child.as_str().to_owned()),
                Rule::subAttr => sub = Some(self.sub_attr(child)?),
                _ => {}
            }
        }
        let name = name.ok_or_else(|| self.shape_error(offset))?;
        let sub_offset = sub.as_ref().map(|(_, o)| *o);
        Ok((
            AttrPath {
                uri,
                name,
                sub_attr: sub.map(|(s, _)| s),
            },
            sub_offset,
        ))
    }

    /// `subAttr = "." ATTRNAME` → the name and the offset of the `.`.
    fn sub_attr(&self, pair: Pair<'_, Rule>) -> Result<(String, usize), FilterError> {
        let offset = pair.as_span().start();
        pair.into_inner()
            .find(|p| p.as_rule() == Rule::ATTRNAME)
            .map(|p| (p.as_str().to_owned(), offset))
            .ok_or_else(|| self.shape_error(offset))
    }

    fn compare_op(&self, pair: &Pair<'_, Rule>) -> Result<CompareOp, FilterError> {
        let text = pair.as_str().as_bytes();
        let lowered = [
            text.first().map_or(0, u8::to_ascii_lowercase),
            text.get(1).map_or(0, u8::to_ascii_lowercase),
        ];
        let op = match (&lowered, text.len()) {
            (b"eq", 2) => CompareOp::Eq,
            (b"ne", 2) => CompareOp::Ne,
            (b"co", 2) => CompareOp::Co,
            (b"sw", 2) => CompareOp::Sw,
            (b"ew", 2) => CompareOp::Ew,
            (b"gt", 2) => CompareOp::Gt,
            (b"lt", 2) => CompareOp::Lt,
            (b"ge", 2) => CompareOp::Ge,
            (b"le", 2) => CompareOp::Le,
            _ => return Err(self.shape_error(pair.as_span().start())),
        };
        Ok(op)
    }

    /// `compValue = false / null / true / number / string`.
    fn comp_value(&self, pair: Pair<'_, Rule>) -> Result<CompValue, FilterError> {
        let offset = pair.as_span().start();
        let inner = pair
            .into_inner()
            .next()
            .ok_or_else(|| self.shape_error(offset))?;
        match inner.as_rule() {
            Rule::false_lit => Ok(CompValue::Bool(false)),
            Rule::true_lit => Ok(CompValue::Bool(true)),
            Rule::null_lit => Ok(CompValue::Null),
            Rule::number => parse_number(inner.as_str())
                .map(CompValue::Number)
                .ok_or_else(|| {
                    self.error(
                        offset,
                        format!("the number `{}` is out of range", inner.as_str()),
                    )
                }),
            Rule::string => decode_string(inner.as_str(), offset)
                .map(CompValue::String)
                .map_err(|(at, message)| self.error(at, message)),
            _ => Err(self.shape_error(offset)),
        }
    }

    /// `PATH = attrPath / valuePath [subAttr]`.
    fn patch_path(&mut self, pair: Pair<'_, Rule>) -> Result<PatchPath, FilterError> {
        let offset = pair.as_span().start();
        let mut result = None;
        let mut sub_attr = None;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::attrPath => result = Some(PatchPath::Attr(self.attr_path(child)?.0)),
                Rule::valuePath => {
                    let (path, filter) = self.value_path(child, 0)?;
                    result = Some(PatchPath::Value {
                        path,
                        filter,
                        sub_attr: None,
                    });
                }
                Rule::subAttr => sub_attr = Some(self.sub_attr(child)?.0),
                _ => {}
            }
        }
        match result {
            Some(PatchPath::Value { path, filter, .. }) => Ok(PatchPath::Value {
                path,
                filter,
                sub_attr,
            }),
            Some(attr @ PatchPath::Attr(_)) if sub_attr.is_none() => Ok(attr),
            _ => Err(self.shape_error(offset)),
        }
    }
}

/// A JSON number (RFC 7159 §6) as a [`Number`]: integers that fit `u64`/`i64` stay exact,
/// everything else becomes the nearest `f64` (correctly rounded, so the `Display` form of
/// the result parses back to the same value). `None` when out of `f64` range.
pub(crate) fn parse_number(text: &str) -> Option<Number> {
    if !text.contains(['.', 'e', 'E']) {
        if let Ok(u) = text.parse::<u64>() {
            return Some(Number::from(u));
        }
        if let Ok(i) = text.parse::<i64>() {
            return Some(Number::from(i));
        }
    }
    text.parse::<f64>().ok().and_then(Number::from_f64)
}

/// Decodes a JSON string literal (with its quotes) that the grammar already accepted;
/// `offset` is the byte offset of the opening quote. Errors (unpaired UTF-16 surrogates)
/// come with the offset of the offending escape.
fn decode_string(literal: &str, offset: usize) -> Result<String, (usize, String)> {
    let body = literal
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(literal);
    let base = offset + 1;
    let mut out = String::with_capacity(body.len());
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let bad = |what: &str| (base + i, format!("invalid escape in string: {what}"));
        match chars.next() {
            Some((_, '"')) => out.push('"'),
            Some((_, '\\')) => out.push('\\'),
            Some((_, '/')) => out.push('/'),
            Some((_, 'b')) => out.push('\u{8}'),
            Some((_, 'f')) => out.push('\u{c}'),
            Some((_, 'n')) => out.push('\n'),
            Some((_, 'r')) => out.push('\r'),
            Some((_, 't')) => out.push('\t'),
            Some((u, 'u')) => {
                let high = hex4(body, u + 1).ok_or_else(|| bad("`\\u` needs four hex digits"))?;
                skip(&mut chars, 4);
                let code = if (0xD800..0xDC00).contains(&high) {
                    let low = body
                        .get(u + 5..)
                        .and_then(|rest| rest.strip_prefix("\\u"))
                        .and_then(|_| hex4(body, u + 7))
                        .filter(|low| (0xDC00..0xE000).contains(low))
                        .ok_or_else(|| {
                            bad("a high surrogate `\\uD800`–`\\uDBFF` must be followed by a low surrogate `\\uDC00`–`\\uDFFF`")
                        })?;
                    skip(&mut chars, 6);
                    0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..0xE000).contains(&high) {
                    return Err(bad(
                        "a low surrogate `\\uDC00`–`\\uDFFF` without a high surrogate before it",
                    ));
                } else {
                    high
                };
                out.push(char::from_u32(code).ok_or_else(|| bad("not a Unicode scalar value"))?);
            }
            _ => return Err(bad("unknown escape")),
        }
    }
    Ok(out)
}

fn hex4(s: &str, at: usize) -> Option<u32> {
    let digits = s.get(at..at + 4)?;
    if digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        u32::from_str_radix(digits, 16).ok()
    } else {
        None
    }
}

fn skip(chars: &mut std::str::CharIndices<'_>, n: usize) {
    for _ in 0..n {
        chars.next();
    }
}

// ---------------------------------------------------------------------------------------
// Error translation
// ---------------------------------------------------------------------------------------

/// The list of comparison operators, as error messages spell it.
const OPERATORS: &str = "a comparison operator (eq, ne, co, sw, ew, gt, lt, ge, le) or `pr`";
/// What may start a filter term, as error messages spell it.
const TERM: &str = "an attribute path, `(` or `not (`";
/// What a value may be, as error messages spell it.
const VALUE: &str = "a value (string, number, true, false or null)";

/// A lexical token of the input, for error messages.
#[derive(Clone, Copy)]
struct Token<'a> {
    start: usize,
    text: &'a str,
}

impl Token<'_> {
    fn is_word(&self, words: &[&str]) -> bool {
        words.iter().any(|w| self.text.eq_ignore_ascii_case(w))
    }

    fn is_compare_op(&self) -> bool {
        self.is_word(&["eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"])
    }

    /// The token quoted for a message; a long one is shortened to its last 40 characters
    /// (the end is what is next to the problem).
    fn quoted(&self) -> String {
        let count = self.text.chars().count();
        if count <= 40 {
            format!("`{}`", self.text)
        } else {
            let tail: String = self.text.chars().skip(count - 40).collect();
            format!("`…{tail}`")
        }
    }
}

/// The end (exclusive) of the token that starts at `start`; `start < input.len()`.
fn token_end(input: &str, start: usize) -> usize {
    let bytes = input.as_bytes();
    match bytes.get(start) {
        Some(b'"') => {
            let mut i = start + 1;
            while let Some(&b) = bytes.get(i) {
                match b {
                    b'\\' => i += 2,
                    b'"' => return i + 1,
                    _ => i += 1,
                }
            }
            input.len()
        }
        Some(b'(' | b')' | b'[' | b']') => start + 1,
        _ => {
            let mut i = start;
            while let Some(&b) = bytes.get(i) {
                if matches!(b, b' ' | b'\t' | b'"' | b'(' | b')' | b'[' | b']') {
                    break;
                }
                i += 1;
            }
            // Stay on a char boundary (the loop stops only at ASCII bytes or the end).
            i.max(start + 1).min(input.len())
        }
    }
}

/// The last token that starts before `pos`, if any.
fn token_before(input: &str, pos: usize) -> Option<Token<'_>> {
    let mut last = None;
    let mut i = 0;
    while i < pos.min(input.len()) {
        if matches!(input.as_bytes().get(i), Some(b' ' | b'\t')) {
            i += 1;
            continue;
        }
        let end = token_end(input, i);
        // Only the part before `pos` counts: `pos` may be inside a run like `urn:…:2fa`.
        let end = end.min(pos);
        last = input.get(i..end).map(|text| Token { start: i, text });
        i = end.max(i + 1);
    }
    last
}

/// The token starting at `pos`, if `pos` is not at the end.
fn token_at(input: &str, pos: usize) -> Option<Token<'_>> {
    if pos >= input.len() || !input.is_char_boundary(pos) {
        return None;
    }
    input
        .get(pos..token_end(input, pos))
        .map(|text| Token { start: pos, text })
}

fn after(prev: Option<Token<'_>>) -> String {
    prev.map(|t| format!(" after {}", t.quoted()))
        .unwrap_or_default()
}

/// Turns a pest failure into a [`FilterError`] whose message says, in words, what was
/// expected where.
fn translate_pest_error(input: &str, error: &pest::error::Error<Rule>, mode: Mode) -> FilterError {
    let kind = mode.kind();
    let pos = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((p, _)) => p,
    }
    .min(input.len());
    let positives: &[Rule] = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives,
        ErrorVariant::CustomError { .. } => {
            return FilterError::new(kind, 0, format!("the {} is nested too deeply", mode.noun()));
        }
    };
    let (offset, message) = describe(input, pos, positives, mode);
    FilterError::new(kind, offset, message)
}

/// The offset and message for a failure at `pos` where `positives` were expected.
fn describe(input: &str, pos: usize, positives: &[Rule], mode: Mode) -> (usize, String) {
    let has = |r: Rule| positives.contains(&r);
    let prev = token_before(input, pos);
    let here = token_at(input, pos);
    let at_end = here.is_none();
    let noun = mode.noun();

    // A string literal that pest could not read: find out why.
    if here.is_some_and(|t| t.text.starts_with('"')) && (has(Rule::compValue) || has(Rule::string))
    {
        if let Some(problem) = diagnose_string(input, pos) {
            return problem;
        }
    }

    // `not` must be followed by a parenthesized filter.
    if prev.is_some_and(|t| t.is_word(&["not"])) && has(Rule::lparen) {
        return (
            pos,
            "`not` must be followed by a filter in parentheses, e.g. `not (title pr)`".into(),
        );
    }

    // A `[` where no value filter may start: inside another value filter, or after `]`.
    if here.is_some_and(|t| t.text == "[") && !has(Rule::lbracket) {
        let message = if input
            .get(..pos)
            .is_some_and(|s| s.trim_end().ends_with(']'))
        {
            "a value filter `[…]` cannot follow another one".to_owned()
        } else {
            "a value filter `[…]` cannot be nested inside another value filter; \
             use the sub-attribute names directly, e.g. `emails[type eq \"work\"]`"
                .to_owned()
        };
        return (pos, message);
    }

    if has(Rule::compValue) {
        let found = here.map(|t| t.text).unwrap_or_default();
        let message = match found.as_bytes().first() {
            None => format!("expected {VALUE}{}", after(prev)),
            Some(b'-' | b'0'..=b'9') => format!(
                "`{found}` is not a valid JSON number (expected e.g. `42`, `-1.5` or `2e10`)"
            ),
            Some(b) if b.is_ascii_alphabetic() => format!(
                "expected {VALUE}{}, found `{found}`; strings must be in double quotes, e.g. \"{found}\"",
                after(prev)
            ),
            Some(_) => format!("expected {VALUE}{}", after(prev)),
        };
        return (pos, message);
    }

    if has(Rule::compareOp) || has(Rule::present) {
        // `and`/`or` where a term must start was read as an attribute name: say so.
        if let Some(keyword) = prev.filter(|t| t.is_word(&["and", "or"])) {
            let before = token_before(input, keyword.start);
            let misplaced = match before {
                None => true,
                Some(t) => t.is_word(&["and", "or", "not"]) || t.text == "(" || t.text == "[",
            };
            if misplaced {
                return (
                    keyword.start,
                    format!(
                        "expected {TERM}{}, found {}",
                        after(before),
                        keyword.quoted()
                    ),
                );
            }
        }
        return (pos, format!("expected {OPERATORS}{}", after(prev)));
    }

    if has(Rule::ATTRNAME) && prev.is_some_and(|t| t.text.ends_with('.')) {
        return (pos, format!("expected a sub-attribute name{}", after(prev)));
    }
    if has(Rule::ATTRNAME) && prev.is_some_and(|t| t.text.ends_with(':')) {
        return (pos, format!("expected an attribute name{}", after(prev)));
    }

    let continuation = [
        Rule::and_op,
        Rule::or_op,
        Rule::rparen,
        Rule::rbracket,
        Rule::EOI,
    ];
    if continuation.iter().any(|r| has(*r)) {
        return describe_continuation(input, pos, positives, prev, here, mode);
    }

    // Where a term (or a whole filter / path) must start. When every alternative fails at
    // the same place, pest reports the enclosing rule (`filter`, `valFilter`, `PATH`, …).
    let term_start = [
        Rule::attrPath,
        Rule::URI,
        Rule::lparen,
        Rule::not_op,
        Rule::filter,
        Rule::orExp,
        Rule::andExp,
        Rule::valFilter,
        Rule::valOrExp,
        Rule::valAndExp,
        Rule::PATH,
    ];
    if term_start.iter().any(|r| has(*r)) {
        let expected = if has(Rule::PATH) || (matches!(mode, Mode::Path) && has(Rule::attrPath)) {
            "an attribute path"
        } else {
            TERM
        };
        return match here {
            None => (pos, format!("expected {expected}{}", after(prev))),
            Some(t) => (
                pos,
                format!("expected {expected}{}, found {}", after(prev), t.quoted()),
            ),
        };
    }

    if has(Rule::SP) {
        let message = match prev {
            Some(t) if t.is_compare_op() && at_end => format!("expected {VALUE}{}", after(prev)),
            Some(t) if t.is_compare_op() => {
                format!("expected a space between {} and the value", t.quoted())
            }
            Some(t) if t.is_word(&["and", "or"]) && at_end => {
                format!("expected {TERM}{}", after(prev))
            }
            Some(t) if t.is_word(&["and", "or"]) => {
                format!("expected a space after {}", t.quoted())
            }
            _ => format!("expected {OPERATORS}{}", after(prev)),
        };
        return (pos, message);
    }

    let found = here
        .map(|t| format!(", found {}", t.quoted()))
        .unwrap_or_default();
    (pos, format!("invalid {noun}{}{found}", after(prev)))
}

/// A complete term was read; what may follow it did not.
fn describe_continuation(
    input: &str,
    pos: usize,
    positives: &[Rule],
    prev: Option<Token<'_>>,
    here: Option<Token<'_>>,
    mode: Mode,
) -> (usize, String) {
    let has = |r: Rule| positives.contains(&r);
    let mut expected = Vec::new();
    if has(Rule::and_op) || has(Rule::or_op) {
        expected.push("`and`");
        expected.push("`or`");
    }
    if has(Rule::rparen) {
        expected.push("`)`");
    }
    if has(Rule::rbracket) {
        expected.push("`]`");
    }
    if has(Rule::EOI) {
        expected.push(match mode {
            Mode::Filter => "the end of the filter",
            Mode::Path => "the end of the path",
        });
    }
    let mut list = String::new();
    for (i, item) in expected.iter().enumerate() {
        if i > 0 {
            list.push_str(if i + 1 == expected.len() {
                " or "
            } else {
                ", "
            });
        }
        list.push_str(item);
    }

    let Some(here) = here else {
        let unclosed = if has(Rule::rparen) {
            " (a `(` is never closed)"
        } else if has(Rule::rbracket) {
            " (a `[` is never closed)"
        } else {
            ""
        };
        return (pos, format!("expected {list}{}{unclosed}", after(prev)));
    };

    let unbalanced = match here.text {
        ")" if !has(Rule::rparen) => Some("unbalanced parentheses: `)` without a matching `(`"),
        "]" if !has(Rule::rbracket) => Some("unbalanced brackets: `]` without a matching `[`"),
        _ => None,
    };
    if let Some(message) = unbalanced {
        return (pos, message.to_owned());
    }

    if prev.is_some_and(|t| t.is_word(&["pr"]))
        && here
            .text
            .starts_with(|c: char| c == '"' || c == '-' || c.is_ascii_digit())
    {
        return (
            pos,
            format!("`pr` takes no value; expected {list} after `pr`"),
        );
    }
    if matches!(mode, Mode::Path) && here.text.starts_with('.') {
        return (
            pos,
            "a PATCH path has at most one sub-attribute after `]`".to_owned(),
        );
    }
    if here.text.starts_with('"') {
        if let Some(problem) = diagnose_string(input, pos) {
            return problem;
        }
    }
    (
        pos,
        format!("expected {list}{}, found {}", after(prev), here.quoted()),
    )
}

/// Explains why the string literal starting at `start` (a `"`) is not valid JSON
/// (RFC 7159 §7), or `None` if it is.
fn diagnose_string(input: &str, start: usize) -> Option<(usize, String)> {
    let body = input.get(start + 1..)?;
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        let at = start + 1 + i;
        match c {
            '"' => return None,
            '\\' => match chars.next() {
                Some((_, '"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't')) => {}
                Some((u, 'u')) => {
                    if hex4(body, u + 1).is_none() {
                        return Some((
                            at,
                            "invalid escape in string: `\\u` needs four hex digits".to_owned(),
                        ));
                    }
                    skip(&mut chars, 4);
                }
                Some((_, other)) => {
                    return Some((
                        at,
                        format!(
                            "invalid escape `\\{other}` in string; valid escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX"
                        ),
                    ));
                }
                None => break,
            },
            c if c < ' ' => {
                return Some((
                    at,
                    format!(
                        "unescaped control character U+{:04X} in string; write it as \\u{:04X}",
                        c as u32, c as u32
                    ),
                ));
            }
            _ => {}
        }
    }
    Some((
        start,
        "unterminated string: the closing `\"` is missing".to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_read_without_pest_match_the_grammar() {
        for input in [
            "displayName",
            " name.givenName\t",
            "emails",
            "a-b_c1.X-y_2",
            "urn",
            "urnX.value",
            "$ref",
            "name.$ref",
            "1abc",
            "name.",
            ".name",
            "a.b.c",
            "name givenName",
            "émails",
        ] {
            let pest = parse_path_pest(input, Mode::Path).ok();
            if input == "displayName" || input == "a-b_c1.X-y_2" {
                assert!(plain_attr_path(input).is_some(), "{input:?}");
            }
            let fast = plain_attr_path(input).map(PatchPath::Attr);
            if fast.is_some() {
                assert_eq!(fast, pest, "{input:?}");
            }
            let full = parse_path(input, &Limits::default()).ok();
            assert_eq!(full, pest, "{input:?}");
        }
    }

    #[test]
    fn plain_comparisons_read_without_pest_match_the_grammar() {
        for input in [
            r#"userName eq "bjensen""#,
            "\t userName  EQ\t\"BJensen\" ",
            r#"name.givenName sw "Bar""#,
            r#"emails.value Co "@example.com""#,
            r#"title gt """#,
            r#"userName eq "a\"b""#,
            r#"userName eq "a" and x eq "b""#,
            r#"userName eqx "a""#,
            r#"userName pr"#,
            r#"not eq "x""#,
            r#"urn:x:y:userName eq "x""#,
            r#"emails[type eq "work"]"#,
            r#"userName eq 1"#,
            r#"userName eq "é""#,
            r#"userName eq "x"y""#,
            r#"userName éq "x""#,
            r#"meta.lastModified lE "2024-01-01T00:00:00Z""#,
            r#"userName GE "m""#,
            r#"userName e "x""#,
            "userName\teq\t\t\"x\"",
            "userName eq",
            "userName  eq  ",
            "userName",
            "userName \"x\"",
            " \t",
        ] {
            let pest = parse_filter_pest(input, Mode::Filter).ok();
            if input.starts_with("userName eq \"b") || input.starts_with("name.") {
                assert!(plain_comparison(input).is_some(), "{input:?}");
            }
            if let Some(fast) = plain_comparison(input) {
                assert_eq!(Some(fast), pest, "{input:?}");
            }
            let full = parse_filter(input, &Limits::default()).ok();
            assert_eq!(full, pest, "{input:?}");
        }
    }
}
