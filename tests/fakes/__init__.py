"""Local fake vendor APIs (n8n, HubSpot, Harvest, Toggl, Make) for the extract tests.

Each fake is a real HTTP server on 127.0.0.1 (free port) speaking the vendor's paths, auth
headers, paging and error statuses, with fault injection (429 storms with Retry-After, 5xx,
malformed bodies, ``repeat_cursor``: paging that never advances) and a request log. Start one with ``with FakeN8n(...) as fake: fake.url``.
"""

from tests.fakes.harvest import FakeHarvest
from tests.fakes.hubspot import FakeHubSpot
from tests.fakes.make import FakeMake
from tests.fakes.n8n import FakeN8n
from tests.fakes.server import FakeApi, Fault, Request
from tests.fakes.toggl import FakeToggl

__all__ = ["FakeApi", "FakeHarvest", "FakeHubSpot", "FakeMake", "FakeN8n", "FakeToggl", "Fault", "Request"]
