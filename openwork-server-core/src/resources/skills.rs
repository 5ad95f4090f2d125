//! Skills (contract §4.9): which `SKILL.md` files are accepted, how their trigger is
//! found, name and description rules, and the exact bytes of an upserted `SKILL.md`.
//! Where files are looked for, and the caches that keep listing cheap, are in
//! [`discovery`].

use serde::Serialize;
use serde_json::Value;
use serde_yaml_ng::{Mapping, Value as Yaml};
use std::path::PathBuf;

mod discovery;

pub(crate) use discovery::{CachedSkill, SkillFiles, discover_cached, discover_with, list_json};
#[allow(unused_imports)] // entry points for export and import (§7)
pub(crate) use discovery::{FoundSkill, discover, skill_dirs};

use crate::error::ApiError;
use crate::fs::frontmatter::{self, get_str, render_block};
use crate::workspace::Workspace;

/// Longest accepted skill name.
const MAX_NAME_LEN: usize = 64;
/// Longest accepted description, in UTF-16 code units like the reference's `.length`.
const MAX_DESCRIPTION_LEN: usize = 1024;

/// A discovered skill as clients see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct SkillItem {
    /// Kebab-case name, equal to its folder's name.
    pub(crate) name: String,
    /// Frontmatter description (1–1024 characters).
    pub(crate) description: String,
    /// Absolute path of the `SKILL.md` file, as joined (never resolved through symlinks).
    pub(crate) path: String,
    /// `project` (the workspace or an ancestor) or `global` (the user's folders).
    pub(crate) scope: &'static str,
    /// When to use the skill, if the file says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) trigger: Option<String>,
}

/// What an accepted `SKILL.md` says, cached per file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SkillMeta {
    name: String,
    description: String,
    trigger: Option<String>,
    /// The whole file, served by `GET /workspace/:id/skills/:name`.
    content: String,
    /// `{"name":…,"description":…,"path":` of the listing JSON, escaped once.
    json_head: String,
    /// `,"trigger":…}` or `}`, escaped once.
    json_tail: String,
}

// ---------------------------------------------------------------------------------------
// JavaScript coercions the reference applies to names, payload fields and trigger lines.
// ---------------------------------------------------------------------------------------

/// Whitespace as JavaScript's `trim()` and `\s` see it (Unicode spaces and the BOM, not NEL).
fn is_js_space(c: char) -> bool {
    (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}'
}

/// `String.prototype.trim`.
pub(crate) fn js_trim(text: &str) -> &str {
    text.trim_matches(is_js_space)
}

/// `String(value ?? "")`: how the reference turns a payload field into text.
pub(crate) fn js_string(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| js_string(Some(item)))
            .collect::<Vec<_>>()
            .join(","),
        Some(Value::Object(_)) => "[object Object]".to_owned(),
    }
}

/// `value ? String(value) : undefined`: falsy fields (absent, null, false, 0, "") are dropped.
pub(crate) fn js_truthy_string(value: Option<&Value>) -> Option<String> {
    let truthy = match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|n| n != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(_) | Value::Object(_)) => true,
    };
    truthy.then(|| js_string(value))
}

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------

fn invalid_name() -> ApiError {
    ApiError::new(
        http::StatusCode::BAD_REQUEST,
        "invalid_skill_name",
        "Skill name must be kebab-case (1-64 chars)",
    )
}

/// `^[a-z0-9]+(-[a-z0-9]+)*$` with at most 64 characters.
fn is_kebab(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.split('-').all(|part| {
            !part.is_empty() && part.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9'))
        })
}

/// The trimmed name when it is kebab-case of 1–64 characters, else
/// `400 invalid_skill_name`.
pub(crate) fn validate_skill_name(name: &str) -> Result<String, ApiError> {
    let trimmed = js_trim(name);
    if is_kebab(trimmed) {
        Ok(trimmed.to_owned())
    } else {
        Err(invalid_name())
    }
}

