"""Host directory layouts the WASI test programs expect."""
import os

# the symlinks escape.c tries (the absolute one, out_abs, is made per layout)
ESCAPE_LINKS = {"out_rel": "../outside/secret.txt", "out_dir": "../outside", "chain": "hop",
                "hop": "../outside", "loop_a": "loop_b", "loop_b": "loop_a",
                "ok_link": "inner/f.txt", "ok_dir": "inner", "via": "ok_dir"}


def escape_layout(root):
    """root/sandbox (to preopen) and root/outside (to protect); returns both."""
    sandbox, outside = root / "sandbox", root / "outside"
    (sandbox / "inner").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (sandbox / "inner" / "f.txt").write_text("inside")
    for name, target in ESCAPE_LINKS.items():
        os.symlink(target, sandbox / name)
    os.symlink(outside / "secret.txt", sandbox / "out_abs")
    return sandbox, outside
