//! Secret-looking text: the reference's regular expressions for credentials in a string
//! (`Bearer …`, known token prefixes, JWTs, long URLs, words like "api key", and `key`
//! assignments), matched by hand with JavaScript's semantics — `\b` is an ASCII word
//! boundary, `\s` is JavaScript whitespace and lengths count UTF-16 units.

use super::{Signals, js_trim};

/// Signals found in a piece of text.
pub(super) fn string_signals(value: &str) -> Signals {
    let trimmed = js_trim(value);
    let mut found = Signals::default();
    if trimmed.is_empty() {
        return found;
    }
    let text: Vec<char> = trimmed.chars().collect();
    if has_bearer_value(&text) {
        found.add("Bearer");
    }
    if has_token_prefix(&text) {
        found.add("token");
    }
    if has_jwt(&text) {
        found.add("JWT");
    }
    let lower = trimmed.to_ascii_lowercase();
    if (lower.contains("http://") || lower.contains("https://")) && utf16_len(trimmed) > 32 {
        found.add("long URL");
    }
    let word = |parts: &[&str]| has_term(&text, parts, true);
    if word(&["api", "key"]) {
        found.add("apiKey");
    }
    if word(&["access", "token"])
        || word(&["refresh", "token"])
        || word(&["auth", "token"])
        || word(&["token"])
    {
        found.add("token");
    }
    if has_term(&text, &["Bearer"], false) {
        found.add("Bearer");
    }
    if word(&["client", "secret"]) || word(&["secret"]) {
        found.add("secret");
    }
    if word(&["password"]) || word(&["passwd"]) {
        found.add("password");
    }
    if word(&["credential"]) || word(&["credentials"]) {
        found.add("credentials");
    }
    if word(&["private", "key"]) {
        found.add("privateKey");
    }
    if has_generic_key_assignment(&text) {
        found.add("key");
    }
    found
}

/// Whether a value assigned to a bare `key` looks like a credential rather than a name.
pub(super) fn looks_like_generic_secret(value: &str) -> bool {
    let trimmed = js_trim(value);
    if utf16_len(trimmed) < 16 || trimmed.contains(is_js_space) {
        return false;
    }
    if string_signals(trimmed)
        .0
        .iter()
        .any(|signal| *signal != "key")
    {
        return true;
    }
    if trimmed.len() >= 32 && trimmed.chars().all(|c| c.is_ascii_hexdigit()) {
        return true;
    }
    let classes = [
        trimmed.chars().any(|c| c.is_ascii_lowercase()),
        trimmed.chars().any(|c| c.is_ascii_uppercase()),
        trimmed.chars().any(|c| c.is_ascii_digit()),
        trimmed.chars().any(|c| "-_=+/.".contains(c)),
    ]
    .into_iter()
    .filter(|present| *present)
    .count();
    // The reference's class `[A-Za-z0-9._~+\/-=]` holds the range `/`..=`=`, not `-`.
    classes >= 3
        && trimmed
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._~+".contains(c) || ('/'..='=').contains(&c))
}

/// JavaScript's `\s`: Unicode White_Space without NEL, plus the BOM.
fn is_js_space(c: char) -> bool {
    c == '\u{feff}' || (c.is_whitespace() && c != '\u{85}')
}

fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// JavaScript's `\b` at `index` (between `text[index - 1]` and `text[index]`).
fn is_boundary(text: &[char], index: usize) -> bool {
    let before = index > 0 && text.get(index - 1).copied().is_some_and(is_word);
    let after = text.get(index).copied().is_some_and(is_word);
    before != after
}

/// Whether `literal` is at `text[at..]`.
fn literal_at(text: &[char], at: usize, literal: &str, ignore_case: bool) -> bool {
    let mut index = at;
    for expected in literal.chars() {
        match text.get(index) {
            Some(&c) if c == expected || (ignore_case && c.eq_ignore_ascii_case(&expected)) => {
                index += 1;
            }
            _ => return false,
        }
    }
    true
}

/// Length of the run of characters from `at` that satisfy `class`.
fn run_len(text: &[char], at: usize, class: impl Fn(char) -> bool) -> usize {
    text.get(at..)
        .map_or(0, |rest| rest.iter().take_while(|c| class(**c)).count())
}

/// `\bpart1[_-]?part2…\b`: the words of a term, optionally joined by `_` or `-`.
fn has_term(text: &[char], parts: &[&str], ignore_case: bool) -> bool {
    (0..text.len()).any(|start| {
        if !is_boundary(text, start) {
            return false;
        }
        let mut index = start;
        for (n, part) in parts.iter().enumerate() {
            // The next part starts with a letter, so a separator here must be consumed.
            if n > 0 && matches!(text.get(index), Some('_' | '-')) {
                index += 1;
            }
            if !literal_at(text, index, part, ignore_case) {
                return false;
            }
            index += part.chars().count();
        }
        is_boundary(text, index)
    })
}

/// `\bBearer\s+[A-Za-z0-9._~+\/-]+`.
fn has_bearer_value(text: &[char]) -> bool {
    (0..text.len()).any(|start| {
        if !is_boundary(text, start) || !literal_at(text, start, "Bearer", false) {
            return false;
        }
        let spaces = run_len(text, start + 6, is_js_space);
        spaces > 0
            && text
                .get(start + 6 + spaces)
                .is_some_and(|c| c.is_ascii_alphanumeric() || "._~+/-".contains(*c))
    })
}

