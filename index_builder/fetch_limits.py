"""How long `medcode index fetch` waits and how often it tries again. A module of its own so the
CLI can show these defaults without importing the network modules (http.client, ssl, urllib),
which cost every `medcode check` megabytes (tests/test_cli_usage.py)."""

TIMEOUT = 30.0  # seconds to connect, and between two received blocks
RETRIES = 3  # further attempts after the first
