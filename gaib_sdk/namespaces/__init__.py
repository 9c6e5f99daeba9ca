"""The client's namespaces, one module each, mirroring the protocol: ``gaib.assets``, ``gaib.deals``,
``gaib.aid``, ``gaib.said``, ``gaib.nodes``, ``gaib.venues``, ``gaib.admin``, ``gaib.bridge``. Each is bound to
one :class:`~gaib_sdk.Gaib` and shares its session; see :mod:`gaib_sdk.client`."""

from gaib_sdk.namespaces._base import Namespace
from gaib_sdk.namespaces.admin import Admin
from gaib_sdk.namespaces.aid import Aid
from gaib_sdk.namespaces.assets import Assets
from gaib_sdk.namespaces.bridge import Bridging
from gaib_sdk.namespaces.deals import Deals
from gaib_sdk.namespaces.nodes import Nodes
from gaib_sdk.namespaces.said import StakedAid
from gaib_sdk.namespaces.venues import Venues

__all__ = ["Admin", "Aid", "Assets", "Bridging", "Deals", "Namespace", "Nodes", "StakedAid", "Venues"]
