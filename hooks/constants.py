"""Every name the API and its children share: labels, annotations, env vars, conditions.

Labels and env vars are part of the public contract (users select pods with them), so both
the upstream v0.3-v0.6 spellings and the newer v0.7+ spellings are carried where the
upstream contract says so.
"""

GROUP = "workloads.x-k8s.io"
# v1alpha2 is the storage version and the one the hooks read; v1alpha1 is served (deprecated) and
# converted by the conversion webhook (hooks.conversion).
VERSION = "v1alpha2"
API_VERSION = f"{GROUP}/{VERSION}"
VERSION_V1ALPHA1 = "v1alpha1"
API_VERSION_V1ALPHA1 = f"{GROUP}/{VERSION_V1ALPHA1}"
V1ALPHA1_DEPRECATION = f"{API_VERSION_V1ALPHA1} is deprecated: use {API_VERSION}"
KIND_RBG = "RoleBasedGroup"
KIND_RBGS = "RoleBasedGroupSet"
KIND_RBGSA = "RoleBasedGroupScalingAdapter"
# The seed documents' spelling of a set: spec.groupTemplate, roles named by `role`.
SEED_GROUP = "openpatio.io"
SEED_API_VERSION = f"{SEED_GROUP}/{VERSION_V1ALPHA1}"
# Its resource names: kind RoleBasedGroupSet as upstream's, but a plural and singular of its own.
# kubectl resolves a name that two groups serve to the group first in discovery order (openpatio.io
# before workloads.x-k8s.io), so shared names would hide upstream's sets: `rolebasedgroupsets`,
# `rolebasedgroupset`, `RoleBasedGroupSet` and `rbgs` are upstream's; the seed form answers to
# `oprbgs`, `seedrolebasedgroupsets[.openpatio.io]` and `RoleBasedGroupSet.openpatio.io`.
SEED_PLURAL = "seedrolebasedgroupsets"
SEED_SINGULAR = "seedrolebasedgroupset"
SEED_SHORT_NAME = "oprbgs"

# On every member of a set, and on its pods (the set's status.selector selects them).
LABEL_SET_NAME = "rolebasedgroupset.workloads.x-k8s.io/name"
LABEL_SET_INDEX = "rolebasedgroupset.workloads.x-k8s.io/rbg-index"
# On a member: a hash of the set's template it was last given (hooks.core.rbgs).
ANNOTATION_SET_TEMPLATE_HASH = "rolebasedgroupset.workloads.x-k8s.io/template-hash"

# Selector labels (upstream v0.3-v0.6). Immutable in StatefulSet selectors: never rename.
LABEL_GROUP_NAME = "rolebasedgroup.workloads.x-k8s.io/name"
LABEL_ROLE_NAME = "rolebasedgroup.workloads.x-k8s.io/role"
# Newer upstream (v0.7+) spellings, carried on pods so manifests of either era select them.
LABEL_GROUP_NAME_V2 = "rbg.workloads.x-k8s.io/group-name"
LABEL_ROLE_NAME_V2 = "rbg.workloads.x-k8s.io/role-name"
# sha1("<namespace>/<name>"): the key exclusive-topology affinity matches on.
LABEL_GROUP_UNIQUE_KEY = "rolebasedgroup.workloads.x-k8s.io/group-unique-key"
# Set by the StatefulSet controller on every pod (Kubernetes >= 1.28).
LABEL_POD_INDEX = "apps.kubernetes.io/pod-index"
# Set by the StatefulSet controller on every pod: the revision (status.updateRevision) it runs.
LABEL_REVISION = "controller-revision-hash"
# Upstream's rollout history (its kubectl rbg plugin reads it): a ControllerRevision of the whole
# spec per change, labelled with the group's name (LABEL_GROUP_NAME_V2) and this hash of its data;
# every workload labelled LABEL_ROLE_REVISION_PREFIX + <role> with the hash of its role.
LABEL_GROUP_REVISION = "rbg.workloads.x-k8s.io/group-revision"
LABEL_ROLE_REVISION_PREFIX = "rbg.workloads.x-k8s.io/role-revision-"
# On the group's ControllerRevisions (its rollout history, hooks.core.history): the hash of the
# role's pod template that the revision records, also the last part of its name.
LABEL_REVISION_HASH = "rolebasedgroup.workloads.x-k8s.io/revision-hash"
# A revision's role. Not the role selector label: a StatefulSet would see our revisions as its own.
LABEL_REVISION_ROLE = "rolebasedgroup.workloads.x-k8s.io/revision-role"

