"""The small checklist the in-memory sync tests share."""

TEMPLATE = """
id: svc
title: Service basics
version: 1
description: A tiny checklist for tests.
sections:
  - id: build
    title: Build
    items:
      - id: container
        title: Container image
        why: Reproducible deploys
        evidence: {files: [Dockerfile]}
      - id: ci-tests
        title: Tests in CI
        why: Catch regressions
        evidence: {ci: ["test*"]}
  - id: ops
    title: Operations
    items:
      - id: runbook
        title: Runbook
        why: On-call knows what to do
        evidence: {files: ["docs/runbooks/"]}
      - id: oncall
        title: On-call rota agreed
        why: Someone answers the pager
        manual: true
"""
CONFIG = "checklists:\n  - svc\n"
REPO = "octo-org/widgets"
