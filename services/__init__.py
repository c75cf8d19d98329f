"""The four services. Installed and imported as `ostinato.services` (the folder stays at the
top of the repository; `ostinato/services` links to it), never as a top-level `services`."""

if __name__ == "services":
    raise ImportError("import the services as `ostinato.services`, not `services`")
