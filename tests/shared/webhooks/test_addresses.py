"""Where a webhook may go: http(s) only, no address inside the office's network, and the checked one is used."""

from __future__ import annotations

import ipaddress

import pytest

from shared.webhooks.addresses import UnsafeTarget, checked_address, parse_target, refusal
from shared.webhooks.sending import post_webhook
from tests.webhook_receiver import running_receiver

REFUSED = ["127.0.0.1", "127.1.2.3", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.10", "169.254.169.254",
           "169.254.10.1", "fe80::1", "fc00::1", "100.64.0.1", "0.0.0.0", "::", "224.0.0.1", "ff02::1",
           "::ffff:127.0.0.1", "::ffff:10.0.0.1", "192.0.2.1"]
ALWAYS_REFUSED = ["169.254.169.254", "fd00:ec2::254", "0.0.0.0", "::", "224.0.0.1", "::ffff:169.254.169.254"]


@pytest.mark.parametrize("address", REFUSED)
def test_addresses_inside_are_refused(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), allow_private=False) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111", "8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), allow_private=False) is None


def test_allow_private_opens_the_lan_but_never_metadata_unspecified_or_multicast() -> None:
    for address in ("127.0.0.1", "10.1.2.3", "192.168.1.10", "fe80::1"):
        assert refusal(ipaddress.ip_address(address), allow_private=True) is None
    for address in ALWAYS_REFUSED:
        assert refusal(ipaddress.ip_address(address), allow_private=True) is not None, address
    assert "metadata" in str(refusal(ipaddress.ip_address("169.254.169.254"), allow_private=True))


@pytest.mark.parametrize("url", ["ftp://example.org/x", "http:///nohost", "https://user:pw@example.org/",
                                 "https://example.org/#frag", "https://exa mple.org/", "javascript:alert(1)",
                                 "https://example.org:99999/", "https://example.org/\n"])
def test_urls_that_are_not_plain_http_are_refused(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        parse_target(url)


def test_a_url_is_taken_apart_for_the_connection() -> None:
    target = parse_target("https://Hooks.Example.org:8443/desa?x=1")
    assert (target.scheme, target.host, target.port, target.path) == ("https", "hooks.example.org", 8443, "/desa?x=1")
    assert target.host_header == "hooks.example.org:8443"
    assert parse_target("http://[2606:4700::1]/").host_header == "[2606:4700::1]"


def test_a_name_that_resolves_to_loopback_is_refused() -> None:
    """localhost, resolved for real by the system's resolver."""
    with pytest.raises(UnsafeTarget, match="loopback"):
        checked_address(parse_target("http://localhost:8080/hook"), allow_private=False)


def test_one_inside_address_among_public_ones_refuses_the_name() -> None:
    def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.7"]

    with pytest.raises(UnsafeTarget, match="10.0.0.7"):
        checked_address(parse_target("https://mixed.example.org/"), allow_private=False, resolver=resolver)


def test_a_name_that_does_not_resolve_is_refused() -> None:
    def resolver(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(UnsafeTarget, match="tidak dapat ditemukan"):
        checked_address(parse_target("https://nowhere.example.org/"), allow_private=False, resolver=resolver)


def test_the_attempt_connects_to_the_address_that_was_checked() -> None:
    """The name is resolved once, by the check; the connection goes to that address with the name as Host.

    hooks.desa.test resolves nowhere on this machine, so the request can only arrive if the client used the checked
    address rather than resolving the name again (as a rebinding attack would need)."""
    lookups: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"] if len(lookups) == 1 else ["10.9.9.9"]  # a second lookup would be rebound

    with running_receiver() as receiver:
        outcome = post_webhook(f"http://hooks.desa.test:{receiver.port}/in?x=1", body="{}", headers={},
                               allow_private=True, timeout=5, resolver=resolver)
        got = receiver.wait_for(1)
    assert outcome.delivered and outcome.status_code == 200
    assert lookups == ["hooks.desa.test"]
    assert got[0].path == "/in?x=1" and got[0].headers["host"] == f"hooks.desa.test:{receiver.port}"


def test_a_loopback_receiver_is_not_contacted_without_allow_private() -> None:
    with running_receiver() as receiver:
        outcome = post_webhook(receiver.url, body="{}", headers={}, allow_private=False, timeout=5)
        assert receiver.requests == []
    assert outcome.status_code is None and outcome.error is not None and "loopback" in outcome.error


def test_redirects_are_not_followed() -> None:
    with running_receiver(answers=[307]) as receiver:
        outcome = post_webhook(receiver.url, body="{}", headers={}, allow_private=True, timeout=5)
        assert len(receiver.requests) == 1
    assert not outcome.delivered and outcome.status_code == 307 and "pengalihan" in str(outcome.error)
