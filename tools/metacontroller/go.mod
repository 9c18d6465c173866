// Tools module: builds Metacontroller v4.17.2 (tag commit 76b818bdc67b) from the
// Go module proxy. Metacontroller's module path is plain "metacontroller", so
// `go install` cannot work; instead the path is required at a dummy version and
// replaced by the GitHub module at the v4.17.2 commit's pseudo-version.
// Metacontroller's own replace lines are copied below (a dependency's replaces
// are ignored).
//
// STATUS: does not resolve on this project's machines: the Go module proxy
// mirror answers 403 "This module version is not available." for every
// version of github.com/metacontroller/metacontroller, so there is no go.sum.
// See ../README.md.
module rbg.local/tools/metacontroller

go 1.26.4

require metacontroller v0.0.0-00010101000000-000000000000

replace metacontroller => github.com/metacontroller/metacontroller v0.0.0-20260813213314-76b818bdc67b

// Copied from Metacontroller v4.17.2's go.mod.
replace (
	golang.org/x/net => golang.org/x/net v0.57.0
	k8s.io/apiextensions-apiserver => k8s.io/apiextensions-apiserver v0.36.3
	k8s.io/apimachinery => k8s.io/apimachinery v0.36.3
	k8s.io/client-go => k8s.io/client-go v0.36.3
)

tool metacontroller/pkg/cmd/metacontroller