# Topology placement (hooks.core.topology): a group's annotations, in upstream's two spellings,
# and a role's (or its pod template's) opt-out; colocated-topology is ours: one domain, not exclusive.
ANNOTATIONS_EXCLUSIVE_TOPOLOGY = (
    "rolebasedgroup.workloads.x-k8s.io/exclusive-topology",
    "rbg.workloads.x-k8s.io/group-exclusive-topology",
)
ANNOTATION_COLOCATED_TOPOLOGY = "rolebasedgroup.workloads.x-k8s.io/colocated-topology"
# Ours: "Cluster" keeps groups of every namespace out of an exclusive group's domain; by default
# (as upstream) only groups of its own namespace are kept out.
ANNOTATION_EXCLUSIVE_TOPOLOGY_SCOPE = "rbg.workloads.x-k8s.io/exclusive-topology-scope"
EXCLUSIVE_SCOPE_CLUSTER = "Cluster"
ANNOTATIONS_DISABLE_EXCLUSIVE_TOPOLOGY = (
    "rolebasedgroup.workloads.x-k8s.io/disable-exclusive-topology",
    "rbg.workloads.x-k8s.io/role-disable-exclusive",
)

# Metacontroller keeps what a hook last returned for a child in this annotation.
ANNOTATION_LAST_APPLIED = "metacontroller.k8s.io/last-applied-configuration"

# Environment injected into every container, ahead of the user's own variables.
ENV_GROUP_NAME = ("GROUP_NAME", "RBG_GROUP_NAME")
ENV_ROLE_NAME = ("ROLE_NAME", "RBG_ROLE_NAME")
ENV_ROLE_INDEX = ("ROLE_INDEX", "RBG_ROLE_INDEX")
# v1alpha2's (upstream's doc-ref/variables.md), on pods of groups not converted from v1alpha1:
# the instance (a pod; a LeaderWorkerSet group, named as its leader), and a leader-worker
# instance's component, leader address, worker index and size (from the LWS controller's own
# LWS_* variables, which it puts first in every container).
ENV_ROLE_INSTANCE_NAME = "RBG_ROLE_INSTANCE_NAME"
ENV_COMPONENT_NAME = "RBG_COMPONENT_NAME"
ENV_COMPONENT_INDEX = "RBG_COMPONENT_INDEX"
ENV_LWP_LEADER_ADDRESS = "RBG_LWP_LEADER_ADDRESS"
ENV_LWP_WORKER_INDEX = "RBG_LWP_WORKER_INDEX"
ENV_LWP_GROUP_SIZE = "RBG_LWP_GROUP_SIZE"
LABEL_GROUP_UID = "rbg.workloads.x-k8s.io/group-uid"
LABEL_GROUPSET_NAME = "rbg.workloads.x-k8s.io/groupset-name"
LABEL_GROUPSET_INDEX = "rbg.workloads.x-k8s.io/groupset-index"
LABEL_GROUP_UNIQUE_HASH = "rbg.workloads.x-k8s.io/group-unique-hash"

# The discovery ConfigMap, mounted as a directory so kubelet refreshes it in place.
DISCOVERY_VOLUME = "rbg-cluster-config"
DISCOVERY_MOUNT_PATH = "/etc/rbg"
DISCOVERY_FILE = "config.yaml"

