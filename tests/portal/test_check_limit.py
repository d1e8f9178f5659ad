"""'Check only' is limited per account and hour (portal.province._limit_checks): a script checking files in
a loop is refused with a 429 and an audit line, and the account can still submit."""
from __future__ import annotations

from portal.accounts import audit_entries
from portal_helpers import good_file, upload


def test_checks_beyond_the_hourly_limit_are_refused_and_audited(signed_in, monkeypatch):
    monkeypatch.setenv("COP_PORTAL_CHECKS_PER_HOUR", "2")  # this module's database is fresh: no checks yet
    client = signed_in("ic_clerk")
    for seed in (1, 2):
        assert upload(client, "IC", good_file("IC", seed=seed, units=3), action="check").status_code == 303
    refused = upload(client, "IC", good_file("IC", seed=3, units=3), action="check")
    assert refused.status_code == 429 and "files in the last hour" in refused.text
    assert any(e["action"] == "upload.refused" and e["detail"].get("reason") == "check rate limit"
               for e in audit_entries(username="ic_clerk"))
    assert upload(client, "IC", good_file("IC", seed=4, units=3), action="submit").status_code == 303
