pytest_plugins = ["go_micro_toolkit.testing"]