/// `\b(?:ghp|gho|github_pat|xox[baprs]|sk|rk|AKIA|ASIA|AIza)[-_A-Za-z0-9]{8,}\b`.
fn has_token_prefix(text: &[char]) -> bool {
    const PREFIXES: [&str; 13] = [
        "ghp",
        "gho",
        "github_pat",
        "xoxb",
        "xoxa",
        "xoxp",
        "xoxr",
        "xoxs",
        "sk",
        "rk",
        "AKIA",
        "ASIA",
        "AIza",
    ];
    let body = |c: &char| c.is_ascii_alphanumeric() || *c == '_' || *c == '-';
    (0..text.len()).any(|start| {
        if !is_boundary(text, start) {
            return false;
        }
        PREFIXES.iter().any(|prefix| {
            if !literal_at(text, start, prefix, false) {
                return false;
            }
            let from = start + prefix.len();
            if !text
                .get(from..from + 8)
                .is_some_and(|run| run.iter().all(body))
            {
                return false;
            }
            // Any end of the run at 8 or more characters that is a word boundary will
            // do (the greedy run backs off to it); look from the shortest, so scanning
            // stops early.
            let mut end = from + 8;
            loop {
                if is_boundary(text, end) {
                    return true;
                }
                if !text.get(end).is_some_and(body) {
                    return false;
                }
                end += 1;
            }
        })
    })
}

/// `\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9._-]+\.[A-Za-z0-9._-]+\b`.
fn has_jwt(text: &[char]) -> bool {
    let head = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let tail = |c: &char| head(*c) || *c == '.';
    // Starts inside one `[A-Za-z0-9_-]` run share its end, and so its dot: each run and
    // each dot is scanned once, keeping the whole search linear.
    let mut head_end = 0;
    let mut failed_dot = None;
    for start in 0..text.len() {
        if !is_boundary(text, start) || !literal_at(text, start, "eyJ", false) {
            continue;
        }
        let from = start + 3;
        if from >= head_end {
            head_end = from + run_len(text, from, head);
        }
        let dot = head_end;
        if dot == from || text.get(dot) != Some(&'.') || failed_dot == Some(dot) {
            continue;
        }
        // Then `X.Y` of the tail class, X and Y non-empty, ending on a word boundary: the
        // first inner dot allows the most ends, so only it matters.
        let tail_start = dot + 1;
        let mut inner_dot = None;
        let mut pos = tail_start;
        while text.get(pos).is_some_and(tail) {
            if text[pos] == '.' && pos > tail_start && inner_dot.is_none() {
                inner_dot = Some(pos);
            }
            pos += 1;
            if inner_dot.is_some_and(|d| pos >= d + 2) && is_boundary(text, pos) {
                return true;
            }
        }
        failed_dot = Some(dot);
    }
    false
}

/// Whether `key = "…"` / `"key": "…"` assigns a secret-looking value (12+ characters).
fn has_generic_key_assignment(text: &[char]) -> bool {
    let quote = |c: Option<&char>| matches!(c, Some('"' | '\'' | '`'));
    // After the assignment operator: spaces, a quote, the value, a closing quote.
    let quoted_value = |from: usize| -> Option<(usize, String)> {
        let open = from + run_len(text, from, is_js_space);
        if !quote(text.get(open)) {
            return None;
        }
        let start = open + 1;
        let len = run_len(text, start, |c| !matches!(c, '"' | '\'' | '`' | '\n'));
        let value: String = text[start..start + len].iter().collect();
        (utf16_len(&value) >= 12 && quote(text.get(start + len)))
            .then_some((start + len + 1, value))
    };
    // `\bkey\b\s*[:=]\s*["'`](…)["'`]`
    let bare = |at: usize| -> Option<(usize, String)> {
        if !is_boundary(text, at)
            || !literal_at(text, at, "key", true)
            || !is_boundary(text, at + 3)
        {
            return None;
        }
        let op = at + 3 + run_len(text, at + 3, is_js_space);
        matches!(text.get(op), Some(':' | '=')).then_some(())?;
        quoted_value(op + 1)
    };
    // `["'`]key["'`]\s*:\s*["'`](…)["'`]`
    let quoted = |at: usize| -> Option<(usize, String)> {
        if !quote(text.get(at))
            || !literal_at(text, at + 1, "key", true)
            || !quote(text.get(at + 4))
        {
            return None;
        }
        let op = at + 5 + run_len(text, at + 5, is_js_space);
        (text.get(op) == Some(&':')).then_some(())?;
        quoted_value(op + 1)
    };
    let patterns: [&dyn Fn(usize) -> Option<(usize, String)>; 2] = [&bare, &quoted];
    patterns.iter().any(|pattern| {
        // Global matching: after a match, scanning resumes at its end.
        let mut at = 0;
        while at < text.len() {
            match pattern(at) {
                Some((end, value)) => {
                    if looks_like_generic_secret(&value) {
                        return true;
                    }
                    at = end;
                }
                None => at += 1,
            }
        }
        false
    })
}
