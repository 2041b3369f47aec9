//! A project given to `micro run` as a git URL: `https://`, `http://`, `git://`, `ssh://`,
//! `file://`, scp-like `user@host:path`, or `host/owner/repo` as go-micro's seed writes it
//! (`github.com/micro/blog`, meaning `https://github.com/micro/blog`), each with an optional
//! `@ref` (a branch, tag or commit). It is cloned with the `git` command into
//! `~/.cache/micro/run/<host>/<path>@<ref>`, fetched again when it is there already, and
//! checked out at the ref.

use micro::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::process::Command;

const ID: &str = "micro.run";

/// A git repository and the ref to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// What `git clone` is given.
    pub url: String,
    /// The host (empty for `file://`), for the cache path.
    host: String,
    /// The repository's path on the host, for the cache path.
    path: String,
    /// The branch, tag or commit; `None` for the remote's default branch.
    pub reference: Option<String>,
}

impl Source {
    /// `arg` read as a git URL with an optional `@ref`; `None` when it is not one (then it is a
    /// directory).
    pub fn parse(arg: &str) -> Option<Source> {
        let (url, host, path) = if let Some((scheme, rest)) = arg.split_once("://") {
            if !matches!(
                scheme,
                "https" | "http" | "git" | "ssh" | "git+ssh" | "file"
            ) {
                return None;
            }
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            // `ssh://user@host:port/path`: the host alone names the cache directory.
            let host = authority.rsplit('@').next().unwrap_or(authority);
            let host = host.split(':').next().unwrap_or(host);
            (format!("{scheme}://{authority}/"), host, path)
        } else if let Some((authority, path)) = arg.split_once(':')
            && !authority.is_empty()
            && !authority.contains('/')
            && !path.is_empty()
        {
            // scp-like `user@host:path`, as git takes it.
            let host = authority.rsplit('@').next().unwrap_or(authority);
            (format!("{authority}:"), host, path)
        } else {
            // `github.com/owner/repo`: a host name (it has a dot) and at least owner and repo.
            let (host, path) = arg.split_once('/')?;
            let is_host = host.contains('.')
                && !host.starts_with('.')
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
            if !is_host || path.split('/').filter(|p| !p.is_empty()).count() < 2 {
                return None;
            }
            (format!("https://{host}/"), host, path)
        };
        // A ref follows the last `@` of the path: `owner/repo@v1.2`.
        let (path, reference) = match path.rsplit_once('@') {
            Some((path, reference)) if !reference.is_empty() => (path, Some(reference)),
            _ => (path, None),
        };
        if path.trim_matches('/').is_empty() {
            return None;
        }
        Some(Source {
            url: format!("{url}{path}"),
            host: host.to_string(),
            path: path.to_string(),
            reference: reference.map(String::from),
        })
    }

    /// Where the clone lives under `cache`: `<host>/<path>@<ref>`, each part made a safe file
    /// name (`file` for a `file://` URL's empty host, `default` for no ref).
    pub fn cache_dir(&self, cache: &Path) -> PathBuf {
        let host = if self.host.is_empty() {
            "file"
        } else {
            &self.host
        };
        let mut dir = cache.join(safe(host));
        let parts: Vec<&str> = self
            .path
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .split('/')
            .filter(|p| !p.is_empty())
            .collect();
        let (last, parents) = parts.split_last().unwrap_or((&"repo", &[]));
        for part in parents {
            dir.push(safe(part));
        }
        let reference = self.reference.as_deref().unwrap_or("default");
        dir.join(format!("{}@{}", safe(last), safe(reference)))
    }

    /// How the source is named in messages: the URL and the ref.
    fn describe(&self) -> String {
        match &self.reference {
            Some(reference) => format!("{} at `{reference}`", self.url),
            None => self.url.clone(),
        }
    }
}

/// `part` as one file name: bytes other than ASCII letters, digits, `-`, `_` and `.` written
/// as `%xx`, and `.` / `..` escaped, so no two parts share a name and none leaves its parent.
fn safe(part: &str) -> String {
    if part == "." || part == ".." {
        return part.replace('.', "%2E");
    }
    part.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Clones `source` into `~/.cache/micro/run` (or fetches it again when it is there), checks
/// out its ref and returns the directory.
pub async fn checkout(source: &Source) -> Result<PathBuf> {
    let cache = dirs::cache_dir()
        .ok_or_else(|| Error::internal(ID, "cannot find the cache directory; set HOME"))?
        .join("micro")
        .join("run");
    let dir = source.cache_dir(&cache);
    if dir.join(".git").is_dir() {
        println!("Fetching {} into {}", source.url, dir.display());
        git(&dir, &["remote", "set-url", "origin", &source.url])
            .await
            .map_err(|said| {
                Error::internal(
                    ID,
                    format!(
                        "cannot update the clone in {}: git says: {said}; remove it to clone afresh",
                        dir.display()
                    ),
                )
            })?;
        git(
            &dir,
            &["fetch", "--quiet", "--prune", "--tags", "--force", "origin"],
        )
        .await
        .map_err(|said| unreachable(source, &said))?;
    } else {
        println!("Cloning {} into {}", source.url, dir.display());
        let partial = dir.with_extension("partial");
        let _ = std::fs::remove_dir_all(&partial);
        let parent = partial.parent().unwrap_or(&cache);
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::internal(ID, format!("cannot create {}: {e}", parent.display())))?;
        let partial_arg = partial.to_string_lossy();
        git(
            parent,
            &[
                "clone",
                "--quiet",
                "--no-checkout",
                "--",
                &source.url,
                &partial_arg,
            ],
        )
        .await
        .map_err(|said| unreachable(source, &said))?;
        std::fs::rename(&partial, &dir).map_err(|e| {
            Error::internal(
                ID,
                format!(
                    "cannot move {} to {}: {e}",
                    partial.display(),
                    dir.display()
                ),
            )
        })?;
    }
    let commit = resolve(&dir, source).await?;
    git(
        &dir,
        &["checkout", "--quiet", "--force", "--detach", &commit],
    )
    .await
    .map_err(|said| {
        Error::internal(
            ID,
            format!(
                "cannot check out {} in {}: git says: {said}",
                source.describe(),
                dir.display()
            ),
        )
    })?;
    Ok(dir)
}

