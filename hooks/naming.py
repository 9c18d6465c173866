"""Names of the children of a RoleBasedGroup, as upstream spells them."""

import hashlib


def workload_name(group: str, role: str) -> str:
    """StatefulSet / Deployment of a role; its pods are "<group>-<role>-<ordinal>"."""
    return f"{group}-{role}"


def service_name(group: str, role: str) -> str:
    """Headless Service of a StatefulSet role (upstream v0.3-v0.6 spelling)."""
    return f"{group}-{role}"


def discovery_name(group: str) -> str:
    """The group's discovery ConfigMap, mounted at /etc/rbg."""
    return f"{group}-discovery"


def group_unique_key(namespace: str, group: str) -> str:
    return hashlib.sha1(f"{namespace}/{group}".encode()).hexdigest()
