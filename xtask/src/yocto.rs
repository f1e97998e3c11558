//! The Yocto layer's checks: the crate list generated from `Cargo.lock`
//! (what `cargo xtask yocto-crates` writes, and the test command compares
//! with what is committed), what the layer's image must share with the
//! Debian image (RAUC's configuration, the root slots' partition UUIDs,
//! the ESP's loader files), and a parse of every BitBake statement in the
//! layer's files.

use anyhow::{Context, Result, bail};
use std::path::Path;

/// Where the generated crate list lives.
pub const CRATES_INC: &str = "yocto/meta-stagebox/recipes-stagebox/stageboxd/stageboxd-crates.inc";

/// One registry package of `Cargo.lock`: name, version, SHA-256.
#[derive(Debug, PartialEq, Eq)]
struct Locked {
    name: String,
    version: String,
    checksum: String,
}

/// The crates.io packages of a `Cargo.lock`, in its order; a package
/// from anywhere else (git, another registry) is refused, since the
/// recipe could not fetch it as a `crate://` URI.
fn registry_packages(lock: &str) -> Result<Vec<Locked>> {
    let mut out = Vec::new();
    for block in lock.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block.lines().find_map(|l| l.strip_prefix(&format!("{key} = \""))).map(|v| v.trim_end_matches('"'))
        };
        let (Some(name), Some(version)) = (field("name"), field("version")) else {
            bail!("a package without name or version in Cargo.lock: {block}");
        };
        match field("source") {
            None => continue, // a workspace member
            Some("registry+https://github.com/rust-lang/crates.io-index") => {}
            Some(other) => bail!("{name} {version} comes from {other}: the recipe fetches crates.io only"),
        }
        let checksum = field("checksum").with_context(|| format!("{name} {version} has no checksum"))?;
        out.push(Locked { name: name.into(), version: version.into(), checksum: checksum.into() });
    }
    Ok(out)
}

/// The `.inc` for `lock`: a `crate://` URI per package and its SHA-256,
/// as openembedded-core's `cargo-update-recipe-crates` writes them.
pub fn crates_inc(lock: &str) -> Result<String> {
    let packages = registry_packages(lock)?;
    let mut out = String::from("# Generated from Cargo.lock by `cargo xtask yocto-crates`: do not edit.\n");
    out.push_str("# `cargo xtask test` fails when it no longer matches Cargo.lock.\n\n");
    // openembedded-core's own layout (`cargo-update-recipe-crates`), which
    // the linter's spacing rule does not expect.
    out.push_str("# nooelint: oelint.vars.inconspaces\nSRC_URI += \" \\\n");
    for p in &packages {
        out.push_str(&format!("    crate://crates.io/{}/{} \\\n", p.name, p.version));
    }
    out.push_str("\"\n\n");
    for p in &packages {
        out.push_str(&format!("SRC_URI[{}-{}.sha256sum] = \"{}\"\n", p.name, p.version, p.checksum));
    }
    Ok(out)
}

/// Whether `line` (continuations joined) is one BitBake statement: an
/// assignment (`VAR`, `VAR[flag]`, `VAR:override` with `=`, `?=`, `??=`,
/// `:=`, `+=`, `=+`, `.=`, `=.`) of a double-quoted value, `inherit`,
/// `require`/`include`, `export`, `addtask`, or the opening of a shell or
/// Python function.
fn statement(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.first().copied() {
        Some("inherit" | "require" | "include" | "addtask" | "deltask" | "EXPORT_FUNCTIONS") => words.len() > 1,
        Some("export") => statement(line.trim_start().trim_start_matches("export").trim_start()),
        Some(_) if line.trim_end().ends_with('{') && line.contains("()") => true,
        Some(_) => {
            // NAME OP "VALUE": the operator is what the text before the
            // value's opening quote ends with.
            let Some(quote) = line.find('"') else { return false };
            let (left, value) = (line[..quote].trim_end(), line[quote..].trim_end());
            let ops = ["??=", "?=", ":=", "+=", "=+", ".=", "=.", "="];
            let Some(op) = ops.iter().find(|op| left.ends_with(**op)) else { return false };
            let name = left[..left.len() - op.len()].trim_end();
            let name_ok = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-:[]{}$.~/+".contains(c))
                && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
            name_ok && value.len() >= 2 && value.ends_with('"')
        }
        None => true,
    }
}

