"""`make test` starts with scripts/ensure-chromium: Chromium there, installed, or one line saying what to install.

The script runs for real, read from stdin, with a PATH of our choosing whose commands are links to the machine's
own. Installing through apt-get is what `make test` itself does on a machine without Chromium.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "ensure-chromium"


def run_script(bin_dir: Path, *commands: str, as_user: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run the script with only `commands` (links to the real ones) on its PATH."""
    for command in commands:
        (bin_dir / command).symlink_to(shutil.which(command))
    return subprocess.run(
        [*as_user, "/bin/bash", "-s"],
        input=SCRIPT.read_text(),
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_chromium_on_the_path_is_enough(tmp_path):
    (tmp_path / "chromium").symlink_to("/bin/true")

    result = run_script(tmp_path)

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_without_apt_get_it_stops_with_one_line_saying_what_to_install(tmp_path):
    result = run_script(tmp_path)

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "there is no apt-get here" in result.stderr
    assert "sudo apt-get install chromium" in result.stderr and "make test-fast" in result.stderr


def test_a_user_who_may_not_install_gets_one_line_too():
    if shutil.which("apt-get") is None:
        pytest.fail("this test needs a machine with apt-get")
    # root runs the script as nobody; anyone else as themselves, with no sudo on the PATH
    nobody = (shutil.which("setpriv"), "--reuid=nobody", "--regid=nogroup", "--clear-groups") if os.getuid() == 0 else ()
    bin_dir = Path(tempfile.mkdtemp(prefix="ensure-chromium-", dir="/tmp"))
    try:
        bin_dir.chmod(0o755)
        result = run_script(bin_dir, "apt-get", "id", as_user=nobody)
    finally:
        shutil.rmtree(bin_dir)

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "only root (or sudo without a password) may install it" in result.stderr