# Workload kinds a role may ask for.
APPS_V1 = "apps/v1"
KIND_STATEFULSET = "StatefulSet"
KIND_DEPLOYMENT = "Deployment"
LWS_API_VERSION = "leaderworkerset.x-k8s.io/v1"  # kubernetes-sigs/lws
KIND_LWS = "LeaderWorkerSet"
SUPPORTED_WORKLOADS = ((APPS_V1, KIND_STATEFULSET), (APPS_V1, KIND_DEPLOYMENT), (LWS_API_VERSION, KIND_LWS))
KIND_ROLE_INSTANCE_SET = "RoleInstanceSet"  # upstream's own workload (hooks.core.ris)
WORKLOAD_KINDS = (KIND_STATEFULSET, KIND_DEPLOYMENT, KIND_LWS, KIND_ROLE_INSTANCE_SET)
# v1alpha2: a role's workload kind, "<apiVersion>/<kind>"; absent, its pattern's default
# (standalonePattern: a StatefulSet; leaderWorkerPattern: a LeaderWorkerSet).
ANNOTATION_ROLE_WORKLOAD_TYPE = "rbg.workloads.x-k8s.io/role-workload-type"
KIND_INSTANCE_SET = "InstanceSet"  # its v1alpha1 name
WORKLOAD_TYPES = (*(f"{v}/{k}" for v, k in SUPPORTED_WORKLOADS), f"{API_VERSION}/{KIND_ROLE_INSTANCE_SET}")
# v1alpha2 gang scheduling: group annotations instead of spec.podGroupPolicy. The gang is a
# scheduler-plugins PodGroup, or a Volcano one when a Volcano queue or priority class is named.
ANNOTATION_GANG = "rbg.workloads.x-k8s.io/group-gang-scheduling"
ANNOTATION_GANG_TIMEOUT = "rbg.workloads.x-k8s.io/group-gang-scheduling-timeout"
ANNOTATION_GANG_VOLCANO_QUEUE = "rbg.workloads.x-k8s.io/group-gang-scheduling-volcano-queue"
ANNOTATION_GANG_VOLCANO_PRIORITY = "rbg.workloads.x-k8s.io/group-gang-scheduling-volcano-priority"
# A v1alpha1 object's spec.coordination and spec.podGroupPolicy, kept by the conversion (as
# upstream's keys); the hooks read the coordination as the group's CoordinatedPolicy when it has none.
ANNOTATION_V1ALPHA1_COORDINATION = "conversion.workloads.x-k8s.io/v1alpha1-coordination"
ANNOTATION_V1ALPHA1_POD_GROUP_POLICY = "conversion.workloads.x-k8s.io/v1alpha1-pod-group-policy"
# On a v1alpha1 object converted from v1alpha2: what v1alpha1 has no field for, as JSON, so the
# way back gives the v1alpha2 object again (hooks.conversion.v1alpha1).
ANNOTATION_V1ALPHA2_STASH = "conversion.workloads.x-k8s.io/v1alpha2"
# On a group converted from a v1alpha1 object: its pods keep the labels and variables they had.
ANNOTATION_API_ORIGIN = "rbg.workloads.x-k8s.io/api-origin"
# CoordinatedPolicy: bound to the RoleBasedGroup of its namespace and name.
KIND_COORDINATED_POLICY = "CoordinatedPolicy"
COORDINATED_POLICIES = "coordinatedpolicies"
RELATED_COORDINATED_POLICY = f"{KIND_COORDINATED_POLICY}.{API_VERSION}"

# Keys of the observed children map in a Metacontroller sync request. Metacontroller sends
# every registered child type (metacontroller/compositecontroller.yaml), possibly empty.
CHILD_STATEFULSET = "StatefulSet.apps/v1"
CHILD_DEPLOYMENT = "Deployment.apps/v1"
CHILD_SERVICE = "Service.v1"
CHILD_CONFIGMAP = "ConfigMap.v1"
CHILD_ADAPTER = f"{KIND_RBGSA}.{API_VERSION}"
KIND_CONTROLLER_REVISION = "ControllerRevision"
CHILD_CONTROLLER_REVISION = f"{KIND_CONTROLLER_REVISION}.{APPS_V1}"
KIND_JOB = "Job"
KIND_SERVICE = "Service"
CHILD_JOB = f"{KIND_JOB}.batch/v1"
CHILD_TYPES = (CHILD_CONFIGMAP, CHILD_SERVICE, CHILD_STATEFULSET, CHILD_DEPLOYMENT, CHILD_ADAPTER, CHILD_CONTROLLER_REVISION, CHILD_JOB)
# A set's children, and an adapter's related target.
CHILD_RBG = f"{KIND_RBG}.{API_VERSION}"
# The key of the group's pods in the request's related objects (asked for by the customize hook).
RELATED_POD = "Pod.v1"

