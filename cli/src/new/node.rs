//! `micro new <name> --lang node`: a Node package depending on the `go-micro` npm package of
//! this checkout (by path: it is not published), an index.js service, a README and a
//! `micro.mu` entry; then `npm install`, and a check that go-micro loads.

use super::{Args, Template, checkout_dir, print_next, render_files, title, tree, write};
use micro::{Error, Result};
use std::path::Path;
use std::process::Command;

const ID: &str = "micro.new";

/// Writes, installs and checks the Node project at `project`.
pub fn run(args: &Args, project: &Path) -> Result<()> {
    if args.template != Template::Default {
        return Err(Error::bad_request(
            ID,
            "--lang node has the default template only; leave out --template",
        ));
    }
    let package = checkout_dir(
        "MICRO_NODE_PATH",
        "../node",
        "package.json",
        "the go-micro npm package",
    )?;
    let files = render(args, &package)?;
    println!("Creating {} (node) in {}", args.name, project.display());
    write(project, &files)?;
    if !args.no_build {
        install(project, &package)?;
    }
    println!("\n{}", tree(project)?);
    print_next(project, &args.name, "Call", r#"{"name":"Alice"}"#);
    Ok(())
}

/// The project's files, path and contents.
fn render(args: &Args, package: &Path) -> Result<Vec<(&'static str, String)>> {
    let context = minijinja::context! {
        name => &args.name,
        title => title(&args.name),
        port => args.port,
        package => package.display().to_string(),
    };
    render_files(
        [
            ("package.json", "node/package.json.j2"),
            ("index.js", "node/index.js.j2"),
            ("README.md", "node/README.md.j2"),
            ("micro.mu", "micro.mu.j2"),
            (".gitignore", "node/gitignore.j2"),
        ],
        &context,
    )
}

/// `npm install` in the project, then loads go-micro there to be sure the service will start.
fn install(project: &Path, package: &Path) -> Result<()> {
    println!("Installing with npm install...");
    let status = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund"])
        .current_dir(project)
        .status()
        .map_err(|e| {
            Error::internal(
                ID,
                format!("cannot run npm: {e}; install Node.js 20 or later (with npm)"),
            )
        })?;
    if !status.success() {
        return Err(Error::internal(
            ID,
            format!(
                "npm install failed in {} ({status}); the files are written, fix the error above and run npm install there",
                project.display()
            ),
        ));
    }
    let loads = Command::new("node")
        .args(["-e", "require('go-micro')"])
        .current_dir(project)
        .output()
        .map_err(|e| {
            Error::internal(
                ID,
                format!("cannot run node: {e}; install Node.js 20 or later"),
            )
        })?;
    if !loads.status.success() {
        return Err(Error::internal(
            ID,
            format!(
                "go-micro does not load in {}: {}; build its native addon first: cd {} && npm ci && npx napi build --platform --js native.js --dts native.d.ts",
                project.display(),
                String::from_utf8_lossy(&loads.stderr)
                    .lines()
                    .find(|l| l.contains("Error"))
                    .unwrap_or("see node's error"),
                package.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_project_names_the_service_and_depends_on_the_package() {
        let args = Args {
            name: "order-api".into(),
            template: Template::Default,
            lang: crate::lang::Lang::Node,
            dir: ".".into(),
            port: 8090,
            no_build: true,
        };
        let files = render(&args, Path::new("/x/node")).unwrap();
        let file = |path: &str| &files.iter().find(|(p, _)| *p == path).unwrap().1;
        let package: serde_json::Value = serde_json::from_str(file("package.json")).unwrap();
        assert_eq!(package["dependencies"]["go-micro"], "file:/x/node");
        assert!(file("index.js").contains("'OrderApi.Call'"));
        assert!(file("index.js").contains("new Service('order-api')"));
        assert!(file("micro.mu").contains("port 8090"));
    }
}
