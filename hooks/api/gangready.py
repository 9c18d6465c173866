"""The gang-ready DecoratorController's requests: pods of a gang and their readiness."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr
from typing_extensions import Required, TypedDict

from .. import constants as c
from .spec import _shaped
from .wire import _ObservedTypes


class GangPodMeta(TypedDict, total=False):
    name: Required[Annotated[StrictStr, Field(min_length=1)]]
    namespace: Required[Annotated[StrictStr, Field(min_length=1)]]
    labels: dict[str, StrictStr] | None


class GangPodStatus(TypedDict, total=False):
    phase: StrictStr | None


class GangPod(TypedDict, total=False):
    apiVersion: Required[Literal["v1"]]
    kind: Required[Literal["Pod"]]
    metadata: Required[GangPodMeta]
    status: GangPodStatus | None


class RelatedPods(_ObservedTypes):
    """The pods the customize hook asked for: Metacontroller sends their type, possibly empty."""

    pods: dict[str, GangPod] = Field(validation_alias=c.RELATED_POD)


class GangReadySyncRequest(BaseModel):
    """A Metacontroller DecoratorController sync request about a pod: the pod as `object`, the
    pods of its group as `related`. It may observe no attachment: the answer returns none, and
    Metacontroller would delete any it omitted."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    controller: dict[str, Any]
    target: Annotated[dict[str, Any], _shaped(GangPod)] = Field(validation_alias="object")
    attachments: dict[str, Annotated[dict[str, Any], Field(max_length=0)]]
    related: Annotated[dict[str, dict[str, dict[str, Any]]], _shaped(RelatedPods)]
    finalizing: Literal[False] = False


class GangReadyCustomizeRequest(BaseModel):
    """A Metacontroller customize request about a pod: which pods are its group."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    controller: dict[str, Any]
    parent: Annotated[dict[str, Any], _shaped(GangPod)]