STARTUP_ORDERED = "Ordered"
STARTUP_PARALLEL = "Parallel"
# What an Ordered group's dependant waits for: its dependencies' workload status (Workloads, the
# default), or, with Pods, their pods as well, observed as related objects: a dependant starts
# on its last dependency pod's Ready, not on the workload controller's status written after it.
ANNOTATION_STARTUP_GATE = "rbg.workloads.x-k8s.io/startup-gate"
STARTUP_GATE_WORKLOADS = "Workloads"
STARTUP_GATE_PODS = "Pods"
STARTUP_GATES = (STARTUP_GATE_WORKLOADS, STARTUP_GATE_PODS)

# Kubernetes name limits (see rbg-api.md): "<rbg>-<role>" must leave room for the
# StatefulSet controller-revision-hash label ("<name>-<10 chars>" within 63).
MAX_WORKLOAD_NAME = 52

# Rollout history (ControllerRevisions, hooks.core.history): older revisions kept per role by
# default and at most (spec.revisionHistoryLimit; as StatefulSets and Deployments), and the length
# of the template hash in a revision's name ("<group>-<role>-<hash>": 52 + 1 + 10 <= 63).
DEFAULT_REVISION_HISTORY_LIMIT = 10
MAX_REVISION_HISTORY_LIMIT = 1000
REVISION_HASH_LENGTH = 10
# Older revisions of all roles of a group together, as template JSON: every revision comes back
# in each sync request, twice (its data, and Metacontroller's last-applied annotation), so history
# must leave room in the hook server's 16 MiB request limit. Each role gets an equal share.
HISTORY_MAX_BYTES = 4 * 1024 * 1024

# Members of one RoleBasedGroupSet: every member comes back in each of the set's sync requests.
MAX_SET_REPLICAS = 1000

# Counts land in int32 fields of the children (replicas, minReadySeconds, partition, ...).
INT32_MAX = 2**31 - 1
# Service ports of a role; bounds the discovery file's per-role part (see DISCOVERY_MAX_BYTES).
MAX_SERVICE_PORTS = 64
# Kubernetes limits all annotations of an object to 256 KiB together
# (k8s.io/apimachinery/pkg/api/validation TotalAnnotationSizeLimitB). Metacontroller's apply
# stores each child whole, as JSON, in ANNOTATION_LAST_APPLIED, so a child must stay below it.
MAX_ANNOTATIONS_BYTES = 256 * 1024
# The discovery file, measured as a JSON string (each newline counts 2 bytes): what it takes in
# the discovery ConfigMap's last-applied annotation. 100 KiB keeps that annotation under 40% of
# MAX_ANNOTATIONS_BYTES, so a second copy (kubectl's own last-applied annotation, after
# `rbg render | kubectl apply`) still fits. Longer instance lists are cut (children/discovery.py).
DISCOVERY_MAX_BYTES = 100 * 1024

# Conditions on RoleBasedGroup status. Types and reasons are API: never rename.
COND_READY = "Ready"
COND_PROGRESSING = "Progressing"
COND_INVALID_SPEC = "InvalidSpec"
COND_DISCOVERY_TRUNCATED = "DiscoveryTruncated"
# Only on groups with spec.coordination: whether coordinated roles are advancing in step.
COND_COORDINATING = "Coordinating"
# On RoleBasedGroupScalingAdapter status, beside `phase`.
COND_BOUND = "Bound"
# Failure recovery (roles[].restartPolicy, hooks.core.recovery).
COND_RECOVERING = "Recovering"
# Groups whose pods are observed: whether the scheduler placed them (hooks.core.pending).
COND_PODS_SCHEDULED = "PodsScheduled"
PHASE_BOUND = "Bound"
PHASE_NOT_BOUND = "NotBound"

