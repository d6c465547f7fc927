"""The config file (ARCHITECTURE.md section 2.3): typed settings, defaults, key files."""
