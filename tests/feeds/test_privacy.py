"""The pseudonymization key: created on first run, private, stable."""

from __future__ import annotations

import stat
from pathlib import Path

from feeds.privacy import KEY_FILE, Pseudonymizer


def test_key_created_private_and_stable(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Pseudonymizer.from_data_dir(data)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / KEY_FILE).stat().st_mode) == 0o600
    again = Pseudonymizer.from_data_dir(data)
    raw = "110105199001011234"
    assert first(raw) == again(raw) != raw
    assert raw not in first(raw)


def test_other_installation_other_pseudonym(tmp_path: Path) -> None:
    a = Pseudonymizer.from_data_dir(tmp_path / "a")
    b = Pseudonymizer.from_data_dir(tmp_path / "b")
    assert a("110105199001011234") != b("110105199001011234")


def test_pseudonym_is_hmac_sha256_of_the_key() -> None:
    """The fast path (pads hashed once) must stay bit for bit RFC 2104 HMAC-SHA256, also
    for a key longer than a block: recordings and alerts keep the same pseudonyms."""
    import hashlib
    import hmac

    for key in (b"k" * 16, bytes(range(32)), b"long-key-" * 10):
        pseudo = Pseudonymizer(key)
        for raw in ("110105199001011234", "37010219900101000X", "张三"):
            want = "p-" + hmac.new(key, raw.encode(), hashlib.sha256).hexdigest()[:20]
            assert pseudo(raw) == want
            assert pseudo(raw) == want  # from the memo