fn description_ok(description: &str) -> bool {
    (1..=MAX_DESCRIPTION_LEN).contains(&description.encode_utf16().count())
}

/// The description when it has 1–1024 characters, else `422 invalid_description`.
fn validate_description(description: Option<&str>) -> Result<&str, ApiError> {
    description.filter(|d| description_ok(d)).ok_or_else(|| {
        ApiError::new(
            http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_description",
            "Description must be 1-1024 characters",
        )
    })
}

// ---------------------------------------------------------------------------------------
// Reading SKILL.md
// ---------------------------------------------------------------------------------------

/// The first non-empty line under a "When to use" heading, list markers stripped.
fn trigger_from_body(body: &str) -> Option<&str> {
    let mut in_section = false;
    for line in body.split('\n') {
        let line = js_trim(line.strip_suffix('\r').unwrap_or(line));
        if line.is_empty() {
            continue;
        }
        if let Some(heading) = heading_text(line) {
            in_section = js_trim(heading).eq_ignore_ascii_case("when to use");
            continue;
        }
        if !in_section {
            continue;
        }
        let cleaned = js_trim(strip_number_marker(strip_bullet(line)));
        if !cleaned.is_empty() {
            return Some(cleaned);
        }
    }
    None
}

/// The text after `^#{1,6}\s+`, if the line is a markdown heading.
fn heading_text(line: &str) -> Option<&str> {
    let hashes = line.bytes().take_while(|b| *b == b'#').count();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    strip_spaces(&line[hashes..])
}

/// The rest after one or more leading spaces (`\s+`); `None` when there are none.
fn strip_spaces(text: &str) -> Option<&str> {
    let rest = text.trim_start_matches(is_js_space);
    (rest.len() < text.len()).then_some(rest)
}

/// Strips `^[-*+]\s+`.
fn strip_bullet(line: &str) -> &str {
    line.strip_prefix(['-', '*', '+'])
        .and_then(strip_spaces)
        .unwrap_or(line)
}

/// Strips `^\d+[.)]\s+`.
fn strip_number_marker(line: &str) -> &str {
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return line;
    }
    line[digits..]
        .strip_prefix(['.', ')'])
        .and_then(strip_spaces)
        .unwrap_or(line)
}

/// Reads a `SKILL.md` in the folder `dir_name`; `None` unless it is an acceptable skill:
/// frontmatter `name` (or the folder name) kebab-case and equal to the folder name, and a
/// description of 1–1024 characters. Invalid YAML makes the file unacceptable, never an
/// error for the whole listing (D9).
pub(crate) fn parse_skill(text: &str, dir_name: &str) -> Option<SkillMeta> {
    let doc = frontmatter::parse(text).ok()?;
    let name = get_str(&doc.data, "name").unwrap_or(dir_name);
    let description = get_str(&doc.data, "description").unwrap_or_default();
    if !is_kebab(name) || !description_ok(description) || name != dir_name {
        return None;
    }
    let trigger = get_str(&doc.data, "trigger")
        .or_else(|| get_str(&doc.data, "when"))
        .or_else(|| trigger_from_body(&doc.body))
        .map(js_trim)
        .filter(|t| !t.is_empty());
    let json = |text: &str| serde_json::to_string(text).unwrap_or_default();
    Some(SkillMeta {
        json_head: format!(
            "{{\"name\":{},\"description\":{},\"path\":",
            json(name),
            json(description)
        ),
        json_tail: trigger
            .map_or_else(|| "}".to_owned(), |t| format!(",\"trigger\":{}}}", json(t))),
        name: name.to_owned(),
        description: description.to_owned(),
        trigger: trigger.map(str::to_owned),
        content: text.to_owned(),
    })
}

// ---------------------------------------------------------------------------------------
// Writing SKILL.md
// ---------------------------------------------------------------------------------------

