//! Markdown files with a YAML frontmatter block (`SKILL.md`, command files): splitting,
//! reading the block as an ordered map, and writing it back with keys in a chosen order.

use serde_yaml_ng::{Mapping, Value as Yaml};

/// A document split into its frontmatter and body.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Document {
    /// The frontmatter keys in file order (empty when there is no block).
    pub(crate) data: Mapping,
    /// Whether the text started with a frontmatter block.
    pub(crate) has_block: bool,
    /// Everything after the closing `---` line (or the whole text without a block).
    pub(crate) body: String,
}

/// Why a frontmatter block could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid frontmatter: {0}")]
pub(crate) struct FrontmatterError(String);

/// Splits `text` at a leading `---` block. A block that is not a YAML map is an error.
pub(crate) fn parse(text: &str) -> Result<Document, FrontmatterError> {
    let Some((yaml, body)) = split(text) else {
        return Ok(Document {
            data: Mapping::new(),
            has_block: false,
            body: text.to_owned(),
        });
    };
    let data = if yaml.trim().is_empty() {
        Mapping::new()
    } else {
        match serde_yaml_ng::from_str::<Yaml>(yaml) {
            Ok(Yaml::Mapping(map)) => map,
            Ok(Yaml::Null) => Mapping::new(),
            Ok(_) => return Err(FrontmatterError("not a map".into())),
            Err(e) => return Err(FrontmatterError(e.to_string())),
        }
    };
    Ok(Document {
        data,
        has_block: true,
        body: body.to_owned(),
    })
}

/// `(yaml, body)` when `text` opens with a `---` line closed by another `---` line.
fn split(text: &str) -> Option<(&str, &str)> {
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end_matches(['\r', '\n']) == "---" {
            return Some((&rest[..offset], &rest[offset + line.len()..]));
        }
        offset += line.len();
    }
    None
}

/// A string value of the frontmatter.
pub(crate) fn get_str<'a>(data: &'a Mapping, key: &str) -> Option<&'a str> {
    data.get(key).and_then(Yaml::as_str)
}

/// Renders a frontmatter block (`---\n…---\n`) for `data`.
pub(crate) fn render_block(data: &Mapping) -> String {
    let yaml = if data.is_empty() {
        String::new()
    } else {
        serde_yaml_ng::to_string(data).unwrap_or_default()
    };
    format!("---\n{yaml}---\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_a_block_and_keeps_key_order() {
        let doc = parse("---\nname: a\ndescription: B c\nwhen: x\n---\n# Title\nbody\n").unwrap();
        assert!(doc.has_block);
        let keys: Vec<_> = doc.data.keys().map(|k| k.as_str().unwrap()).collect();
        assert_eq!(keys, ["name", "description", "when"]);
        assert_eq!(get_str(&doc.data, "description"), Some("B c"));
        assert_eq!(doc.body, "# Title\nbody\n");
    }

    #[test]
    fn text_without_a_block_is_all_body() {
        let doc = parse("# Hi\nbody").unwrap();
        assert!(!doc.has_block);
        assert_eq!(doc.body, "# Hi\nbody");
        let doc = parse("---\nunclosed: true\n").unwrap();
        assert!(!doc.has_block);
    }

    #[test]
    fn invalid_yaml_is_an_error() {
        assert!(parse("---\nname: [unclosed\n---\nbody").is_err());
        assert!(parse("---\n- a list\n---\nbody").is_err());
    }

    #[test]
    fn renders_plain_scalars() {
        let mut data = Mapping::new();
        data.insert("name".into(), "my-skill".into());
        data.insert("description".into(), "Does things".into());
        data.insert("subtask".into(), false.into());
        assert_eq!(
            render_block(&data),
            "---\nname: my-skill\ndescription: Does things\nsubtask: false\n---\n"
        );
    }
}
