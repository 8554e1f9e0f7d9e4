"""CI after `make test`: .ci/left-behind fails, saying what it found, when the tests changed
the checkout or left a message in the demo's broker folders."""

import subprocess
from pathlib import Path

import pytest
from django.conf import settings

LEFT_BEHIND = Path(settings.BASE_DIR) / ".ci" / "left-behind"


@pytest.fixture
def checkout(tmp_path):
    """A clean git checkout with the demo's (ignored) broker folders."""
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / ".gitignore").write_text("var/\n")
    git("add", ".gitignore")
    git("-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "-qm", "start")
    for folder in ("queue", "processed", "control"):
        (tmp_path / "var" / "celery" / folder).mkdir(parents=True)
    return tmp_path


def _left_behind(checkout):
    return subprocess.run([str(LEFT_BEHIND), str(checkout)], capture_output=True, text=True)


def test_a_clean_checkout_passes(checkout):
    (checkout / "var" / "celery" / "control" / "celery.pidbox.exchange").write_text("[]")
    result = _left_behind(checkout)
    assert result.returncode == 0, result.stderr


def test_a_changed_checkout_fails_naming_the_file(checkout):
    (checkout / "control").mkdir()
    (checkout / "control" / "celery.exchange").write_text("[]")
    result = _left_behind(checkout)
    assert result.returncode == 1
    assert "?? control/" in result.stderr


def test_a_message_in_the_demos_queue_fails_naming_it(checkout):
    message = checkout / "var" / "celery" / "queue" / "1_msg.celery.msg"
    message.write_text("{}")
    result = _left_behind(checkout)
    assert result.returncode == 1
    assert "var/celery/queue/1_msg.celery.msg" in result.stderr
