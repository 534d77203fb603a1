"""The service catalog: which services exist, who handles them and what they ask for.

The catalog is data (``schemas/catalog.json``). Every channel, the routing rules (locally and
in CDK) and Open311 ``services`` read it, so adding a service is a data change.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints, model_validator

# A language code (ISO 639). Which languages exist is data: the language packs
# (functions/platform/languages) and the catalog's texts; Swedish is the default and required.
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
DEFAULT_LANGUAGE = "sv"

CATALOG_PATH = Path(__file__).with_name("catalog.json")

# eIDAS levels of assurance, weakest first: how sure the bus is of who an app identity is.
Assurance = Literal["low", "substantial", "high"]
ASSURANCE_LEVELS: tuple[Assurance, ...] = ("low", "substantial", "high")
ASSURANCE_URIS: dict[Assurance, str] = {
    level: f"http://eidas.europa.eu/LoA/{level}" for level in ASSURANCE_LEVELS
}


def at_least(level: str, minimum: str) -> bool:
    """True when ``level`` is ``minimum`` or stronger (an unknown level is weaker than all)."""
    rank: dict[str, int] = {name: i for i, name in enumerate(ASSURANCE_LEVELS)}
    return rank.get(level, -1) >= rank[minimum]


# The root models declare ``root`` themselves instead of subscripting ``RootModel[...]``: a
# subscript creates (and caches) one more model class at import, ~0.5 ms each.


class Localized(RootModel):  # type: ignore[type-arg]
    """A text per language (``{"sv": …, "en": …, "fi": …, "ar": …}``); Swedish is required and
    stands in for a language the text lacks."""

    root: dict[Language, str]
    model_config = ConfigDict(frozen=True, defer_build=True)

    @model_validator(mode="after")
    def _has_default(self) -> Localized:
        if not self.root.get(DEFAULT_LANGUAGE):
            raise ValueError(f"a text needs its {DEFAULT_LANGUAGE!r} version")
        return self

    def __call__(self, language: str) -> str:
        return self.root.get(language) or self.root[DEFAULT_LANGUAGE]

    def items(self) -> list[tuple[str, str]]:
        return list(self.root.items())

    @property
    def sv(self) -> str:
        return self.root[DEFAULT_LANGUAGE]

    @property
    def en(self) -> str:
        return self("en")


class Terms(RootModel):  # type: ignore[type-arg]
    """Words citizens use for a service, per language: how a text without a keyword is
    understood (``"sopor har inte hämtats"`` names missed waste collection)."""

    root: dict[Language, tuple[str, ...]]
    model_config = ConfigDict(frozen=True, defer_build=True)

    def items(self) -> list[tuple[str, tuple[str, ...]]]:
        return list(self.root.items())


class Attribute(BaseModel):
    """One piece of information a service asks for (an Open311 attribute)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    datatype: Literal["string", "text", "number", "singlevaluelist"] = "string"
    input: Literal["digits", "text", "choice"] = Field(
        "text", description="How phone channels take it: DTMF digits, speech/text, or a choice."
    )
    required: bool = True
    personal: bool = Field(
        False, description="Personal data: never on the bus or in open data, only via agency API."
    )
    location: bool = Field(False, description="A street address; published no finer than street.")
    pattern: str | None = None
    min_length: int = 0
    max_length: int = 500
    values: tuple[str, ...] = ()
    name: Localized
    description: Localized
    error: Localized
    not_needed_at: Assurance | None = Field(
        None,
        description="An app identity of this eIDAS level (or stronger) proves what this "
        "attribute would (the tax return's personal code with a high one): not asked for.",
    )

    def problem(self, value: str) -> str | None:
        """Why ``value`` is not acceptable, as an error key, or None when it is fine."""
        if not (self.min_length <= len(value) <= self.max_length):
            return "length"
        if self.pattern and not re.fullmatch(self.pattern, value):
            return "pattern"
        if self.values and value not in self.values:
            return "choice"
        return None


