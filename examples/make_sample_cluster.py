"""Write the sample GPU cluster used by the quickstart: 8 HGX servers x 8 H100 SXM5, two signed customers.

    python examples/make_sample_cluster.py > plugins/gaib-gpu/gaib_gpu/data/sample_cluster.json

Deterministic: the same file every run. The figures are illustrative, of the right order for 2025:
an 8-GPU HGX H100 server at about $250,000 (so $31,250 a GPU), leased at $2.10-2.25 per GPU-hour.
"""

import json
import uuid
from datetime import date, timedelta

HOURS_A_MONTH = 730
SERVERS, GPUS_PER_SERVER = 8, 8


def month(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


gpus, telemetry = [], []
for s in range(SERVERS):
    for g in range(GPUS_PER_SERVER):
        serial = f"16549220{s:02d}{g:03d}"
        gpus.append(
            {
                "server": f"hgx-h100-{s + 1:02d}",
                "vendor": "NVIDIA",
                "model": "H100 SXM5 80GB",
                "serial": serial,
                "uuid": "GPU-" + str(uuid.uuid5(uuid.NAMESPACE_OID, serial)),
                "memory_gb": 80,
                "purchase_price_usd": "31250.00",
                "purchased_on": "2025-09-01",
                "site": "Keflavik DC-1, rack B" + str(s // 4 + 1),
            }
        )
        telemetry.append(
            {
                "serial": serial,
                "observed_at": "2026-11-01T00:00:00Z",
                "healthy": True,
                "utilisation": round(0.82 + 0.01 * ((s * 8 + g) % 12), 2),
                "metrics": {"temperature_c": 61.0 + g, "power_w": 640.0 + 5 * g, "ecc_uncorrected": 0.0},
            }
        )


def contract(customer, gpus_leased, rate, signed, term_months, late_days=()):
    monthly = round(gpus_leased * rate * HOURS_A_MONTH, 2)
    start = month(signed, 1)
    payments = []
    for i in range(13):
        due = month(start, i)
        if due > date(2026, 11, 1):
            break
        paid = due + timedelta(days=late_days[i] if i < len(late_days) else 3)
        payments.append({"due_on": due.isoformat(), "amount_usd": f"{monthly:.2f}", "paid_on": paid.isoformat()})
    return {
        "customer": customer,
        "signed_on": signed.isoformat(),
        "starts_on": start.isoformat(),
        "term_months": term_months,
        "monthly_revenue_usd": f"{monthly:.2f}",
        "payments": payments,
    }


inventory = {
    "operator": "Northwind Neo-Cloud Ltd",
    "gpus": gpus,
    "contracts": [
        # the leases outlast a 24-month deal opened in late 2026 (issue 13: with full costs, GPUs re-let by
        # the hour after the leases end do not cover the installments)
        contract("Helix AI Labs", 40, 2.10, date(2025, 9, 15), 48, late_days=(2, 5, 1, 12)),
        contract("Aurora Robotics Research", 24, 2.25, date(2025, 10, 10), 36),
    ],
    "telemetry": telemetry,
}
print(json.dumps(inventory, indent=1))
