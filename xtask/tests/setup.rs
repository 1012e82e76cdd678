//! setup is idempotent: once the toolchains are there, a run installs nothing
//! and says so.

mod common;

#[test]
fn a_second_setup_does_nothing_and_says_so() {
    let root = common::Root::new();
    let first = root.xtask(&["setup"]);
    assert!(first.ok(), "{}", first.show());
    let second = root.xtask(&["setup"]);
    assert!(second.ok(), "{}", second.show());
    assert!(
        second.stdout.contains("setup: nothing to install"),
        "{}",
        second.show()
    );
    assert!(second.stdout.contains("rust: ready"), "{}", second.show());
    assert!(second.stdout.contains("go: ready"), "{}", second.show());
    assert!(!second.stderr.contains("apt-get"), "{}", second.show());
}