class Service(BaseModel):
    """A service citizens can request, owned by one agency."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    service_code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    agency: str
    name: Localized
    description: Localized
    keywords: Localized = Field(description="The SMS keyword in each language.")
    terms: Terms = Field(
        default_factory=lambda: Terms({}),
        description="Words for the service per language, for SMS text without a keyword.",
    )
    group: str
    sla_days: int = Field(gt=0, description="Days until a request is expected to be closed.")
    reopen_days: int = Field(
        30,
        gt=0,
        le=365,
        description="Days after resolution within which the citizen may reopen a request.",
    )
    duplicate_days: int = Field(
        0,
        ge=0,
        le=90,
        description="Me too: a filing at the same place as an open request of this service "
        "filed at most this many days before follows that request instead of filing again "
        "(0: never). Needs a location attribute that is not personal.",
    )
    public_description: bool = Field(
        False, description="Whether free text may be published in open data (after scrubbing)."
    )
    attributes: tuple[Attribute, ...]
    assurance: Assurance = Field(
        "low",
        description="The weakest eIDAS level of an app identity that may file it (the app "
        "only: SMS, phone and web filings prove no identity and keep asking for its attributes).",
    )

    def attribute(self, code: str) -> Attribute | None:
        return next((a for a in self.attributes if a.code == code), None)

    @property
    def place_attribute(self) -> Attribute | None:
        """The attribute that says where (a street address), if the service has one."""
        return next((a for a in self.attributes if a.location), None)

    @model_validator(mode="after")
    def _duplicates_need_a_public_place(self) -> Service:
        # A duplicate answer tells a stranger that someone reported this place: only where
        # the place is public data anyway (street damage), never a personal address.
        place = self.place_attribute
        if self.duplicate_days and (place is None or place.personal):
            raise ValueError(
                f"{self.service_code}: duplicate_days needs a location attribute that is not"
                " personal"
            )
        return self

    @property
    def personal_codes(self) -> frozenset[str]:
        return frozenset(a.code for a in self.attributes if a.personal)


class Agency(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    name: Localized


class Jurisdiction(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str
    name: Localized
    default_language: Language = "sv"
    phone_region: str = "SE"
    sms_countries: tuple[str, ...] = Field(
        ("SE",),
        description="ISO 3166 countries whose mobile numbers may get SMS (nothing else does).",
    )
    retention_days: int = Field(365, gt=0)


class Catalog(BaseModel):
    """The whole catalog of one jurisdiction."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    jurisdiction: Jurisdiction
    agencies: tuple[Agency, ...]
    services: tuple[Service, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Catalog:
        agency_ids = {a.id for a in self.agencies}
        codes = [s.service_code for s in self.services]
        if len(set(codes)) != len(codes):
            raise ValueError("service codes must be unique")
        keywords = [k.upper() for s in self.services for _, k in s.keywords.items()]
        if len(set(keywords)) != len(keywords):
            raise ValueError("SMS keywords must be unique across services and languages")
        for service in self.services:
            if service.agency not in agency_ids:
                raise ValueError(f"{service.service_code}: unknown agency {service.agency!r}")
        return self

    @cached_property
    def _by_code(self) -> dict[str, Service]:
        return {s.service_code: s for s in self.services}

    def service(self, code: str) -> Service | None:
        return self._by_code.get(code)

    def agency_ids(self) -> list[str]:
        return [a.id for a in self.agencies]

    def by_keyword(self, word: str) -> tuple[Service, Language] | None:
        """The service an SMS keyword names, and the keyword's language."""
        upper = word.upper()
        for service in self.services:
            for language, keyword in service.keywords.items():
                if keyword.upper() == upper:
                    return service, language
        return None


def load_catalog(path: str | None = None) -> Catalog:
    """The catalog, parsed and checked (a function keeps one: ``functions.platform.catalog``)."""
    source = Path(path) if path else CATALOG_PATH
    return Catalog.model_validate_json(source.read_bytes())
