"""Powertools' catch-all package ``__init__`` modules stay unloaded, and every name still works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(code: str) -> dict[str, object]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), AWS_DEFAULT_REGION="eu-north-1")
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True
    )
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_an_http_handler_loads_the_resolver_and_not_every_other_resolver():
    loaded = _run(
        "import json, sys\n"
        "import functions.app_api.handler\n"
        "print(json.dumps({m: m in sys.modules for m in ("
        "'aws_lambda_powertools.event_handler.api_gateway',"
        "'aws_lambda_powertools.event_handler.appsync',"
        "'aws_lambda_powertools.event_handler.bedrock_agent',"
        "'aws_lambda_powertools.utilities.data_classes.kafka_event',"
        "'asyncio')}))"
    )
    assert loaded == {
        "aws_lambda_powertools.event_handler.api_gateway": True,
        "aws_lambda_powertools.event_handler.appsync": False,
        "aws_lambda_powertools.event_handler.bedrock_agent": False,
        "aws_lambda_powertools.utilities.data_classes.kafka_event": False,
        "asyncio": False,
    }


def test_every_name_of_the_packages_still_imports():
    # Names the stand-in resolves alone, submodules, and a star import (the real __init__)
    names = _run(
        "import json, functions\n"
        "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, AppSyncResolver\n"
        "from aws_lambda_powertools.event_handler import content_types\n"
        "from aws_lambda_powertools.utilities.data_classes import SQSEvent, event_source\n"
        "import aws_lambda_powertools.event_handler as eh\n"
        "from aws_lambda_powertools.event_handler import *\n"
        "print(json.dumps({'resolver': APIGatewayHttpResolver.__name__,"
        " 'appsync': AppSyncResolver.__name__, 'json': content_types.APPLICATION_JSON,"
        " 'sqs': SQSEvent.__name__, 'decorator': callable(event_source),"
        " 'all': sorted(eh.__all__) == sorted(n for n in eh.__all__ if hasattr(eh, n)),"
        " 'star': ALBResolver.__name__}))"
    )
    assert names == {
        "resolver": "APIGatewayHttpResolver",
        "appsync": "AppSyncResolver",
        "json": "application/json",
        "sqs": "SQSEvent",
        "decorator": True,
        "all": True,
        "star": "ALBResolver",
    }


def test_a_secret_read_loads_the_secrets_provider_and_not_every_other_provider():
    # functions/platform/secrets.py imports SecretsProvider from Powertools' parameters, whose
    # __init__ imports the AppConfig, DynamoDB and SSM providers too; the others still import
    loaded = _run(
        "import json, sys, functions\n"
        "from aws_lambda_powertools.utilities.parameters import SecretsProvider\n"
        "p = 'aws_lambda_powertools.utilities.parameters.'\n"
        "seen = {m: p + m in sys.modules for m in ('secrets', 'ssm', 'appconfig', 'dynamodb')}\n"
        "from aws_lambda_powertools.utilities.parameters import SSMProvider, get_parameter\n"
        "seen['later'] = [SecretsProvider.__name__, SSMProvider.__name__, callable(get_parameter)]\n"
        "print(json.dumps(seen))"
    )
    assert loaded == {
        "secrets": True,
        "ssm": False,
        "appconfig": False,
        "dynamodb": False,
        "later": ["SecretsProvider", "SSMProvider", True],
    }


def test_a_phone_number_is_checked_without_the_matcher_and_the_as_you_type_formatter():
    # phonenumbers' __init__ imports its text matcher and as-you-type formatter (regexes
    # compiled at import); the bus parses, validates and formats numbers only
    out = _run(
        "import json, sys, functions\n"
        "from functions.domain.citizens.identity import InvalidPhone, normalize_phone\n"
        "from functions.domain.citizens.contacts import sms_capable\n"
        "try:\n"
        "    normalize_phone('not a number')\n"
        "    bad = 'accepted'\n"
        "except InvalidPhone:\n"
        "    bad = 'refused'\n"
        "print(json.dumps({'e164': normalize_phone('070-123 45 67'), 'bad': bad,"
        " 'mobile': sms_capable('+46701234567', ('SE',)),"
        " 'landline': sms_capable('+4681234567', ('SE',)),"
        " 'matcher': 'phonenumbers.phonenumbermatcher' in sys.modules,"
        " 'formatter': 'phonenumbers.asyoutypeformatter' in sys.modules}))"
    )
    assert out == {
        "e164": "+46701234567",
        "bad": "refused",
        "mobile": True,
        "landline": False,
        "matcher": False,
        "formatter": False,
    }


_MATCH = (
    "import json, phonenumbers\n"
    "text = 'Ring 020 7946 0018, +44 20 7946 0018 eller 08-123 456 78'\n"
    "found = [(m.raw_string, phonenumbers.format_number(m.number, 0))"
    " for region in ('GB', 'SE') for leniency in phonenumbers.Leniency.__dict__.values()"
    " if isinstance(leniency, int)"
    " for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=leniency)]\n"
)


def test_the_alternate_formats_load_only_when_the_matcher_reads_them():
    # 46 modules of national alternate formats that only the text matcher reads: a number
    # typed in leaves them unread; the matcher finds what it found with them loaded at import
    out = _run(
        "import json, functions\n"
        "from functions.domain.citizens.identity import normalize_phone\n"
        "from phonenumbers.data import _ALT_NUMBER_FORMATS as alt\n"
        "e164 = normalize_phone('+44 20 7946 0018')\n"
        "unread = sum(list.__len__(f) for f in alt.values())\n"
        + _MATCH
        + "print(json.dumps({'e164': e164, 'unread': unread, 'found': found,"
        " 'gb': [f.pattern for f in alt[44]][:2], 'count': sum(len(f) for f in alt.values())}))"
    )
    plain = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-c",
                _MATCH + "from phonenumbers.data import _ALT_NUMBER_FORMATS"
                " as alt\nprint(json.dumps({'found': found, 'gb': [f.pattern for f in alt[44]][:2],"
                " 'count': sum(len(f) for f in alt.values())}))",
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    assert out["e164"] == "+442079460018"
    assert out["unread"] == 0
    assert plain["found"] and out["found"] == plain["found"]
    assert out["gb"] == plain["gb"] and out["count"] == plain["count"] > 100


def test_pydantic_builds_a_model_without_importlib_metadata_and_it_still_works():
    # pydantic's plugin loader imports importlib.metadata's entry_points for plugins the bus
    # disables; the real module loads only when something calls or asks for more
    out = _run(
        "import json, sys, functions\n"
        "from schemas.catalog import load_catalog\n"
        "services = len(load_catalog().services)\n"
        "loaded = {m: m in sys.modules for m in ('pydantic.plugin._loader', 'zipfile', 'csv')}\n"
        "from importlib.metadata import entry_points, version\n"
        "print(json.dumps({'services': services > 0, 'loaded': loaded,"
        " 'version': version('pydantic').split('.')[0],"
        " 'entry_points': type(entry_points(group='console_scripts')).__name__}))"
    )
    assert out == {
        "services": True,
        "loaded": {"pydantic.plugin._loader": True, "zipfile": False, "csv": False},
        "version": "2",
        "entry_points": "EntryPoints",
    }


def test_an_entry_point_search_before_anything_else_runs_the_real_module():
    out = _run(
        "import json, functions\n"
        "from importlib.metadata import entry_points\n"
        "eps = entry_points(group='console_scripts')\n"
        "import importlib.metadata as m\n"
        "print(json.dumps({'type': type(eps).__name__, 'real': m.entry_points.__module__,"
        " 'distribution': m.distribution('pydantic').metadata['Name']}))"
    )
    assert out == {"type": "EntryPoints", "real": "importlib.metadata", "distribution": "pydantic"}


def test_a_function_makes_its_clients_without_boto3_and_boto3_still_works():
    # functions/platform/aws.py makes clients from botocore; Powertools' parameters imports
    # boto3 at its top but is handed the client, so boto3's __init__ (s3transfer,
    # multiprocessing: ~10 ms) never runs in a function. Code that uses boto3 gets all of it,
    # and from then on the functions' clients come from boto3's default session (its hooks).
    seen = _run(
        "import json, sys, functions\n"
        "from functions.platform import aws, secrets\n"
        "import functions.sms.handler\n"
        "dynamodb = aws.client('dynamodb')\n"
        "provider = secrets._provider()\n"
        "import boto3\n"
        "seen = {'s3transfer': 's3transfer' in sys.modules, 'multiprocessing': 'multiprocessing'"
        " in sys.modules, 'boto3 ran': 'DEFAULT_SESSION' in vars(boto3),"
        " 'service': dynamodb.meta.service_model.service_name,"
        " 'secrets client': provider.client is aws.client('secretsmanager')}\n"
        "s3 = boto3.client('s3')\n"
        "from functions.platform import process\n"
        "process.reset()\n"
        "seen['after'] = [s3.meta.service_model.service_name, 'DEFAULT_SESSION' in vars(boto3),"
        " aws.client('sqs')._endpoint is not None,"
        " aws._session() is boto3.DEFAULT_SESSION._session]\n"
        "print(json.dumps(seen))"
    )
    assert seen == {
        "s3transfer": False,
        "multiprocessing": False,
        "boto3 ran": False,
        "service": "dynamodb",
        "secrets client": True,
        "after": ["s3", True, True, True],
    }
