"""The sample clients: four base profiles, one module each, and their cycled variants.

- ``harbour-legal``  Europe/London GBP, Harvest (:mod:`.harbour_legal`);
- ``hudson-roofing`` America/New_York USD, Toggl (:mod:`.hudson_roofing`);
- ``rheinwerk-logistik`` Europe/Berlin EUR, Harvest (:mod:`.rheinwerk_logistik`);
- ``bondi-physio`` Australia/Sydney AUD, Toggl (:mod:`.bondi_physio`).

In a profile, month offsets count from the engagement start (= the first generated month);
``go`` = (month offset, day of month). Hours are per month.

:func:`client_specs` cycles through the profiles when more clients are asked for, varying
each copy's scale, fees, guarantee, go-live dates and error rates, and fits the go-live
and retirement dates into the generated months.
"""

from __future__ import annotations

import json
from datetime import date

from roi_pipeline.sample.clients.bondi_physio import BONDI_PHYSIO
from roi_pipeline.sample.clients.harbour_legal import HARBOUR_LEGAL
from roi_pipeline.sample.clients.hudson_roofing import HUDSON_ROOFING
from roi_pipeline.sample.clients.rheinwerk_logistik import RHEINWERK_LOGISTIK
from roi_pipeline.sample.common import add_months, seeded_random

BASE_CLIENTS: list[dict] = [HARBOUR_LEGAL, HUDSON_ROOFING, RHEINWERK_LOGISTIK, BONDI_PHYSIO]


def client_specs(n: int, seed: int, months: int, start: date) -> list[dict]:
    """``n`` client specifications (deep copies), the first four being the base profiles."""
    specs = []
    for i in range(n):
        base = BASE_CLIENTS[i % len(BASE_CLIENTS)]
        copy_no = i // len(BASE_CLIENTS)
        spec = json.loads(json.dumps(base, default=list))  # deep copy (tuples -> lists)
        spec["season"] = {int(k): v for k, v in base["season"].items()}
        spec["scale"] = 1.0
        if copy_no:
            vr = seeded_random(seed, base["id"], str(copy_no), "variant")
            spec["id"] = f"{base['id']}-{copy_no + 1:03d}"
            spec["name"] = f"{base['name']} (sample {copy_no + 1:03d})"
            spec["scale"] = round(vr.uniform(0.6, 1.5), 2)
            spec["build_fee"] = int(base["build_fee"] * vr.choice([0.8, 1.0, 1.25]))
            spec["fee"] = [[off, round(v * vr.choice([0.9, 1.0, 1.1]))] for off, v in base["fee"]]
            spec["guarantee"] = vr.choice([0, 30, 40, 40, 60]) if base["guarantee"] else 0
            shift = vr.choice([0, 1, 2]) - 1
            for wf in spec["workflows"]:
                wf["go"] = [max(1, wf["go"][0] + shift), vr.randint(1, 25)]
                wf["err"] = round(wf["err"] * vr.choice([0.5, 1.0, 1.5, 2.5]), 4)
        # Fit the calendar to short histories: go-lives stay inside the generated months.
        for wf in spec["workflows"]:
            off = min(wf["go"][0], max(0, months - 2))
            wf["go_live"] = add_months(start, off).replace(day=wf["go"][1])
            wf["go_off"] = off
            if wf.get("retire_after"):
                r_off = max(off + 1, min(off + wf["retire_after"], months - 2))
                wf["retired_on"] = add_months(start, r_off).replace(day=15)
        specs.append(spec)
    return specs
