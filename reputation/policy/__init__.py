"""An agency's scoring policy: every number of TRUST_MODEL.md may be overridden; every change is
a new version, and the old ones stay readable."""
