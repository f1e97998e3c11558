//! Stagebox's commands, run as `cargo xtask <command>`.
//!
//! - `setup`: install what is missing (apt packages, rustup targets and
//!   components, the pinned nightly for miri). Skips what is present.
//! - `run`: setup, then run the demo pipeline.
//! - `test`: setup, then fmt, clippy, loom, miri and every test. The last
//!   line is the test runner's summary.
//! - `fuzz [target] [seconds]`: run the fuzz targets (all, 60 s each, by
//!   default); `test` runs each for a few seconds.
//! - `bench [area]`: run the benchmarks of one area, or of all.
//! - `schemathesis [examples]`: setup, then a long schemathesis run against
//!   a real stageboxd (500 generated requests per operation by default).
//! - `image`: setup (and the image tools), then the appliance disk image
//!   (`images/build.sh`) in `target/image`.
//! - `image-test`: `image`, then boots it under qemu (`images/boot-test.sh`).
//! - `yocto-crates`: writes the Yocto recipe's crate list from `Cargo.lock`.

#![forbid(unsafe_code)]

mod yocto;

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Debian packages the build and the tests need, with why.
const APT_PACKAGES: &[(&str, &str)] = &[
    // `ip netns` for network tests, `ps`/`kill` used by process tests.
    ("iproute2", "network namespaces for transport tests"),
    ("procps", "process inspection in cross-process tests"),
    // Reference decoders from PyPI (threefive, pycaption) run in a venv.
    ("python3", "reference decoders in tests"),
    ("python3-venv", "a virtual environment for the reference decoders"),
    // ffmpeg's CEA-608 decoder and SCC demuxer are the captions reference.
    ("ffmpeg", "reference caption decoder in tests"),
    // libfuzzer-sys compiles libFuzzer, which is C++.
    ("g++", "building libFuzzer for the fuzz targets"),
    // HTTP load for the API benchmark (`cargo xtask bench api`).
    ("wrk", "HTTP load for the API benchmark"),
    // The dashboard walkthrough runs in Debian's Chromium (playwright-core
    // from npm drives it; Node.js comes with the machine).
    ("chromium", "headless browser for the dashboard walkthrough"),
    // libsrt's srt-live-transmit receives the distributor's SRT outputs.
    ("srt-tools", "the libsrt peer in the distributor tests"),
    // nginx with the RTMP module receives the distributor's RTMP output.
    ("nginx", "the RTMP server in the distributor tests"),
    ("libnginx-mod-rtmp", "the RTMP module for that nginx"),
    // The encoding ladder (host/codec) links FFmpeg through ffmpeg-next,
    // whose build finds the libraries with pkg-config and binds their
    // headers with bindgen (libclang); x264 comes with libavcodec.
    ("libavcodec-dev", "FFmpeg's codecs for the encoding ladder"),
    ("libavformat-dev", "FFmpeg's formats (ffmpeg-next links them)"),
    ("libavutil-dev", "FFmpeg's utilities"),
    ("libswscale-dev", "scaling for the encoding ladder"),
    ("libswresample-dev", "resampling (ffmpeg-next links it)"),
    ("pkg-config", "finding FFmpeg for ffmpeg-next's build"),
    ("clang", "libclang, for bindgen in ffmpeg-next's build"),
];

/// Debian packages that building and booting the appliance image needs.
const IMAGE_PACKAGES: &[(&str, &str)] = &[
    ("debootstrap", "the image's Debian root"),
    ("dosfstools", "the boot partition's file system"),
    ("fdisk", "sfdisk: the disk's partition table"),
    ("mtools", "filling the boot partition without mounting it"),
    ("systemd-boot-efi", "the image's boot loader"),
    ("ovmf", "UEFI firmware for the qemu boot test"),
    ("curl", "the boot test's HTTPS requests"),
    ("rauc", "signing update bundles"),
    ("squashfs-tools", "mksquashfs: the bundles' payload"),
    ("openssl", "the development update-signing keys"),
];

/// QEMU comes from bookworm-backports: the machine's qemu-utils is from
/// there, and bookworm's own qemu-system-x86 conflicts with it.
const BACKPORTS: &str = "/etc/apt/sources.list.d/stagebox-bookworm-backports.sources";

