"""Shared pytest configuration: real mail-server fixtures and the Mailyard store fixtures."""

pytest_plugins = ["tests.servers.fixtures", "tests.support.store", "tests.support.app", "tests.support.webhooks",
                  "tests.support.hosting", "tests.support.live"]
