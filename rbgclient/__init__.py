"""The Kubernetes client the rbg command and the local cluster share (lightkube)."""
