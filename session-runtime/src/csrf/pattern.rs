//! Route patterns for the CSRF rules (`/hooks/{name}`, `/api/{tail}*`), matched the same
//! way on every framework.

/// One part of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    /// `{name}`: one or more characters of one path segment.
    Segment,
    /// A last `{name}*`: the rest of the path, possibly empty.
    Tail,
}

/// A route pattern, matched against the whole path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PathPattern {
    parts: Vec<Part>,
}

impl PathPattern {
    /// Reads `pattern`, refusing what it cannot match exactly (see `Csrf::exempt`).
    pub(crate) fn new(pattern: &str) -> Self {
        let mut parts = Vec::new();
        let mut rest = pattern;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let close = rest[open..].find('}').map(|close| open + close);
            let Some(close) = close else {
                panic!("Csrf pattern {pattern:?}: a `{{` has no `}}`");
            };
            let name = &rest[open + 1..close];
            assert!(
                !name.contains(':'),
                "Csrf pattern {pattern:?}: regular expressions (`{{{name}}}`) are not supported; \
                 use `{{name}}` for one segment or a last `{{name}}*` for the rest of the path"
            );
            rest = &rest[close + 1..];
            if let Some(after) = rest.strip_prefix('*') {
                assert!(
                    after.is_empty(),
                    "Csrf pattern {pattern:?}: `{{{name}}}*` must end the pattern"
                );
                parts.push(Part::Tail);
                rest = after;
            } else {
                parts.push(Part::Segment);
            }
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Self { parts }
    }

    /// Whether `path` is one this pattern names.
    pub(crate) fn matches(&self, path: &str) -> bool {
        matches_parts(&self.parts, path)
    }
}

fn matches_parts(parts: &[Part], path: &str) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return path.is_empty();
    };
    match first {
        Part::Literal(literal) => path
            .strip_prefix(literal.as_str())
            .is_some_and(|after| matches_parts(rest, after)),
        Part::Tail => true,
        Part::Segment => {
            let segment = path.find('/').unwrap_or(path.len());
            (1..=segment)
                .rev()
                .any(|len| matches_parts(rest, &path[len..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PathPattern;

    fn matches(pattern: &str, path: &str) -> bool {
        PathPattern::new(pattern).matches(path)
    }

    #[test]
    fn literals_segments_and_tails_match_the_whole_path() {
        assert!(matches("/unsubscribe", "/unsubscribe"));
        assert!(!matches("/unsubscribe", "/unsubscribe/now"));
        assert!(!matches("/unsubscribe", "/unsub"));
        assert!(matches("/hooks/{name}", "/hooks/ci"));
        assert!(!matches("/hooks/{name}", "/hooks/"));
        assert!(!matches("/hooks/{name}", "/hooks/ci/extra"));
        assert!(matches("/files/{name}.txt", "/files/a.b.txt"));
        assert!(!matches("/files/{name}.txt", "/files/a/b.txt"));
        assert!(matches("/api/{tail}*", "/api/"));
        assert!(matches("/api/{tail}*", "/api/v1/users"));
        assert!(!matches("/api/{tail}*", "/apiv1"));
        assert!(matches("/{a}/{b}", "/x/y"));
        assert!(!matches("/{a}/{b}", "/x"));
    }

    #[test]
    #[should_panic(expected = "regular expressions")]
    fn a_regular_expression_is_refused() {
        PathPattern::new("/users/{id:\\d+}");
    }

    #[test]
    #[should_panic(expected = "must end the pattern")]
    fn a_tail_must_be_last() {
        PathPattern::new("/a/{tail}*/b");
    }
}
