"""The plugin author's kit: a conformance suite that every asset adapter and venue runs, first-party and
third-party alike, and a pytest plugin (``gaib_sdk.testing.pytest_plugin``, loaded by pytest through the
``pytest11`` entry point) that registers its marker and provides fixtures.

A plugin's tests run the suite by subclassing one class and naming the class under test::

    from gaib_sdk.testing import AssetAdapterConformance
    from gaib_battery import BatteryAdapter

    class TestBatteryAdapter(AssetAdapterConformance):
        adapter = BatteryAdapter

Needs pytest (``pip install "gaib-sdk[test]"``). ``gaib plugin new NAME`` writes a plugin whose tests do this.
"""

import pytest

# Before the import below, so that a failed check shows the values it compared.
pytest.register_assert_rewrite("gaib_sdk.testing.conformance")

from gaib_sdk.testing.conformance import AssetAdapterConformance, VenueConformance  # noqa: E402

__all__ = ["AssetAdapterConformance", "VenueConformance"]
