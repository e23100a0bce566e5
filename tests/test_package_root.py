"""The package root resolves its public names on first use (so ``authkeeper.verifier`` loads
without the server), and that changes nothing for a user of the server: every name is there,
and the plugins' settings sections are known to ``load_settings`` in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys

import authkeeper


def test_every_public_name_resolves() -> None:
    for name in authkeeper.__all__:
        assert getattr(authkeeper, name) is not None, name
    assert set(authkeeper.__all__) <= set(dir(authkeeper))


def test_load_settings_knows_the_plugins_sections_in_a_fresh_process() -> None:
    code = (
        "import json\n"
        "from authkeeper import load_settings\n"
        "s = load_settings(environ={'AUTHKEEPER_SECRET': 's' * 32, 'AUTHKEEPER_JWT__ENABLED': 'true',"
        " 'AUTHKEEPER_TWO_FACTOR__DIGITS': '8', 'AUTHKEEPER_ADMIN__DEFAULT_ROLE': 'user'})\n"
        "print(json.dumps([s.jwt.enabled, s.two_factor.digits, s.admin.default_role]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [True, 8, "user"]