/// `<ws>/.opencode/skills`, the only folder the API writes skills to.
pub(crate) fn project_skills_dir(workspace: &Workspace) -> PathBuf {
    workspace.root().join(".opencode").join("skills")
}

/// The exact `SKILL.md` bytes for an upsert (contract §4.9), or the error the reference
/// answers: name (400), empty content (400), frontmatter name mismatch (400), description
/// (422). The frontmatter keeps the original keys in order with `name` and `description`
/// set in place or appended; one leading newline of the body is dropped; the text always
/// ends with a newline.
pub(crate) fn skill_file(
    name: &str,
    content: &str,
    description: Option<&str>,
) -> Result<String, ApiError> {
    let name = validate_skill_name(name)?;
    if content.is_empty() {
        return Err(ApiError::new(
            http::StatusCode::BAD_REQUEST,
            "invalid_skill_content",
            "Skill content is required",
        ));
    }
    // The reference crashes (500) on frontmatter that is not YAML; we say what is wrong.
    let doc = frontmatter::parse(content).map_err(|_| {
        ApiError::new(
            http::StatusCode::BAD_REQUEST,
            "invalid_skill_content",
            "Skill frontmatter must be valid YAML",
        )
    })?;
    let payload_description = description.filter(|d| !d.is_empty());
    let mut data = Mapping::new();
    // An empty block counts as no frontmatter, as in the reference: the content is then
    // kept whole after the new block.
    let rest = if doc.data.is_empty() {
        content
    } else {
        let own_name = get_str(&doc.data, "name").unwrap_or_default();
        if !own_name.is_empty() && own_name != name {
            return Err(ApiError::new(
                http::StatusCode::BAD_REQUEST,
                "invalid_skill_name",
                "Skill frontmatter name must match payload name",
            ));
        }
        data = doc.data.clone();
        &doc.body
    };
    let own_description = get_str(&doc.data, "description").filter(|d| !d.is_empty());
    let description = validate_description(own_description.or(payload_description))?;
    data.insert(Yaml::from("name"), Yaml::from(name.as_str()));
    data.insert(Yaml::from("description"), Yaml::from(description));
    let mut text = render_block(&data);
    text.push_str(rest.strip_prefix('\n').unwrap_or(rest));
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code(result: Result<String, ApiError>) -> (u16, String, String) {
        let e = result.unwrap_err();
        (
            e.status.as_u16(),
            e.code.into_owned(),
            e.message.into_owned(),
        )
    }

    #[test]
    fn names_are_kebab_case_of_one_to_sixty_four() {
        assert_eq!(validate_skill_name("  my-skill ").unwrap(), "my-skill");
        assert!(validate_skill_name("a1-b2-c3").is_ok());
        assert!(validate_skill_name(&"a".repeat(64)).is_ok());
        for bad in [
            "", " ", "My-skill", "my_skill", "-a", "a-", "a--b", "a b", "é", "a\nb",
        ] {
            assert!(validate_skill_name(bad).is_err(), "{bad:?}");
        }
        assert!(validate_skill_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn the_verified_example_without_frontmatter() {
        let text = skill_file("my-skill", "# Hi\nbody", Some("Does things")).unwrap();
        assert_eq!(
            text,
            "---\nname: my-skill\ndescription: Does things\n---\n# Hi\nbody\n"
        );
        let text = skill_file("my-skill", "\n\n# Hi\n", Some("D")).unwrap();
        assert_eq!(text, "---\nname: my-skill\ndescription: D\n---\n\n# Hi\n");
    }

    #[test]
    fn frontmatter_keys_keep_their_order_and_missing_ones_are_appended() {
        let content = "---\nwhen: always\ndescription: Own\nlicense: MIT\n---\n\nBody\n";
        let text = skill_file(" my-skill ", content, Some("Payload")).unwrap();
        assert_eq!(
            text,
            "---\nwhen: always\ndescription: Own\nlicense: MIT\nname: my-skill\n---\nBody\n"
        );
        let content = "---\nname: my-skill\nx: 1\n---\nBody";
        let text = skill_file("my-skill", content, Some("From payload")).unwrap();
        assert_eq!(
            text,
            "---\nname: my-skill\nx: 1\ndescription: From payload\n---\nBody\n"
        );
    }

    #[test]
    fn upsert_errors_match_the_reference() {
        assert_eq!(
            code(skill_file("Bad", "x", Some("d"))),
            (
                400,
                "invalid_skill_name".into(),
                "Skill name must be kebab-case (1-64 chars)".into()
            )
        );
        assert_eq!(
            code(skill_file("ok", "", Some("d"))),
            (
                400,
                "invalid_skill_content".into(),
                "Skill content is required".into()
            )
        );
        assert_eq!(
            code(skill_file("ok", "---\nname: other\n---\nx", Some("d"))),
            (
                400,
                "invalid_skill_name".into(),
                "Skill frontmatter name must match payload name".into()
            )
        );
        let too_long = "d".repeat(1025);
        for (content, description) in [
            ("x", None),
            ("x", Some("")),
            ("x", Some(too_long.as_str())),
            ("---\nname: ok\n---\nx", None),
        ] {
            assert_eq!(
                code(skill_file("ok", content, description)),
                (
                    422,
                    "invalid_description".into(),
                    "Description must be 1-1024 characters".into()
                )
            );
        }
        assert_eq!(
            code(skill_file("ok", "---\na: [\n---\nx", Some("d"))).1,
            "invalid_skill_content"
        );
    }

    #[test]
    fn triggers_come_from_frontmatter_or_the_when_to_use_section() {
        let meta = parse_skill("---\nname: a\ndescription: d\nwhen: ' now '\n---\n", "a").unwrap();
        assert_eq!(meta.trigger.as_deref(), Some("now"));
        let body =
            "---\ndescription: d\n---\n# A\nIntro\n## When to use\n\n- 1. Deploys\n- other\n";
        assert_eq!(
            parse_skill(body, "a").unwrap().trigger.as_deref(),
            Some("Deploys")
        );
        let body = "---\ndescription: d\n---\n### WHEN TO USE\r\n2) On release\r\n";
        assert_eq!(
            parse_skill(body, "a").unwrap().trigger.as_deref(),
            Some("On release")
        );
        let body = "---\ndescription: d\n---\n# When to use it\nnot this\n#When to use\nnor this\n";
        assert_eq!(parse_skill(body, "a").unwrap().trigger, None);
        let body = "---\ndescription: d\ntrigger: '  '\nwhen: later\n---\n";
        assert_eq!(parse_skill(body, "a").unwrap().trigger, None);
    }

    #[test]
    fn acceptance_rules() {
        assert!(parse_skill("---\ndescription: d\n---\n", "a-b").is_some());
        assert!(parse_skill("---\nname: other\ndescription: d\n---\n", "a").is_none());
        assert!(parse_skill("---\nname: a\n---\n", "a").is_none());
        assert!(parse_skill("no frontmatter", "a").is_none());
        assert!(parse_skill("---\ndescription: [\n---\n", "a").is_none());
        assert!(parse_skill("---\ndescription: d\n---\n", "Upper").is_none());
        assert!(parse_skill("---\ndescription: 5\n---\n", "a").is_none());
    }

    #[test]
    fn payload_fields_are_coerced_like_javascript() {
        assert_eq!(js_string(None), "");
        assert_eq!(js_string(Some(&json!(5))), "5");
        assert_eq!(js_string(Some(&json!(true))), "true");
        assert_eq!(js_string(Some(&json!({"a": 1}))), "[object Object]");
        assert_eq!(js_truthy_string(Some(&json!(""))), None);
        assert_eq!(js_truthy_string(Some(&json!(0))), None);
        assert_eq!(js_truthy_string(Some(&json!("x"))).as_deref(), Some("x"));
        assert_eq!(js_trim("\u{feff} a \n"), "a");
    }
}