REASON_ALL_ROLES_READY = "AllRolesReady"
REASON_ROLES_NOT_READY = "RolesNotReady"
REASON_WAITING_FOR_DEPENDENCIES = "WaitingForDependencies"
REASON_ROLLOUT_IN_PROGRESS = "RolloutInProgress"
REASON_COMPLETE = "Complete"
REASON_SPEC_VALID = "SpecValid"
REASON_DEPENDENCY_CYCLE = "DependencyCycle"
REASON_INVALID_ROLES = "InvalidRoles"
REASON_INVALID_FIELDS = "InvalidFields"
REASON_ADVANCING_IN_STEP = "AdvancingInStep"
REASON_IN_STEP = "InStep"
REASON_BOUND = "Bound"
REASON_TARGET_GROUP_NOT_FOUND = "TargetGroupNotFound"
REASON_TARGET_ROLE_NOT_FOUND = "TargetRoleNotFound"
REASON_SCALING_ADAPTER_NOT_ENABLED = "ScalingAdapterNotEnabled"
REASON_NOT_THE_GROUPS_ADAPTER = "NotTheGroupsAdapter"
REASON_ALL_MEMBERS_READY = "AllMembersReady"
REASON_MEMBERS_NOT_READY = "MembersNotReady"
REASON_WAITING_FOR_MEMBERS = "WaitingForMembers"
REASON_ALL_INSTANCES_LISTED = "AllInstancesListed"
REASON_INSTANCE_LIST_TOO_LONG = "InstanceListTooLong"
REASON_WATCHING = "Watching"
REASON_BACKING_OFF = "BackingOff"
REASON_RECREATING = "Recreating"
REASON_RESTART_LIMIT_REACHED = "RestartLimitReached"
REASON_PODS_NOT_OBSERVED = "PodsNotObserved"
REASON_ALL_PODS_SCHEDULED = "AllPodsScheduled"
REASON_UNSCHEDULABLE = "Unschedulable"

# Failure recovery (hooks.core.recovery): the policies that recreate, and the backoff timer, a Job
# that runs no pod (parallelism 0) and fails at its activeDeadlineSeconds: its Failed condition is
# the event that ends a backoff, so the hooks need no clock.
RESTART_NONE = "None"
RESTART_RECREATE_GROUP = "RecreateRBGOnPodRestart"
RESTART_RECREATE_ROLE = "RecreateRoleInstanceOnPodRestart"
RECOVERY_BACKOFF_SECONDS = 30
RECOVERY_MAX_BACKOFF_SECONDS = 600
RECOVERY_RESTART_LIMIT = 10
TIMER_IMAGE = "registry.k8s.io/pause:3.10"
# The ConfigMap "<group>-recovery" keeps a second copy of the state under this key.
KIND_CONFIGMAP = "ConfigMap"
RECOVERY_STATE_KEY = "state.json"

# Drain-safe scale-down (roles[].drainPolicy, hooks.core.drain): the pod annotation an application
# sets once a member it is asked to leave is drained, and the condition that reports drains.
ANNOTATION_DRAINED = "rolebasedgroup.workloads.x-k8s.io/drained"
# On a rolling update's drain timer: the pod it times.
ANNOTATION_DRAIN_MEMBER = "rolebasedgroup.workloads.x-k8s.io/drain-member"
DEFAULT_DRAIN_TIMEOUT_SECONDS = 600
COND_DRAINING = "Draining"
REASON_WAITING_FOR_DRAIN = "WaitingForDrain"
REASON_NOTHING_TO_DRAIN = "NothingToDrain"
# Deployment pods carry the hash of their ReplicaSet's template.
LABEL_POD_TEMPLATE_HASH = "pod-template-hash"

# Gang-ready pod labels (hooks.core.gangready): the API of jhwagner/podgroup-controller, unchanged.
# A pod labelled PODGROUP_NAME gets PODGROUP_READY: "true" once every pod of its group (its
# namespace, the same label value) is Running. Names and value are API: never rename.
LABEL_PODGROUP_NAME = "podgroup.jhwagner.github.io/name"
LABEL_PODGROUP_READY = "podgroup.jhwagner.github.io/ready"
PODGROUP_READY_VALUE = "true"
POD_RUNNING = "Running"
POD_SUCCEEDED = "Succeeded"
# A sync whose related pods do not include the pod itself came with a customize answer for an
# earlier label value (Metacontroller caches it per pod UID and generation for 20 minutes): ask
# again after this long.
GANG_STALE_RESYNC_SECONDS = 60