/// Seconds the boot test may take.
const BOOT_TEST_SECONDS: u32 = 600;
/// The update test's bound: three installs and six boots under TCG.
const UPDATE_TEST_SECONDS: u32 = 900;

/// cargo-fuzz, pinned.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Fuzz targets: (crate folder holding `fuzz/`, target).
const FUZZ_TARGETS: &[(&str, &str)] = &[
    ("host/media", "scte35_parse"),
    ("host/media", "scte35_json"),
    ("host/media", "scte35_policy"),
    ("host/media", "cea608_decode"),
    ("host/media", "cea708_decode"),
    ("host/media", "ts_demux"),
    ("host/media", "rtp_reorder"),
    ("host/media", "flv_mux"),
    ("host/media", "hls_segment"),
    ("host/media", "fmp4_tracks"),
    ("host/media", "caption_sei"),
    ("host/media", "caption_text"),
];

/// Seconds each fuzz target runs for in `cargo xtask test`.
const FUZZ_SECONDS_IN_TEST: u32 = 10;

/// Where the reference decoders' virtual environment lives.
const PY_VENV: &str = "target/py";
/// What goes into it, pinned so CI does not move under us.
const PY_REQUIREMENTS: &str = include_str!("../python-requirements.txt");

/// The nightly that runs miri. Pinned so CI does not move under us.
const MIRI_TOOLCHAIN: &str = "nightly-2026-05-20";

/// Benchmark areas and the bench targets that measure them.
const BENCH_AREAS: &[(&str, &str, &str)] = &[
    ("flow", "stagebox-flow", "flow"),
    ("plugins", "stagebox-plugins", "plugins"),
    ("scte35", "stagebox-plugins", "scte35"),
    ("loudness", "stagebox-plugins", "loudness"),
    ("captions", "stagebox-plugins", "captions"),
    ("timecode", "stagebox-plugins", "timecode"),
    ("api", "stagebox-daemon", "api"),
    ("distributor", "stagebox-io", "distributor"),
    ("hls", "stagebox-io", "hls"),
    ("ladder", "stagebox-codec", "ladder"),
];

