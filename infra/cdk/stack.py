"""The one stack of the bus: every construct, wired from topology.py and the catalog."""

from __future__ import annotations

from aws_cdk import CfnParameter, Stack, Tags
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

        twilio = twilio_parameters(self) if any(f.uses_twilio for f in topology.FUNCTIONS) else {}
        for fn in topology.FUNCTIONS:
            if fn.uses_twilio:  # the URL Twilio signs, and the account and sender it texts from
                functions[fn.name].add_environment("CITIZENBUS_PUBLIC_URL", self.api.url)
                for variable, parameter in twilio.items():
                    functions[fn.name].add_environment(variable, parameter.value_as_string)
        self.routes = self.api.add_routes(self.functions.targets)
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


def twilio_parameters(stack: Stack) -> dict[str, CfnParameter]:
    """The operator's Twilio account and sender, given at deploy (``--parameters``).

    Not secrets (the auth token is in Secrets Manager), but the operator's own: without them
    the functions would text from the local bus's placeholder account and every SMS would
    fail at Twilio. Required, so a deploy that forgets them fails before anything changes.
    """
    return {
        "TWILIO_ACCOUNT_SID": CfnParameter(
            stack,
            "TwilioAccountSid",
            description="The Twilio account SID that sends the texts (AC + 32 hex digits).",
            allowed_pattern="^AC[0-9a-fA-F]{32}$",
            constraint_description="a Twilio account SID: AC followed by 32 hex digits",
        ),
        "TWILIO_FROM_NUMBER": CfnParameter(
            stack,
            "TwilioFromNumber",
            description="The Twilio number texts are sent from, E.164 (+46...).",
            allowed_pattern="^\\+[1-9][0-9]{6,14}$",
            constraint_description="an E.164 phone number: + and 7 to 15 digits",
        ),
        "TWILIO_MESSAGING_SERVICE_SID": CfnParameter(
            stack,
            "TwilioMessagingServiceSid",
            description="Optional: a Messaging Service (MG...) to send through instead.",
            default="",
            allowed_pattern="^(MG[0-9a-fA-F]{32})?$",
            constraint_description="empty, or MG followed by 32 hex digits",
        ),
    }
