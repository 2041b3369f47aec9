//! `micro new <name> --lang python`: a `main.py` service on the `go-micro` Python package, a
//! README and a `micro.mu` entry; then a check that the Python `micro run` will use imports
//! go_micro, so the service runs at once.

use super::{Args, Template, print_next, render_files, title, tree, write};
use crate::lang;
use micro::{Error, Result};
use std::path::Path;

const ID: &str = "micro.new";

/// Writes and checks the Python project at `project`.
pub fn run(args: &Args, project: &Path) -> Result<()> {
    if args.template != Template::Default {
        return Err(Error::bad_request(
            ID,
            "--lang python has the default template only; leave out --template",
        ));
    }
    let files = render(args)?;
    println!("Creating {} (python) in {}", args.name, project.display());
    write(project, &files)?;
    if !args.no_build {
        lang::python_ready(&args.name, project)?;
    }
    println!("\n{}", tree(project)?);
    print_next(project, &args.name, "Call", r#"{"name":"Alice"}"#);
    Ok(())
}

/// The project's files, path and contents.
fn render(args: &Args) -> Result<Vec<(&'static str, String)>> {
    let context = minijinja::context! {
        name => &args.name,
        title => title(&args.name),
        port => args.port,
    };
    render_files(
        [
            ("main.py", "python/main.py.j2"),
            ("README.md", "python/README.md.j2"),
            ("micro.mu", "micro.mu.j2"),
            (".gitignore", "python/gitignore.j2"),
        ],
        &context,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_python_project_names_the_service_and_its_endpoint() {
        let args = Args {
            name: "order-api".into(),
            template: Template::Default,
            lang: crate::lang::Lang::Python,
            dir: ".".into(),
            port: 8090,
            no_build: true,
        };
        let files = render(&args).unwrap();
        let file = |path: &str| &files.iter().find(|(p, _)| *p == path).unwrap().1;
        assert!(file("main.py").contains("go_micro.Service(\"order-api\")"));
        assert!(file("main.py").contains("@service.handle(\"OrderApi.Call\")"));
        assert!(file("micro.mu").contains("port 8090"));
        assert!(file(".gitignore").contains(".venv/"));
    }
}