# Gang scheduling (spec.podGroupPolicy, hooks.core.gang): one PodGroup `<group>` of one of two
# optional child types. Only the kustomize overlays overlays/<GANG_OVERLAYS value> register them
# (Metacontroller stops syncing a controller whose child type has no CRD), so a request carries
# their keys only where they are registered.
KIND_POD_GROUP = "PodGroup"
KUBE_POD_GROUP_API_VERSION = "scheduling.x-k8s.io/v1alpha1"  # kubernetes-sigs/scheduler-plugins
VOLCANO_POD_GROUP_API_VERSION = "scheduling.volcano.sh/v1beta1"
CHILD_KUBE_POD_GROUP = f"{KIND_POD_GROUP}.{KUBE_POD_GROUP_API_VERSION}"
CHILD_VOLCANO_POD_GROUP = f"{KIND_POD_GROUP}.{VOLCANO_POD_GROUP_API_VERSION}"
# LeaderWorkerSet roles (hooks.children.lws): an optional child type too, registered by overlays/LWS_OVERLAY.
CHILD_LWS = f"{KIND_LWS}.{LWS_API_VERSION}"
LWS_OVERLAY = "leaderworkerset"
# The install without the controllers that act on pods (RoleInstanceSets, RoleInstances, gang-ready labels).
NO_POD_CONTROLLERS_OVERLAY = "without-pod-controllers"
OPTIONAL_CHILD_TYPES = (CHILD_KUBE_POD_GROUP, CHILD_VOLCANO_POD_GROUP, CHILD_LWS, f"{KIND_ROLE_INSTANCE_SET}.{API_VERSION}")
GANG_OVERLAYS = {CHILD_KUBE_POD_GROUP: "scheduler-plugins", CHILD_VOLCANO_POD_GROUP: "volcano"}
# What enrols a pod in its group's PodGroup. scheduler-plugins' coscheduling reads LABEL_POD_GROUP;
# upstream also sets LABEL_POD_GROUP_LEGACY (Koordinator's and ACK's spelling). Volcano reads
# ANNOTATION_VOLCANO_GROUP_NAME on pods that its scheduler (VOLCANO_SCHEDULER_NAME) schedules.
LABEL_POD_GROUP = "scheduling.x-k8s.io/pod-group"
LABEL_POD_GROUP_LEGACY = "pod-group.scheduling.sigs.k8s.io/name"
ANNOTATION_VOLCANO_GROUP_NAME = "scheduling.k8s.io/group-name"
VOLCANO_SCHEDULER_NAME = "volcano"
# On a PodGroup: the roles its minMember counts, comma-separated. The hooks read it back from
# what they last applied: a role counted once stays counted while its pods stay enrolled.
ANNOTATION_GANG_ROLES = "rolebasedgroup.workloads.x-k8s.io/gang-roles"
# Only on groups with spec.podGroupPolicy.
COND_GANG_SCHEDULING = "GangScheduling"
REASON_ALL_ROLES_ENROLLED = "AllRolesEnrolled"
REASON_ENROLLING_ROLES = "EnrollingRoles"
REASON_POD_GROUP_NOT_REGISTERED = "PodGroupNotRegistered"

