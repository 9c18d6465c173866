"""A local Kubernetes control plane (etcd, kube-apiserver, KCM, scheduler, kwok, Metacontroller)
running the RoleBasedGroup hooks: used by `rbg up` and the e2e tests, never by the hooks' core."""