/// The commit `source`'s ref names in the clone at `dir`: a branch of the remote, else a tag
/// or commit; the remote's default branch without a ref.
async fn resolve(dir: &Path, source: &Source) -> Result<String> {
    let Some(reference) = &source.reference else {
        return git(dir, &["rev-parse", "--verify", "origin/HEAD^{commit}"])
            .await
            .map_err(|said| {
                Error::not_found(
                    ID,
                    format!(
                        "{} has no default branch to run (git says: {said}); name a branch, tag or commit with @<ref>",
                        source.url
                    ),
                )
            });
    };
    let branch = format!("refs/remotes/origin/{reference}^{{commit}}");
    if let Ok(commit) = git(dir, &["rev-parse", "--verify", "--quiet", &branch]).await {
        return Ok(commit);
    }
    // `--end-of-options` keeps a ref starting with `-` from being read as an option.
    let other = format!("{reference}^{{commit}}");
    git(dir, &["rev-parse", "--verify", "--end-of-options", &other])
        .await
        .map_err(|said| {
            Error::not_found(
                ID,
                format!(
                    "{} has no branch, tag or commit `{reference}` (git says: {said}); check the part after @",
                    source.url
                ),
            )
        })
}

/// The error for a remote `git clone` or `git fetch` could not read.
fn unreachable(source: &Source, said: &str) -> Error {
    Error::internal(
        ID,
        format!(
            "cannot fetch {}: git says: {said}; check the URL and that `git clone {}` works from here",
            source.describe(),
            source.url
        ),
    )
}

/// Runs `git <args>` in `dir` without asking for anything on the terminal; its trimmed
/// stdout, or, when it fails, what it said on stderr.
async fn git(dir: &Path, args: &[&str]) -> std::result::Result<String, String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot run git: {e}; install git"))?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).trim().to_string());
    }
    let said = String::from_utf8_lossy(&output.stderr);
    let said = said.trim();
    Err(if said.is_empty() {
        format!("nothing ({})", output.status)
    } else {
        said.replace('\n', " / ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(arg: &str) -> (String, Option<String>, PathBuf) {
        let source = Source::parse(arg).unwrap_or_else(|| panic!("{arg} is not a git URL"));
        let dir = source.cache_dir(Path::new("/c"));
        (source.url, source.reference, dir)
    }

    #[test]
    fn every_url_form_gives_the_url_for_git_the_ref_and_a_cache_directory() {
        let cases = [
            (
                "github.com/micro/blog",
                "https://github.com/micro/blog",
                None,
                "/c/github.com/micro/blog@default",
            ),
            (
                "github.com/micro/blog@v1.2",
                "https://github.com/micro/blog",
                Some("v1.2"),
                "/c/github.com/micro/blog@v1.2",
            ),
            (
                "https://gitlab.com/a/b.git@feature/x",
                "https://gitlab.com/a/b.git",
                Some("feature/x"),
                "/c/gitlab.com/a/b@feature%2Fx",
            ),
            (
                "git://127.0.0.1:9418/proj@abc123",
                "git://127.0.0.1:9418/proj",
                Some("abc123"),
                "/c/127.0.0.1/proj@abc123",
            ),
            (
                "ssh://git@example.com:22/o/r@main",
                "ssh://git@example.com:22/o/r",
                Some("main"),
                "/c/example.com/o/r@main",
            ),
            (
                "git@github.com:micro/blog.git@dev",
                "git@github.com:micro/blog.git",
                Some("dev"),
                "/c/github.com/micro/blog@dev",
            ),
            (
                "file:///srv/git/proj",
                "file:///srv/git/proj",
                None,
                "/c/file/srv/git/proj@default",
            ),
            (
                "file:///srv/../x/..@..",
                "file:///srv/../x/..",
                Some(".."),
                "/c/file/srv/%2E%2E/x/%2E%2E@%2E%2E",
            ),
        ];
        for (arg, url, reference, dir) in cases {
            let expected = (
                url.to_string(),
                reference.map(String::from),
                PathBuf::from(dir),
            );
            assert_eq!(parsed(arg), expected, "{arg}");
        }
    }

    #[test]
    fn directories_are_not_git_urls() {
        for arg in [
            ".",
            "examples/helloworld",
            "./a.b/c/d",
            "/tmp/x.y/a/b",
            "my.proj",
            "a.b/only-one",
            "ftp://host/x",
            "https://host/",
        ] {
            assert_eq!(Source::parse(arg), None, "{arg}");
        }
    }
}