# LeaderWorkerSet roles (hooks.children.lws). The LWS controller labels every pod of a group
# (leader and workers) with its index i, names its leader pod "<lws>-<i>" and its workers
# "<lws>-<i>-<j>" (j from 1), all in the LWS's own headless Service, named as the LWS.
LABEL_LWS_GROUP_INDEX = "leaderworkerset.sigs.k8s.io/group-index"
LWS_RESTART_RECREATE_GROUP = "RecreateGroupOnPodRestart"
LWS_RESTART_NONE = "None"
LWS_CONDITION_AVAILABLE = "Available"
# Only on groups with a LeaderWorkerSet role: whether its child type is registered.
COND_LEADER_WORKER_SETS = "LeaderWorkerSets"
REASON_LWS_REGISTERED = "LeaderWorkerSetRegistered"
REASON_LWS_NOT_REGISTERED = "LeaderWorkerSetNotRegistered"
# Only on groups with roles that run on RoleInstanceSets: whether that child type is registered.
COND_ROLE_INSTANCE_SETS = "RoleInstanceSets"
REASON_ROLE_INSTANCE_SETS_UNAVAILABLE = "RoleInstanceSetsUnavailable"
REASON_ROLE_INSTANCE_SETS_REGISTERED = "RoleInstanceSetRegistered"

# Engine runtime profiles (roles[].engineRuntimes, hooks.core.runtimes): a cluster-scoped
# ClusterEngineRuntimeProfile's init containers, containers and volumes injected into a role's pods.
# Profiles come as related objects (the customize hook asks for those the spec names).
KIND_ENGINE_RUNTIME_PROFILE = "ClusterEngineRuntimeProfile"
ENGINE_RUNTIME_PROFILES = "clusterengineruntimeprofiles"
RELATED_ENGINE_RUNTIME_PROFILE = f"{KIND_ENGINE_RUNTIME_PROFILE}.{API_VERSION}"
PROFILE_NO_UPDATE = "NoUpdate"
PROFILE_ROLLING_UPDATE = "RollingUpdate"
# On a role's workload: the profile content it was given, JSON by profile name. Read back from what
# was last applied, it is what a NoUpdate profile's roles keep when the profile changes.
ANNOTATION_ENGINE_RUNTIMES = "rolebasedgroup.workloads.x-k8s.io/engine-runtimes"
# Only on groups with engineRuntimes: whether every profile they name is there.
COND_ENGINE_RUNTIMES = "EngineRuntimes"
REASON_PROFILES_INJECTED = "ProfilesInjected"
REASON_PROFILE_NOT_FOUND = "ProfileNotFound"

