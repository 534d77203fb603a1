"""An existing Open311 client from PyPI (``georeport``) reads the local bus over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
from georeport import GeoReport

from citizenbus.local.runtime import DEFAULT_OPEN311_KEY
from citizenbus.local.server import make_server
from tests.support.privacy import PublicWatch


@pytest.fixture
def base_url(open_data: PublicWatch) -> Iterator[str]:
    """The local bus's HTTP front on a free loopback port, served from a thread."""
    server = make_server(open_data.bus, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_reads_services_and_a_request_filed_by_post(
    open_data: PublicWatch, base_url: str, fmt: str
) -> None:
    client = GeoReport(
        f"{base_url}/open311/v2", jurisdiction="demo.citizenbus.org", output_format=fmt
    )
    services = client.get_service_list()
    open_data.saw("georeport services", services)
    assert [s["service_code"] for s in services] == [
        "tax-return-approve",
        "street-damage",
        "missed-waste-collection",
    ]
    definition = client.get_service_definition("street-damage")
    open_data.saw("georeport definition", definition)
    assert definition["service_code"] == "street-damage"

    # File through Open311 POST over HTTP, as an app would (georeport only reads)
    fields = {
        "api_key": DEFAULT_OPEN311_KEY,
        "jurisdiction_id": "demo.citizenbus.org",
        "service_code": "street-damage",
        "address_string": "Vasagatan 11, lgh 1001",
        "description": "Sprucken asfalt, ring 070-444 33 22",
        "email": "client.user@example.se",
        "first_name": "Ingrid",
        "last_name": "Klientsson",
    }
    open_data.remember(
        "070-444 33 22", "client.user@example.se", "Klientsson", "Vasagatan 11, lgh 1001"
    )
    posted = requests.post(f"{base_url}/open311/v2/requests.json", data=fields, timeout=10)
    assert posted.status_code == 201, posted.text
    reference = posted.json()[0]["service_request_id"]

    listed = client.get_service_requests(service_code="street-damage", status="open")
    if fmt == "xml" and isinstance(listed, dict):  # xmltodict: one <request> is not a list
        listed = [listed]
    open_data.saw("georeport requests", listed)
    assert [r["service_request_id"] for r in listed] == [reference]
    one = client.get_service_request(reference)
    open_data.saw("georeport request", one)
    assert one["service_request_id"] == reference and one["status"] == "open"
    assert one["address"] == "Vasagatan" and one["description"] == "Sprucken asfalt, ring […]"
    with pytest.raises(requests.HTTPError) as refused:
        client.get_service_request("1234567890")
    assert refused.value.response.status_code == 404