fn main() {
    if let Err(e) = run() {
        eprintln!("xtask: error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    std::env::set_current_dir(&root).with_context(|| format!("cd {}", root.display()))?;
    match args.first().map(String::as_str) {
        Some("setup") => setup(),
        Some("run") => {
            setup()?;
            demo(&root)
        }
        Some("test") => {
            setup()?;
            test()
        }
        Some("fuzz") => {
            setup()?;
            let seconds = args.get(2).map(|s| s.parse()).transpose().context("seconds must be a number")?;
            fuzz(args.get(1).map(String::as_str), seconds.unwrap_or(60))
        }
        Some("schemathesis") => {
            // The long API fuzz run; the test command runs a short one.
            setup()?;
            let examples = args.get(1).map(String::as_str).unwrap_or("500");
            examples.parse::<u32>().context("examples must be a number")?;
            step(&format!("schemathesis against stageboxd, {examples} examples per operation"));
            sh(cargo()
                .args([
                    "test",
                    "-p",
                    "stagebox-daemon",
                    "--test",
                    "openapi",
                    "schemathesis_long_run",
                    "--",
                    "--ignored",
                    "--nocapture",
                ])
                .env("STAGEBOX_SCHEMATHESIS_EXAMPLES", examples))
        }
        Some("image") => {
            setup()?;
            image(&root)
        }
        Some("image-test") => {
            setup()?;
            image(&root)?;
            let out = root.join("target/image");
            step("boot test under qemu (TCG)");
            sh(Command::new("bash")
                .arg("images/boot-test.sh")
                .arg(out.join("stagebox.qcow2"))
                .arg(BOOT_TEST_SECONDS.to_string()))?;
            step("update and rollback test under qemu (TCG)");
            sh(Command::new("bash").arg("images/update-test.sh").arg(&out).arg(UPDATE_TEST_SECONDS.to_string()))
        }
        Some("yocto-crates") => {
            let lock = std::fs::read_to_string("Cargo.lock").context("reading Cargo.lock")?;
            std::fs::write(yocto::CRATES_INC, yocto::crates_inc(&lock)?)
                .with_context(|| format!("writing {}", yocto::CRATES_INC))?;
            eprintln!("wrote {}", yocto::CRATES_INC);
            Ok(())
        }
        Some("bench") => {
            // Benchmarks measure references (threefive, ...) in the same run.
            setup()?;
            bench(args.get(1).map(String::as_str))
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <setup|run|test|fuzz [target] [seconds]|bench [area]|schemathesis [examples]|image|image-test|yocto-crates>"
            );
            eprintln!("bench areas: {}", BENCH_AREAS.iter().map(|a| a.0).collect::<Vec<_>>().join(", "));
            bail!("unknown command {:?}", args.first().map(String::as_str).unwrap_or(""));
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

fn step(name: &str) {
    eprintln!("\n==> {name}");
}

fn sh(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let started = Instant::now();
    let status = cmd.status().with_context(|| format!("starting {shown}"))?;
    eprintln!("    ({:.1} s) {shown}", started.elapsed().as_secs_f64());
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

fn output(cmd: &mut Command) -> Option<String> {
    cmd.stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
}

/// The packages of `packages` not installed.
fn missing_packages<'a>(packages: &[(&'a str, &str)]) -> Vec<&'a str> {
    packages
        .iter()
        .map(|(p, _)| *p)
        .filter(|p| {
            output(Command::new("dpkg-query").args(["-W", "-f=${Status}", p]))
                .is_none_or(|s| !s.contains("install ok installed"))
        })
        .collect()
}

/// Installs `packages` (from `release` when given).
fn apt_install(packages: &[&str], release: Option<&str>) -> Result<()> {
    eprintln!("    installing {}", packages.join(" "));
    sh(Command::new("apt-get").arg("update").arg("-qq"))?;
    let mut install = Command::new("apt-get");
    install.args(["install", "-y", "-qq", "--no-install-recommends"]);
    if let Some(release) = release {
        install.args(["-t", release]);
    }
    sh(install.args(packages).env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Installs whatever is missing; a second run only checks.
fn setup() -> Result<()> {
    step("setup: system packages");
    let missing = missing_packages(APT_PACKAGES);
    if missing.is_empty() {
        eprintln!("    all {} present", APT_PACKAGES.len());
    } else {
        apt_install(&missing, None)?;
    }

    step("setup: rust toolchain, targets and components");
    // rust-toolchain.toml pins the toolchain; make sure its target and
    // components are there even where rustup does not add them by itself.
    let targets = output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if !targets.lines().any(|t| t.trim() == "wasm32-wasip2") {
        sh(Command::new("rustup").args(["target", "add", "wasm32-wasip2"]))?;
    }
    let components = output(Command::new("rustup").args(["component", "list", "--installed"])).unwrap_or_default();
    for c in ["rustfmt", "clippy"] {
        if !components.lines().any(|l| l.starts_with(c)) {
            sh(Command::new("rustup").args(["component", "add", c]))?;
        }
    }
    let miri = output(Command::new("rustup").args(["component", "list", "--installed", "--toolchain", MIRI_TOOLCHAIN]))
        .unwrap_or_default();
    if !(miri.lines().any(|l| l.starts_with("miri")) && miri.lines().any(|l| l.starts_with("rust-src"))) {
        sh(Command::new("rustup").args([
            "toolchain",
            "install",
            MIRI_TOOLCHAIN,
            "--profile",
            "minimal",
            "--component",
            "miri,rust-src",
        ]))?;
    }
    let fuzz = output(cargo().args(["fuzz", "--version"])).unwrap_or_default();
    if !fuzz.contains(CARGO_FUZZ_VERSION) {
        sh(cargo().args(["install", "cargo-fuzz", "--locked", "--version", CARGO_FUZZ_VERSION]))?;
    }
    eprintln!("    toolchain ready");

    step("setup: reference decoders (PyPI)");
    let stamp = Path::new(PY_VENV).join("requirements.txt");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == PY_REQUIREMENTS) {
        eprintln!("    {PY_VENV} up to date");
    } else {
        // Debian's python3 where present: pyenv shims and the like may lack venv.
        let python = if Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" };
        sh(Command::new(python).args(["-m", "venv", "--clear", PY_VENV]))?;
        let pip = Path::new(PY_VENV).join("bin/pip");
        sh(Command::new(&pip).args([
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
            "xtask/python-requirements.txt",
        ]))?;
        std::fs::write(&stamp, PY_REQUIREMENTS).with_context(|| format!("writing {}", stamp.display()))?;
    }

    // Pinned by their package-lock.json files: the browser test driver,
    // and the scripts the dashboard embeds (host/daemon/build.rs).
    for (folder, package) in [("tests/browser", "playwright-core"), ("host/daemon/dashboard", "hls.js")] {
        step(&format!("setup: {package} (npm, {folder})"));
        npm_ci(Path::new(folder), package)?;
    }
    Ok(())
}

/// `npm ci` in `folder` unless `package` is installed from the same lock.
fn npm_ci(folder: &Path, package: &str) -> Result<()> {
    let installed = folder.join("node_modules").join(package).join("package.json");
    let lock_path = folder.join("package-lock.json");
    let lock = std::fs::read_to_string(&lock_path).with_context(|| lock_path.display().to_string())?;
    let stamp = folder.join("node_modules/.lock-installed");
    if installed.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == lock) {
        eprintln!("    {}/node_modules up to date", folder.display());
    } else {
        sh(Command::new("npm").arg("ci").arg("--prefix").arg(folder).args(["--no-audit", "--no-fund"]))?;
        std::fs::write(&stamp, &lock).with_context(|| format!("writing {}", stamp.display()))?;
    }
    Ok(())
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    // A clean CI clone gains nothing from incremental caches, which take
    // gigabytes of disk.
    if std::env::var_os("CI").is_some() {
        c.env("CARGO_INCREMENTAL", "0");
    }
    c
}

fn test() -> Result<()> {
    step("format");
    sh(cargo().args(["fmt", "--all", "--", "--check"]))?;
    step("clippy");
    sh(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    step("loom: every interleaving of the ring protocol");
    sh(cargo()
        .args(["test", "-p", "stagebox-flow", "--lib", "--release", "--target-dir", "target/loom", "-q"])
        .env("RUSTFLAGS", "--cfg loom")
        .env("LOOM_MAX_PREEMPTIONS", "3"))?;
    step("miri: the pure parts (layout, descriptors, time, protocol rules)");
    sh(Command::new("cargo")
        .arg(format!("+{MIRI_TOOLCHAIN}"))
        .args(["miri", "test", "-p", "stagebox-flow", "--lib", "--target-dir", "target/miri", "-q"])
        .env("MIRIFLAGS", "-Zmiri-disable-isolation")
        .env_remove("RUSTFLAGS"))?;
    step("doc tests");
    sh(cargo().args(["test", "--workspace", "--doc", "-q"]))?;
    step("the Yocto layer: crate list, statements, oelint-adv");
    let root = workspace_root();
    yocto::check_layer(&root)?;
    // The BitBake linter, errors only: style findings are not failures. An
    // image or a bundle is made from other recipes' output: no SRC_URI.
    let mut lint = Command::new(root.join(PY_VENV).join("bin/oelint-adv"));
    lint.args(["--quiet", "--hide", "warning", "--hide", "info", "--release", "scarthgap"]);
    lint.args(["--suppress", "oelint.var.mandatoryvar.SRC_URI"]);
    for file in yocto::recipes(&root)? {
        lint.arg(file);
    }
    sh(&mut lint)?;
    fuzz(None, FUZZ_SECONDS_IN_TEST)?;
    step("unit, integration and cross-process tests");
    let nextest = output(cargo().args(["nextest", "--version"])).is_some();
    if nextest {
        sh(cargo().args(["nextest", "run", "--workspace", "--no-fail-fast"]))?;
    } else {
        sh(cargo().args(["test", "--workspace", "--no-fail-fast"]))?;
    }
    // Nothing is printed after this: the runner's summary is the last line.
    Ok(())
}

/// Runs fuzz targets (one, or all) for `seconds` each, on the pinned
/// nightly with AddressSanitizer, from the checked-in corpus. New inputs go
/// to a scratch folder, so the checked-in corpus only changes by hand
/// (`cargo fuzz cmin`); a crash fails the run and leaves its input in
/// `fuzz/artifacts/`.
fn fuzz(target: Option<&str>, seconds: u32) -> Result<()> {
    let chosen: Vec<_> = FUZZ_TARGETS.iter().filter(|(_, t)| target.is_none_or(|x| x == *t)).collect();
    if chosen.is_empty() {
        bail!(
            "unknown fuzz target {:?}; targets: {}",
            target.unwrap_or(""),
            FUZZ_TARGETS.iter().map(|t| t.1).collect::<Vec<_>>().join(", ")
        );
    }
    for (dir, name) in chosen {
        step(&format!("fuzz {name} for {seconds} s"));
        let scratch = Path::new("target/fuzz-scratch").join(name);
        std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
        let corpus = Path::new("fuzz/corpus").join(name);
        // Through rustup's `cargo`, which picks the nightly: sanitizers need it.
        sh(Command::new("cargo")
            .current_dir(dir)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_TARGET_DIR")
            .args([&format!("+{MIRI_TOOLCHAIN}"), "fuzz", "run", name])
            .arg(Path::new("../..").join(&scratch))
            .arg(&corpus)
            .args(["--", &format!("-max_total_time={seconds}"), "-print_final_stats=1"]))?;
    }
    Ok(())
}

fn bench(area: Option<&str>) -> Result<()> {
    let chosen: Vec<_> = BENCH_AREAS.iter().filter(|(name, _, _)| area.is_none_or(|a| a == *name)).collect();
    if chosen.is_empty() {
        bail!(
            "unknown bench area {:?}; areas: {}",
            area.unwrap_or(""),
            BENCH_AREAS.iter().map(|a| a.0).collect::<Vec<_>>().join(", ")
        );
    }
    for (name, package, target) in chosen {
        step(&format!("bench {name}"));
        sh(cargo().args(["bench", "-q", "-p", package, "--bench", target]))?;
    }
    Ok(())
}

/// The appliance image: the tools it needs, a release stageboxd and the
/// bundled plugins, then `images/build.sh`.
fn image(root: &Path) -> Result<()> {
    step("setup: image tools");
    let missing = missing_packages(IMAGE_PACKAGES);
    if !missing.is_empty() {
        apt_install(&missing, None)?;
    }
    if missing_packages(&[("qemu-system-x86", "")]).len() == 1 {
        if !Path::new(BACKPORTS).exists() {
            std::fs::write(
                BACKPORTS,
                "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\n\
                 Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
            )
            .with_context(|| format!("writing {BACKPORTS}"))?;
        }
        apt_install(&["qemu-system-x86"], Some("bookworm-backports"))?;
    }
    eprintln!("    image tools ready");
    step("build stageboxd and stagebox-boot (release) and the bundled plugins");
    sh(cargo().args([
        "build",
        "--release",
        "-p",
        "stagebox-daemon",
        "-p",
        "stagebox-boot",
        "--bin",
        "stageboxd",
        "--bin",
        "stagebox-boot",
    ]))?;
    let out = root.join("target/image");
    let plugins = out.join("plugins");
    install_bundled(&plugins)?;
    step("update signing keys");
    let signing = Signing::from_env(&out.join("keys"))?;
    step("the disk image");
    sh(Command::new("bash")
        .arg("images/build.sh")
        .arg(&out)
        .arg(root.join("target/release"))
        .arg(&plugins)
        .arg(&signing.keyring))?;
    step("the update bundle");
    sh(Command::new("bash")
        .arg("images/bundle.sh")
        .arg(out.join("stagebox-update.raucb"))
        .arg(out.join("rootfs.ext4"))
        .arg(image_version(root))
        .arg(&signing.cert)
        .arg(&signing.key))
}

/// Builds the bundled plugins (release) and installs them into `dir`.
fn install_bundled(dir: &Path) -> Result<()> {
    sh(cargo()
        .args(["run", "--quiet", "--release", "-p", "stagebox-guest-artifacts", "--bin", "install-bundled", "--"])
        .arg(dir))
}

/// The certificate the image trusts for updates and the signer of the
/// bundles: `STAGEBOX_KEYRING`, `STAGEBOX_SIGNING_CERT` and
/// `STAGEBOX_SIGNING_KEY` when all three are set, else a development PKI
/// made once under `dir` (images/keys.sh).
struct Signing {
    keyring: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Signing {
    fn from_env(dir: &Path) -> Result<Signing> {
        let var = |name: &str| std::env::var_os(name).map(PathBuf::from);
        match (var("STAGEBOX_KEYRING"), var("STAGEBOX_SIGNING_CERT"), var("STAGEBOX_SIGNING_KEY")) {
            (Some(keyring), Some(cert), Some(key)) => {
                eprintln!("    signing with {} under {}", cert.display(), keyring.display());
                Ok(Signing { keyring, cert, key })
            }
            (None, None, None) => {
                sh(Command::new("bash").arg("images/keys.sh").arg(dir))?;
                Ok(Signing {
                    keyring: dir.join("ca.cert.pem"),
                    cert: dir.join("signing.cert.pem"),
                    key: dir.join("signing.key.pem"),
                })
            }
            _ => bail!("set all of STAGEBOX_KEYRING, STAGEBOX_SIGNING_CERT and STAGEBOX_SIGNING_KEY, or none"),
        }
    }
}

/// The version an update bundle carries: `STAGEBOX_IMAGE_VERSION`, else
/// the workspace version and the commit.
fn image_version(root: &Path) -> String {
    if let Ok(v) = std::env::var("STAGEBOX_IMAGE_VERSION") {
        return v;
    }
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    format!("{}+{commit}", env!("CARGO_PKG_VERSION"))
}

/// The demo: until stageboxd lands (issue 5), a 1080p50 v210 test pattern
/// written into a flow by one process and read by another, which prints
/// each grain's latency. Ctrl-C stops both.
fn demo(root: &Path) -> Result<()> {
    step("build (release)");
    sh(cargo().args(["build", "--release", "-p", "stagebox-daemon", "-p", "stagebox-flow", "--bins"]))?;
    let bin = root.join("target/release");
    let bundled = root.join("target/demo/bundled-plugins");
    install_bundled(&bundled)?;
    let domain = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm/stagebox/demo")
    } else {
        std::env::temp_dir().join("stagebox/demo")
    };
    let state = root.join("target/demo/state");
    step(&format!("stageboxd: state {}, flows {}", state.display(), domain.display()));
    // Embedded defaults otherwise: self-signed TLS on 0.0.0.0:8443, the
    // redb store, the demo pipelines on a fresh state folder.
    let mut daemon = Command::new(bin.join("stageboxd"))
        .arg("--state-dir")
        .arg(&state)
        .env("STAGEBOX_FLOW_DOMAIN", &domain)
        .env("STAGEBOX_BUNDLED_PLUGINS", &bundled)
        .stdout(Stdio::piped())
        .spawn()
        .context("starting stageboxd")?;
    let result = demo_tour(&mut daemon, &bin, &domain, &state);
    if result.is_err() {
        let _ = daemon.kill();
    }
    result?;
    // Until Ctrl-C (which reaches the daemon too) or the daemon stops.
    let status = daemon.wait()?;
    if !status.success() {
        bail!("stageboxd stopped with {status}");
    }
    Ok(())
}

/// Waits for the daemon to listen, reads the demo flow from this process,
/// and says where to look next.
fn demo_tour(daemon: &mut std::process::Child, bin: &Path, domain: &Path, state: &Path) -> Result<()> {
    use std::io::{BufRead, BufReader};
    let stdout = daemon.stdout.take().context("stageboxd's stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines.next().context("stageboxd stopped before it listened")??;
        println!("{line}");
        if let Some(url) = line.strip_prefix("stageboxd: listening on ") {
            break url.replace("0.0.0.0", "localhost");
        }
    };
    // The rest of its output, as it comes.
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(|l| println!("{l}")));
    step("flow-read: the demo-timecode pipeline's output, from another process");
    sh(Command::new(bin.join("flow-read")).arg("--domain").arg(domain).args([
        "--id",
        "demo-timecode/timecode",
        "--count",
        "25",
        "--timeout-ms",
        "10000",
    ]))?;
    let cert = state.join("tls/cert.pem");
    let credential = state.join("admin-credential");
    step("running; Ctrl-C stops");
    println!(
        "  API:     {url}/api/v1 (certificate {cert})\n  \
         login:   user admin, password in {credential}\n  \
         events:  curl -sN --cacert {cert} -H \"Authorization: Bearer $TOKEN\" {url}/api/v1/events\n  \
         flows:   {flow_read} --domain {domain} --id demo-timecode/timecode",
        cert = cert.display(),
        credential = credential.display(),
        flow_read = bin.join("flow-read").display(),
        domain = domain.display(),
    );
    Ok(())
}
