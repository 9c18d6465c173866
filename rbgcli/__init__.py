"""The rbg command: render, validate and serve the hooks, run a local cluster, read and roll groups on any cluster."""
