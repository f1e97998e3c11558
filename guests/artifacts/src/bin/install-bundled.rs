//! `install-bundled DIR`: writes the bundled plugins into DIR for stageboxd
//! (`bundled_plugins` in its configuration).

#![forbid(unsafe_code)]

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: install-bundled DIR");
        std::process::exit(2);
    };
    if let Err(e) = stagebox_guest_artifacts::install_bundled(std::path::Path::new(&dir)) {
        eprintln!("install-bundled: {e}");
        std::process::exit(1);
    }
}
