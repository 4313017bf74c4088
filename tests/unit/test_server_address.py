"""Which study server addresses a kiosk may send its token and uploads to, and how an
enrolment code splits into the one-time code and the key fingerprint it carries."""

from __future__ import annotations

import pytest

from epro.protocol import enrolment_fingerprint, split_enrolment_code
from epro.sync_client.pinning import ServerAddressError, check_server_url


@pytest.mark.parametrize(
    "url",
    [
        "https://study.example.org",
        "https://study.example.org:8443/epro",
        "http://127.0.0.1:8750",
        "http://127.42.0.9:8750",
        "http://[::1]:8750",
        "http://localhost:8750",
        "http://LOCALHOST",
    ],
)
def test_https_and_loopback_addresses_are_allowed(url: str) -> None:
    assert check_server_url(f"  {url} ") == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://study.example.org", "must start with https://"),
        ("http://192.0.2.10:8750", "must start with https://"),
        ("http://128.0.0.1", "must start with https://"),
        ("http://localhost.example.org", "must start with https://"),
        ("http://127.0.0.1.example.org", "must start with https://"),
        ("http://[::2]:8750", "must start with https://"),
        ("ftp://study.example.org", "not a web address"),
        ("study.example.org", "not a web address"),
        ("https://nurse:secret@study.example.org", "user name or password"),
    ],
)
def test_other_addresses_are_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(ServerAddressError, match=reason):
        check_server_url(url)


def test_an_enrolment_code_splits_into_code_and_fingerprint_as_people_type_them() -> None:
    fingerprint = enrolment_fingerprint("ab" * 32, "c2VydmVyIGtleQ==")
    assert len(fingerprint.replace("-", "")) == 32
    typed = f" abcd-efgh-jkmn + {fingerprint.upper().replace('-', ' ')} "
    assert split_enrolment_code(typed) == ("abcd-efgh-jkmn", fingerprint.replace("-", ""))
    assert split_enrolment_code("ABCD-EFGH-JKMN") == ("ABCD-EFGH-JKMN", None)
    assert enrolment_fingerprint("ab" * 32, "b3RoZXIga2V5") != fingerprint
