"""DynamoDB tables from functions/topology.py TABLES, encrypted with one customer key."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from functions import topology
from functions.topology import Table
from infra.cdk.constants import EnvSettings


def _attribute(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class DataConstruct(Construct):
    """Every table with point-in-time recovery, TTL, streams and indexes as the topology says.

    The tables hold personal data (phone numbers, e-mail, personal codes), so they are
    encrypted with a customer-managed key with yearly rotation: its key policy and CloudTrail
    decrypt records show who can and did read them, which an AWS-owned key cannot.
    """

    def __init__(self, scope: Construct, construct_id: str, settings: EnvSettings) -> None:
        super().__init__(scope, construct_id)
        self.settings = settings
        removal = RemovalPolicy.RETAIN if settings.retain_data else RemovalPolicy.DESTROY
        self.key = kms.Key(
            self,
            "DataKey",
            alias=f"alias/{settings.prefix}-data",
            description="citizenbus tables (personal data)",
            enable_key_rotation=True,
            removal_policy=removal,
        )
        self.tables: dict[str, dynamodb.Table] = {}
        for table in topology.TABLES:
            self.tables[table.name] = self._table(table, removal)

    def table_name(self, table: Table) -> str:
        return self.settings.physical(f"citizenbus-{table.name}")

    def warm_throughput(self, table: Table) -> dynamodb.WarmThroughput | None:
        """Deadline day (``-c deadline_day=true``): the table pre-warmed to what the capacity
        model needs at the peak (functions/topology.py DEADLINE_DAY_WARM_THROUGHPUT)."""
        warm = topology.DEADLINE_DAY_WARM_THROUGHPUT.get(table.name)
        if not self.settings.deadline_day or warm is None:
            return None
        reads, writes = warm
        return dynamodb.WarmThroughput(read_units_per_second=reads, write_units_per_second=writes)

    def _table(self, table: Table, removal: RemovalPolicy) -> dynamodb.Table:
        resource = dynamodb.Table(
            self,
            f"Table-{table.name}",
            table_name=self.table_name(table),
            partition_key=_attribute(table.key),
            sort_key=_attribute(table.sort_key) if table.sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=table.ttl,
            stream=dynamodb.StreamViewType.NEW_IMAGE if table.stream else None,
            deletion_protection=self.settings.retain_data,
            warm_throughput=self.warm_throughput(table),
            removal_policy=removal,
        )
        for index, hash_key, range_key in table.indexes:
            resource.add_global_secondary_index(
                index_name=index,
                partition_key=_attribute(hash_key),
                sort_key=_attribute(range_key) if range_key else None,
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return resource
