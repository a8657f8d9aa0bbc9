//! Several test-name filters, as libtest takes them (`labcheck run -- a b`):
//! libtest-mimic 0.8 parses one positional filter only, so the positional
//! arguments are taken out here and, when there are several, applied to the
//! plan's trials before they are handed over. `--exact` applies to them as
//! libtest applies it; `--skip`, `--ignored` and every other flag stay
//! libtest-mimic's.

use libtest_mimic::Arguments;

/// libtest-mimic flags whose value is the next argument (`--skip X`).
const TAKES_VALUE: [&str; 6] = [
    "--test-threads",
    "--logfile",
    "--skip",
    "--color",
    "--format",
    "-Z",
];

/// libtest arguments with any number of name filters.
#[derive(Debug, Clone, Default)]
pub struct TestArgs {
    /// Everything but the filters; holds the filter itself when there is
    /// exactly one, so libtest-mimic's own counts stay as they were.
    pub args: Arguments,
    /// Two or more filters: a trial runs when its name matches any of them.
    /// Empty with zero or one filter.
    pub filters: Vec<String>,
}

impl TestArgs {
    /// Parses libtest arguments (without the program name), e.g.
    /// `["--exact", "a::b", "c"]`. Bad flags exit with libtest-mimic's usage
    /// message, as `Arguments::from_iter` does.
    pub fn parse<I: IntoIterator<Item = String>>(test_args: I) -> TestArgs {
        let mut flags = vec!["labcheck".to_string()];
        let mut filters = Vec::new();
        let mut it = test_args.into_iter();
        while let Some(arg) = it.next() {
            if arg == "--" {
                filters.extend(it.by_ref());
            } else if arg.starts_with('-') && arg != "-" {
                let takes_value = TAKES_VALUE.contains(&arg.as_str());
                flags.push(arg);
                if takes_value && let Some(value) = it.next() {
                    flags.push(value);
                }
            } else {
                filters.push(arg);
            }
        }
        let mut args = Arguments::from_iter(flags);
        if filters.len() <= 1 {
            args.filter = filters.pop();
        }
        TestArgs { args, filters }
    }

    /// Whether the trial `name` of kind `kind` passes the filters: matches
    /// any of them (by substring of `[kind] name`, or with `--exact` equal
    /// to `name` or `[kind] name`, as libtest-mimic matches one filter).
    pub fn selects(&self, name: &str, kind: &str) -> bool {
        if self.filters.is_empty() {
            return true;
        }
        let with_kind = if kind.is_empty() {
            name.to_string()
        } else {
            format!("[{kind}] {name}")
        };
        self.filters.iter().any(|f| {
            if self.args.exact {
                name == f || with_kind == *f
            } else {
                with_kind.contains(f.as_str())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> TestArgs {
        TestArgs::parse(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn one_filter_stays_libtest_mimics() {
        let t = parse(&["--test-threads", "2", "lab::step"]);
        assert_eq!(t.args.filter.as_deref(), Some("lab::step"));
        assert_eq!(t.args.test_threads, Some(2));
        assert!(t.filters.is_empty());
        assert!(t.selects("other", "shell"), "libtest-mimic filters it");
    }

    #[test]
    fn several_filters_select_any_and_flag_values_are_not_filters() {
        let t = parse(&["a::x", "--skip", "b::y", "--list", "c::"]);
        assert_eq!(t.args.filter, None);
        assert_eq!(t.args.skip, ["b::y"]);
        assert!(t.args.list);
        assert_eq!(t.filters, ["a::x", "c::"]);
        assert!(t.selects("lab::a::xy", "shell"));
        assert!(t.selects("c::d", ""));
        assert!(!t.selects("lab::b::y", "shell"));
        // Substring of `[kind] name`, as libtest-mimic matches.
        let k = parse(&["[sdk]", "nothing"]);
        assert!(k.selects("l::s::rust-sdk", "sdk"));
    }

    #[test]
    fn exact_filters_match_whole_names() {
        let t = parse(&["--exact", "l::s::boto3", "[shell] l::t::aws-cli-v2"]);
        assert!(t.selects("l::s::boto3", "python"));
        assert!(t.selects("l::t::aws-cli-v2", "shell"));
        assert!(!t.selects("l::s::boto3x", "python"));
        assert!(!t.selects("l::t::aws-cli-v2", "python"));
    }
}