# RoleInstanceSet and RoleInstance (hooks.core.ris, hooks.core.instance). A set's instances are
# `<set>-<index>`; an instance's pods `<instance>-<component>-<id>` (customComponentsPattern),
# `<instance>` and `<instance>-<id + 1>` (leader and workers), `<instance>` (standalone), as upstream.
KIND_ROLE_INSTANCE = "RoleInstance"
KIND_POD = "Pod"
CHILD_ROLE_INSTANCE_SET = f"{KIND_ROLE_INSTANCE_SET}.{API_VERSION}"
CHILD_ROLE_INSTANCE = f"{KIND_ROLE_INSTANCE}.{API_VERSION}"
CHILD_POD = f"{KIND_POD}.v1"
LABEL_ROLE_INSTANCE_NAME = "rbg.workloads.x-k8s.io/role-instance-name"
LABEL_ROLE_INSTANCE_INDEX = "rbg.workloads.x-k8s.io/role-instance-index"
LABEL_ROLE_INSTANCE_OWNER = "rbg.workloads.x-k8s.io/role-instance-owner"
LABEL_COMPONENT_NAME = "rbg.workloads.x-k8s.io/component-name"
LABEL_COMPONENT_ID = "rbg.workloads.x-k8s.io/component-id"
LABEL_COMPONENT_INDEX = "rbg.workloads.x-k8s.io/component-index"
LABEL_COMPONENT_SIZE = "rbg.workloads.x-k8s.io/component-size"
LABEL_ROLE_TYPE = "rbg.workloads.x-k8s.io/role-type"
# On an instance and its pods: the hash of the instance template (a set's) or of the component
# template (a pod's) they were made from; apps/v1's key, as upstream.
LABEL_CONTROLLER_REVISION_HASH = "controller-revision-hash"
ANNOTATION_RESTART_TRIGGER_POLICY = "rbg.workloads.x-k8s.io/restart-trigger-policy"
RESTART_TRIGGER_IGNORE = "Ignore"
ANNOTATION_COMPONENT_DEPENDS_ON = "rolebasedgroup.workloads.x-k8s.io/component-depends-on"
# On a component: the ports its pods get (JSON, upstream's), and the addresses and ports of the
# instance's other components they are told (hooks.core.wiring).
ANNOTATION_PORT_ALLOCATOR = "rolebasedgroup.workloads.x-k8s.io/port-allocator"
ANNOTATION_COMPONENT_DISCOVERY = "rolebasedgroup.workloads.x-k8s.io/component-discovery"
READY_POLICY_ALL_PODS = "AllPodReady"
READY_POLICY_NONE = "None"
COND_ROLE_INSTANCE_READY = "RoleInstanceReady"
COND_RESTARTING = "Restarting"
# Ours: a RoleInstance Ready for its set's minReadySeconds (only when that is set).
COND_ROLE_INSTANCE_AVAILABLE = "RoleInstanceAvailable"
COND_FAILED_UPDATE = "FailedUpdate"
REASON_ALL_PODS_READY = "AllPodsReady"
REASON_PODS_NOT_READY = "PodsNotReady"
REASON_POD_FAILED = "PodFailed"
REASON_LIFECYCLE_HOLD = "LifecycleHookHolds"
REASON_MIN_READY = "MinReadySeconds"
REASON_READINESS_GATES = "ReadinessGatesNotTrue"
REASON_NOT_UPDATABLE_IN_PLACE = "NotUpdatableInPlace"
REASON_UPDATED_IN_PLACE = "UpdatedInPlace"
REASON_INSTANCES_READY = "InstancesReady"
REASON_INSTANCES_NOT_READY = "InstancesNotReady"
# Values of LABEL_ROLE_TYPE on a RoleInstanceSet and its instances: how pods are named.
ROLE_TYPE_COMPONENTS = "Components"
ROLE_TYPE_LWS = "LeaderWorkerSet"
ROLE_TYPE_POD = "PodTemplate"
# On a RoleInstance, from its set's updateStrategy.type: InPlaceOnly holds what cannot change in place.
ANNOTATION_UPDATE_TYPE = "rbg.workloads.x-k8s.io/update-type"
# On a RoleInstance's pods: its recovery record (restarts, streak, lastRecreationTime, lastFailure;
# JSON), the same as its status: stamped before a recreation deletes them, carried by their replacements.
ANNOTATION_RECOVERY_RECORD = "rbg.workloads.x-k8s.io/instance-recovery"
# On a pod updated in place: each container's restart count the update accounts for, JSON.
ANNOTATION_RESTART_BASELINE = "rbg.workloads.x-k8s.io/in-place-restart-baseline"
# On a RoleInstanceSet and its instances: the backoff of RecreateRoleInstanceOnPodRestart, from the
# role's restartPolicyConfig, else the group's recoveryPolicy (defaults below).
ANNOTATION_RESTART_BASE_DELAY = "rbg.workloads.x-k8s.io/restart-base-delay-seconds"
ANNOTATION_RESTART_MAX_DELAY = "rbg.workloads.x-k8s.io/restart-max-delay-seconds"
DEFAULT_BACKOFF_SECONDS = 30
DEFAULT_MAX_BACKOFF_SECONDS = 600
# A RoleInstance's lifecycle state (hooks.core.lifecycle); none is Normal.
LABEL_LIFECYCLE_STATE = "rbg.workloads.x-k8s.io/role-instance-lifecycle-state"
LIFECYCLE_PREPARING_DELETE = "PreparingDelete"
LIFECYCLE_PREPARING_UPDATE = "PreparingUpdate"
LIFECYCLE_UPDATING = "Updating"
LIFECYCLE_UPDATED = "Updated"
# On a RoleInstance, from its set's minReadySeconds when set: how long it is Ready before it is available.
ANNOTATION_MIN_READY_SECONDS = "rbg.workloads.x-k8s.io/min-ready-seconds"
# On a RoleInstance: the lifecycle states in which it reports not Ready (markPodNotReady), comma-separated.
ANNOTATION_LIFECYCLE_NOT_READY = "rbg.workloads.x-k8s.io/lifecycle-not-ready-states"