/// Parses every statement of a BitBake file: comments, blank lines,
/// statements (with `\` continuations) and function bodies. Returns the
/// first bad line.
pub fn check_bitbake(text: &str) -> std::result::Result<(), String> {
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut joined = line.to_owned();
        while joined.ends_with('\\') {
            joined.pop();
            let Some((_, next)) = lines.next() else {
                return Err(format!("line {}: a continuation at the end", n + 1));
            };
            joined.push_str(next);
        }
        if !statement(&joined) {
            return Err(format!("line {}: not a BitBake statement: {line}", n + 1));
        }
        if joined.trim_end().ends_with('{') {
            // A function body runs to a line that is `}`.
            if !lines.by_ref().any(|(_, l)| l.trim_end() == "}") {
                return Err(format!("line {}: a function that never closes", n + 1));
            }
        }
    }
    Ok(())
}

/// The layer's RAUC configuration, and the Debian image's it must equal.
const LAYER_RAUC_CONF: &str = "yocto/meta-stagebox/recipes-core/rauc/files/system.conf";
const IMAGE_RAUC_CONF: &str = "images/rootfs/etc/rauc/system.conf";

/// Checks the layer: the crate list matches `Cargo.lock`, its RAUC
/// configuration is the Debian image's, and every `.bb`, `.bbappend`,
/// `.inc` and `.conf` parses.
pub fn check_layer(root: &Path) -> Result<()> {
    let lock = read(root, "Cargo.lock")?;
    let committed = read(root, CRATES_INC)?;
    if committed != crates_inc(&lock)? {
        bail!("{CRATES_INC} does not match Cargo.lock: run `cargo xtask yocto-crates` and commit it");
    }
    // One RAUC configuration for both images.
    if read(root, LAYER_RAUC_CONF)? != read(root, IMAGE_RAUC_CONF)? {
        bail!(
            "{LAYER_RAUC_CONF} differs from {IMAGE_RAUC_CONF}: the Yocto and Debian images must configure RAUC alike"
        );
    }
    check_esp(root)?;
    let mut checked = 0;
    for path in layer_files(root)? {
        let bitbake =
            path.extension().and_then(|e| e.to_str()).is_some_and(|e| ["bb", "bbappend", "inc", "conf"].contains(&e));
        // RAUC's system.conf is an INI file, not BitBake.
        if !bitbake || path.components().any(|c| c.as_os_str() == "files") {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        check_bitbake(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        checked += 1;
    }
    eprintln!("    {checked} layer files parse; the crate list matches Cargo.lock");
    Ok(())
}

/// The root slots' partition UUIDs, the Yocto disk layout, the image
/// recipe, and the script writing both images' loader files.
const SLOTS_ENV: &str = "images/slots.env";
const WKS: &str = "yocto/meta-stagebox/wic/stagebox-ab.wks";
const IMAGE_RECIPE: &str = "yocto/meta-stagebox/recipes-core/images/stagebox-image.bb";
const ESP_SCRIPT: &str = "images/esp.sh";

/// The Yocto image's disk and ESP as stagebox-boot expects them, as the
/// Debian image's are: the wks gives the roots the UUIDs their loader
/// entries boot, mounts the ESP on `/boot/efi`, and the image recipe puts
/// every file `images/esp.sh` writes on the ESP.
fn check_esp(root: &Path) -> Result<()> {
    let out = std::env::temp_dir().join(format!("stagebox-esp-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let status = std::process::Command::new("bash").arg(root.join(ESP_SCRIPT)).arg(&out).status()?;
    if !status.success() {
        bail!("{ESP_SCRIPT} failed: {status}");
    }
    let mut written = Vec::new();
    for dir in ["loader", "loader/entries"] {
        for entry in std::fs::read_dir(out.join(dir))? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                written.push(format!("{dir}/{}", entry.file_name().to_string_lossy()));
            }
        }
    }
    std::fs::remove_dir_all(&out)?;
    written.sort();
    esp_matches(&read(root, SLOTS_ENV)?, &read(root, WKS)?, &read(root, IMAGE_RECIPE)?, &written)
}

/// A file of the repository, as text.
fn read(root: &Path, path: &str) -> Result<String> {
    std::fs::read_to_string(root.join(path)).with_context(|| format!("reading {path}"))
}

/// See [`check_esp`]; `written` is what `images/esp.sh` wrote, relative
/// to the ESP.
fn esp_matches(slots_env: &str, wks: &str, image: &str, written: &[String]) -> Result<()> {
    for slot in ["a", "b"] {
        let key = format!("root_{slot}_uuid=");
        let Some(uuid) = slots_env.lines().find_map(|l| l.trim().strip_prefix(key.as_str())) else {
            bail!("{SLOTS_ENV} gives no {key}");
        };
        let line = wks.lines().find(|l| option(l, "--part-name") == Some(&format!("root-{slot}")));
        let Some(line) = line else { bail!("{WKS} has no partition named root-{slot} (--part-name)") };
        if option(line, "--uuid") != Some(uuid) {
            bail!("{WKS}: root-{slot} must have --uuid {uuid} ({SLOTS_ENV}), which its loader entry boots");
        }
    }
    if !wks.lines().any(|l| l.starts_with("part /boot/efi ") && l.contains("--source bootimg-efi")) {
        bail!("{WKS}: the ESP must be mounted on /boot/efi, where stagebox-boot looks for it");
    }
    if written.len() < 3 {
        bail!("{ESP_SCRIPT} wrote {written:?}: expected loader.conf and two entries");
    }
    for file in written {
        if !image.contains(&format!("stagebox-esp/{file};{file}")) {
            bail!("{IMAGE_RECIPE}: IMAGE_EFI_BOOT_FILES must install stagebox-esp/{file} as {file}");
        }
    }
    Ok(())
}

/// The value after `name` in a wks line's options.
fn option<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let mut words = line.split_whitespace();
    words.find(|w| *w == name)?;
    words.next()
}

/// Every file of the layer, sorted.
fn layer_files(root: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    let mut pending = vec![root.join("yocto/meta-stagebox")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The layer's recipes and appends, for the linter.
pub fn recipes(root: &Path) -> Result<Vec<std::path::PathBuf>> {
    let files = layer_files(root)?;
    Ok(files.into_iter().filter(|p| p.extension().is_some_and(|e| e == "bb" || e == "bbappend")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"version = 4

[[package]]
name = "anyhow"
version = "1.0.98"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "e16d2d3311acee920a9eb8d33b8cbc1787ce4a264e85f964c2404b969bdcd487"

[[package]]
name = "xtask"
version = "0.1.0"
dependencies = [
 "anyhow",
]
"#;

    #[test]
    fn the_crate_list_names_every_registry_crate_with_its_checksum() {
        let inc = crates_inc(LOCK).unwrap();
        assert!(inc.contains("    crate://crates.io/anyhow/1.0.98 \\\n"), "{inc}");
        assert!(inc.contains(
            "SRC_URI[anyhow-1.0.98.sha256sum] = \"e16d2d3311acee920a9eb8d33b8cbc1787ce4a264e85f964c2404b969bdcd487\""
        ));
        assert!(!inc.contains("crates.io/xtask"), "workspace members are not fetched");
        check_bitbake(&inc).unwrap();
        let git =
            LOCK.replace("registry+https://github.com/rust-lang/crates.io-index", "git+https://example.invalid/a");
        assert!(crates_inc(&git).unwrap_err().to_string().contains("crates.io only"));
    }

    #[test]
    fn the_yocto_disk_must_boot_the_roots_the_entries_name() {
        let env = "# x\nroot_a_uuid=1111\nroot_b_uuid=2222\n";
        let wks = "part /boot/efi --source bootimg-efi --label esp\n\
                   part / --source rootfs --part-name root-a --uuid 1111\n\
                   part --part-name root-b --uuid 2222 --size 2048M\n";
        let written: Vec<String> =
            ["loader/entries/stagebox-a.conf", "loader/entries/stagebox-b.conf", "loader/loader.conf"]
                .map(String::from)
                .to_vec();
        let image: String = written.iter().map(|f| format!(" stagebox-esp/{f};{f} \\\n")).collect();
        let image = format!("IMAGE_EFI_BOOT_FILES = \"bzImage;a/vmlinuz \\\n{image}\"\n");
        esp_matches(env, wks, &image, &written).unwrap();
        let err = |env: &str, wks: &str, image: &str| esp_matches(env, wks, image, &written).unwrap_err().to_string();
        let missing = image.replace("stagebox-esp/loader/entries/stagebox-b.conf;", "");
        assert!(err(env, wks, &missing).contains("install stagebox-esp/loader/entries/stagebox-b.conf"));
        assert!(err(env, &wks.replace("2222", "3333"), &image).contains("root-b must have --uuid 2222"));
        assert!(err(env, &wks.replace("root-a", "rootA"), &image).contains("no partition named root-a"));
        assert!(err(env, &wks.replace("/boot/efi", "/boot"), &image).contains("mounted on /boot/efi"));
        assert!(err("root_a_uuid=1111\n", wks, &image).contains("no root_b_uuid="));
    }

    #[test]
    fn bitbake_statements_parse_and_mistakes_do_not() {
        let good = "# c\nSUMMARY = \"x\"\nFOO:append = \" y\"\nSRC_URI[a.sha256sum] = \"z\"\nA ?= \"1\"\n\
                    inherit cargo systemd\nrequire x.inc\ndo_install:append() {\n    install -d ${D}\n}\n\
                    BBFILES += \"a \\\n  b\"\n";
        check_bitbake(good).unwrap();
        for bad in ["SUMMARY = x\n", "SUMMARY \"x\"\n", "inherit\n", "do_install() {\n  true\n", "A = \"x \\\n"] {
            assert!(check_bitbake(bad).is_err(), "{bad:?} passed");
        }
    }
}
