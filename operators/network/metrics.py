"""The network operator's own metric: `kumulus_ovn_chassis_nb_cfg_lag{chassis}`, how many of the operator's
Northbound transactions each ovn-controller has not processed yet (0: caught up; a lag that stays above 0
names a hung or dead ovn-controller, see controllers.ovn.bindings).

Read at each scrape from what the operator's last Southbound read found (`set_source`), so a chassis that
is gone is no longer exported.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

NAME = "kumulus_ovn_chassis_nb_cfg_lag"


class ChassisLagCollector(Collector):
    def __init__(self) -> None:
        self._source: Callable[[], Mapping[str, int]] | None = None
        self._lock = threading.Lock()

    def set_source(self, source: Callable[[], Mapping[str, int]] | None) -> None:
        with self._lock:
            self._source = source

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            NAME,
            "NB_Global.nb_cfg bumps (Northbound transactions of the network operator) the chassis' "
            "ovn-controller has not caught up with (Chassis_Private.nb_cfg)",
            labels=["chassis"],
        )
        with self._lock:
            source = self._source
        lags = dict(source()) if source is not None else {}  # a copy: scrapes run in another thread
        for chassis, lag in sorted(lags.items()):
            family.add_metric([chassis], lag)
        yield family


CHASSIS_LAG = ChassisLagCollector()
REGISTRY.register(CHASSIS_LAG)
