"""A ControllerRevision of a role: one entry of the group's rollout history.

It records the role's pod template as the user wrote it (after role templates are resolved;
without the labels, env and mount the hooks add), so `rbg rollout undo` can put it back.
Named by the hash of that template: the same template always gives the same name, and a name
never stands for another template, which Kubernetes requires (a ControllerRevision's `data`
can never change; its `revision` number can).
"""

from __future__ import annotations

from typing import Any

from .. import constants as c
from ..naming import content_hash


def template_hash(template: dict[str, Any]) -> str:
    return content_hash(template, c.REVISION_HASH_LENGTH)


def revision_name(group: str, role: str, revision_hash: str) -> str:
    """"<group>-<role>-<hash>": within 63 characters, as "<group>-<role>" is at most 52."""
    return f"{group}-{role}-{revision_hash}"


def controller_revision(
    group: str, role: str, template: dict[str, Any], revision: int, revision_hash: str | None = None
) -> dict[str, Any]:
    """Revision number `revision` of the role's `template`.

    `revision_hash` names a revision recorded before (read from its label), so that its name is
    kept whatever the hash of its template would be today; by default, the template's hash.
    """
    digest = revision_hash or template_hash(template)
    return {
        "apiVersion": c.APPS_V1,
        "kind": c.KIND_CONTROLLER_REVISION,
        "metadata": {
            "name": revision_name(group, role, digest),
            "labels": {c.LABEL_GROUP_NAME: group, c.LABEL_REVISION_ROLE: role, c.LABEL_REVISION_HASH: digest},
        },
        "data": {"template": template},
        "revision": revision,
    }


def group_revision(group: str, name: str, digest: str, data: dict[str, Any], revision: int) -> dict[str, Any]:
    """Revision number `revision` of the group's spec, in upstream's form (its `kubectl rbg rollout
    history|diff|undo` reads these): labelled with the group's name and the hash of `data`, a
    strategic-merge patch that puts the spec's roles (without replicas) and roleTemplates back."""
    return {
        "apiVersion": c.APPS_V1,
        "kind": c.KIND_CONTROLLER_REVISION,
        "metadata": {"name": name, "labels": {c.LABEL_GROUP_NAME_V2: group, c.LABEL_GROUP_REVISION: digest}},
        "data": data,
        "revision": revision,
    }


def instance_set_revision(instance_set: str, digest: str, template: dict[str, Any], revision: int) -> dict[str, Any]:
    """Revision number `revision` of a RoleInstanceSet's instance template, named and labelled by
    `digest` (the hash its instances' controller-revision-hash label carries)."""
    return {
        "apiVersion": c.APPS_V1,
        "kind": c.KIND_CONTROLLER_REVISION,
        "metadata": {"name": f"{instance_set}-{digest}", "labels": {c.LABEL_ROLE_INSTANCE_OWNER: instance_set, c.LABEL_CONTROLLER_REVISION_HASH: digest}},
        "data": {"roleInstanceTemplate": template},
        "revision": revision,
    }
