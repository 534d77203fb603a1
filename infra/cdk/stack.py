"""The one stack of the bus: every construct, wired from topology.py and the catalog."""

from __future__ import annotations

from aws_cdk import Stack, Tags
from constructs import Construct

from functions import topology
from infra.cdk.api_construct import ApiConstruct
from infra.cdk.bus_construct import BusConstruct
from infra.cdk.constants import EnvSettings
from infra.cdk.data_construct import DataConstruct
from infra.cdk.functions_construct import FunctionsConstruct
from infra.cdk.monitoring_construct import MonitoringConstruct
from infra.cdk.nag import suppress
from infra.cdk.open_data_construct import OpenDataConstruct
from infra.cdk.queues_construct import QueuesConstruct
from infra.cdk.scheduling_construct import SchedulingConstruct
from infra.cdk.secrets_construct import SecretsConstruct
from infra.cdk.topology_check import check_topology
from schemas.catalog import Catalog


class CitizenBusStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        settings: EnvSettings,
        catalog: Catalog,
        **kwargs: object,
    ) -> None:
        check_topology()  # before anything is built: what the topology names must exist
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.settings = settings
        Tags.of(self).add("project", "citizenbus")
        Tags.of(self).add("environment", settings.name)
        for key, value in settings.tags.items():
            Tags.of(self).add(key, value)

        self.data = DataConstruct(self, "Data", settings)
        self.secrets = SecretsConstruct(self, "Secrets", settings)
        self.queues = QueuesConstruct(self, "Queues", settings)
        self.bus = BusConstruct(self, "Bus", settings, catalog, self.queues)
        self.open_data = OpenDataConstruct(self, "OpenData", settings)
        self.api = ApiConstruct(self, "Api", settings)
        self.functions = FunctionsConstruct(
            self,
            "Functions",
            settings,
            catalog,
            self.data,
            self.queues,
            self.secrets,
            bus_name=self.bus.bus.event_bus_name,
            bus_arn=self.bus.bus.event_bus_arn,
            open_data_bucket=self.open_data.bucket,
        )
        functions = self.functions.functions

        for fn in topology.FUNCTIONS:
            if fn.uses_twilio:  # the URL Twilio signs
                functions[fn.name].add_environment("CITIZENBUS_PUBLIC_URL", self.api.url)
        self.routes = self.api.add_routes(functions)
        self.scheduling = SchedulingConstruct(self, "Scheduling", settings, functions, self.queues)
        self.functions.grant_redrive()
        self.monitoring = MonitoringConstruct(
            self,
            "Monitoring",
            settings,
            functions,
            self.queues.dlqs,
            self.api.api,
        )
        suppress(self)
